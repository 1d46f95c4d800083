import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import type * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { assert, describe, it } from "@effect/vitest"
import { Config, ConfigProvider, Deferred, Effect, Exit, Fiber, Layer, Redacted, Stream, TestClock } from "effect"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import * as EventSub from "../src/EventSub.js"
import * as EventSubWebhook from "../src/EventSubWebhook.js"
import * as Helix from "../src/Helix.js"
import * as NodeTwitch from "../src/NodeTwitch.js"
import { captureLogs, collect, eventually, realPause } from "./fixtures/eventsub.js"
import {
  CALLBACK,
  type FakeHelix,
  type FakeSubscription,
  makeFakeHelix,
  SECRET,
  signed,
  type SignedRequest,
  wireSubscription
} from "./fixtures/webhook.js"

const B = "1001"
const followCondition = { broadcaster_user_id: B, moderator_user_id: B }

const follow = (name: string) => ({
  user_id: "42",
  user_login: name.toLowerCase(),
  user_name: name,
  broadcaster_user_id: B,
  broadcaster_user_login: "caster",
  broadcaster_user_name: "Caster",
  followed_at: "2026-01-10T12:00:00.000Z"
})

/** the library stack over the fake Helix; the TestClock set to now (the signed timestamps are real time) */
const withWebhook =
  (fake: FakeHelix, options: Partial<EventSubWebhook.Options> = {}) => <A, E, R>(self: Effect.Effect<A, E, R>) =>
    Effect.zipRight(TestClock.setTime(Date.now()), self).pipe(
      Effect.provide(
        EventSubWebhook.layer({ callback: CALLBACK, secret: SECRET, ...options }).pipe(Layer.provide(fake.layer))
      )
    )

const textOf = (response: HttpServerResponse.HttpServerResponse): string =>
  response.body._tag === "Uint8Array" ? new TextDecoder().decode(response.body.body) : ""

/** POSTs through the handler as an HttpRouter would run it */
const post = (request: SignedRequest) =>
  Effect.gen(function*() {
    const webhook = yield* EventSubWebhook.EventSubWebhook
    const web = new Request(CALLBACK, { method: "POST", headers: request.headers, body: request.body })
    const response = yield* webhook.httpApp.pipe(
      Effect.provideService(HttpServerRequest.HttpServerRequest, HttpServerRequest.fromWeb(web))
    )
    return { status: response.status, body: textOf(response), contentType: response.headers["content-type"] }
  })

/** a follows stream collected in the background, its subscription created at the fake */
const startFollows = (fake: FakeHelix) =>
  Effect.gen(function*() {
    const eventSub = yield* EventSub.EventSub
    const collected = yield* collect(eventSub.follows(B))
    yield* eventually(Effect.sync(() => fake.subscriptions.size === 1), "subscription created")
    const sub = [...fake.subscriptions.values()][0]!
    const notify = (name: string, id?: string) =>
      post(signed({
        type: "notification",
        ...(id === undefined ? {} : { id }),
        body: { subscription: wireSubscription(sub), event: follow(name) }
      }))
    return { ...collected, sub, notify }
  })

const names = (items: ReadonlyArray<{ readonly user_name: string }>) => items.map((e) => e.user_name)

