import { NodeHttpServer } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { ApiClient } from "@twurple/api"
import type { AuthProvider } from "@twurple/auth"
import { EventSubWsListener } from "@twurple/eventsub-ws"
import { Deferred, Effect, Fiber, Schedule, TestClock } from "effect"
import { readFileSync } from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { WebSocket } from "ws"
import type { SimAuth, SimTokenInfo } from "../src/testing/internal/contracts.js"
import * as EventSubSim from "../src/testing/internal/eventsub.js"

// ---------------------------------------------------------------------------------------------
// Harness: a bare node server with the EventSub part mounted and a stub SimAuth
// ---------------------------------------------------------------------------------------------

const CLIENT = "sim-client"
const ALL = "4242"
const BROADCASTER = "1337"

const tokens: Record<string, SimTokenInfo> = {
  broadcaster: {
    token: "broadcaster",
    clientId: CLIENT,
    userId: BROADCASTER,
    login: "broadcaster",
    scopes: ["moderator:read:followers", "user:read:chat", "channel:read:subscriptions"],
    expiresAt: Number.MAX_SAFE_INTEGER
  },
  noscope: {
    token: "noscope",
    clientId: CLIENT,
    userId: BROADCASTER,
    login: "broadcaster",
    scopes: [],
    expiresAt: Number.MAX_SAFE_INTEGER
  },
  u2: { token: "u2", clientId: CLIENT, userId: "2", login: "u2", scopes: [], expiresAt: Number.MAX_SAFE_INTEGER },
  u3: { token: "u3", clientId: CLIENT, userId: "3", login: "u3", scopes: [], expiresAt: Number.MAX_SAFE_INTEGER },
  u4: { token: "u4", clientId: CLIENT, userId: "4", login: "u4", scopes: [], expiresAt: Number.MAX_SAFE_INTEGER },
  all: {
    token: "all",
    clientId: CLIENT,
    userId: ALL,
    login: "all",
    scopes: (JSON.parse(
      readFileSync(new URL("../src/testing/internal/eventsubExamples.json", import.meta.url), "utf8")
    ) as { types: Array<{ scopes: Array<Array<string>> }> }).types.flatMap((t) => t.scopes.flat()),
    expiresAt: Number.MAX_SAFE_INTEGER
  },
  app: {
    token: "app",
    clientId: CLIENT,
    userId: null,
    login: null,
    scopes: [],
    expiresAt: Number.MAX_SAFE_INTEGER
  }
}

const makeAuth = () => {
  const listeners: Array<(token: SimTokenInfo) => void> = []
  const auth: SimAuth = {
    authenticate: (authorization, clientId) => {
      const token = authorization?.startsWith("Bearer ") ? tokens[authorization.slice(7)] : undefined
      if (token === undefined) return { _tag: "Unauthorized", message: "Invalid OAuth token" }
      if (clientId !== token.clientId) return { _tag: "Unauthorized", message: "Client ID and token do not match" }
      return { _tag: "Ok", token }
    },
    grantedScopes: (clientId, userId) => {
      const granted = Object.values(tokens).filter((t) => t.clientId === clientId && t.userId === userId)
      return granted.length === 0 ? null : granted.flatMap((t) => t.scopes)
    },
    onRevoke: (listener) => {
      listeners.push(listener)
    }
  }
  return { auth, revoke: (token: SimTokenInfo) => listeners.forEach((l) => l(token)) }
}

const harness = (options: Partial<EventSubSim.EventSubOptions> = {}) =>
  Effect.gen(function*() {
    const server = http.createServer()
    yield* Effect.async<void>((resume) => {
      server.listen(0, "127.0.0.1", () => resume(Effect.void))
    })
    yield* Effect.addFinalizer(() =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
    )
    const port = (server.address() as AddressInfo).port
    const { auth, revoke } = makeAuth()
    const part = yield* EventSubSim.make(auth, { baseWsUrl: `ws://127.0.0.1:${port}/ws`, ...options })
    const rest = yield* NodeHttpServer.makeHandler(part.subscriptionsApp)
    const ctl = yield* NodeHttpServer.makeHandler(part.httpControlApp)
    server.on("request", (req, res) => (req.url?.startsWith("/_sim/eventsub/") ? ctl(req, res) : rest(req, res)))
    server.on("upgrade", part.handleUpgrade)
    return { port, part, revoke }
  })

type Harness = Effect.Effect.Success<ReturnType<typeof harness>>

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any

interface Client {
  readonly ws: WebSocket
  readonly messages: Array<Json>
  /** next message not yet returned by `next` */
  readonly next: Effect.Effect<Json>
  readonly waitFor: (count: number) => Effect.Effect<void>
  readonly closed: Effect.Effect<number>
}

