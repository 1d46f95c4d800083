/**
 * The conduit transport in one process against the simulator: the conduit found or created, sessions
 * assigned to their shards, events delivered once, a dropped session reopened and re-assigned, adoption
 * after a restart, and the simulator's conduit rules (validation, routing, drops, conduit.shard.disabled).
 */
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Exit, Fiber, Layer, Redacted, Scope, Stream, TestClock } from "effect"
import * as Http from "node:http"
import * as EventSub from "../src/EventSub.js"
import * as EventSubConduit from "../src/EventSubConduit.js"
import * as EventSubTypes from "../src/EventSubTypes.js"
import * as EventSubWebhook from "../src/EventSubWebhook.js"
import * as Helix from "../src/Helix.js"
import * as Conduits from "../src/Helix/Conduits.js"
import * as EventSubApi from "../src/Helix/EventSub.js"
import * as Simulator from "../src/testing/Simulator.js"
import * as TokenStore from "../src/TokenStore.js"
import * as Fixture from "./fixtures/conduit.js"

const streamOnline = (channel: string) =>
  Effect.flatMap(
    EventSub.EventSub,
    (es) => Effect.succeed(es.subscribe(EventSubTypes.StreamOnlineV1, { broadcaster_user_id: channel }))
  )

const conduitSubs = Effect.map(
  Effect.flatMap(Simulator.Simulator, (sim) => sim.eventSub.subscriptions),
  (subs) => subs.filter((s) => s.transport === "conduit" && s.type === "stream.online")
)

const shards = (conduitId: string) =>
  Effect.flatMap(Helix.Helix, (helix) =>
    helix.paginate(Conduits.getConduitShards, { conduit_id: conduitId }).pipe(
      Stream.runCollect,
      Effect.map(Chunk.toReadonlyArray),
      Helix.withApp
    ))

/** Runs `f` with the conduit layer built in a scope of its own (closed afterwards, or by `f`). */
const withConduit = <A, E>(
  options: EventSubConduit.Options,
  f: (
    scope: Scope.CloseableScope
  ) => Effect.Effect<A, E, EventSub.EventSub | EventSubConduit.EventSubConduit | Helix.Helix | Simulator.Simulator>
) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(Fixture.layer(options), scope)
    return yield* f(scope).pipe(Effect.provide(context), Effect.ensuring(Scope.close(scope, Exit.void)))
  })

