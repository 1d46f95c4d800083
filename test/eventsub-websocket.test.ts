/**
 * The WebSocket transport alone (its engine, against the simulator's WebSocket server), with a recording
 * subscription API and small limits: what needs 900 subscriptions through the full stack is shown with a few.
 */
import * as NodeSocket from "@effect/platform-node/NodeSocket"
import { assert, describe, it } from "@effect/vitest"
import {
  Deferred,
  Duration,
  Effect,
  Either,
  Exit,
  Fiber,
  HashMap,
  Layer,
  Logger,
  Option,
  Schedule,
  Scope,
  Stream,
  TestClock
} from "effect"
import * as EventSub from "../src/EventSub.js"
import { EventSubSubscribeError } from "../src/EventSubError.js"
import type { CreateFailure, EventDecoder } from "../src/internal/eventsubRegistry.js"
import { type EngineOptions, make } from "../src/internal/eventsubWebSocket.js"
import type { ListedSubscription, SubscriptionApi } from "../src/internal/eventsubWsSubscriptions.js"
import * as Simulator from "../src/testing/Simulator.js"
import {
  captureLogs,
  collect,
  enabledSubs,
  eventually,
  eventuallyWithClock,
  openSessions,
  realPause,
  sessions,
  startFollows,
  waitSubscribed,
  withStack
} from "./fixtures/eventsub.js"
import * as FaultySocket from "./fixtures/faultySocket.js"

const USER = "100000001"
const B = Simulator.defaultUsers.broadcaster

const decoder: EventDecoder<unknown> = { type: "channel.chat.message", version: "1", decode: Either.right }
const condition = (broadcaster: number) => ({ broadcaster_user_id: String(broadcaster), user_id: USER })

interface Created {
  readonly id: string
  readonly userId: string
  readonly sessionId: string
  readonly broadcaster: unknown
}

interface Script {
  /** the outcome of create attempt `n` (from 1) for a broadcaster: a failure, or undefined to create */
  readonly create?: ((n: number, sessionId: string, broadcaster: string) => CreateFailure | undefined) | undefined
  /** what Get EventSub Subscriptions lists (after a 409) */
  readonly list?: ((sessionId: string) => ReadonlyArray<ListedSubscription>) | undefined
  readonly deleteFails?: boolean | undefined
}

/** A subscription API that creates (and deletes) nothing at Twitch: it records what it is asked. */
const recordingApi = (script: Script = {}) => {
  const created: Array<Created> = []
  const attempts: Array<string> = []
  const deleted: Array<string> = []
  const api: SubscriptionApi = {
    create: (request) =>
      Effect.suspend(() => {
        attempts.push(request.sessionId)
        const failure = script.create?.(
          attempts.length,
          request.sessionId,
          String(request.condition.broadcaster_user_id)
        )
        if (failure !== undefined) return Effect.fail(failure)
        const id = `sub-${created.length + 1}`
        created.push({
          id,
          userId: request.userId,
          sessionId: request.sessionId,
          broadcaster: request.condition.broadcaster_user_id
        })
        return Effect.succeed({ id })
      }),
    list: () => Effect.sync(() => script.list?.(attempts.at(-1)!) ?? []),
    delete: (userId, id) =>
      script.deleteFails === true
        ? Effect.fail(new EventSubSubscribeError({ userId, operation: "delete", description: "Twitch said no" }))
        : Effect.sync(() => void deleted.push(id))
  }
  return { api, attempts, created, deleted }
}

const failure = (kind: CreateFailure["kind"], description: string): CreateFailure => ({
  kind,
  error: new EventSubSubscribeError({ userId: USER, operation: "subscribe", description })
})

const engineOptions = (url: string, overrides: Partial<EngineOptions> = {}): EngineOptions => ({
  url,
  keepaliveTimeoutSeconds: undefined,
  keepaliveGrace: Duration.seconds(2),
  openTimeout: Duration.seconds(10),
  welcomeTimeout: Duration.seconds(15),
  reconnectSchedule: Schedule.exponential("500 millis"),
  maxRetryDelay: Duration.seconds(30),
  stableAfter: Duration.minutes(1),
  warningInterval: Duration.seconds(10),
  maxSubscriptionsPerConnection: 2,
  maxConnectionsPerUser: 2,
  dedupeWindow: 1_000,
  maxMessageAge: Duration.minutes(10),
  consumerBuffer: 16,
  ingressHighWater: 64,
  ...overrides
})

/** An engine over the simulator whose re-creates and reconnects are retried every `every`. */
const retryingEngine = (api: SubscriptionApi, url: string, every: Duration.DurationInput = "1 second") =>
  make(api, engineOptions(url, { reconnectSchedule: Schedule.spaced(every) }), () => Effect.void)

/** Runs `f` with a logger that records each line as "LEVEL message key=value ..." (its annotations). */
const captureAnnotatedLogs = <A, E, R>(f: (lines: Array<string>) => Effect.Effect<A, E, R>) =>
  Effect.suspend(() => {
    const lines: Array<string> = []
    const logger = Logger.make(({ annotations, logLevel, message }) => {
      const text = Array.isArray(message) ? message.join(" ") : String(message)
      const pairs = Array.from(HashMap.toEntries(annotations), ([key, value]) => `${key}=${String(value)}`)
      lines.push([`${logLevel.label} ${text}`, ...pairs.sort()].join(" "))
    })
    return f(lines).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
  })

const withSimulator = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  self.pipe(Effect.provide(Layer.merge(Simulator.layer(), NodeSocket.layerWebSocketConstructor)))