const connect = (url: string) =>
  Effect.gen(function*() {
    const ws = new WebSocket(url)
    const messages: Array<Json> = []
    let read = 0
    let wake: (() => void) | null = null
    const closed = yield* Deferred.make<number>()
    ws.on("message", (data) => {
      const text = data.toString()
      try {
        messages.push(JSON.parse(text))
      } catch {
        messages.push(text)
      }
      const w = wake
      wake = null
      w?.()
    })
    ws.on("close", (code) => {
      Deferred.unsafeDone(closed, Effect.succeed(code))
      const w = wake
      wake = null
      w?.()
    })
    yield* Effect.addFinalizer(() => Effect.sync(() => ws.terminate()))
    const waitFor = (count: number): Effect.Effect<void> =>
      Effect.suspend(() =>
        messages.length >= count
          ? Effect.void
          : Effect.async<void>((resume) => {
            wake = () => resume(Effect.void)
          }).pipe(Effect.andThen(waitFor(count)))
      )
    const next = Effect.suspend(() => waitFor(read + 1)).pipe(Effect.map(() => messages[read++]))
    const client: Client = { ws, messages, next, waitFor, closed: Deferred.await(closed) }
    return client
  })

const wsUrl = (h: Harness, query = "") => `ws://127.0.0.1:${h.port}/ws${query}`