describe("EventSubConduit", () => {
  it.live("creates the conduit, assigns one session per shard, delivers each event once", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const channels = Fixture.channels(8)
      yield* withConduit({ shardCount: 2, shards: [0, 1] }, () =>
        Effect.gen(function*() {
          const conduit = yield* EventSubConduit.EventSubConduit
          yield* Fixture.eventually(Effect.map(conduit.sessions, (s) => s.size === 2))
          const listed = yield* shards(conduit.conduitId)
          assert.deepStrictEqual(listed.map((s) => s.status), ["enabled", "enabled"])
          const received: Array<string> = []
          const fibers = yield* Effect.forEach(channels, (channel) =>
            Effect.flatMap(streamOnline(channel), (s) =>
              Effect.forkScoped(Stream.runForEach(s, (e) =>
                Effect.sync(() => received.push(e.broadcaster_user_id))))))
          yield* Fixture.eventually(Effect.map(conduitSubs, (subs) =>
            subs.length === channels.length))
          for (const channel of channels) {
            const ids = yield* sim.eventSub.trigger({
              type: "stream.online",
              condition: { broadcaster_user_id: channel }
            })
            assert.strictEqual(ids.length, 1)
          }
          yield* Fixture.eventually(Effect.sync(() => received.length === channels.length))
          assert.deepStrictEqual([...received].sort(), [...channels].sort())
          yield* Effect.forEach(fibers, Fiber.interrupt)
        }).pipe(Effect.scoped))
    }).pipe(Effect.provide(Simulator.layer()), Effect.scoped))

  it.live("a restart adopts the subscriptions instead of creating them again", () =>
    Effect.gen(function*() {
      const channels = Fixture.channels(3)
      const run = withConduit({ shardCount: 1, shards: { index: 0, total: 1 } }, () =>
        Effect.gen(function*() {
          const streams = yield* Effect.forEach(channels, streamOnline)
          const fibers = yield* Effect.forEach(streams, (s) => Effect.forkScoped(Stream.runDrain(s)))
          yield* Fixture.eventually(Effect.map(conduitSubs, (subs) => subs.length === channels.length))
          yield* Effect.sleep("200 millis")
          yield* Effect.forEach(fibers, Fiber.interrupt)
          return (yield* EventSubConduit.EventSubConduit).conduitId
        }).pipe(Effect.scoped))
      const first = yield* run
      const second = yield* run
      assert.strictEqual(second, first, "the same conduit is found")
      const subs = yield* conduitSubs
      assert.strictEqual(subs.length, channels.length, "no subscription duplicated")
    }).pipe(Effect.provide(Simulator.layer()), Effect.scoped))

  it.live("a dropped session is reopened and re-assigned; conduit.shard.disabled is sent", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      yield* withConduit({ shardCount: 2, shards: [0, 1] }, () =>
        Effect.gen(function*() {
          const conduit = yield* EventSubConduit.EventSubConduit
          yield* Fixture.eventually(Effect.map(conduit.sessions, (s) => s.size === 2))
          const before = yield* conduit.sessions
          yield* Fixture.eventually(
            Effect.map(sim.eventSub.subscriptions, (subs) => subs.some((s) => s.type === "conduit.shard.disabled"))
          )
          const eventSub = yield* EventSub.EventSub
          const disabled = yield* eventSub.subscribe(EventSubTypes.ConduitShardDisabledV1, {
            client_id: sim.clientId,
            conduit_id: conduit.conduitId
          }).pipe(Stream.take(1), Stream.runCollect, Effect.fork)
          yield* Effect.sleep("100 millis")
          yield* sim.eventSub.close({ sessionId: before.get(0)!, code: 4006 })
          const [event] = Chunk.toReadonlyArray(yield* Fiber.join(disabled))
          assert.strictEqual(event?.shard_id, "0")
          assert.strictEqual(event?.status, "websocket_network_error")
          assert.strictEqual(event?.transport.session_id, before.get(0))
          yield* Fixture.eventually(Effect.map(conduit.sessions, (s) => s.size === 2 && s.get(0) !== before.get(0)))
          const listed = yield* shards(conduit.conduitId)
          assert.deepStrictEqual(listed.map((s) => s.status), ["enabled", "enabled"])
        }))
    }).pipe(Effect.provide(Simulator.layer()), Effect.scoped))

  it.live("a conduit id that does not exist: EventSubConduitNotFound", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(withConduit({ conduitId: "nope", shards: [0] }, () => Effect.void))
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? Chunk.unsafeHead(Chunk.fromIterable([exit.cause])) : undefined
      assert.match(String(error), /EventSubConduitNotFound|does not exist/)
    }).pipe(Effect.provide(Simulator.layer()), Effect.scoped))

  it.live(
    "static leases: a shard another live process serves fails the start (after Twitch's grace)",
    () =>
      Effect.gen(function*() {
        yield* withConduit({ shardCount: 2, shards: [0] }, () =>
          Effect.gen(function*() {
            const conduit = yield* EventSubConduit.EventSubConduit
            yield* Fixture.eventually(Effect.map(conduit.sessions, (s) => s.size === 1))
            const exit = yield* Effect.exit(withConduit({ shards: [0, 1] }, () => Effect.void))
            assert.match(
              String(Exit.isFailure(exit) ? exit.cause : ""),
              /shard\(s\) 0 are configured in another live process/
            )
          }))
      }).pipe(Effect.provide(Simulator.layer()), Effect.scoped),
    40_000
  )

  it.live("a shard id outside the conduit: EventSubConduitError", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(withConduit({ shardCount: 2, shards: [0, 5] }, () => Effect.void))
      assert.isTrue(Exit.isFailure(exit))
      assert.match(String(Exit.isFailure(exit) ? exit.cause : ""), /outside the conduit/)
    }).pipe(Effect.provide(Simulator.layer()), Effect.scoped))
})