describe("EventSub WebSocket transport", () => {
  it.scoped("limits: subscriptions per connection, connections per user; an emptied connection frees its place", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const { api, created, deleted } = recordingApi()
      const engine = yield* make(api, engineOptions(sim.eventSubWsUrl), () => Effect.void)
      const start = (broadcaster: number, userId = USER) =>
        engine.subscribe(userId, decoder, condition(broadcaster)).pipe(Stream.runDrain, Effect.forkScoped)
      const createdCount = (n: number) => eventually(Effect.sync(() => created.length === n), `${n} creates`)
      const sessionOf = (broadcaster: number) => created.filter((c) => c.broadcaster === String(broadcaster)).at(-1)!

      // four subscriptions: two connections of two
      const streams = new Map<number, Fiber.RuntimeFiber<void, unknown>>()
      for (const broadcaster of [1, 2, 3, 4]) {
        streams.set(broadcaster, yield* start(broadcaster))
        yield* createdCount(broadcaster)
      }
      const [a, b] = [sessionOf(1).sessionId, sessionOf(3).sessionId]
      assert.strictEqual(sessionOf(2).sessionId, a)
      assert.strictEqual(sessionOf(4).sessionId, b)
      assert.notStrictEqual(a, b)
      assert.strictEqual((yield* openSessions).length, 2)

      // a second consumer of a subscription shares it: no create, no limit
      const shared = yield* start(1)
      // a fifth one: no room on either connection, and no third connection
      const overflow = yield* Effect.exit(Stream.runDrain(engine.subscribe(USER, decoder, condition(5))))
      assert.isTrue(Exit.isFailure(overflow))
      const error = Exit.isFailure(overflow) && overflow.cause._tag === "Fail" ? overflow.cause.error : undefined
      assert.strictEqual(error?._tag, "EventSubLimitExceeded")
      if (error?._tag === "EventSubLimitExceeded") {
        assert.strictEqual(error.limit, "connections")
        assert.strictEqual(error.userId, USER)
        assert.strictEqual(error.description, "2 connections of 2 subscriptions are in use")
      }
      assert.strictEqual(created.length, 4)

      // another user has connections of their own
      yield* start(6, "100000002")
      yield* createdCount(5)
      assert.strictEqual(created[4]!.userId, "100000002")
      assert.isFalse([a, b].includes(created[4]!.sessionId))

      // the last consumer of a subscription ends: it is deleted, and its place on the connection is free
      yield* Fiber.interrupt(streams.get(2)!)
      yield* eventually(Effect.sync(() => deleted.length === 1), "the delete")
      assert.deepStrictEqual(deleted, [sessionOf(2).id])
      streams.set(7, yield* start(7))
      yield* createdCount(6)
      assert.strictEqual(sessionOf(7).sessionId, a)
      assert.strictEqual((yield* openSessions).length, 3)

      // one of two consumers ends: the subscription stays; the last ones of a connection: it closes ...
      yield* Fiber.interrupt(shared)
      yield* Fiber.interrupt(streams.get(1)!)
      yield* Fiber.interrupt(streams.get(7)!)
      yield* eventually(Effect.sync(() => deleted.length === 3), "the deletes")
      assert.deepStrictEqual(deleted, [sessionOf(2).id, sessionOf(1).id, sessionOf(7).id])
      yield* eventually(
        Effect.map(openSessions, (list) => !list.some((s) => s.id === a)),
        "the emptied connection closed"
      )
      // ... and no longer counts: two more subscriptions open a new one
      for (const broadcaster of [8, 9]) {
        const before = created.length
        yield* start(broadcaster)
        yield* createdCount(before + 1)
      }
      const c = sessionOf(8).sessionId
      assert.strictEqual(sessionOf(9).sessionId, c)
      assert.isFalse([a, b].includes(c))
    }).pipe(withSimulator))

  it.scoped("asks for the configured keepalive, in a URL with or without a query of its own; none: the URL as given", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const { api, created } = recordingApi()
      const urls: Array<string> = []
      const cases: ReadonlyArray<readonly [string, number | undefined]> = [
        [sim.eventSubWsUrl, 30],
        [`${sim.eventSubWsUrl}?region=eu`, 45],
        [sim.eventSubWsUrl, undefined]
      ]
      for (const [url, seconds] of cases) {
        const engine = yield* make(api, engineOptions(url, { keepaliveTimeoutSeconds: seconds }), () => Effect.void)
          .pipe(Effect.provide(FaultySocket.layer({ urls })))
        const before = created.length
        yield* engine.subscribe(USER, decoder, condition(seconds ?? 1)).pipe(Stream.runDrain, Effect.forkScoped)
        yield* eventually(Effect.sync(() => created.length === before + 1), "the create")
        const session = (yield* sessions).find((s) => s.id === created.at(-1)!.sessionId)
        assert.strictEqual(session?.keepaliveTimeoutSeconds, seconds ?? 10) // the simulator's default: 10
      }
      assert.deepStrictEqual(urls, [
        `${sim.eventSubWsUrl}?keepalive_timeout_seconds=30`,
        `${sim.eventSubWsUrl}?region=eu&keepalive_timeout_seconds=45`,
        sim.eventSubWsUrl
      ])
    }).pipe(withSimulator))

  it.scoped("each close code is named in the Reconnecting status (Twitch's reason), another one by its number", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const { api, created } = recordingApi()
      const engine = yield* make(
        api,
        engineOptions(sim.eventSubWsUrl, { reconnectSchedule: Schedule.spaced(Duration.zero) }),
        () => Effect.void
      )
      const statuses = yield* collect(engine.status)
      yield* engine.subscribe(USER, decoder, condition(1)).pipe(Stream.runDrain, Effect.forkScoped)
      const codes = [4000, 4001, 4002, 4003, 4004, 4005, 4006, 4007, 4999, 1000]
      for (const [i, code] of codes.entries()) {
        yield* eventually(Effect.sync(() => created.length === i + 1), "a session with the subscription")
        yield* sim.eventSub.close({ sessionId: created[i]!.sessionId, code })
      }
      yield* eventually(Effect.sync(() => created.length === codes.length + 1), "the last session")
      const reconnecting = statuses.items.flatMap((s) => s._tag === "Reconnecting" ? [s] : [])
      assert.deepStrictEqual(reconnecting.map((s) => s.reason), [
        "closed with 4000 (internal server error)",
        "closed with 4001 (client sent inbound traffic)",
        "closed with 4002 (client failed ping-pong)",
        "closed with 4003 (connection unused)",
        "closed with 4004 (reconnect grace time expired)",
        "closed with 4005 (network timeout)",
        "closed with 4006 (network error)",
        "closed with 4007 (invalid reconnect)",
        "closed with 4999",
        "closed with 1000"
      ])
      // sessions that die young: the attempts count up
      assert.deepStrictEqual(reconnecting.map((s) => s.attempt), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
      assert.isTrue(reconnecting.every((s) => s.userId === USER && s.connection === reconnecting[0]!.connection))
    }).pipe(withSimulator))

  const listed = (
    id: string,
    sessionId: string,
    fields: Partial<ListedSubscription> = {}
  ): ListedSubscription => ({
    id,
    status: "enabled",
    version: "1",
    condition: condition(1),
    sessionId,
    ...fields
  })

  it.scoped("a 409 for a subscription on this very session (a create whose answer was lost): adopted, not created again", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const { api, attempts, created, deleted } = recordingApi({
        create: (n) => n === 1 ? failure("conflict", "already exists") : undefined,
        list: (session) => [
          listed("disabled", session, { status: "websocket_disconnected" }),
          listed("other-version", session, { version: "2" }),
          listed("other-condition", session, { condition: condition(2) }),
          listed("elsewhere", "someone-elses-session"),
          listed("ours", session),
          listed("later", session)
        ]
      })
      const engine = yield* make(api, engineOptions(sim.eventSubWsUrl), () => Effect.void)
      const statuses = yield* collect(engine.status)
      const consumer = yield* engine.subscribe(USER, decoder, condition(1)).pipe(Stream.runDrain, Effect.forkScoped)
      yield* eventually(Effect.sync(() => statuses.items.some((s) => s._tag === "Connected")), "connected")
      assert.deepStrictEqual(attempts.length, 1)
      assert.deepStrictEqual(created, [])
      assert.isNull(consumer.unsafePoll())
      // the adopted one is the subscription: deleted when its consumer ends
      yield* Fiber.interrupt(consumer)
      yield* eventually(Effect.sync(() => deleted.length === 1), "the delete")
      assert.deepStrictEqual(deleted, ["ours"])
      yield* eventually(
        Effect.sync(() => statuses.items.at(-1)?._tag === "Disconnected"),
        "the connection ended"
      )
      assert.deepStrictEqual(statuses.items.at(-1), {
        _tag: "Disconnected",
        userId: USER,
        connection: 1,
        reason: "no subscriptions"
      })
    }).pipe(withSimulator))

  it.scoped("a 409 after a reconnect: ours on lost sessions deleted, then created again; others' left alone", () =>
    captureAnnotatedLogs((lines) =>
      Effect.gen(function*() {
        const sim = yield* Simulator.Simulator
        let lost = ""
        let live = ""
        const { api, attempts, created, deleted } = recordingApi({
          // the third create (the first subscription again, on a fresh session) meets a 409
          create: (n) => n === 3 ? failure("conflict", "already exists") : undefined,
          list: () => [
            listed("foreign", "someone-elses-session"),
            listed("stale-disabled", lost, { status: "websocket_disconnected" }),
            listed("stale-v2", lost, { version: "2" }),
            listed("stale-other", lost, { condition: condition(3) }),
            listed("on-live-connection", live),
            listed("stale", lost),
            listed("unbound", undefined as unknown as string, { sessionId: undefined })
          ]
        })
        const engine = yield* make(
          api,
          engineOptions(sim.eventSubWsUrl, { maxSubscriptionsPerConnection: 1 }),
          () => Effect.void
        )
        const consumer = yield* engine.subscribe(USER, decoder, condition(1)).pipe(Stream.runDrain, Effect.forkScoped)
        yield* eventually(Effect.sync(() => created.length === 1), "the first create")
        // a second connection of the same user, live
        yield* engine.subscribe(USER, decoder, condition(2)).pipe(Stream.runDrain, Effect.forkScoped)
        yield* eventually(Effect.sync(() => created.length === 2), "the second create")
        lost = created[0]!.sessionId
        live = created[1]!.sessionId
        yield* sim.eventSub.close({ sessionId: lost, code: 4006 })
        yield* eventually(Effect.sync(() => created.length === 3), "created again")
        assert.deepStrictEqual(deleted, ["stale"])
        assert.strictEqual(attempts.length, 4)
        assert.strictEqual(attempts[2], attempts[3])
        assert.notStrictEqual(created[2]!.sessionId, lost)
        assert.isNull(consumer.unsafePoll())
        assert.isTrue(
          lines.some((l) =>
            l.startsWith("INFO") &&
            l.includes("deleted 1 stale channel.chat.message subscription(s) of a lost session") &&
            l.includes(`userId=${USER}`) && l.includes("connection=1")
          ),
          lines.join("\n")
        )
      }).pipe(withSimulator)
    ))

  it.scoped("a 409 held by a session not ours: a transient failure, retried (with a warning) until it clears", () =>
    captureLogs((lines) =>
      Effect.gen(function*() {
        const sim = yield* Simulator.Simulator
        const { api, attempts, created } = recordingApi({
          create: (n) => n === 2 || n === 3 ? failure("conflict", "already exists") : undefined,
          list: () => [listed("foreign", "someone-elses-session")]
        })
        const engine = yield* retryingEngine(api, sim.eventSubWsUrl)
        const consumer = yield* engine.subscribe(USER, decoder, condition(1)).pipe(Stream.runDrain, Effect.forkScoped)
        yield* eventually(Effect.sync(() => created.length === 1), "the first create")
        yield* sim.eventSub.close({ sessionId: created[0]!.sessionId, code: 4006 })
        yield* eventually(Effect.sync(() => attempts.length === 2), "the create on the new session")
        const fresh = attempts[1]!
        yield* TestClock.adjust("1 second")
        yield* eventually(Effect.sync(() => attempts.length === 3), "the first retry")
        yield* TestClock.adjust("1 second")
        yield* eventually(Effect.sync(() => created.length === 2), "the second retry")
        assert.deepStrictEqual(attempts.slice(1), [fresh, fresh, fresh])
        assert.strictEqual(created[1]!.sessionId, fresh)
        assert.isNull(consumer.unsafePoll())
        const warned = lines.filter((l) => l.startsWith("WARN") && l.includes("could not re-create"))
        assert.isAtLeast(warned.length, 1)
        assert.include(warned[0]!, "channel.chat.message v1")
        assert.include(warned[0]!, "already exists")
        assert.include(warned[0]!, "retrying")
      }).pipe(withSimulator)
    ))

  it.scoped("a fatal failure on re-creating: the stream fails with it, and the emptied connection ends", () =>
    captureLogs((lines) =>
      Effect.gen(function*() {
        const sim = yield* Simulator.Simulator
        const { api, attempts, created } = recordingApi({
          create: (n) => n === 2 ? failure("fatal", "the scope was removed") : undefined
        })
        const engine = yield* make(api, engineOptions(sim.eventSubWsUrl), () => Effect.void)
        const statuses = yield* collect(engine.status)
        const consumer = yield* engine.subscribe(USER, decoder, condition(1)).pipe(Stream.runDrain, Effect.fork)
        yield* eventually(Effect.sync(() => created.length === 1), "the first create")
        yield* sim.eventSub.close({ sessionId: created[0]!.sessionId, code: 4006 })
        const error = yield* Effect.flip(Fiber.join(consumer))
        assert.strictEqual(error.message, failure("fatal", "the scope was removed").error.message)
        assert.strictEqual(attempts.length, 2)
        assert.isTrue(
          lines.some((l) =>
            l.startsWith("WARN") && l.includes("could not re-create a subscription") &&
            l.includes("the scope was removed")
          ),
          lines.join("\n")
        )
        yield* eventually(Effect.sync(() => statuses.items.at(-1)?._tag === "Disconnected"), "the end")
        yield* eventually(Effect.map(openSessions, (list) => list.length === 0), "no session left")
      }).pipe(withSimulator)
    ))

  it.scoped("a delete that fails is logged; the consumer ends all the same", () =>
    captureLogs((lines) =>
      Effect.gen(function*() {
        const sim = yield* Simulator.Simulator
        const { api, created } = recordingApi({ deleteFails: true })
        const engine = yield* make(api, engineOptions(sim.eventSubWsUrl), () => Effect.void)
        const consumer = yield* engine.subscribe(USER, decoder, condition(1)).pipe(Stream.runDrain, Effect.fork)
        yield* eventually(Effect.sync(() => created.length === 1), "the create")
        const exit = yield* Fiber.interrupt(consumer)
        assert.isTrue(Exit.isInterrupted(exit))
        assert.isTrue(
          lines.some((l) =>
            l.startsWith("WARN") && l.includes("could not delete subscription sub-1") && l.includes("Twitch said no")
          ),
          lines.join("\n")
        )
        yield* eventually(Effect.map(openSessions, (list) => list.length === 0), "the connection closed")
      }).pipe(withSimulator)
    ))

  it.scoped("when the engine closes: a consumer waiting for a session fails, and nothing is deleted", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const { api, created, deleted } = recordingApi()
      // a connection that never opens (nothing listens on port 1): the consumer waits for a session
      const downScope = yield* Scope.make()
      const down = yield* make(
        api,
        engineOptions("ws://127.0.0.1:1/ws", { reconnectSchedule: Schedule.spaced("1 hour") }),
        () => Effect.void
      ).pipe(Scope.extend(downScope))
      const downStatuses = yield* collect(down.status)
      const waiting = yield* down.subscribe(USER, decoder, condition(1)).pipe(Stream.runDrain, Effect.fork)
      yield* eventually(
        Effect.sync(() => downStatuses.items.some((s) => s._tag === "Reconnecting")),
        "a failed attempt"
      )
      const reconnecting = downStatuses.items.find((s) => s._tag === "Reconnecting")
      assert.strictEqual(reconnecting?._tag === "Reconnecting" && reconnecting.reason, "socket Open error")
      yield* Scope.close(downScope, Exit.void)
      const error = yield* Effect.flip(Fiber.join(waiting))
      assert.strictEqual(error._tag, "EventSubSubscribeError")
      assert.include(error.message, "the connection was closed")
      // a live connection: its consumers outlive the engine, and are not deleted one by one at shutdown
      const upScope = yield* Scope.make()
      const up = yield* make(api, engineOptions(sim.eventSubWsUrl), () => Effect.void).pipe(Scope.extend(upScope))
      const upStatuses = yield* collect(up.status)
      const consumer = yield* up.subscribe(USER, decoder, condition(1)).pipe(Stream.runDrain, Effect.fork)
      yield* eventually(Effect.sync(() => created.length === 1), "the create")
      yield* Scope.close(upScope, Exit.void)
      yield* eventually(Effect.sync(() => upStatuses.items.at(-1)?._tag === "Disconnected"), "the end")
      assert.deepStrictEqual(upStatuses.items.at(-1), {
        _tag: "Disconnected",
        userId: USER,
        connection: 1,
        reason: "stopped"
      })
      yield* Fiber.interrupt(consumer)
      yield* realPause(20)
      assert.deepStrictEqual(deleted, [])
      yield* eventually(Effect.map(openSessions, (list) => list.length === 0), "the connection closed")
    }).pipe(withSimulator))

  it.scoped("a notification that overtakes the answer to its create is delivered", () =>
    Effect.gen(function*() {
      const recording = recordingApi()
      const answer = yield* Deferred.make<void>()
      let asked = 0
      const api: SubscriptionApi = {
        ...recording.api,
        create: (request) =>
          Effect.suspend(() => {
            asked++
            return Effect.zipRight(Deferred.await(answer), recording.api.create(request))
          })
      }
      // while asked to, the next keepalive becomes a notification of the subscription being created
      let overtake = false
      const inbound = (text: string): string => {
        const frame = JSON.parse(text) as { metadata: Record<string, string> }
        if (!overtake || frame.metadata.message_type !== "session_keepalive") return text
        overtake = false
        return JSON.stringify({
          metadata: {
            ...frame.metadata,
            message_id: "early-1",
            message_type: "notification",
            subscription_type: decoder.type,
            subscription_version: decoder.version
          },
          payload: {
            subscription: {
              id: "sub-1",
              status: "enabled",
              type: decoder.type,
              version: decoder.version,
              condition: condition(1)
            },
            event: { chatter: "early" }
          }
        })
      }
      const sim = yield* Simulator.Simulator
      const engine = yield* make(api, engineOptions(sim.eventSubWsUrl), () => Effect.void).pipe(
        Effect.provide(FaultySocket.layer({ inbound }))
      )
      const events = yield* engine.subscribe(USER, decoder, condition(1)).pipe(
        Stream.take(1),
        Stream.runCollect,
        Effect.fork
      )
      yield* eventually(Effect.sync(() => asked === 1), "the create asked")
      overtake = true
      yield* TestClock.adjust("2 seconds") // the simulator's keepalive (before its 10 s subscribe deadline)
      yield* eventually(Effect.sync(() => !overtake), "the notification")
      yield* realPause(20)
      yield* Deferred.succeed(answer, undefined)
      yield* eventually(Effect.map(Fiber.poll(events), Option.isSome), "the event delivered")
      assert.deepStrictEqual(Array.from(yield* Fiber.join(events)), [{ chatter: "early" }])
    }).pipe(Effect.provide(Simulator.layer({ eventSub: { keepaliveSeconds: 2 } }))))

  it.scoped("a create in flight when its session is lost: made on the next session, and its stream goes on", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const recording = recordingApi()
      const hold = yield* Deferred.make<void>()
      let held = false
      const api: SubscriptionApi = {
        ...recording.api,
        create: (request) => {
          if (request.condition.broadcaster_user_id !== "2" || held) return recording.api.create(request)
          held = true
          // answered after the session is gone: Twitch no longer knows it (a transient failure)
          return Effect.zipRight(Deferred.await(hold), Effect.fail(failure("transient", "no such session")))
        }
      }
      const engine = yield* make(api, engineOptions(sim.eventSubWsUrl), () => Effect.void)
      const statuses = yield* collect(engine.status)
      yield* engine.subscribe(USER, decoder, condition(1)).pipe(Stream.runDrain, Effect.forkScoped)
      yield* eventually(Effect.sync(() => recording.created.length === 1), "the first create")
      const second = yield* engine.subscribe(USER, decoder, condition(2)).pipe(Stream.runDrain, Effect.forkScoped)
      yield* eventually(Effect.sync(() => held), "the second create in flight")
      const lost = recording.created[0]!.sessionId
      yield* sim.eventSub.close({ sessionId: lost, code: 4000 })
      yield* eventually(Effect.sync(() => statuses.items.some((s) => s._tag === "Reconnecting")), "the session lost")
      yield* Deferred.succeed(hold, undefined)
      yield* eventually(Effect.sync(() => recording.created.length === 3), "both made on the next session")
      const next = recording.created[1]!.sessionId
      assert.notStrictEqual(next, lost)
      assert.deepStrictEqual(recording.created.slice(1).map((c) => [c.broadcaster, c.sessionId]), [["1", next], [
        "2",
        next
      ]])
      yield* realPause(20)
      assert.isNull(second.unsafePoll())
    }).pipe(withSimulator))

  it.scoped("when the engine closes between sessions: a consumer waiting for the next one fails", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const recording = recordingApi()
      // the first session creates; the next one never gets past creating, so it never becomes ready
      let first: string | undefined
      const api: SubscriptionApi = {
        ...recording.api,
        create: (request) => {
          first ??= request.sessionId
          return request.sessionId === first ? recording.api.create(request) : Effect.never
        }
      }
      const scope = yield* Scope.make()
      const engine = yield* make(api, engineOptions(sim.eventSubWsUrl), () => Effect.void).pipe(Scope.extend(scope))
      const statuses = yield* collect(engine.status)
      yield* engine.subscribe(USER, decoder, condition(1)).pipe(Stream.runDrain, Effect.forkScoped)
      yield* eventually(Effect.sync(() => recording.created.length === 1), "the create")
      yield* sim.eventSub.close({ sessionId: recording.created[0]!.sessionId, code: 4000 })
      yield* eventually(Effect.sync(() => statuses.items.some((s) => s._tag === "Reconnecting")), "the session lost")
      const waiting = yield* engine.subscribe(USER, decoder, condition(2)).pipe(Stream.runDrain, Effect.fork)
      yield* realPause(20)
      yield* Scope.close(scope, Exit.void)
      yield* eventually(Effect.map(Fiber.poll(waiting), Option.isSome), "the waiting consumer's end")
      const error = yield* Effect.flip(Fiber.join(waiting))
      assert.include(error.message, "the connection was closed")
    }).pipe(withSimulator))

  it.scoped("sessions that never open are never stable, however late the clock: the backoff grows", () =>
    Effect.gen(function*() {
      yield* TestClock.adjust("2 minutes") // well past stableAfter (a minute) since the clock's 0
      const { api } = recordingApi()
      const options = engineOptions("ws://127.0.0.1:1/ws", { reconnectSchedule: Schedule.spaced("1 hour") })
      const engine = yield* make(api, options, () => Effect.void)
      const statuses = yield* collect(engine.status)
      yield* engine.subscribe(USER, decoder, condition(1)).pipe(Stream.runDrain, Effect.forkScoped)
      const attempts = () => statuses.items.flatMap((s) => s._tag === "Reconnecting" ? [s.attempt] : [])
      yield* eventually(Effect.sync(() => attempts().length >= 2), "two failed attempts")
      yield* realPause(50)
      // the first retry goes at once, the next waits its hour on the schedule
      assert.deepStrictEqual(attempts(), [1, 2])
    }).pipe(withSimulator))

  it.scoped("a welcome that does not come, a session_reconnect before it, a handover without welcome: each a reconnect", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      let welcomes = 0
      const inbound = (text: string) => {
        if (!text.includes("\"session_welcome\"")) return text
        welcomes++
        if (welcomes === 1 || welcomes === 4) return null // the first connection's, and the handover's
        if (welcomes === 2) {
          return text.replace("\"session_welcome\"", "\"session_reconnect\"")
            .replace("\"reconnect_url\":null", `"reconnect_url":"${sim.eventSubWsUrl}"`)
        }
        return text
      }
      const { api, created } = recordingApi()
      const engine = yield* make(
        api,
        engineOptions(sim.eventSubWsUrl, {
          welcomeTimeout: Duration.seconds(5),
          reconnectSchedule: Schedule.spaced(Duration.zero)
        }),
        () => Effect.void
      ).pipe(Effect.provide(FaultySocket.layer({ inbound })))
      const statuses = yield* collect(engine.status)
      const reasons = () => statuses.items.flatMap((s) => s._tag === "Reconnecting" ? [s.reason] : [])
      const consumer = yield* engine.subscribe(USER, decoder, condition(1)).pipe(Stream.runDrain, Effect.forkScoped)
      yield* eventually(Effect.sync(() => welcomes === 1), "the first welcome (dropped)")
      yield* TestClock.adjust("4999 millis")
      yield* realPause(30)
      assert.deepStrictEqual(reasons(), [])
      yield* TestClock.adjust("1 millis")
      yield* eventually(Effect.sync(() => created.length === 1), "a session")
      assert.deepStrictEqual(reasons(), ["no welcome in time", "reconnect before welcome"])
      // a session_reconnect whose new socket is never welcomed: the old session gives up too
      yield* sim.eventSub.reconnect({ sessionId: created[0]!.sessionId })
      yield* eventually(Effect.sync(() => welcomes === 4), "the handover's welcome (dropped)")
      yield* TestClock.adjust("5 seconds")
      yield* eventually(Effect.sync(() => created.length === 2), "a fresh session")
      assert.deepStrictEqual(reasons(), [
        "no welcome in time",
        "reconnect before welcome",
        "reconnect failed: no welcome in time"
      ])
      assert.isNull(consumer.unsafePoll())
    }).pipe(withSimulator))

  it.scoped("a new subscription that fails transiently fails its stream; a new consumer of one being re-created waits", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      let failing = false
      const { api, attempts, created } = recordingApi({
        create: () => failing ? failure("transient", "Twitch is busy") : undefined
      })
      const engine = yield* retryingEngine(api, sim.eventSubWsUrl)
      const first = yield* engine.subscribe(USER, decoder, condition(1)).pipe(Stream.runDrain, Effect.forkScoped)
      yield* eventually(Effect.sync(() => created.length === 1), "the first create")
      failing = true
      const fresh = yield* Effect.flip(Stream.runDrain(engine.subscribe(USER, decoder, condition(2))))
      assert.include(fresh.message, "Twitch is busy")
      // the session is lost; re-creating the first subscription fails for now
      yield* sim.eventSub.close({ sessionId: created[0]!.sessionId, code: 4006 })
      yield* eventually(Effect.sync(() => attempts.length === 3), "the re-create")
      const second = yield* engine.subscribe(USER, decoder, condition(1)).pipe(Stream.runDrain, Effect.forkScoped)
      yield* eventually(Effect.sync(() => attempts.length === 4), "the second consumer's try")
      yield* realPause(20)
      assert.isNull(second.unsafePoll())
      failing = false
      yield* TestClock.adjust("1 second")
      yield* eventually(Effect.sync(() => created.length === 2), "re-created on the retry")
      assert.strictEqual(created[1]!.sessionId, attempts[2])
      assert.isNull(first.unsafePoll())
      assert.isNull(second.unsafePoll())
    }).pipe(withSimulator))

  it.scoped("logs name the user and the connection", () =>
    captureAnnotatedLogs((lines) =>
      Effect.gen(function*() {
        const sim = yield* Simulator.Simulator
        let failing = false
        const { api, created } = recordingApi({
          create: () => failing ? failure("transient", "Twitch is busy") : undefined
        })
        const engine = yield* retryingEngine(api, sim.eventSubWsUrl, "1 hour")
        yield* engine.subscribe(USER, decoder, condition(1)).pipe(Stream.runDrain, Effect.forkScoped)
        yield* eventually(Effect.sync(() => created.length === 1), "the create")
        yield* sim.eventSub.sendMalformed({ sessionId: created[0]!.sessionId, text: "not json" })
        failing = true
        yield* sim.eventSub.close({ sessionId: created[0]!.sessionId, code: 4006 })
        const has = (level: string, text: string) =>
          lines.some((l) =>
            l.startsWith(level) && l.includes(text) && l.includes(`userId=${USER}`) && l.includes("connection=1")
          )
        yield* eventually(Effect.sync(() => has("WARN", "could not re-create")), "the warning")
        assert.isTrue(has("WARN", "not JSON"), lines.join("\n"))
        assert.isTrue(has("WARN", "EventSub connection lost (closed with 4006 (network error)); reconnecting"))
        assert.isTrue(lines.some((l) => l.includes("connection lost") && l.includes("attempt=1")), lines.join("\n"))
      }).pipe(withSimulator)
    ))

  it.scoped("a second welcome on a live session carries nothing new: the session goes on", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const { api, created } = recordingApi()
      const engine = yield* make(api, engineOptions(sim.eventSubWsUrl), () => Effect.void)
      const statuses = yield* collect(engine.status)
      yield* engine.subscribe(USER, decoder, condition(1)).pipe(Stream.runDrain, Effect.forkScoped)
      yield* eventually(Effect.sync(() => created.length === 1), "the create")
      const sessionId = created[0]!.sessionId
      const welcome = JSON.stringify({
        metadata: { message_id: "again", message_type: "session_welcome", message_timestamp: new Date().toISOString() },
        payload: {
          session: {
            id: sessionId,
            status: "connected",
            connected_at: new Date().toISOString(),
            keepalive_timeout_seconds: 10,
            reconnect_url: null
          }
        }
      })
      yield* sim.eventSub.sendMalformed({ sessionId, text: welcome })
      yield* realPause(50)
      assert.deepStrictEqual(statuses.items.map((s) => s._tag), ["Connecting", "Connected"])
      assert.deepStrictEqual((yield* openSessions).map((s) => s.id), [sessionId])
    }).pipe(withSimulator))

  it.scoped("a re-create retried in the background stops when its last consumer has gone", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      let failing = false
      const { api, attempts, created } = recordingApi({
        create: () => failing ? failure("transient", "Twitch is busy") : undefined
      })
      const engine = yield* retryingEngine(api, sim.eventSubWsUrl)
      const gone = yield* engine.subscribe(USER, decoder, condition(1)).pipe(Stream.runDrain, Effect.forkScoped)
      yield* eventually(Effect.sync(() => created.length === 1), "the first create")
      yield* engine.subscribe(USER, decoder, condition(2)).pipe(Stream.runDrain, Effect.forkScoped)
      yield* eventually(Effect.sync(() => created.length === 2), "the second create")
      failing = true
      yield* sim.eventSub.close({ sessionId: created[0]!.sessionId, code: 4006 })
      yield* eventually(Effect.sync(() => attempts.length === 4), "both re-creates failed")
      yield* Fiber.interrupt(gone)
      failing = false
      yield* TestClock.adjust("1 second")
      yield* eventually(Effect.sync(() => created.length === 3), "the other one re-created")
      yield* realPause(30)
      assert.deepStrictEqual(created.slice(2).map((c) => c.broadcaster), ["2"])
    }).pipe(withSimulator))

  it.scoped("a subscription that ended is created anew for a new stream; its old consumer leaving later leaves the new one shared", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const { api, created, deleted } = recordingApi({
        create: (n) => n === 2 ? failure("fatal", "the scope was removed") : undefined
      })
      const engine = yield* make(api, engineOptions(sim.eventSubWsUrl), () => Effect.void)
      const subscribe = engine.subscribe(USER, decoder, condition(1))
      // a consumer that keeps its stream (and its scope) open after the stream failed
      const oldScope = yield* Scope.make()
      const pull = yield* Stream.toPull(subscribe).pipe(Scope.extend(oldScope))
      const old = yield* Effect.fork(pull)
      yield* eventually(Effect.sync(() => created.length === 1), "the first create")
      yield* sim.eventSub.close({ sessionId: created[0]!.sessionId, code: 4006 })
      yield* eventually(Effect.sync(() => old.unsafePoll() !== null), "the old stream ended")
      const ended = yield* Effect.flip(Fiber.join(old))
      assert.include(Option.getOrThrow(ended).message, "the scope was removed")
      // a new stream of it: created again, on the new session
      const renewed = yield* subscribe.pipe(Stream.runDrain, Effect.forkScoped)
      yield* eventually(Effect.sync(() => created.length === 2), "created anew")
      assert.notStrictEqual(created[1]!.sessionId, created[0]!.sessionId)
      // the old consumer goes; a third consumer shares the new subscription: no create
      yield* Scope.close(oldScope, Exit.void)
      const third = yield* subscribe.pipe(Stream.runDrain, Effect.forkScoped)
      yield* realPause(20)
      assert.strictEqual(created.length, 2)
      // deleted once, when its last consumer ends
      yield* Fiber.interrupt(renewed)
      assert.deepStrictEqual(deleted, [])
      yield* Fiber.interrupt(third)
      assert.deepStrictEqual(deleted, [created[1]!.id])
      yield* eventually(Effect.map(openSessions, (list) => list.length === 0), "the emptied connection closed")
    }).pipe(withSimulator))

  it.scoped("one of two consumers leaves: the subscription and its connection stay, and a newcomer shares it", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const { api, created, deleted } = recordingApi()
      const engine = yield* make(api, engineOptions(sim.eventSubWsUrl), () => Effect.void)
      const subscribe = engine.subscribe(USER, decoder, condition(1))
      const first = yield* subscribe.pipe(Stream.runDrain, Effect.forkScoped)
      yield* eventually(Effect.sync(() => created.length === 1), "the create")
      const second = yield* subscribe.pipe(Stream.runDrain, Effect.forkScoped)
      yield* realPause(20)
      yield* Fiber.interrupt(first)
      const newcomer = yield* subscribe.pipe(Stream.runDrain, Effect.forkScoped)
      yield* realPause(20)
      assert.strictEqual(created.length, 1)
      assert.deepStrictEqual(deleted, [])
      assert.deepStrictEqual((yield* openSessions).map((s) => s.id), [created[0]!.sessionId])
      yield* Fiber.interrupt(second)
      assert.deepStrictEqual(deleted, [])
      yield* Fiber.interrupt(newcomer)
      assert.deepStrictEqual(deleted, [created[0]!.id])
    }).pipe(withSimulator))

  it.scoped("background retries: one re-created does not stop the others'; a fatal answer on a retry ends that stream", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      let retriesOf2 = 0
      const { api, attempts, created } = recordingApi({
        // 1, 2: the first session; 3, 4: both re-creates fail for now; then 1 is re-created, 2 fails again, then fatally
        create: (n, _, broadcaster) => {
          if (n <= 2) return undefined
          if (n <= 4) return failure("transient", "Twitch is busy")
          if (broadcaster !== "2") return undefined
          return ++retriesOf2 === 1 ? failure("transient", "Twitch is busy") : failure("fatal", "the scope was removed")
        }
      })
      const engine = yield* retryingEngine(api, sim.eventSubWsUrl)
      const one = yield* engine.subscribe(USER, decoder, condition(1)).pipe(Stream.runDrain, Effect.forkScoped)
      yield* eventually(Effect.sync(() => created.length === 1), "the first create")
      const two = yield* engine.subscribe(USER, decoder, condition(2)).pipe(Stream.runDrain, Effect.fork)
      yield* eventually(Effect.sync(() => created.length === 2), "the second create")
      yield* sim.eventSub.close({ sessionId: created[0]!.sessionId, code: 4006 })
      yield* eventually(Effect.sync(() => attempts.length === 4), "both re-creates failed")
      yield* TestClock.adjust("1 second")
      yield* eventually(Effect.sync(() => created.length === 3 && attempts.length === 6), "the first retries")
      assert.strictEqual(created[2]!.broadcaster, "1")
      yield* TestClock.adjust("1 second")
      yield* eventually(Effect.sync(() => two.unsafePoll() !== null), "the second stream ended")
      const error = yield* Effect.flip(Fiber.join(two))
      assert.include(error.message, "the scope was removed")
      assert.strictEqual(attempts.length, 7)
      assert.isNull(one.unsafePoll())
    }).pipe(withSimulator))

  it.scoped("a consumer joining a subscription being re-created: a fatal answer to its try fails its stream at once", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const { api, attempts, created } = recordingApi({
        // 2: the re-create on the new session fails for now; from 3 (the joining consumer's try) on: fatally
        create: (n) =>
          n === 1
            ? undefined
            : n === 2
            ? failure("transient", "Twitch is busy")
            : failure("fatal", "the scope was removed")
      })
      const engine = yield* retryingEngine(api, sim.eventSubWsUrl)
      const first = yield* engine.subscribe(USER, decoder, condition(1)).pipe(Stream.runDrain, Effect.fork)
      yield* eventually(Effect.sync(() => created.length === 1), "the first create")
      yield* sim.eventSub.close({ sessionId: created[0]!.sessionId, code: 4006 })
      yield* eventually(Effect.sync(() => attempts.length === 2), "the re-create")
      const joining = yield* engine.subscribe(USER, decoder, condition(1)).pipe(Stream.runDrain, Effect.fork)
      // without the clock moving (no background retry yet)
      yield* eventually(Effect.sync(() => joining.unsafePoll() !== null), "the joining stream ended")
      const error = yield* Effect.flip(Fiber.join(joining))
      assert.include(error.message, "the scope was removed")
      assert.strictEqual(attempts.length, 3)
      assert.isNull(first.unsafePoll())
      // the background retry meets it too: the first stream ends with it
      yield* TestClock.adjust("1 second")
      yield* eventually(Effect.sync(() => first.unsafePoll() !== null), "the first stream ended")
      const ended = yield* Effect.flip(Fiber.join(first))
      assert.include(ended.message, "the scope was removed")
    }).pipe(withSimulator))

  it.scoped("a user's sessions are known as ours for the latest 64: a 409 on the 64th back is deleted, on the 65th left alone", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const { api, attempts, created, deleted } = recordingApi({
        // the create on the 65th session meets a 409: held on the first session and on the second
        create: (n) => n === 65 ? failure("conflict", "already exists") : undefined,
        list: () => [listed("on-session-1", created[0]!.sessionId), listed("on-session-2", created[1]!.sessionId)]
      })
      const engine = yield* make(
        api,
        engineOptions(sim.eventSubWsUrl, { reconnectSchedule: Schedule.spaced(Duration.zero) }),
        () => Effect.void
      )
      const consumer = yield* engine.subscribe(USER, decoder, condition(1)).pipe(Stream.runDrain, Effect.forkScoped)
      for (let i = 0; i < 64; i++) {
        yield* eventually(Effect.sync(() => created.length === i + 1), `session ${i + 1}`)
        yield* sim.eventSub.close({ sessionId: created[i]!.sessionId, code: 4006 })
      }
      yield* eventually(Effect.sync(() => created.length === 65), "created on session 65")
      // sessions 2 to 65 are known: the first one's subscription may be another process's
      assert.deepStrictEqual(deleted, ["on-session-2"])
      assert.strictEqual(attempts.length, 66)
      assert.strictEqual(created[64]!.sessionId, attempts[64])
      assert.isNull(consumer.unsafePoll())
    }).pipe(withSimulator))

  it.scoped("after a reconnect the subscriptions are re-created side by side: a slow create does not hold the others back", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const { api: recording, created } = recordingApi()
      const secondAsked = yield* Deferred.make<void>()
      // on the new session, the first subscription's create answers only once the second one's was sent
      const api: SubscriptionApi = {
        ...recording,
        create: (request) =>
          Effect.suspend(() =>
            created.length < 2
              ? recording.create(request)
              : request.condition.broadcaster_user_id === "2"
              ? Effect.zipRight(Deferred.succeed(secondAsked, undefined), recording.create(request))
              : Effect.zipRight(Deferred.await(secondAsked), recording.create(request))
          )
      }
      const engine = yield* make(api, engineOptions(sim.eventSubWsUrl), () => Effect.void)
      for (const broadcaster of [1, 2]) {
        yield* engine.subscribe(USER, decoder, condition(broadcaster)).pipe(Stream.runDrain, Effect.forkScoped)
        yield* eventually(Effect.sync(() => created.length === broadcaster), `create ${broadcaster}`)
      }
      yield* sim.eventSub.close({ sessionId: created[0]!.sessionId, code: 4006 })
      yield* eventually(Effect.sync(() => created.length === 4), "both re-created")
      assert.deepStrictEqual(created.slice(2).map((c) => c.broadcaster), ["2", "1"])
    }).pipe(withSimulator))
})