const request = (h: Harness, method: string, path: string, body?: unknown, token = "broadcaster") =>
  Effect.promise(async () => {
    const res = await fetch(`http://127.0.0.1:${h.port}${path}`, {
      method,
      headers: { "Authorization": `Bearer ${token}`, "Client-Id": CLIENT, "Content-Type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) })
    })
    const text = await res.text()
    return { status: res.status, body: text === "" ? null : JSON.parse(text) as Json }
  })

const followBody = (sessionId: string, condition: Record<string, string> = {}) => ({
  type: "channel.follow",
  version: "2",
  condition: { broadcaster_user_id: BROADCASTER, moderator_user_id: BROADCASTER, ...condition },
  transport: { method: "websocket", session_id: sessionId }
})

const subscribe = (h: Harness, body: unknown, token?: string) =>
  request(h, "POST", "/eventsub/subscriptions", body, token)

/** connect, read the welcome, subscribe to channel.follow */
const followSession = (h: Harness, query = "") =>
  Effect.gen(function*() {
    const client = yield* connect(wsUrl(h, query))
    const welcome = yield* client.next
    const sessionId: string = welcome.payload.session.id
    const created = yield* subscribe(h, followBody(sessionId))
    assert.strictEqual(created.status, 202)
    return { client, sessionId, subscriptionId: created.body.data[0].id as string }
  })

const RFC3339_NANOS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/

describe("simulator EventSub", () => {
  it("ships every documented type and version", () => {
    // test/fixtures/eventsub-examples.json is a verbatim derivative of codegen/inputs/eventsub-types.json
    const shared = JSON.parse(
      readFileSync(new URL("./fixtures/eventsub-examples.json", import.meta.url), "utf8")
    ) as Array<{ type: string; version: string }>
    const ours = JSON.parse(
      readFileSync(new URL("../src/testing/internal/eventsubExamples.json", import.meta.url), "utf8")
    ) as { types: Array<{ type: string; version: string; event?: unknown; events?: unknown }> }
    assert.deepStrictEqual(
      ours.types.map((t) => `${t.type}@${t.version}`),
      shared.map((t) => `${t.type}@${t.version}`)
    )
    assert.isTrue(ours.types.every((t) => t.event !== undefined || t.events !== undefined))
  })

  it.scopedLive("welcome first, with the documented shape", () =>
    Effect.gen(function*() {
      const h = yield* harness()
      const client = yield* connect(wsUrl(h, "?keepalive_timeout_seconds=3"))
      const welcome = yield* client.next
      assert.strictEqual(welcome.metadata.message_type, "session_welcome")
      assert.match(welcome.metadata.message_id, /^[0-9a-f-]{36}$/)
      assert.match(welcome.metadata.message_timestamp, RFC3339_NANOS)
      const session = welcome.payload.session
      assert.deepStrictEqual(Object.keys(session).sort(), [
        "connected_at",
        "id",
        "keepalive_timeout_seconds",
        "reconnect_url",
        "recovery_url",
        "status"
      ])
      assert.strictEqual(session.status, "connected")
      assert.strictEqual(session.keepalive_timeout_seconds, 10, "clamped to 10..600")
      assert.strictEqual(session.reconnect_url, null)
      assert.strictEqual(session.recovery_url, null)
      assert.match(session.connected_at, RFC3339_NANOS)
      const big = yield* connect(wsUrl(h, "?keepalive_timeout_seconds=9999"))
      assert.strictEqual((yield* big.next).payload.session.keepalive_timeout_seconds, 600)
    }))

  it.scopedLive("subscribe, trigger: notification shape, overrides deep-merged", () =>
    Effect.gen(function*() {
      const h = yield* harness()
      const { client, sessionId, subscriptionId } = yield* followSession(h)
      const ids = yield* h.part.control.trigger({
        type: "channel.follow",
        condition: { broadcaster_user_id: BROADCASTER },
        event: { user_login: "overridden" }
      })
      assert.strictEqual(ids.length, 1)
      const msg = yield* client.next
      assert.deepStrictEqual(msg.metadata, {
        message_id: ids[0],
        message_type: "notification",
        message_timestamp: msg.metadata.message_timestamp,
        subscription_type: "channel.follow",
        subscription_version: "2"
      })
      assert.match(msg.metadata.message_timestamp, RFC3339_NANOS)
      const sub = msg.payload.subscription
      assert.strictEqual(sub.id, subscriptionId)
      assert.strictEqual(sub.status, "enabled")
      assert.strictEqual(sub.cost, 0)
      assert.deepStrictEqual(sub.transport, { method: "websocket", session_id: sessionId })
      assert.deepStrictEqual(sub.condition, { broadcaster_user_id: BROADCASTER, moderator_user_id: BROADCASTER })
      assert.strictEqual(msg.payload.event.user_login, "overridden")
      assert.strictEqual(msg.payload.event.broadcaster_user_id, BROADCASTER)
      assert.isString(msg.payload.event.followed_at)
      // no match: nothing sent
      const none = yield* h.part.control.trigger({ type: "channel.follow", condition: { broadcaster_user_id: "x" } })
      assert.deepStrictEqual(none, [])
      // resend keeps the message id
      yield* h.part.control.resend({ messageId: ids[0]! })
      assert.strictEqual((yield* client.next).metadata.message_id, ids[0])
      // old timestamp
      const old = yield* h.part.control.sendOld({ type: "channel.follow", ageSeconds: 3600 })
      const oldMsg = yield* client.next
      assert.strictEqual(oldMsg.metadata.message_id, old[0])
      assert.isTrue(Date.now() - Date.parse(oldMsg.metadata.message_timestamp) > 3_000_000)
      // malformed frame arrives raw
      yield* h.part.control.sendMalformed({ sessionId, text: "{\"metadata\":" })
      assert.strictEqual(yield* client.next, "{\"metadata\":")
    }))

  it.scopedLive("control API over HTTP", () =>
    Effect.gen(function*() {
      const h = yield* harness()
      const { client } = yield* followSession(h)
      const res = yield* request(h, "POST", "/_sim/eventsub/trigger", { type: "channel.follow" })
      assert.strictEqual(res.status, 200)
      assert.strictEqual(res.body.messageIds.length, 1)
      assert.strictEqual((yield* client.next).metadata.message_id, res.body.messageIds[0])
      const sessions = yield* request(h, "GET", "/_sim/eventsub/sessions")
      assert.strictEqual(sessions.body.data.length, 1)
      const bad = yield* request(h, "POST", "/_sim/eventsub/close", { sessionId: "nope", code: 4000 })
      assert.strictEqual(bad.status, 404)
    }))

  it.scopedLive("keepalive after silence, reset by notifications (real clock, 0.5 s keepalive)", () =>
    Effect.gen(function*() {
      const h = yield* harness({ keepaliveSeconds: 0.5 })
      const { client } = yield* followSession(h)
      const start = Date.now()
      const ka = yield* client.next
      assert.strictEqual(ka.metadata.message_type, "session_keepalive")
      assert.deepStrictEqual(ka.payload, {})
      assert.isAtLeast(Date.now() - start, 250)
      // notifications every 200 ms keep keepalives away
      for (let i = 0; i < 4; i++) {
        yield* Effect.sleep("200 millis")
        yield* h.part.control.trigger({ type: "channel.follow" })
      }
      yield* client.waitFor(6)
      const types = client.messages.slice(2).map((m) => m.metadata.message_type)
      assert.deepStrictEqual(types, ["notification", "notification", "notification", "notification"])
    }))

  it.scoped("keepalive and subscribe deadline run on the Clock (TestClock)", () =>
    Effect.gen(function*() {
      const h = yield* harness({ keepaliveSeconds: 10 })
      const { client, sessionId } = yield* followSession(h)
      yield* TestClock.adjust("9 seconds")
      yield* h.part.control.trigger({ type: "channel.follow" })
      yield* client.waitFor(2)
      yield* TestClock.adjust("9 seconds")
      // 18 s after the welcome, 9 s after the notification: no keepalive yet
      yield* TestClock.adjust("1500 millis")
      yield* client.waitFor(3)
      assert.deepStrictEqual(client.messages.map((m) => m.metadata.message_type), [
        "session_welcome",
        "notification",
        "session_keepalive"
      ])
      // keepalive switch
      yield* h.part.control.setKeepalive({ sessionId, enabled: false })
      yield* TestClock.adjust("60 seconds")
      yield* h.part.control.trigger({ type: "channel.follow" })
      yield* client.waitFor(4)
      assert.strictEqual(client.messages[3].metadata.message_type, "notification")

      const idle = yield* connect(wsUrl(h))
      yield* idle.next
      yield* TestClock.adjust("10 seconds")
      assert.strictEqual(yield* idle.closed, 4003)
    }))

  it.scopedLive("4003 when nothing is subscribed in time; subscribed sessions stay", () =>
    Effect.gen(function*() {
      const h = yield* harness({ subscribeDeadlineSeconds: 0.3 })
      const idle = yield* connect(wsUrl(h))
      const { client } = yield* followSession(h)
      assert.strictEqual(yield* idle.closed, 4003)
      yield* Effect.sleep("200 millis")
      assert.strictEqual(client.ws.readyState, WebSocket.OPEN)
    }))

  it.scopedLive("inbound data frame → 4001 and its subscriptions disabled", () =>
    Effect.gen(function*() {
      const h = yield* harness()
      const { client, subscriptionId } = yield* followSession(h)
      client.ws.send("hello")
      assert.strictEqual(yield* client.closed, 4001)
      yield* Effect.sleep("20 millis")
      const list = yield* request(h, "GET", `/eventsub/subscriptions?subscription_id=${subscriptionId}`)
      assert.strictEqual(list.body.data[0].status, "websocket_received_inbound_traffic")
      assert.isString(list.body.data[0].transport.disconnected_at)
    }))

  it.scopedLive("close with a code disables with the matching status", () =>
    Effect.gen(function*() {
      const h = yield* harness()
      const { client, sessionId, subscriptionId } = yield* followSession(h)
      yield* h.part.control.close({ sessionId, code: 4005 })
      assert.strictEqual(yield* client.closed, 4005)
      yield* Effect.sleep("20 millis")
      const subs = yield* h.part.control.subscriptions
      assert.strictEqual(subs.find((s) => s.id === subscriptionId)?.status, "websocket_network_timeout")
    }))

  it.scopedLive("reconnect: new welcome, subs carried over, old socket delivers until then, 4004 after grace", () =>
    Effect.gen(function*() {
      const h = yield* harness({ reconnectGraceSeconds: 0.5 })
      const { client: old, sessionId: oldId, subscriptionId } = yield* followSession(h)
      const [sent] = yield* h.part.control.reconnect({ sessionId: oldId })
      const reconnect = yield* old.next
      assert.strictEqual(reconnect.metadata.message_type, "session_reconnect")
      assert.strictEqual(reconnect.payload.session.status, "reconnecting")
      assert.strictEqual(reconnect.payload.session.keepalive_timeout_seconds, null)
      assert.strictEqual(reconnect.payload.session.reconnect_url, sent!.reconnectUrl)
      // still delivered on the old socket before the client reconnects
      yield* h.part.control.trigger({ type: "channel.follow" })
      assert.strictEqual((yield* old.next).payload.subscription.transport.session_id, oldId)

      const fresh = yield* connect(reconnect.payload.session.reconnect_url)
      const welcome = yield* fresh.next
      assert.strictEqual(welcome.metadata.message_type, "session_welcome")
      const newId: string = welcome.payload.session.id
      assert.notStrictEqual(newId, oldId)
      yield* h.part.control.trigger({ type: "channel.follow" })
      const moved = yield* fresh.next
      assert.strictEqual(moved.payload.subscription.id, subscriptionId)
      assert.strictEqual(moved.payload.subscription.transport.session_id, newId)
      const list = yield* request(h, "GET", "/eventsub/subscriptions")
      assert.strictEqual(list.body.data[0].status, "enabled")
      assert.strictEqual(list.body.data[0].transport.session_id, newId)
      // the client kept the old socket open: 4004 after the grace time, subscription stays enabled
      assert.strictEqual(yield* old.closed, 4004)
      assert.strictEqual(old.messages.length, 3, "welcome, reconnect, one notification")
      yield* Effect.sleep("20 millis")
      assert.strictEqual((yield* h.part.control.subscriptions)[0]!.status, "enabled")
      // reconnect ids are single use
      const again = yield* connect(reconnect.payload.session.reconnect_url)
      assert.strictEqual(yield* again.closed, 4007)
      const unknown = yield* connect(wsUrl(h, "?reconnect_id=bm9wZQ"))
      assert.strictEqual(yield* unknown.closed, 4007)
    }))

  it.scopedLive("half-open: nothing sent or heard, the subscription stays enabled (409) until the server notices", () =>
    Effect.gen(function*() {
      const h = yield* harness({ keepaliveSeconds: 0.2 })
      const { client, sessionId, subscriptionId } = yield* followSession(h)
      const res = yield* request(h, "POST", "/_sim/eventsub/half-open", { sessionId })
      assert.strictEqual(res.status, 204)
      assert.deepStrictEqual(yield* h.part.control.trigger({ type: "channel.follow" }), [])
      yield* Effect.sleep("500 millis") // keepalives would have come every 0.2 s
      assert.strictEqual(client.messages.length, 1, "only the welcome")
      // the client gives up on the socket; the server does not hear it
      client.ws.close(1000)
      yield* Effect.sleep("50 millis")
      const [info] = (yield* h.part.control.sessions).filter((s) => s.id === sessionId)
      assert.strictEqual(info!.status, "connected")
      assert.isTrue(info!.halfOpen)
      assert.strictEqual((yield* h.part.control.subscriptions)[0]!.status, "enabled")
      // a new session cannot subscribe to the same type + condition while the old one holds it
      const fresh = yield* connect(wsUrl(h))
      const freshId: string = (yield* fresh.next).payload.session.id
      assert.strictEqual((yield* subscribe(h, followBody(freshId))).status, 409)
      // the server notices (here: told to close it): the subscription is disabled with that code's status
      yield* h.part.control.close({ sessionId, code: 4005 })
      const subs = yield* h.part.control.subscriptions
      assert.strictEqual(subs.find((s) => s.id === subscriptionId)?.status, "websocket_network_timeout")
      const closed = (yield* h.part.control.sessions).find((s) => s.id === sessionId)
      assert.strictEqual(closed?.status, "closed")
      assert.strictEqual(closed?.closeCode, 4005)
      assert.strictEqual((yield* subscribe(h, followBody(freshId))).status, 202)
    }))

  it.scopedLive("half-open with pings: the missing pong is noticed (4002, websocket_failed_ping_pong)", () =>
    Effect.gen(function*() {
      const h = yield* harness({ pingIntervalSeconds: 0.1 })
      const { sessionId, subscriptionId } = yield* followSession(h)
      yield* h.part.control.halfOpen({ sessionId })
      yield* Effect.sleep("400 millis")
      const subs = yield* h.part.control.subscriptions
      assert.strictEqual(subs.find((s) => s.id === subscriptionId)?.status, "websocket_failed_ping_pong")
      assert.strictEqual((yield* h.part.control.sessions).find((s) => s.id === sessionId)?.closeCode, 4002)
    }))

  it.scopedLive("reconnect never followed → subscriptions websocket_failed_to_reconnect", () =>
    Effect.gen(function*() {
      const h = yield* harness({ reconnectGraceSeconds: 0.2 })
      const { client, sessionId, subscriptionId } = yield* followSession(h)
      yield* h.part.control.reconnect({ sessionId })
      assert.strictEqual(yield* client.closed, 4004)
      yield* Effect.sleep("20 millis")
      const list = yield* request(h, "GET", `/eventsub/subscriptions?subscription_id=${subscriptionId}`)
      assert.strictEqual(list.body.data[0].status, "websocket_failed_to_reconnect")
    }))

  it.scopedLive("revocation: message without event, then no more deliveries; OAuth revoke too", () =>
    Effect.gen(function*() {
      const h = yield* harness()
      const { client, sessionId, subscriptionId } = yield* followSession(h)
      yield* h.part.control.revoke({ subscriptionId, status: "user_removed" })
      const msg = yield* client.next
      assert.strictEqual(msg.metadata.message_type, "revocation")
      assert.strictEqual(msg.metadata.subscription_type, "channel.follow")
      assert.strictEqual(msg.metadata.subscription_version, "2")
      assert.strictEqual(msg.payload.subscription.status, "user_removed")
      assert.isUndefined(msg.payload.event)
      assert.deepStrictEqual(yield* h.part.control.trigger({ type: "channel.follow" }), [])
      const list = yield* request(h, "GET", "/eventsub/subscriptions?status=user_removed")
      assert.strictEqual(list.body.data.length, 1)

      const chat = yield* subscribe(h, {
        type: "channel.chat.message",
        version: "1",
        condition: { broadcaster_user_id: BROADCASTER, user_id: BROADCASTER },
        transport: { method: "websocket", session_id: sessionId }
      })
      assert.strictEqual(chat.status, 202)
      h.revoke(tokens.broadcaster!)
      const revoked = yield* client.next
      assert.strictEqual(revoked.metadata.message_type, "revocation")
      assert.strictEqual(revoked.payload.subscription.id, chat.body.data[0].id)
      assert.strictEqual(revoked.payload.subscription.status, "authorization_revoked")
    }))

  it.scopedLive("burst of 10,000 arrives complete and in order", () =>
    Effect.gen(function*() {
      const h = yield* harness()
      const { client, subscriptionId } = yield* followSession(h)
      const ids: Array<string> = []
      const all = yield* Deferred.make<void>()
      client.ws.on("message", (data) => {
        const msg = JSON.parse(data.toString())
        if (msg.metadata.message_type === "notification") ids.push(msg.metadata.message_id)
        if (ids.length === 10_000) Deferred.unsafeDone(all, Effect.void)
      })
      const result = yield* h.part.control.burst({ subscriptionId, count: 10_000, event: { user_login: "burst" } })
      assert.strictEqual(result.sent, 10_000)
      yield* Deferred.await(all)
      assert.strictEqual(new Set(ids).size, 10_000)
      assert.strictEqual(ids[0], result.firstMessageId)
      assert.strictEqual(ids[9_999], result.lastMessageId)
      assert.strictEqual(client.messages[1].payload.event.user_login, "burst")
    }))

  it.scopedLive("REST errors: 400, 401, 403, 409, 410, 429, 404", () =>
    Effect.gen(function*() {
      const h = yield* harness()
      const client = yield* connect(wsUrl(h))
      const sessionId: string = (yield* client.next).payload.session.id
      const expect = (res: { status: number; body: Json }, status: number, message?: string) => {
        assert.strictEqual(res.status, status, JSON.stringify(res.body))
        if (status >= 400) {
          assert.strictEqual(res.body.status, status)
          assert.isString(res.body.error)
        }
        if (message !== undefined) assert.strictEqual(res.body.message, message)
      }
      expect(
        yield* subscribe(h, { ...followBody(sessionId), version: "7" }),
        400,
        "The combination of values in the type and version fields is not valid"
      )
      expect(
        yield* subscribe(h, { ...followBody(sessionId), version: "1" }),
        410,
        "This subscription type is not available."
      )
      expect(
        yield* subscribe(h, { ...followBody(sessionId), condition: { broadcaster_user_id: BROADCASTER } }),
        400
      )
      expect(yield* subscribe(h, { ...followBody("unknown-session") }), 400)
      expect(yield* subscribe(h, { ...followBody(sessionId), transport: { method: "webhook" } }), 400)
      expect(yield* subscribe(h, followBody(sessionId), "app"), 400)
      expect(yield* subscribe(h, followBody(sessionId), "nobody"), 401)
      expect(yield* subscribe(h, followBody(sessionId), "noscope"), 403)
      expect(yield* subscribe(h, followBody(sessionId, { moderator_user_id: "42" })), 403)
      expect(yield* subscribe(h, followBody(sessionId)), 202)
      expect(yield* subscribe(h, followBody(sessionId)), 409)
      // channel.raid: exactly one of from/to
      const raid = (condition: Record<string, string>) => ({
        type: "channel.raid",
        version: "1",
        condition,
        transport: { method: "websocket", session_id: sessionId }
      })
      expect(yield* subscribe(h, raid({})), 400)
      // cost 1 for a user who did not authorize: max_total_cost 10
      for (let i = 0; i < 10; i++) {
        const ok = yield* subscribe(h, raid({ to_broadcaster_user_id: `other-${i}` }))
        assert.strictEqual(ok.status, 202)
        assert.strictEqual(ok.body.data[0].cost, 1)
        assert.strictEqual(ok.body.total_cost, i + 1)
        assert.strictEqual(ok.body.max_total_cost, 10)
      }
      expect(yield* subscribe(h, raid({ to_broadcaster_user_id: "other-11" })), 429)
      const own = yield* subscribe(h, raid({ to_broadcaster_user_id: BROADCASTER }))
      assert.strictEqual(own.body.data[0].cost, 0)

      const list = yield* request(h, "GET", "/eventsub/subscriptions?type=channel.raid")
      assert.strictEqual(list.body.data.length, 11)
      assert.strictEqual(list.body.total, 11)
      assert.strictEqual(list.body.total_cost, 10)
      assert.deepStrictEqual(list.body.pagination, {})
      assert.strictEqual(list.body.data[0].condition.to_broadcaster_user_id, "other-0", "oldest first")
      expect(yield* request(h, "GET", "/eventsub/subscriptions?type=channel.raid&status=enabled"), 400)
      const byUser = yield* request(h, "GET", "/eventsub/subscriptions?user_id=other-3")
      assert.strictEqual(byUser.body.data.length, 1)

      expect(yield* request(h, "DELETE", "/eventsub/subscriptions"), 400)
      expect(yield* request(h, "DELETE", "/eventsub/subscriptions?id=nope"), 404)
      const del = yield* request(h, "DELETE", `/eventsub/subscriptions?id=${own.body.data[0].id}`)
      assert.strictEqual(del.status, 204)
      assert.strictEqual((yield* request(h, "GET", "/eventsub/subscriptions")).body.total, 11)
    }))

  it.scopedLive("GET pages by 100 with an `after` cursor, oldest first", () =>
    Effect.gen(function*() {
      const h = yield* harness()
      const client = yield* connect(wsUrl(h))
      const sessionId: string = (yield* client.next).payload.session.id
      for (let i = 0; i < 105; i++) {
        const res = yield* subscribe(h, followBody(sessionId, { broadcaster_user_id: `b${i}` }))
        assert.strictEqual(res.status, 202)
      }
      const first = yield* request(h, "GET", "/eventsub/subscriptions")
      assert.strictEqual(first.body.data.length, 100)
      assert.strictEqual(first.body.total, 105)
      assert.strictEqual(first.body.total_cost, 0)
      assert.isString(first.body.pagination.cursor)
      const second = yield* request(h, "GET", `/eventsub/subscriptions?after=${first.body.pagination.cursor}`)
      assert.deepStrictEqual(
        second.body.data.map((s: Json) => s.condition.broadcaster_user_id),
        ["b100", "b101", "b102", "b103", "b104"]
      )
      assert.deepStrictEqual(second.body.pagination, {})
    }))

  it.scopedLive("limits: 3 sessions per user, >3 same type+condition → 429", () =>
    Effect.gen(function*() {
      const h = yield* harness()
      const ids: Array<string> = []
      for (let i = 0; i < 4; i++) {
        const c = yield* connect(wsUrl(h))
        ids.push((yield* c.next).payload.session.id)
      }
      const online = (sessionId: string, broadcaster: string) => ({
        type: "stream.online",
        version: "1",
        condition: { broadcaster_user_id: broadcaster },
        transport: { method: "websocket", session_id: sessionId }
      })
      for (let i = 0; i < 3; i++) {
        assert.strictEqual((yield* subscribe(h, online(ids[i]!, BROADCASTER + i))).status, 202)
      }
      const fourth = yield* subscribe(h, online(ids[3]!, "x"))
      assert.strictEqual(fourth.status, 429)
      // a session that already has subscriptions can take more
      assert.strictEqual((yield* subscribe(h, online(ids[0]!, "y"))).status, 202)
      // the same type+condition: 409 for the same user, 429 past 3 users of the client
      assert.strictEqual((yield* subscribe(h, online(ids[0]!, "y"))).status, 409)
      assert.strictEqual((yield* subscribe(h, online(ids[3]!, "y"), "u2")).status, 202)
      assert.strictEqual((yield* subscribe(h, online(ids[3]!, "y"), "u3")).status, 202)
      assert.strictEqual((yield* subscribe(h, online(ids[3]!, "y"), "u4")).status, 429)
    }))

  it.scopedLive("ping/pong: answered pings keep the session, a missing pong closes with 4002", () =>
    Effect.gen(function*() {
      const h = yield* harness({ pingIntervalSeconds: 0.1 })
      const { client } = yield* followSession(h)
      // ws clients answer pings automatically; this one must not
      const mute = new WebSocket(wsUrl(h), { autoPong: false })
      yield* Effect.addFinalizer(() => Effect.sync(() => mute.terminate()))
      const code = yield* Effect.async<number>((resume) => {
        mute.on("close", (c) => resume(Effect.succeed(c)))
      })
      assert.strictEqual(code, 4002)
      assert.strictEqual(client.ws.readyState, WebSocket.OPEN)
      assert.isTrue(client.messages.every((m) => m.metadata.message_type !== "session_keepalive"))
    }))

  it.scopedLive("every documented type and version can be subscribed and triggered", () =>
    Effect.gen(function*() {
      const h = yield* harness()
      const client = yield* connect(wsUrl(h))
      const sessionId: string = (yield* client.next).payload.session.id
      const catalogue = JSON.parse(
        readFileSync(new URL("../src/testing/internal/eventsubExamples.json", import.meta.url), "utf8")
      ) as { types: Array<{ type: string; version: string; conditionFields: Array<string> }> }
      for (const def of catalogue.types) {
        const condition: Record<string, string> = {}
        for (const field of def.conditionFields) {
          if (!field.endsWith("?")) condition[field] = ALL
        }
        if (def.type === "channel.raid") condition.to_broadcaster_user_id = ALL
        const res = yield* subscribe(h, {
          type: def.type,
          version: def.version,
          condition,
          transport: { method: "websocket", session_id: sessionId }
        }, "all")
        assert.strictEqual(res.status, 202, `${def.type} v${def.version}: ${JSON.stringify(res.body)}`)
        const [id] = yield* h.part.control.trigger({ type: def.type, version: def.version })
        const msg = yield* client.next
        assert.strictEqual(msg.metadata.message_id, id)
        assert.strictEqual(msg.metadata.subscription_type, def.type)
        assert.strictEqual(msg.metadata.subscription_version, def.version)
        assert.isTrue(msg.payload.event !== undefined || Array.isArray(msg.payload.events), def.type)
      }
      const list = yield* request(h, "GET", "/eventsub/subscriptions", undefined, "all")
      assert.strictEqual(list.body.total, catalogue.types.length)
      assert.strictEqual(list.body.data.length, catalogue.types.length)
    }))

  it.scopedLive("a burst follows its subscription across a reconnect handover", () =>
    Effect.gen(function*() {
      const h = yield* harness()
      const { client: old, sessionId, subscriptionId } = yield* followSession(h)
      const [sent] = yield* h.part.control.reconnect({ sessionId })
      const reconnectUrl = sent!.reconnectUrl
      const fiber = yield* Effect.fork(h.part.control.burst({ subscriptionId, count: 20_000 }))
      yield* old.waitFor(3)
      const fresh = yield* connect(reconnectUrl)
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(result.sent, 20_000)
      const count = (c: Client) => c.messages.filter((m) => m.metadata.message_type === "notification").length
      yield* Effect.suspend(() => count(old) + count(fresh) >= 20_000 ? Effect.void : Effect.fail("wait")).pipe(
        Effect.retry({ schedule: Schedule.spaced("10 millis"), times: 500 })
      )
      assert.strictEqual(count(old) + count(fresh), 20_000)
      assert.isAbove(count(old), 0)
      assert.isAbove(count(fresh), 0, "the rest went to the new session")
      assert.strictEqual(fresh.messages[0].metadata.message_type, "session_welcome")
    }))

  it.scopedLive("Twurple's EventSubWsListener (mock mode) subscribes and receives a triggered follow", () =>
    Effect.gen(function*() {
      const h = yield* harness()
      const previous = process.env.TWURPLE_MOCK_API_PORT
      process.env.TWURPLE_MOCK_API_PORT = String(h.port)
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          if (previous === undefined) delete process.env.TWURPLE_MOCK_API_PORT
          else process.env.TWURPLE_MOCK_API_PORT = previous
        })
      )
      const token = tokens.broadcaster!
      const accessToken = {
        accessToken: token.token,
        refreshToken: null,
        scope: [...token.scopes],
        expiresIn: null,
        obtainmentTimestamp: Date.now(),
        userId: BROADCASTER
      }
      const authProvider: AuthProvider = {
        clientId: CLIENT,
        getCurrentScopesForUser: () => [...token.scopes],
        getAccessTokenForUser: () => Promise.resolve(accessToken),
        getAnyAccessToken: () => Promise.resolve(accessToken)
      }
      const listener = new EventSubWsListener({ apiClient: new ApiClient({ authProvider }) })
      const followed = yield* Deferred.make<string>()
      listener.onChannelFollow(BROADCASTER, BROADCASTER, (event) => {
        Deferred.unsafeDone(followed, Effect.succeed(event.userDisplayName))
      })
      listener.start()
      yield* Effect.addFinalizer(() => Effect.sync(() => listener.stop()))
      // wait until Twurple created its subscription, then trigger
      const subs = yield* h.part.control.subscriptions.pipe(
        Effect.filterOrFail((list) => list.some((s) => s.status === "enabled")),
        Effect.retry({ schedule: Schedule.spaced("20 millis"), times: 250 })
      )
      assert.strictEqual(subs[0]!.type, "channel.follow")
      yield* h.part.control.trigger({ type: "channel.follow", event: { user_name: "TwurpleFan" } })
      assert.strictEqual(yield* Deferred.await(followed), "TwurpleFan")
    }))

  it.scopedLive("timers stop with the scope", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(Effect.scoped(Effect.gen(function*() {
        const h = yield* harness({ keepaliveSeconds: 1 })
        yield* followSession(h)
      })))
      yield* Fiber.join(fiber)
    }))
})