describe("EventSubConduit with webhook shards", () => {
  it.live("assigns the served shards to the callback; events arrive through the handler, once", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const server = Http.createServer()
      yield* Effect.acquireRelease(
        Effect.async<void>((resume) => {
          server.listen(0, "127.0.0.1", () => resume(Effect.void))
        }),
        () => Effect.sync(() => server.close())
      )
      const port = (server.address() as { port: number }).port
      const layer = EventSubConduit.layerWebhook({
        shardCount: 2,
        shards: [0, 1],
        callback: `http://127.0.0.1:${port}/twitch`,
        secret: Redacted.make("a-secret-of-enough-length")
      }).pipe(Layer.provide(EventSubConduit.layerStaticLeases), Layer.provideMerge(Fixture.layerHelix))
      yield* Effect.gen(function*() {
        const webhook = yield* EventSubWebhook.EventSubWebhook
        server.on("request", webhook.nodeHandler)
        const conduit = yield* EventSubConduit.EventSubConduit
        yield* Fixture.eventually(
          Effect.map(
            shards(conduit.conduitId),
            (s) => s.every((shard) => shard.status === "enabled" && shard.transport.method === "webhook")
          )
        )
        const channels = Fixture.channels(6)
        const received: Array<string> = []
        yield* Effect.forEach(
          channels,
          (channel) =>
            Effect.flatMap(
              streamOnline(channel),
              (s) =>
                Effect.forkScoped(Stream.runForEach(s, (e) => Effect.sync(() => received.push(e.broadcaster_user_id))))
            )
        )
        yield* Fixture.eventually(Effect.map(conduitSubs, (subs) => subs.length === channels.length))
        for (const channel of channels) {
          yield* sim.eventSub.trigger({ type: "stream.online", condition: { broadcaster_user_id: channel } })
        }
        yield* Fixture.eventually(Effect.sync(() => received.length === channels.length))
        assert.deepStrictEqual([...received].sort(), [...channels].sort())
      }).pipe(Effect.provide(layer), Effect.scoped)
    }).pipe(Effect.provide(Simulator.layer()), Effect.scoped))
})