describe("EventSub WebSocket transport, over the full stack", () => {
  const reconnects = (items: ReadonlyArray<EventSub.Status>) =>
    items.flatMap((s) => s._tag === "Reconnecting" ? [s] : [])

  it.scoped("the watchdog: silence of keepalive + grace after the last frame is tolerated, within 100 ms more it is not", () =>
    Effect.gen(function*() {
      const eventSub = yield* EventSub.EventSub
      const statuses = yield* collect(eventSub.status)
      const { items, sim } = yield* startFollows(B)
      // the session was welcomed at 0; its last frame arrives 1 ms later
      yield* TestClock.adjust("1 millis")
      yield* sim.eventSub.trigger({ type: "channel.follow" })
      yield* eventually(Effect.sync(() => items.length === 1), "the event")
      const [session] = yield* openSessions
      yield* sim.eventSub.setKeepalive({ sessionId: session!.id, enabled: false })
      yield* TestClock.adjust("12 seconds") // keepalive 10 s + grace 2 s of silence
      yield* realPause(30)
      assert.deepStrictEqual(reconnects(statuses.items), [])
      yield* TestClock.adjust("99 millis")
      yield* realPause(30)
      assert.deepStrictEqual(reconnects(statuses.items), [])
      yield* TestClock.adjust("1 millis")
      yield* eventually(Effect.sync(() => reconnects(statuses.items).length === 1), "the reconnect")
      assert.strictEqual(reconnects(statuses.items)[0]!.reason, "keepalive timeout")
    }).pipe(withStack()))

  const stuckConsumer = Effect.gen(function*() {
    const eventSub = yield* EventSub.EventSub
    const gate = yield* Deferred.make<void>()
    const texts: Array<string> = []
    yield* eventSub.chatMessages(B).pipe(
      Stream.runForEach((event) =>
        Effect.zipRight(Deferred.await(gate), Effect.sync(() => texts.push(event.message.text)))
      ),
      Effect.forkScoped
    )
    yield* waitSubscribed()
    const sim = yield* Simulator.Simulator
    const send = (count: number) =>
      Effect.gen(function*() {
        for (let i = 0; i < count; i++) {
          yield* sim.eventSub.trigger({ type: "channel.chat.message", event: { message: { text: `m${i}` } } })
          if (i % 50 === 0) yield* realPause(1)
        }
        yield* realPause(30)
      })
    const release = (count: number) =>
      Effect.gen(function*() {
        yield* Deferred.succeed(gate, undefined)
        yield* eventually(Effect.sync(() => texts.length === count), `${count} events`)
        assert.deepStrictEqual(texts, Array.from({ length: count }, (_, i) => `m${i}`))
      })
    return { send, release }
  })

  it.scoped("a socket paused behind a stuck consumer (and resumed after) is not declared dead by the watchdog", () =>
    Effect.suspend(() => {
      const pauses: Array<"pause" | "resume"> = []
      return Effect.gen(function*() {
        const eventSub = yield* EventSub.EventSub
        const statuses = yield* collect(eventSub.status)
        const { release, send } = yield* stuckConsumer
        const [session] = yield* openSessions
        assert.deepStrictEqual(pauses, [])
        /** paused, then resumed, in turn */
        const alternating = () => pauses.every((call, i) => call === (i % 2 === 0 ? "pause" : "resume"))
        yield* send(200)
        assert.strictEqual(pauses.at(-1), "pause", pauses.join())
        assert.isTrue(alternating(), pauses.join())
        // past keepalive (10 s) + grace (2 s) without reading: the keepalive waits in the socket, unread
        yield* TestClock.adjust("10 seconds")
        yield* realPause(10)
        yield* TestClock.adjust("3 seconds")
        yield* realPause(30)
        assert.deepStrictEqual(reconnects(statuses.items), [])
        yield* release(200)
        assert.strictEqual(pauses.at(-1), "resume", pauses.join())
        assert.isTrue(alternating(), pauses.join())
        assert.deepStrictEqual((yield* openSessions).map((s) => s.id), [session!.id])
      }).pipe(withStack({
        eventSub: { consumerBuffer: 4, ingressHighWater: 8 },
        webSocket: FaultySocket.layer({ pauses })
      }))
    }))

  it.scoped("the socket pauses when the events waiting for a stuck consumer reach the high-water mark, not one later", () =>
    Effect.suspend(() => {
      const pauses: Array<"pause" | "resume"> = []
      return Effect.gen(function*() {
        const { release } = yield* stuckConsumer
        const sim = yield* Simulator.Simulator
        let sent = 0
        while (pauses.length === 0 && sent < 40) {
          yield* sim.eventSub.trigger({ type: "channel.chat.message", event: { message: { text: `m${sent++}` } } })
          yield* realPause(60) // for the dispatcher to hand each event on as far as it can
        }
        // held: 1 by the consumer, 4 in its buffer, 1 in the dispatcher's hand, then 8 in the ingress
        assert.strictEqual(sent, 14)
        yield* release(sent)
      }).pipe(withStack({
        eventSub: { consumerBuffer: 4, ingressHighWater: 8 },
        webSocket: FaultySocket.layer({ pauses })
      }))
    }))

  it.scoped("a WebSocket that cannot pause: the events wait in memory, none is lost", () =>
    Effect.gen(function*() {
      const eventSub = yield* EventSub.EventSub
      const statuses = yield* collect(eventSub.status)
      const { release, send } = yield* stuckConsumer
      yield* send(100)
      yield* release(100)
      assert.deepStrictEqual(statuses.items.map((s) => s._tag), ["Connecting", "Connected"])
    }).pipe(withStack({
      eventSub: { consumerBuffer: 4, ingressHighWater: 8 },
      webSocket: FaultySocket.layer({ cannotPause: true })
    })))

  it.scoped("after a session_reconnect the new session is announced, and is known as ours when it goes half-open", () =>
    Effect.gen(function*() {
      const eventSub = yield* EventSub.EventSub
      const statuses = yield* collect(eventSub.status)
      const { fiber, items, sim, subscription } = yield* startFollows(B)
      const [{ reconnectUrl: _, sessionId: first }] = yield* sim.eventSub.reconnect()
      const handedTo = Effect.map(sessions, (list) => list.find((s) => s.id === first)?.reconnectedTo ?? null)
      yield* eventually(Effect.map(handedTo, (id) => id !== null), "the handover")
      const second = (yield* handedTo)!
      yield* eventually(
        Effect.sync(() => statuses.items.some((s) => s._tag === "Connected" && s.sessionId === second)),
        "Connected on the new session"
      )
      assert.deepStrictEqual(statuses.items.map((s) => s._tag), ["Connecting", "Connected", "Connected"])
      // the new session's keepalives keep it up
      for (let i = 0; i < 6; i++) {
        yield* TestClock.adjust("5 seconds")
        yield* realPause(10)
      }
      assert.deepStrictEqual(statuses.items.map((s) => s._tag), ["Connecting", "Connected", "Connected"])
      // the handed-over session goes half-open: its subscription (409 for the next session) is deleted as ours
      yield* sim.eventSub.halfOpen({ sessionId: second })
      yield* eventuallyWithClock(
        Effect.map(enabledSubs, (subs) => subs.length === 1 && subs[0]!.sessionId !== second),
        "a subscription on a third session"
      )
      const all = yield* sim.eventSub.subscriptions
      assert.isUndefined(all.find((s) => s.id === subscription.id))
      assert.isNull(fiber.unsafePoll())
      yield* sim.eventSub.trigger({ type: "channel.follow" })
      yield* eventually(Effect.sync(() => items.length === 1), "an event on the third session")
    }).pipe(withStack()))

  it.scoped("a session that lived a minute resets the backoff: the next reconnect at once, the one after on its first delay", () =>
    Effect.gen(function*() {
      const eventSub = yield* EventSub.EventSub
      const statuses = yield* collect(eventSub.status)
      const { sim } = yield* startFollows(B)
      const connected = () => statuses.items.filter((s) => s._tag === "Connected").length
      const drop = Effect.gen(function*() {
        const [sub] = yield* enabledSubs
        yield* sim.eventSub.close({ sessionId: sub!.sessionId, code: 4000 })
      })
      /** the next session is up without the clock moving */
      const atOnce = (n: number) => eventually(Effect.sync(() => connected() === n), `session ${n} at once`)
      /** the next session waits exactly `millis` (of the test clock) */
      const after = (n: number, millis: number) =>
        Effect.gen(function*() {
          yield* eventually(Effect.sync(() => reconnects(statuses.items).length === n - 1), `drop ${n - 1}`)
          yield* TestClock.adjust(millis - 1)
          yield* realPause(30)
          assert.strictEqual(connected(), n - 1, `session ${n} waits ${millis} ms`)
          yield* TestClock.adjust(1)
          yield* eventually(Effect.sync(() => connected() === n), `session ${n}`)
          yield* waitSubscribed()
        })
      /** exactly `stableAfter` (a minute) on the test clock: stable from then on */
      const liveAMinute = Effect.gen(function*() {
        for (let i = 0; i < 12; i++) {
          yield* TestClock.adjust("5 seconds")
          yield* realPause(5)
        }
      })
      yield* eventually(Effect.sync(() => connected() === 1), "session 1")
      yield* drop
      yield* atOnce(2) // the first reconnect goes at once, and session 2 is welcomed at the clock's 0
      yield* waitSubscribed()
      yield* liveAMinute // (the simulator's keepalives keep it up)
      yield* drop
      yield* atOnce(3) // it lived a minute: at once
      yield* waitSubscribed()
      yield* drop
      yield* after(4, 1_000) // a young session: the backoff's first delay
      yield* drop
      yield* after(5, 2_000) // and its second
      yield* liveAMinute
      yield* drop
      yield* atOnce(6)
      yield* waitSubscribed()
      assert.deepStrictEqual(reconnects(statuses.items).map((s) => s.attempt), [1, 1, 2, 3, 1])
      yield* drop
      yield* after(7, 1_000) // the backoff started afresh
      assert.deepStrictEqual(reconnects(statuses.items).map((s) => s.attempt), [1, 1, 2, 3, 1, 2])
    }).pipe(withStack({ eventSub: { reconnectSchedule: Schedule.exponential("1 second") } })))

  it.scoped("streams started while the network is down, or between sessions, start when it is back", () =>
    Effect.suspend(() => {
      let down = true
      return Effect.gen(function*() {
        const sim = yield* Simulator.Simulator
        const eventSub = yield* EventSub.EventSub
        const statuses = yield* collect(eventSub.status)
        yield* TestClock.adjust("2 minutes") // a clock past `stableAfter`: failed attempts are still young ones
        const follows = yield* collect(eventSub.follows(B))
        yield* eventuallyWithClock(
          Effect.sync(() => reconnects(statuses.items).length === 3),
          "three failed attempts",
          "1 second"
        )
        assert.deepStrictEqual(reconnects(statuses.items).map((s) => s.attempt), [1, 2, 3])
        assert.isTrue(reconnects(statuses.items).every((s) => s.reason === "socket Open error"))
        down = false
        yield* eventuallyWithClock(Effect.map(enabledSubs, (subs) => subs.length === 1), "subscribed", "1 second")
        yield* sim.eventSub.trigger({ type: "channel.follow" })
        yield* eventually(Effect.sync(() => follows.items.length === 1), "the first stream's event")
        // the session is lost and the network with it: a stream started meanwhile waits for the next session
        down = true
        const [before] = yield* enabledSubs
        const dropped = reconnects(statuses.items).length
        yield* sim.eventSub.close({ sessionId: before!.sessionId, code: 4006 })
        // the session was young: the next attempt waits on the backoff
        yield* eventually(Effect.sync(() => reconnects(statuses.items).length === dropped + 1), "the drop")
        const online = yield* collect(eventSub.streamOnline(B))
        yield* realPause(20)
        down = false
        yield* eventuallyWithClock(
          Effect.map(enabledSubs, (subs) => subs.length === 2 && subs.every((s) => s.sessionId !== before!.sessionId)),
          "both on a new session",
          "1 second"
        )
        yield* sim.eventSub.trigger({ type: "channel.follow" })
        yield* sim.eventSub.trigger({ type: "stream.online" })
        yield* eventually(
          Effect.sync(() => follows.items.length === 2 && online.items.length === 1),
          "events on both streams"
        )
      }).pipe(withStack({
        eventSub: { reconnectSchedule: Schedule.spaced("1 second") },
        webSocket: FaultySocket.layer({ refuse: () => down })
      }))
    }))
})
