// The simulator's EventSub webhooks, as Twitch delivers them (issue 13, point 5): an app token, the secret's length,
// 202 pending and the signed challenge, enabled only for the exact challenge, signed notifications with every header,
// retries with the same id and an incremented retry header, revocation after repeated failures, 409 on duplicates,
// and re-delivery of a message for at-least-once tests. The callback is a local node:http server; signatures are
// checked with node:crypto, independently of the simulator's code.
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Scopes from "../src/Scopes.js"
import * as Simulator from "../src/testing/Simulator.js"
import * as Callback from "./fixtures/webhook-callback.js"

const U = Simulator.defaultUsers
const SECRET = "a-webhook-secret-0123"

const HEADERS = [
  "twitch-eventsub-message-id",
  "twitch-eventsub-message-retry",
  "twitch-eventsub-message-type",
  "twitch-eventsub-message-signature",
  "twitch-eventsub-message-timestamp",
  "twitch-eventsub-subscription-type",
  "twitch-eventsub-subscription-version"
]
const RFC3339_NANOS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/

const setup = (eventSub: Simulator.Options["eventSub"] = {}) =>
  Effect.gen(function*() {
    const sim = yield* Simulator.make({ eventSub: { webhookRetryDelaySeconds: 0.02, ...eventSub } })
    const app = (yield* sim.issueAppToken()).accessToken
    // the broadcaster authorized the app (channel.follow needs moderator:read:followers from them)
    const user = (yield* sim.issueUserToken({ userId: U.broadcaster, scopes: Scopes.all })).accessToken
    const callback = yield* Callback.make()
    const request = (method: string, path: string, token: string, body?: unknown) =>
      Effect.promise(async () => {
        const res = await fetch(`${sim.helixUrl}${path}`, {
          method,
          headers: { Authorization: `Bearer ${token}`, "Client-Id": sim.clientId, "Content-Type": "application/json" },
          ...(body === undefined ? {} : { body: JSON.stringify(body) })
        })
        const text = await res.text()
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        return { status: res.status, body: (text === "" ? null : JSON.parse(text)) as any }
      })
    const subscribe = (body: unknown, token = app) => request("POST", "/eventsub/subscriptions", token, body)
    const status = (id: string) =>
      Effect.map(sim.eventSub.subscriptions, (subs) => subs.find((s) => s.id === id)?.status)
    const waitStatus = (id: string, wanted: string) =>
      Effect.gen(function*() {
        for (let i = 0; i < 500; i++) {
          if ((yield* status(id)) === wanted) return
          yield* Effect.sleep("10 millis")
        }
        assert.strictEqual(yield* status(id), wanted)
      })
    return { sim, app, user, callback, request, subscribe, waitStatus }
  })

const follow = (callback: string, secret = SECRET, condition: Record<string, string> = {}) => ({
  type: "channel.follow",
  version: "2",
  condition: { broadcaster_user_id: U.broadcaster, moderator_user_id: U.broadcaster, ...condition },
  transport: { method: "webhook", callback, secret }
})

/** subscribe channel.follow over the webhook and answer the challenge */
const enabledFollow = (t: Effect.Effect.Success<ReturnType<typeof setup>>) =>
  Effect.gen(function*() {
    const created = yield* t.subscribe(follow(t.callback.url))
    assert.strictEqual(created.status, 202)
    const id: string = created.body.data[0].id
    yield* t.waitStatus(id, "enabled")
    return id
  })