describe("EventSub webhooks", () => {
  it.scoped("subscribe lists, then creates with the app token and the webhook transport; the challenge is answered raw", () => {
    const fake = makeFakeHelix()
    return Effect.gen(function*() {
      const { sub } = yield* startFollows(fake)
      assert.deepStrictEqual(fake.calls, ["getEventsubSubscriptions App", "createEventsubSubscription App"])
      const body = fake.created[0] as { transport: unknown; condition: unknown; type: string; version: string }
      assert.deepStrictEqual(body.transport, { method: "webhook", callback: CALLBACK, secret: Redacted.value(SECRET) })
      assert.deepStrictEqual(body.condition, followCondition)
      assert.strictEqual(`${body.type} v${body.version}`, "channel.follow v2")
      const challenge = "pogchamp-kappa-360noscope-vohiyo"
      const answer = yield* post(signed({
        type: "webhook_callback_verification",
        body: { challenge, subscription: wireSubscription(sub) }
      }))
      assert.strictEqual(answer.status, 200)
      assert.strictEqual(answer.body, challenge)
      assert.include(answer.contentType!, "text/plain")
    }).pipe(withWebhook(fake))
  })

  it.scoped("notifications: typed, in order, each answered 204 before the consumer runs; a retry is delivered once", () => {
    const fake = makeFakeHelix()
    return Effect.gen(function*() {
      const eventSub = yield* EventSub.EventSub
      const gate = yield* Deferred.make<void>()
      const seen: Array<string> = []
      yield* eventSub.follows(B).pipe(
        Stream.runForEach((event) =>
          Effect.zipRight(Deferred.await(gate), Effect.sync(() => seen.push(event.user_name)))
        ),
        Effect.forkScoped
      )
      yield* eventually(Effect.sync(() => fake.subscriptions.size === 1))
      const sub = [...fake.subscriptions.values()][0]!
      const send = (name: string, id?: string) =>
        post(signed({
          type: "notification",
          ...(id === undefined ? {} : { id }),
          body: { subscription: wireSubscription(sub), event: follow(name) }
        }))
      // the consumer is blocked: every answer goes out anyway
      for (const name of ["a", "b", "c"]) assert.strictEqual((yield* send(name, `id-${name}`)).status, 204)
      assert.strictEqual((yield* send("b", "id-b")).status, 204, "a retry (same id) is acknowledged")
      assert.deepStrictEqual(seen, [])
      yield* Deferred.succeed(gate, void 0)
      yield* eventually(Effect.sync(() => seen.length === 3))
      yield* realPause(10)
      assert.deepStrictEqual(seen, ["a", "b", "c"])
    }).pipe(withWebhook(fake))
  })

  it.scoped("bad input: bad or missing signature 403, stale 400, unknown type 400, not JSON 400, too large 413; logged with the id, never the secret; the stream goes on", () => {
    const fake = makeFakeHelix()
    return captureLogs((lines) =>
      Effect.gen(function*() {
        const { items, notify, sub } = yield* startFollows(fake)
        const good = () => ({ subscription: wireSubscription(sub), event: follow("x") })
        const wrongSecret = signed({
          type: "notification",
          id: "m-wrong-secret",
          body: good(),
          secret: Redacted.make("another-secret-0123")
        })
        assert.strictEqual((yield* post(wrongSecret)).status, 403)
        const tampered = signed({ type: "notification", id: "m-tampered", body: good() })
        const tamperedBody = tampered.body.replace("\"x\"", "\"y\"")
        assert.strictEqual((yield* post({ ...tampered, body: tamperedBody })).status, 403)
        const { "twitch-eventsub-message-signature": _, ...unsigned } = signed({
          type: "notification",
          id: "m-unsigned",
          body: good()
        }).headers
        assert.strictEqual((yield* post({ headers: unsigned, body: JSON.stringify(good()) })).status, 403)
        const malformed = signed({ type: "notification", id: "m-malformed", body: good() })
        const badHex = { ...malformed.headers, "twitch-eventsub-message-signature": "sha256=zz" }
        assert.strictEqual((yield* post({ ...malformed, headers: badHex })).status, 403)
        const party = yield* post(signed({ type: "session_party", id: "m-party", body: good() }))
        assert.strictEqual(party.status, 400)
        assert.strictEqual((yield* post(signed({ type: "notification", id: "m-json", body: "{not json" }))).status, 400)
        const huge = signed({ type: "notification", id: "m-huge", body: { ...good(), pad: "p".repeat(5_000) } })
        assert.strictEqual((yield* post(huge)).status, 413)
        assert.strictEqual((yield* notify("StillHere")).status, 204)
        yield* eventually(Effect.sync(() => items.length === 1))
        assert.deepStrictEqual(names(items), ["StillHere"])
        for (const id of ["m-wrong-secret", "m-unsigned", "m-party", "m-json", "m-huge"]) {
          assert.isTrue(lines.some((l) => l.startsWith("WARN") && l.includes(id)), `${id}\n${lines.join("\n")}`)
        }
        for (const line of lines) assert.notInclude(line, Redacted.value(SECRET))
      }).pipe(withWebhook(fake, { maxBodySize: 4_096 }))
    )
  })

  it.scoped("messages older than 10 minutes (on the Clock) are refused with 400; younger ones delivered", () => {
    const fake = makeFakeHelix()
    return Effect.gen(function*() {
      const { items, sub } = yield* startFollows(fake)
      const at = new Date().toISOString()
      const old = signed({
        type: "notification",
        id: "m-old",
        timestamp: at,
        body: { subscription: wireSubscription(sub), event: follow("old") }
      })
      const young = signed({
        type: "notification",
        id: "m-young",
        timestamp: at,
        body: { subscription: wireSubscription(sub), event: follow("young") }
      })
      yield* TestClock.adjust("9 minutes")
      assert.strictEqual((yield* post(young)).status, 204)
      yield* TestClock.adjust("2 minutes")
      assert.strictEqual((yield* post(old)).status, 400)
      yield* eventually(Effect.sync(() => items.length === 1))
      yield* realPause(10)
      assert.deepStrictEqual(names(items), ["young"])
    }).pipe(withWebhook(fake))
  })

  it.scoped("revocation: the events before it are delivered, then the stream fails with EventSubRevoked and the reason", () => {
    const fake = makeFakeHelix()
    return Effect.gen(function*() {
      const { fiber, items, notify, sub } = yield* startFollows(fake)
      for (const name of ["a", "b"]) yield* notify(name)
      const revoked = yield* post(signed({
        type: "revocation",
        body: { subscription: { ...wireSubscription(sub), status: "authorization_revoked" } }
      }))
      assert.strictEqual(revoked.status, 204)
      const exit = yield* Fiber.await(fiber)
      assert.deepStrictEqual(names(items), ["a", "b"])
      assert.isTrue(Exit.isFailure(exit))
      const error = yield* Effect.flip(exit)
      assert.strictEqual(error._tag, "EventSubRevoked")
      assert.strictEqual((error as EventSub.EventSubRevoked).status, "authorization_revoked")
      assert.strictEqual((error as EventSub.EventSubRevoked).subscriptionId, sub.id)
      // a notification for it now: no stream holds it (Twitch retries, then revokes)
      assert.strictEqual((yield* notify("late")).status, 410)
    }).pipe(withWebhook(fake))
  })

  it.scoped("an event failing its schema: answered 204, delivered to `undecodable`, the stream goes on", () => {
    const fake = makeFakeHelix()
    return Effect.gen(function*() {
      const undecodable = yield* collect((yield* EventSub.EventSub).undecodable)
      const { items, notify, sub } = yield* startFollows(fake)
      const bad = yield* post(signed({
        type: "notification",
        id: "m-bad",
        body: { subscription: wireSubscription(sub), event: { ...follow("bad"), user_name: 42, added_later: true } }
      }))
      assert.strictEqual(bad.status, 204)
      yield* notify("good")
      yield* eventually(Effect.sync(() => items.length === 1 && undecodable.items.length === 1))
      assert.deepStrictEqual(names(items), ["good"])
      const event = undecodable.items[0]!
      assert.strictEqual(event.messageId, "m-bad")
      assert.strictEqual(event.subscriptionId, sub.id)
      assert.include(event.error, "user_name")
    }).pipe(withWebhook(fake))
  })

  it.scoped("a full buffer answers 503 and records nothing: Twitch's retry (same id) is delivered later", () => {
    const fake = makeFakeHelix()
    return Effect.gen(function*() {
      const eventSub = yield* EventSub.EventSub
      const gate = yield* Deferred.make<void>()
      const seen: Array<string> = []
      yield* eventSub.follows(B).pipe(
        Stream.runForEach((event) =>
          Effect.zipRight(Deferred.await(gate), Effect.sync(() => seen.push(event.user_name)))
        ),
        Effect.forkScoped
      )
      yield* eventually(Effect.sync(() => fake.subscriptions.size === 1))
      const sub = [...fake.subscriptions.values()][0]!
      const send = (name: string) =>
        post(signed({
          type: "notification",
          id: `id-${name}`,
          body: { subscription: wireSubscription(sub), event: follow(name) }
        }))
      const statuses: Array<number> = []
      for (let i = 0; i < 12; i++) {
        statuses.push((yield* send(`e${i}`)).status)
        yield* realPause(2)
      }
      assert.include(statuses, 503)
      assert.strictEqual(statuses[0], 204)
      const refused = statuses.flatMap((status, i) => status === 503 ? [`e${i}`] : [])
      yield* Deferred.succeed(gate, void 0)
      yield* eventually(Effect.sync(() => seen.length === 12 - refused.length), "accepted events delivered")
      for (const name of refused) assert.strictEqual((yield* send(name)).status, 204)
      yield* eventually(Effect.sync(() => seen.length === 12), "retries delivered")
      assert.deepStrictEqual([...seen].sort(), Array.from({ length: 12 }, (_, i) => `e${i}`).sort())
    }).pipe(withWebhook(fake, { bufferEvents: 2, consumerBuffer: 1 }))
  })

  it.scoped("after a restart the existing subscription is adopted (no create); a 409 on create is adopted too", () => {
    const existing: FakeSubscription = {
      id: "sub-existing",
      type: "channel.follow",
      version: "2",
      condition: followCondition,
      status: "enabled",
      callback: CALLBACK
    }
    const otherCallback: FakeSubscription = { ...existing, id: "sub-other", callback: "https://elsewhere.test/cb" }
    const fake = makeFakeHelix([existing, otherCallback])
    return Effect.gen(function*() {
      const eventSub = yield* EventSub.EventSub
      const first = yield* collect(eventSub.follows(B))
      yield* eventually(Effect.sync(() => fake.calls.length >= 1))
      yield* realPause(10)
      assert.deepStrictEqual(fake.calls, ["getEventsubSubscriptions App"])
      // the adopted subscription delivers
      yield* post(signed({
        type: "notification",
        body: { subscription: wireSubscription(existing), event: follow("adopted") }
      }))
      yield* eventually(Effect.sync(() => first.items.length === 1))
      // a stream of another condition: the list misses it (another process creates it meanwhile), create says 409
      const online = {
        ...existing,
        id: "sub-online",
        type: "stream.online",
        version: "1",
        condition: { broadcaster_user_id: B }
      }
      fake.subscriptions.set(online.id, online)
      fake.hideFromLists = 1
      const second = yield* collect(eventSub.streamOnline(B))
      yield* eventually(Effect.sync(() => fake.calls.length === 4), "list, create (409), list")
      assert.deepStrictEqual(fake.calls.slice(1), [
        "getEventsubSubscriptions App",
        "createEventsubSubscription App",
        "getEventsubSubscriptions App"
      ])
      assert.strictEqual(fake.subscriptions.size, 3, "nothing duplicated")
      assert.isNull(second.fiber.unsafePoll())
    }).pipe(withWebhook(fake))
  })

  it.scoped("a stream that ends deletes its subscription (app token); shutting the layer down leaves them to adopt", () => {
    const fake = makeFakeHelix()
    return Effect.gen(function*() {
      yield* Effect.scoped(
        Effect.gen(function*() {
          const eventSub = yield* EventSub.EventSub
          const { fiber } = yield* collect(eventSub.follows(B))
          yield* eventually(Effect.sync(() => fake.subscriptions.size === 1))
          yield* Fiber.interrupt(fiber)
          yield* eventually(Effect.sync(() => fake.subscriptions.size === 0), "deleted")
          assert.include(fake.calls, "deleteEventsubSubscription App")
          yield* collect(eventSub.follows(B))
          yield* eventually(Effect.sync(() => fake.subscriptions.size === 1))
        }).pipe(withWebhook(fake))
      )
      // the layer's scope closed with the second stream running: its subscription stays
      assert.strictEqual(fake.subscriptions.size, 1)
    })
  })

  it.scoped("a create Twitch refuses fails the stream with a typed error that carries no secret", () => {
    const fake = makeFakeHelix()
    fake.failCreates.push(
      new Helix.HelixBadRequest({
        method: "createEventsubSubscription",
        endpoint: "POST /eventsub/subscriptions",
        status: 400,
        twitchMessage: "invalid transport"
      })
    )
    return Effect.gen(function*() {
      const error = yield* Effect.flip(Stream.runDrain((yield* EventSub.EventSub).follows(B)))
      assert.strictEqual(error._tag, "EventSubSubscribeError")
      assert.notInclude(JSON.stringify(error), Redacted.value(SECRET))
      assert.notInclude(String(error), Redacted.value(SECRET))
    }).pipe(withWebhook(fake))
  })

  it.scoped("the secret must be 10–100 ASCII characters (a typed error naming the field, not the value); layerConfig reads it", () =>
    Effect.gen(function*() {
      const fake = makeFakeHelix()
      for (const bad of ["short", "x".repeat(101), "nön-ascii-secret"]) {
        const exit = yield* Effect.exit(
          Layer.build(
            EventSubWebhook.layer({ callback: CALLBACK, secret: Redacted.make(bad) }).pipe(
              Layer.provide(fake.layer)
            )
          )
        )
        assert.isTrue(Exit.isFailure(exit))
        const error = yield* Effect.flip(exit)
        assert.strictEqual(error._tag, "EventSubWebhookConfigError")
        assert.strictEqual((error as EventSubWebhook.EventSubWebhookConfigError).field, "secret")
        assert.notInclude(String(error), bad)
      }
      const fromConfig = EventSubWebhook.layerConfig({
        callback: Config.string("TWITCH_WEBHOOK_CALLBACK"),
        secret: Config.redacted("TWITCH_WEBHOOK_SECRET")
      }).pipe(Layer.provide(fake.layer))
      const provider = ConfigProvider.fromMap(
        new Map([["TWITCH_WEBHOOK_CALLBACK", CALLBACK], ["TWITCH_WEBHOOK_SECRET", Redacted.value(SECRET)]])
      )
      const context = yield* Layer.build(fromConfig).pipe(Effect.withConfigProvider(provider))
      assert.isDefined(context)
    }))

  it.scopedLive("the plain Node handler serves a real http.Server: challenge, notification, 413", () => {
    const fake = makeFakeHelix()
    return Effect.gen(function*() {
      const webhook = yield* EventSubWebhook.EventSubWebhook
      const server = createServer(webhook.nodeHandler)
      yield* Effect.acquireRelease(
        Effect.async<void>((resume) => {
          server.listen(0, "127.0.0.1", () => resume(Effect.void))
        }),
        () =>
          Effect.async<void>((resume) => {
            server.close(() => resume(Effect.void))
          })
      )
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
      const send = (request: SignedRequest) =>
        Effect.promise(async () => {
          const response = await fetch(url, { method: "POST", headers: request.headers, body: request.body })
          return { status: response.status, body: await response.text(), type: response.headers.get("content-type") }
        })
      const { items, sub } = yield* startFollows(fake)
      const challenge = yield* send(signed({
        type: "webhook_callback_verification",
        body: { challenge: "abc123", subscription: wireSubscription(sub) }
      }))
      assert.deepStrictEqual([challenge.status, challenge.body], [200, "abc123"])
      assert.include(challenge.type!, "text/plain")
      const ok = yield* send(signed({
        type: "notification",
        body: { subscription: wireSubscription(sub), event: follow("node") }
      }))
      assert.strictEqual(ok.status, 204)
      yield* eventually(Effect.sync(() => items.length === 1))
      const huge = yield* send(signed({ type: "notification", body: { pad: "p".repeat(10_000) } }))
      assert.strictEqual(huge.status, 413)
      const forged = yield* send({ ...signed({ type: "notification", body: {} }), body: "{}\n" })
      assert.strictEqual(forged.status, 403)
    }).pipe(
      Effect.provide(
        EventSubWebhook.layer({ callback: CALLBACK, secret: SECRET, maxBodySize: 8_192 }).pipe(
          Layer.provide(fake.layer)
        )
      )
    )
  })

  it.scopedLive("mounted on an HttpRouter behind a real server", () => {
    const fake = makeFakeHelix()
    return Effect.gen(function*() {
      yield* HttpServer.serveEffect(HttpRouter.empty.pipe(HttpRouter.post("/twitch/eventsub", EventSubWebhook.handler)))
      const client = yield* HttpClient.HttpClient
      const { items, sub } = yield* startFollows(fake)
      const request = signed({
        type: "notification",
        body: { subscription: wireSubscription(sub), event: follow("router") }
      })
      const response = yield* client.execute(
        HttpClientRequest.post("/twitch/eventsub").pipe(
          HttpClientRequest.setHeaders(request.headers),
          HttpClientRequest.bodyText(request.body, "application/json")
        )
      )
      assert.strictEqual(response.status, 204)
      yield* eventually(Effect.sync(() => items.length === 1))
      const other = yield* client.execute(HttpClientRequest.post("/elsewhere"))
      assert.strictEqual(other.status, 404)
    }).pipe(
      Effect.provide(
        EventSubWebhook.layer({ callback: CALLBACK, secret: SECRET }).pipe(Layer.provide(fake.layer))
      ),
      Effect.provide(NodeHttpServer.layerTest)
    )
  })

  it.scopedLive("NodeTwitch.layerWebhookServer: a standalone server on the given port and path", () => {
    const fake = makeFakeHelix()
    return Effect.gen(function*() {
      const port = yield* Effect.async<number>((resume) => {
        const probe = createServer()
        probe.listen(0, "127.0.0.1", () => {
          const free = (probe.address() as AddressInfo).port
          probe.close(() => resume(Effect.succeed(free)))
        })
      })
      const stack = NodeTwitch.layerWebhookServer({ port, host: "127.0.0.1", path: "/eventsub" }).pipe(
        Layer.provideMerge(EventSubWebhook.layer({ callback: CALLBACK, secret: SECRET })),
        Layer.provide(fake.layer)
      )
      yield* Effect.gen(function*() {
        const { sub } = yield* startFollows(fake)
        const challenge = signed({
          type: "webhook_callback_verification",
          body: { challenge: "standalone", subscription: wireSubscription(sub) }
        })
        const response = yield* Effect.promise(() =>
          fetch(`http://127.0.0.1:${port}/eventsub`, {
            method: "POST",
            headers: challenge.headers,
            body: challenge.body
          })
        )
        assert.strictEqual(response.status, 200)
        assert.strictEqual(yield* Effect.promise(() => response.text()), "standalone")
      }).pipe(Effect.provide(stack))
    })
  })
})