describe("Simulator conduits", () => {
  it.live("validates shard updates, routes by channel, drops when the shard and one other are disabled", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const helix = yield* Helix.Helix
      const app = <A, E>(e: Effect.Effect<A, E>) => Helix.withApp(e)
      const created = yield* app(helix.request(Conduits.createConduits, { shard_count: 2 }))
      const conduitId = created.data[0]!.id
      const bad = yield* app(helix.request(Conduits.updateConduitShards, {
        conduit_id: conduitId,
        shards: [
          { id: "0", transport: { method: "websocket", session_id: "no-such-session" } },
          { id: "7", transport: { method: "websocket", session_id: "x" } }
        ]
      }))
      assert.deepStrictEqual(bad.data, [])
      assert.deepStrictEqual(bad.errors.map((e) => e.message), [
        "The websocket session is not connected.",
        "The shard id is outside of the conduit's range."
      ])
      // a subscription on a conduit whose shards are not assigned: its notifications are dropped
      yield* app(helix.request(EventSubApi.createEventsubSubscription, {
        type: "stream.online",
        version: "1",
        condition: { broadcaster_user_id: "5000" },
        transport: { method: "conduit", conduit_id: conduitId }
      }))
      const ids = yield* sim.eventSub.trigger({ type: "stream.online", condition: { broadcaster_user_id: "5000" } })
      assert.strictEqual(ids.length, 0)
    }).pipe(Effect.provide(Fixture.layerHelix), Effect.provide(Simulator.layer()), Effect.scoped))

  it.live("conduit subscriptions: app token only, the conduit must exist, 409 for the same one, listed by conduit_id", () =>
    Effect.gen(function*() {
      const helix = yield* Helix.Helix
      const created = yield* Helix.withApp(helix.request(Conduits.createConduits, { shard_count: 1 }))
      const conduitId = created.data[0]!.id
      const request = (conduit: string) =>
        helix.request(EventSubApi.createEventsubSubscription, {
          type: "stream.online",
          version: "1",
          condition: { broadcaster_user_id: "5000" },
          transport: { method: "conduit", conduit_id: conduit }
        })
      const unknown = yield* Effect.flip(Helix.withApp(request("no-such-conduit")))
      assert.match(unknown.message, /conduit/)
      const first = yield* Helix.withApp(request(conduitId))
      assert.strictEqual(first.data[0]!.transport.method, "conduit")
      const again = yield* Effect.flip(Helix.withApp(request(conduitId)))
      assert.strictEqual(again._tag, "HelixConflict")
      const userToken = yield* Effect.flip(Helix.withUser(Simulator.defaultUsers.broadcaster)(request(conduitId)))
      assert.match(userToken.message, /invalid transport and auth combination/)
      const sim = yield* Simulator.Simulator
      const listed = (yield* sim.eventSub.subscriptions).filter((s) => s.transport === "conduit")
      assert.strictEqual(listed.length, 1)
      yield* Helix.withApp(helix.request(Conduits.deleteConduit, { id: conduitId }))
      assert.strictEqual((yield* sim.eventSub.subscriptions).filter((s) => s.transport === "conduit").length, 0)
    }).pipe(
      Effect.provide(
        Layer.effectDiscard(
          Effect.flatMap(
            Simulator.Simulator,
            (sim) =>
              Effect.flatMap(
                Simulator.userToken({ userId: sim.users.broadcaster, scopes: [] }),
                (t) => Effect.flatMap(TokenStore.TokenStore, (store) => store.set(t))
              )
          )
        ).pipe(Layer.provideMerge(Fixture.layerHelix))
      ),
      Effect.provide(Simulator.layer()),
      Effect.scoped
    ))

  it.scoped("72-hour rule: a conduit whose shards all stay disabled for 72 hours is deleted (TestClock)", () =>
    Effect.gen(function*() {
      const helix = yield* Helix.Helix
      const created = yield* Helix.withApp(helix.request(Conduits.createConduits, { shard_count: 2 }))
      const listed = Effect.map(Helix.withApp(helix.request(Conduits.getConduits, {})), (r) => r.data.map((c) => c.id))
      yield* TestClock.adjust("71 hours")
      assert.deepStrictEqual(yield* listed, [created.data[0]!.id])
      yield* TestClock.adjust("1 hour")
      assert.deepStrictEqual(yield* listed, [])
    }).pipe(Effect.provide(Fixture.layerHelix), Effect.provide(Simulator.layer())))

  it.live("a disabled shard's notifications go to one other shard; both disabled: dropped", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      // a conduit of 3 shards of which this process serves shard 2 only: 0 and 1 are never assigned (disabled)
      yield* withConduit({ shardCount: 3, shards: [2] }, () =>
        Effect.gen(function*() {
          const conduit = yield* EventSubConduit.EventSubConduit
          yield* Fixture.eventually(Effect.map(conduit.sessions, (s) => s.size === 1))
          const channels = Fixture.channels(24)
          const streams = yield* Effect.forEach(channels, streamOnline)
          yield* Effect.forEach(streams, (s) => Effect.forkScoped(Stream.runDrain(s)))
          yield* Fixture.eventually(Effect.map(conduitSubs, (subs) => subs.length === channels.length))
          const sent = yield* Effect.forEach(channels, (channel) =>
            sim.eventSub.trigger({ type: "stream.online", condition: { broadcaster_user_id: channel } }))
          // shard 2 gets its own channels and shard 1's (its alternate); shard 0's (alternate 1, disabled) are dropped
          const delivered = sent.filter((ids) =>
            ids.length === 1
          ).length
          assert.isAbove(delivered, 0)
          assert.isBelow(delivered, channels.length)
        }).pipe(Effect.scoped))
    }).pipe(Effect.provide(Simulator.layer()), Effect.scoped))
})