describe("simulator EventSub webhooks", () => {
  it.scopedLive("create: 202 pending, the signed challenge, enabled once the callback echoes it", () =>
    Effect.gen(function*() {
      const t = yield* setup()
      const created = yield* t.subscribe(follow(t.callback.url))
      assert.strictEqual(created.status, 202)
      const sub = created.body.data[0]
      assert.strictEqual(sub.status, "webhook_callback_verification_pending")
      assert.deepStrictEqual(sub.transport, { method: "webhook", callback: t.callback.url })
      assert.strictEqual(sub.cost, 0)
      assert.strictEqual(created.body.max_total_cost, 10_000)

      const [challenge] = yield* t.callback.waitFor(1, "webhook_callback_verification")
      for (const header of HEADERS) assert.isString(challenge!.headers[header], header)
      assert.strictEqual(challenge!.headers["content-type"], "application/json")
      assert.strictEqual(challenge!.retry, "0")
      assert.strictEqual(challenge!.headers["twitch-eventsub-subscription-type"], "channel.follow")
      assert.strictEqual(challenge!.headers["twitch-eventsub-subscription-version"], "2")
      assert.match(String(challenge!.headers["twitch-eventsub-message-timestamp"]), RFC3339_NANOS)
      assert.strictEqual(
        challenge!.headers["twitch-eventsub-message-signature"],
        Callback.expectedSignature(SECRET, challenge!)
      )
      assert.isString(challenge!.json.challenge)
      assert.strictEqual(challenge!.json.subscription.id, sub.id)
      assert.strictEqual(challenge!.json.subscription.status, "webhook_callback_verification_pending")
      assert.isUndefined(challenge!.json.subscription.transport.secret)
      yield* t.waitStatus(sub.id, "enabled")

      // the app token lists it (with the webhook totals); the user token lists its WebSocket subscriptions only
      const listed = yield* t.request("GET", "/eventsub/subscriptions", t.app)
      assert.deepStrictEqual(listed.body.data.map((s: { id: string }) => s.id), [sub.id])
      assert.strictEqual(listed.body.data[0].status, "enabled")
      assert.strictEqual((yield* t.request("GET", "/eventsub/subscriptions", t.user)).body.total, 0)
    }))

  it.scopedLive("verification fails on a wrong body, a non-200 answer or an unreachable callback", () =>
    Effect.gen(function*() {
      const t = yield* setup({ webhookTimeoutSeconds: 0.2 })
      const cases: ReadonlyArray<readonly [string, Callback.Answer]> = [
        ["/wrong-body", { status: 200, body: "not the challenge" }],
        ["/server-error", { status: 500 }],
        ["/no-content", { status: 204 }],
        ["/hangs", "hang"]
      ]
      for (const [path, answer] of cases) {
        t.callback.respond = () => answer
        const created = yield* t.subscribe(follow(t.callback.url + path))
        assert.strictEqual(created.status, 202, path)
        yield* t.waitStatus(created.body.data[0].id, "webhook_callback_verification_failed")
      }
      // a callback off this machine is never called: it counts as unreachable
      const remote = yield* t.subscribe(follow("https://example.com/eventsub"))
      yield* t.waitStatus(remote.body.data[0].id, "webhook_callback_verification_failed")
      // nothing is delivered to a failed subscription
      assert.deepStrictEqual(yield* t.sim.eventSub.trigger({ type: "channel.follow" }), [])
    }))

  it.scopedLive("notifications: signed POSTs with every header, {subscription, event}", () =>
    Effect.gen(function*() {
      const t = yield* setup()
      const id = yield* enabledFollow(t)
      const [messageId] = yield* t.sim.eventSub.trigger({ type: "channel.follow", event: { user_login: "someone" } })
      const [n] = yield* t.callback.waitFor(1, "notification")
      for (const header of HEADERS) assert.isString(n!.headers[header], header)
      assert.strictEqual(n!.id, messageId)
      assert.strictEqual(n!.retry, "0")
      assert.strictEqual(n!.headers["twitch-eventsub-message-signature"], Callback.expectedSignature(SECRET, n!))
      assert.notStrictEqual(
        n!.headers["twitch-eventsub-message-signature"],
        Callback.expectedSignature("another-secret-000", n!)
      )
      assert.strictEqual(n!.json.subscription.id, id)
      assert.strictEqual(n!.json.subscription.status, "enabled")
      assert.deepStrictEqual(n!.json.subscription.transport, { method: "webhook", callback: t.callback.url })
      assert.strictEqual(n!.json.event.user_login, "someone")
      assert.strictEqual(n!.json.event.broadcaster_user_id, U.broadcaster)
    }))

  it.scopedLive("the control API over HTTP triggers webhook subscriptions too", () =>
    Effect.gen(function*() {
      const t = yield* setup()
      yield* enabledFollow(t)
      const res = yield* Effect.promise(() =>
        fetch(`${t.sim.baseUrl}/_sim/eventsub/trigger`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ type: "channel.follow", condition: { broadcaster_user_id: U.broadcaster } })
        }).then((r) => r.json() as Promise<{ messageIds: Array<string> }>)
      )
      assert.strictEqual(res.messageIds.length, 1)
      const [n] = yield* t.callback.waitFor(1, "notification")
      assert.strictEqual(n!.id, res.messageIds[0])
    }))

  it.scopedLive("a failed answer is retried with the same id and signature, Message-Retry incremented", () =>
    Effect.gen(function*() {
      const t = yield* setup()
      yield* enabledFollow(t)
      let failures = 2
      t.callback.respond = (r) => r.type === "notification" && failures-- > 0 ? { status: 503 } : { status: 204 }
      const [messageId] = yield* t.sim.eventSub.trigger({ type: "channel.follow" })
      const attempts = yield* t.callback.waitFor(3, "notification")
      assert.deepStrictEqual(attempts.map((r) => r.id), [messageId, messageId, messageId])
      assert.deepStrictEqual(attempts.map((r) => r.retry), ["0", "1", "2"])
      assert.strictEqual(new Set(attempts.map((r) => r.headers["twitch-eventsub-message-signature"])).size, 1)
      assert.strictEqual(new Set(attempts.map((r) => r.body)).size, 1)
      yield* Effect.sleep("200 millis")
      assert.strictEqual(t.callback.received.filter((r) => r.type === "notification").length, 3)
      assert.strictEqual((yield* t.sim.eventSub.subscriptions)[0]!.status, "enabled")
    }))

  it.scopedLive("every attempt failing (errors, timeouts) revokes: notification_failures_exceeded", () =>
    Effect.gen(function*() {
      const t = yield* setup({ webhookAttempts: 3, webhookTimeoutSeconds: 0.2 })
      const id = yield* enabledFollow(t)
      let n = 0
      t.callback.respond = (r) => r.type !== "notification" ? { status: 204 } : n++ === 1 ? "hang" : { status: 500 }
      yield* t.sim.eventSub.trigger({ type: "channel.follow" })
      const [revocation] = yield* t.callback.waitFor(1, "revocation")
      assert.deepStrictEqual(
        t.callback.received.filter((r) => r.type === "notification").map((r) => r.retry),
        ["0", "1", "2"]
      )
      for (const header of HEADERS) assert.isString(revocation!.headers[header], header)
      assert.strictEqual(
        revocation!.headers["twitch-eventsub-message-signature"],
        Callback.expectedSignature(SECRET, revocation!)
      )
      assert.strictEqual(revocation!.json.subscription.id, id)
      assert.strictEqual(revocation!.json.subscription.status, "notification_failures_exceeded")
      assert.isUndefined(revocation!.json.event)
      yield* t.waitStatus(id, "notification_failures_exceeded")
      const listed = yield* t.request("GET", `/eventsub/subscriptions?subscription_id=${id}`, t.app)
      assert.strictEqual(listed.body.data[0].status, "notification_failures_exceeded")
      assert.deepStrictEqual(yield* t.sim.eventSub.trigger({ type: "channel.follow" }), [])
    }))

  it.scopedLive("re-delivery: the same message (id, timestamp, body) once more, as at-least-once delivery does", () =>
    Effect.gen(function*() {
      const t = yield* setup()
      yield* enabledFollow(t)
      const [messageId] = yield* t.sim.eventSub.trigger({ type: "channel.follow" })
      yield* t.callback.waitFor(1, "notification")
      yield* t.sim.eventSub.resend({ messageId: messageId! })
      const [first, second] = yield* t.callback.waitFor(2, "notification")
      assert.strictEqual(second!.id, first!.id)
      assert.strictEqual(second!.body, first!.body)
      assert.strictEqual(
        second!.headers["twitch-eventsub-message-timestamp"],
        first!.headers["twitch-eventsub-message-timestamp"]
      )
      assert.strictEqual(
        second!.headers["twitch-eventsub-message-signature"],
        Callback.expectedSignature(SECRET, second!)
      )
    }))

  it.scopedLive("409 for the same type, version, condition and callback; another callback is another subscription", () =>
    Effect.gen(function*() {
      const t = yield* setup()
      assert.strictEqual((yield* t.subscribe(follow(t.callback.url))).status, 202)
      const again = yield* t.subscribe(follow(t.callback.url))
      assert.strictEqual(again.status, 409)
      assert.strictEqual(again.body.message, "subscription already exists")
      assert.strictEqual((yield* t.subscribe(follow(t.callback.url + "/other"))).status, 202)
      assert.strictEqual(
        (yield* t.subscribe(follow(t.callback.url, SECRET, { broadcaster_user_id: U.viewer }))).status,
        202
      )
    }))

  it.scopedLive("400: a user token with a webhook, an app token with a websocket, a secret not of 10 to 100 characters", () =>
    Effect.gen(function*() {
      const t = yield* setup()
      const withUser = yield* t.subscribe(follow(t.callback.url), t.user)
      assert.strictEqual(withUser.status, 400)
      assert.strictEqual(withUser.body.message, "invalid transport and auth combination")
      const websocket = yield* t.subscribe({ ...follow(""), transport: { method: "websocket", session_id: "x" } })
      assert.strictEqual(websocket.status, 400)
      assert.strictEqual(websocket.body.message, "invalid transport and auth combination")
      for (const secret of ["x".repeat(9), "x".repeat(101), "", "ünïcödé-sëcrët"]) {
        const res = yield* t.subscribe(follow(t.callback.url + "/" + secret.length, secret))
        assert.strictEqual(res.status, 400, `secret of ${secret.length}`)
      }
      for (const secret of ["x".repeat(10), "x".repeat(100)]) {
        assert.strictEqual((yield* t.subscribe(follow(t.callback.url + "/" + secret.length, secret))).status, 202)
      }
      assert.strictEqual((yield* t.subscribe(follow("not a url"))).status, 400)
      const { transport: _, ...noSecret } = follow(t.callback.url)
      assert.strictEqual(
        (yield* t.subscribe({ ...noSecret, transport: { method: "webhook", callback: t.callback.url } })).status,
        400
      )
    }))

  it.scopedLive("403 when the user the condition names never authorized the app with the type's scopes", () =>
    Effect.gen(function*() {
      const t = yield* setup()
      const res = yield* t.subscribe(follow(t.callback.url, SECRET, {
        broadcaster_user_id: U.viewer,
        moderator_user_id: U.viewer
      }))
      assert.strictEqual(res.status, 403)
      // a type without scopes needs no authorization (cost 1 when the user did not authorize the app)
      const online = yield* t.subscribe({
        type: "stream.online",
        version: "1",
        condition: { broadcaster_user_id: U.viewer },
        transport: { method: "webhook", callback: t.callback.url, secret: SECRET }
      })
      assert.strictEqual(online.status, 202)
      assert.strictEqual(online.body.data[0].cost, 1)
    }))
})
