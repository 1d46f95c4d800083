import { assert, describe, it } from "@effect/vitest"
import { ApiClient } from "@twurple/api"
import { StaticAuthProvider } from "@twurple/auth"
import { EventSubWsListener } from "@twurple/eventsub-ws"
import {
  Context,
  Deferred,
  Effect,
  Exit,
  Fiber,
  Layer,
  Metric,
  Option,
  Redacted,
  Schedule,
  Scope,
  Stream,
  TestClock
} from "effect"
import * as EventSub from "../src/EventSub.js"
import * as EventSubTypes from "../src/EventSubTypes.js"
import * as Helix from "../src/Helix.js"
import * as Simulator from "../src/testing/Simulator.js"
import { UserToken } from "../src/Token.js"
import * as TokenStore from "../src/TokenStore.js"
import {
  captureLogs,
  collect,
  enabledSubs,
  eventually,
  eventuallyWithClock,
  openSessions,
  realPause,
  sessions,
  waitSubscribed,
  withStack
} from "./fixtures/eventsub.js"
import * as Stack from "./fixtures/stack.js"

const B = Simulator.defaultUsers.broadcaster
const VIEWER = Simulator.defaultUsers.viewer

describe("EventSub", () => {
  it.scoped("follows: a triggered follow arrives decoded and typed", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const eventSub = yield* EventSub.EventSub
      const { fiber, items } = yield* collect(eventSub.follows(B))
      yield* waitSubscribed()
      const [sub] = yield* enabledSubs
      assert.deepStrictEqual(sub!.condition, { broadcaster_user_id: B, moderator_user_id: B })
      yield* sim.eventSub.trigger({ type: "channel.follow", event: { user_name: "Fan", user_id: "42" } })
      yield* eventually(Effect.sync(() => items.length === 1))
      assert.strictEqual(items[0]!.user_name, "Fan")
      assert.strictEqual(items[0]!.broadcaster_user_id, B)
      yield* Fiber.interrupt(fiber)
    }).pipe(withStack()))

  it.scoped("the acting user (Helix.withUser, or the userId option) wins over the default user: own token, own connection", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const store = yield* TokenStore.TokenStore
      const eventSub = yield* EventSub.EventSub
      // Helix's and EventSub's default user is B; two streams run as the viewer, the first of them (which
      // opens the viewer's connection) from a fiber acting as B
      const asDefault = yield* collect(eventSub.streamOnline(B))
      const byOption = yield* collect(eventSub.streamOffline(B, { userId: VIEWER }))
      yield* Effect.ignore(waitSubscribed(2))
      const asViewer = yield* collect(eventSub.streamOnline(B).pipe(Helix.withUser(VIEWER)))
      yield* Effect.ignore(waitSubscribed(3))
      const byUser = (list: ReadonlyArray<{ readonly type: string; readonly userId: string }>) =>
        list.map((s) => `${s.type} ${s.userId}`).sort()
      const expected = [`stream.offline ${VIEWER}`, `stream.online ${B}`, `stream.online ${VIEWER}`]
      const subs = yield* enabledSubs
      assert.deepStrictEqual(byUser(subs), expected, "created with whose token")
      const viewerSubs = subs.filter((s) => s.userId === VIEWER)
      const defaultSub = subs.find((s) => s.userId === B)!
      const viewerSession = viewerSubs[0]!.sessionId
      assert.isTrue(viewerSubs.every((s) => s.sessionId === viewerSession), "one connection for the viewer")
      assert.notStrictEqual(viewerSession, defaultSub.sessionId, "one connection per user")
      const viewerToken = Redacted.value(Option.getOrThrow(yield* store.get(VIEWER)).accessToken)
      const viewerPosts = sim.countRequests({ path: "/eventsub/subscriptions", method: "POST", token: viewerToken })
      assert.strictEqual(yield* viewerPosts, 2)
      yield* sim.eventSub.trigger({ type: "stream.online" })
      yield* sim.eventSub.trigger({ type: "stream.offline" })
      yield* eventually(
        Effect.sync(() => asDefault.items.length === 1 && asViewer.items.length === 1 && byOption.items.length === 1)
      )
      // the viewer's connection drops: its subscriptions are re-created (by the connection, not by a consumer)
      // on the viewer's new session, still with the viewer's token
      yield* sim.eventSub.close({ sessionId: viewerSession, code: 4005 })
      yield* Effect.ignore(eventually(
        Effect.map(enabledSubs, (list) => list.length === 3 && list.every((s) => s.sessionId !== viewerSession)),
        "re-created subscriptions"
      ))
      const after = yield* enabledSubs
      assert.deepStrictEqual(byUser(after), expected, "re-created with whose token")
      assert.isTrue(after.every((s) => s.sessionId !== viewerSession))
      assert.strictEqual(new Set(after.filter((s) => s.userId === VIEWER).map((s) => s.sessionId)).size, 1)
      assert.notStrictEqual(after.find((s) => s.userId === VIEWER)!.sessionId, defaultSub.sessionId)
      assert.strictEqual(yield* viewerPosts, 4)
    }).pipe(withStack({ users: [B, VIEWER], eventSub: { defaultUser: B } })))

  it.scoped("two consumers of one type + condition share one Twitch subscription; deleted when both end", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const eventSub = yield* EventSub.EventSub
      const first = yield* eventSub.follows(B).pipe(Stream.take(1), Stream.runCollect, Effect.fork)
      const second = yield* collect(eventSub.subscribe(EventSubTypes.ChannelFollowV2, {
        broadcaster_user_id: B,
        moderator_user_id: B
      }))
      yield* waitSubscribed(1)
      yield* realPause(20) // both consumers registered
      assert.strictEqual((yield* sim.eventSub.subscriptions).length, 1)
      assert.strictEqual(yield* sim.countRequests({ path: "/eventsub/subscriptions", method: "POST" }), 1)
      yield* sim.eventSub.trigger({ type: "channel.follow", event: { user_name: "Shared" } })
      const got = yield* Fiber.join(first)
      assert.strictEqual([...got][0]!.user_name, "Shared")
      yield* eventually(Effect.sync(() => second.items.length === 1))
      // one consumer ended: the subscription stays for the other
      yield* realPause(20)
      assert.strictEqual((yield* enabledSubs).length, 1)
      yield* Fiber.interrupt(second.fiber)
      yield* eventually(Effect.map(sim.eventSub.subscriptions, (subs) => subs.length === 0), "deletion")
      assert.strictEqual(yield* sim.countRequests({ path: "/eventsub/subscriptions", method: "DELETE" }), 1)
      // no subscription left: the connection is closed too
      yield* eventually(Effect.map(openSessions, (list) => list.length === 0), "connection closed")
    }).pipe(withStack()))

  it.scoped("reconnect handover while 1,000 events flow: every event exactly once", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const eventSub = yield* EventSub.EventSub
      const { items } = yield* collect(eventSub.chatMessages(B))
      yield* waitSubscribed()
      const [subscription] = yield* enabledSubs
      // 1,000 events in bursts of 10, with a pause for I/O between bursts (client and simulator share the
      // event loop); session_reconnect after the 30th burst: events flow on the old socket until the new one
      // is welcomed, then follow the subscription to the new one
      let total = 0
      let sent: { readonly sessionId: string } | undefined
      let sentAtHandover = -1
      for (let i = 0; i < 100; i++) {
        if (i === 30) [sent] = yield* sim.eventSub.reconnect()
        total += (yield* sim.eventSub.burst({ subscriptionId: subscription!.id, count: 10 })).sent
        if (sent !== undefined && sentAtHandover < 0) {
          const old = (yield* sessions).find((s) => s.id === sent!.sessionId)
          if (old?.reconnectedTo !== null) sentAtHandover = total
        }
        yield* realPause(1)
      }
      assert.isDefined(sent)
      // the handover completed while events were flowing
      assert.isAbove(sentAtHandover, 300)
      assert.isBelow(sentAtHandover, 1000)
      assert.strictEqual(total, 1000)
      yield* eventually(Effect.sync(() => items.length >= 1000), "1,000 events")
      yield* realPause(50)
      assert.strictEqual(items.length, 1000)
      // the handover happened: the old session points at the new one and was closed by the client
      const all = yield* sessions
      const old = all.find((s) => s.id === sent!.sessionId)!
      assert.isNotNull(old.reconnectedTo)
      yield* eventually(Effect.map(sessions, (list) => list.find((s) => s.id === old.id)?.status === "closed"))
      const fresh = (yield* sessions).find((s) => s.id === old.reconnectedTo)!
      assert.strictEqual(fresh.status, "connected")
      assert.deepStrictEqual(fresh.subscriptions, [subscription!.id])
      // nothing re-created: the subscription carried over
      assert.strictEqual(yield* sim.countRequests({ path: "/eventsub/subscriptions", method: "POST" }), 1)
      const ids = yield* sim.eventSub.trigger({ type: "channel.chat.message" })
      assert.strictEqual(ids.length, 1)
      yield* eventually(Effect.sync(() => items.length === 1001), "event on the new session")
    }).pipe(withStack()))

  it.scoped("a consumer that falls behind: its buffer fills, the socket pauses, then every event arrives in order", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
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
      // far more than the consumer buffer (4) and the ingress bound (8) while the consumer is stuck
      const count = 300
      for (let i = 0; i < count; i++) {
        yield* sim.eventSub.trigger({ type: "channel.chat.message", event: { message: { text: `m${i}` } } })
        if (i % 50 === 0) yield* realPause(1)
      }
      yield* realPause(20)
      assert.isAtMost(texts.length, 0)
      yield* Deferred.succeed(gate, undefined)
      yield* eventually(Effect.sync(() => texts.length >= count), `${count} events`)
      yield* realPause(20)
      assert.deepStrictEqual(texts, Array.from({ length: count }, (_, i) => `m${i}`))
    }).pipe(withStack({ eventSub: { consumerBuffer: 4, ingressHighWater: 8 } })))

  it.scoped("dropped connection (4006, then 4000): resubscribed on a new session, later events arrive", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const eventSub = yield* EventSub.EventSub
      const { items } = yield* collect(eventSub.streamOnline(B))
      yield* waitSubscribed()
      for (const code of [4006, 4000]) {
        const [before] = yield* openSessions
        yield* sim.eventSub.close({ sessionId: before!.id, code })
        // the first reconnect goes at once; the second, after a session that lived less than a minute, on the backoff
        yield* eventuallyWithClock(
          Effect.map(enabledSubs, (subs) => subs.length === 1 && subs[0]!.sessionId !== before!.id),
          "re-created subscription"
        )
      }
      assert.strictEqual(yield* sim.countRequests({ path: "/eventsub/subscriptions", method: "POST" }), 3)
      yield* sim.eventSub.trigger({ type: "stream.online" })
      yield* eventually(Effect.sync(() => items.length === 1), "event after the reconnect")
      assert.strictEqual((yield* openSessions).length, 1)
    }).pipe(withStack()))

  it.scoped("silent keepalive: the watchdog declares the connection dead and reconnects", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const eventSub = yield* EventSub.EventSub
      const { items } = yield* collect(eventSub.follows(B))
      yield* waitSubscribed()
      const [before] = yield* openSessions
      yield* sim.eventSub.setKeepalive({ sessionId: before!.id, enabled: false })
      yield* TestClock.adjust("11 seconds") // keepalive 10 s + 2 s grace not yet over
      yield* realPause(20)
      assert.strictEqual((yield* openSessions)[0]!.id, before!.id)
      yield* TestClock.adjust("2 seconds")
      yield* eventually(
        Effect.map(enabledSubs, (subs) => subs.length === 1 && subs[0]!.sessionId !== before!.id),
        "a new session"
      )
      yield* eventually(
        Effect.map(sessions, (list) => list.find((s) => s.id === before!.id)?.status === "closed"),
        "old session closed"
      )
      yield* sim.eventSub.trigger({ type: "channel.follow" })
      yield* eventually(Effect.sync(() => items.length === 1))
    }).pipe(withStack()))

  it.scoped("a keepalive-receiving connection stays up", () =>
    Effect.gen(function*() {
      const eventSub = yield* EventSub.EventSub
      yield* collect(eventSub.follows(B))
      yield* waitSubscribed()
      const [before] = yield* openSessions
      for (let i = 0; i < 6; i++) {
        yield* TestClock.adjust("5 seconds")
        yield* realPause(10)
      }
      const open = yield* openSessions
      assert.strictEqual(open.length, 1)
      assert.strictEqual(open[0]!.id, before!.id)
    }).pipe(withStack()))

  it.scoped("duplicate message id: delivered once", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const eventSub = yield* EventSub.EventSub
      const { items } = yield* collect(eventSub.follows(B))
      yield* waitSubscribed()
      const [id] = yield* sim.eventSub.trigger({ type: "channel.follow", event: { user_name: "Once" } })
      yield* sim.eventSub.resend({ messageId: id! })
      yield* sim.eventSub.resend({ messageId: id! })
      yield* sim.eventSub.trigger({ type: "channel.follow", event: { user_name: "Next" } })
      yield* eventually(Effect.sync(() => items.length >= 2))
      yield* realPause(20)
      assert.deepStrictEqual(items.map((e) => e.user_name), ["Once", "Next"])
    }).pipe(withStack()))

  it.scoped("old timestamp (700 s): dropped and logged", () =>
    captureLogs((lines) =>
      Effect.gen(function*() {
        const sim = yield* Simulator.Simulator
        const eventSub = yield* EventSub.EventSub
        yield* TestClock.adjust("1 hour") // a realistic "now"
        const { items } = yield* collect(eventSub.follows(B))
        yield* waitSubscribed()
        const [oldId] = yield* sim.eventSub.sendOld({
          type: "channel.follow",
          ageSeconds: 700,
          event: { user_name: "Old" }
        })
        yield* sim.eventSub.sendOld({ type: "channel.follow", ageSeconds: 500, event: { user_name: "Recent" } })
        yield* sim.eventSub.trigger({ type: "channel.follow", event: { user_name: "New" } })
        yield* eventually(Effect.sync(() => items.length >= 2))
        yield* realPause(20)
        assert.deepStrictEqual(items.map((e) => e.user_name), ["Recent", "New"])
        assert.isTrue(
          lines.some((l) => l.startsWith("WARN") && l.includes(oldId!) && l.includes("older")),
          lines.join("\n")
        )
      }).pipe(withStack())
    ))

  it.scoped("the age limit follows the clock: 15 minutes into a connection, a message 700 s old is dropped", () =>
    captureLogs((lines) =>
      Effect.gen(function*() {
        const sim = yield* Simulator.Simulator
        const eventSub = yield* EventSub.EventSub
        yield* TestClock.adjust("1 hour") // a realistic "now"
        const { items } = yield* collect(eventSub.follows(B))
        yield* waitSubscribed()
        const [session] = yield* openSessions
        yield* sim.eventSub.trigger({ type: "channel.follow", event: { user_name: "First" } })
        yield* eventually(Effect.sync(() => items.length === 1))
        // 15 minutes on this connection (keepalive 600 s: the simulator's keepalives keep it up)
        for (let i = 0; i < 30; i++) {
          yield* TestClock.adjust("30 seconds")
          yield* realPause()
        }
        const open = yield* openSessions
        assert.deepStrictEqual(open.map((s) => s.id), [session!.id], "still the first connection")
        const [oldId] = yield* sim.eventSub.sendOld({
          type: "channel.follow",
          ageSeconds: 700,
          event: { user_name: "Old" }
        })
        yield* sim.eventSub.sendOld({ type: "channel.follow", ageSeconds: 60, event: { user_name: "Recent" } })
        yield* sim.eventSub.trigger({ type: "channel.follow", event: { user_name: "New" } })
        yield* Effect.ignore(eventually(Effect.sync(() => items.length >= 3)))
        yield* realPause(20)
        assert.deepStrictEqual(items.map((e) => e.user_name), ["First", "Recent", "New"])
        assert.isTrue(
          lines.some((l) => l.startsWith("WARN") && l.includes(oldId!) && l.includes("older")),
          lines.join("\n")
        )
      }).pipe(withStack({ eventSub: { keepaliveTimeoutSeconds: 600 } }))
    ))

  it.scoped("bad input (not JSON, truncated, wrong envelope, unknown message_type): logged, skipped, stream goes on", () =>
    captureLogs((lines) =>
      Effect.gen(function*() {
        const sim = yield* Simulator.Simulator
        const eventSub = yield* EventSub.EventSub
        const { fiber, items } = yield* collect(eventSub.follows(B))
        yield* waitSubscribed()
        const [session] = yield* openSessions
        const frames = [
          "not json at all",
          `{"metadata":{"message_id":"trunc","message_type":"notification"`,
          `{"hello":"world"}`,
          JSON.stringify({
            metadata: {
              message_id: "m-unknown",
              message_type: "session_party",
              message_timestamp: new Date().toISOString()
            },
            payload: {}
          })
        ]
        for (const text of frames) yield* sim.eventSub.sendMalformed({ sessionId: session!.id, text })
        yield* sim.eventSub.trigger({ type: "channel.follow", event: { user_name: "StillHere" } })
        yield* eventually(Effect.sync(() => items.length === 1))
        assert.strictEqual(items[0]!.user_name, "StillHere")
        assert.isNull(fiber.unsafePoll())
        // one warning per kind (the second not-JSON frame is counted, not logged: warnings are rate-limited)
        const skipped = lines.filter((l) => l.startsWith("WARN") && l.includes("skipped a frame"))
        assert.strictEqual(skipped.length, 3, skipped.join("\n"))
        assert.isTrue(skipped.some((l) => l.includes("m-unknown") && l.includes("session_party")))
        assert.strictEqual((yield* openSessions).length, 1)
      }).pipe(withStack())
    ))

  it.scoped("an event that fails its schema reaches `undecodable` (raw, paths, ids), is counted and logged; the stream goes on", () =>
    captureLogs((lines) =>
      Effect.gen(function*() {
        const sim = yield* Simulator.Simulator
        const eventSub = yield* EventSub.EventSub
        const counter = EventSub.undecodableEvents.pipe(
          Metric.tagged("type", "channel.follow"),
          Metric.tagged("version", "2")
        )
        const before = (yield* Metric.value(counter)).count
        const undecodable = yield* collect(eventSub.undecodable)
        const { fiber, items } = yield* collect(eventSub.follows(B))
        yield* waitSubscribed()
        const [sub] = yield* enabledSubs
        const [badId] = yield* sim.eventSub.trigger({
          type: "channel.follow",
          event: { user_name: 42, brand_new_field: "unknown fields never fail a decode" }
        })
        yield* sim.eventSub.trigger({ type: "channel.follow", event: { user_name: "Good", another_new_field: 1 } })
        yield* eventually(Effect.sync(() => items.length === 1 && undecodable.items.length === 1))
        assert.strictEqual(items[0]!.user_name, "Good")
        const bad = undecodable.items[0]!
        assert.strictEqual(bad.messageId, badId)
        assert.strictEqual(bad.type, "channel.follow")
        assert.strictEqual(bad.version, "2")
        assert.strictEqual(bad.subscriptionId, sub!.id)
        assert.strictEqual((bad.raw as { user_name: unknown }).user_name, 42)
        assert.include(bad.error, "user_name")
        assert.notInclude(bad.error, "42")
        assert.strictEqual((yield* Metric.value(counter)).count - before, 1)
        assert.isNull(fiber.unsafePoll())
        assert.isTrue(
          lines.some((l) => l.startsWith("WARN") && l.includes(badId!) && l.includes("user_name")),
          lines.join("\n")
        )
      }).pipe(withStack())
    ))

  it.scoped("revocation: the events before it are delivered, then the stream fails with EventSubRevoked", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const eventSub = yield* EventSub.EventSub
      const { fiber, items } = yield* collect(eventSub.follows(B))
      yield* waitSubscribed()
      const [sub] = yield* enabledSubs
      for (const name of ["a", "b", "c"]) {
        yield* sim.eventSub.trigger({ type: "channel.follow", event: { user_name: name } })
      }
      yield* sim.eventSub.revoke({ subscriptionId: sub!.id, status: "user_removed" })
      const exit = yield* Fiber.await(fiber)
      assert.deepStrictEqual(items.map((e) => e.user_name), ["a", "b", "c"])
      assert.isTrue(Exit.isFailure(exit))
      const error = yield* Effect.flip(exit)
      assert.strictEqual(error._tag, "EventSubRevoked")
      assert.strictEqual((error as EventSub.EventSubRevoked).status, "user_removed")
      assert.strictEqual((error as EventSub.EventSubRevoked).subscriptionId, sub!.id)
      // the only subscription is gone: so is the connection (no 4003 loop)
      yield* eventually(Effect.map(openSessions, (list) => list.length === 0), "connection closed")
      // a new consumer gets a fresh subscription
      yield* collect(eventSub.follows(B))
      yield* waitSubscribed()
    }).pipe(withStack()))

  it.scoped("a subscription that cannot be created fails its stream and leaves no connection behind", () =>
    Effect.gen(function*() {
      const eventSub = yield* EventSub.EventSub
      // the stored token says it carries moderator:read:followers (so the check before subscribing passes),
      // Twitch's does not: Twitch answers 403
      const store = yield* TokenStore.TokenStore
      const stored = Option.getOrThrow(yield* store.get(VIEWER))
      yield* store.set(new UserToken({ ...stored, scopes: ["moderator:read:followers"] }))
      const error = yield* Effect.flip(Stream.runDrain(eventSub.follows(B, { userId: VIEWER })))
      assert.strictEqual(error._tag, "EventSubSubscribeError")
      yield* eventually(Effect.map(openSessions, (list) => list.length === 0), "connection closed")
      // nothing reconnects later (no 4003 / reconnect loop for an unused connection)
      yield* TestClock.adjust("1 minute")
      yield* realPause(30)
      assert.strictEqual((yield* sessions).length, 1)
      assert.strictEqual((yield* openSessions).length, 0)
    }).pipe(withStack({ users: [B, { userId: VIEWER, scopes: [] }] })))

  it.scoped("a subscription Twitch would refuse as unauthorized fails before any request, naming what is missing", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const eventSub = yield* EventSub.EventSub
      yield* sim.clearRequestLog
      // the viewer's token lacks moderator:read:followers
      const scopes = yield* Effect.flip(Stream.runDrain(eventSub.follows(B, { userId: VIEWER })))
      assert.strictEqual(scopes._tag, "EventSubUnauthorized")
      const missing = scopes as EventSub.EventSubUnauthorized
      assert.deepStrictEqual(missing.missingScopes, ["moderator:read:followers"])
      assert.strictEqual(missing.userId, VIEWER)
      assert.include(missing.message, "moderator:read:followers")
      assert.include(missing.message, VIEWER)
      // the condition names another user than the subscribing one (Twitch: 403 over WebSocket)
      const other = yield* Effect.flip(
        Stream.runDrain(eventSub.subscribe(EventSubTypes.ChannelSubscribeV1, { broadcaster_user_id: VIEWER }))
      )
      assert.strictEqual(other._tag, "EventSubUnauthorized")
      assert.strictEqual((other as EventSub.EventSubUnauthorized).conditionField, "broadcaster_user_id")
      assert.include(other.message, "broadcaster_user_id")
      // a condition that does not fit the type
      const bad = yield* Effect.flip(
        Stream.runDrain(
          eventSub.subscribe(EventSubTypes.ChannelFollowV2, { broadcaster_user_id: B } as unknown as {
            broadcaster_user_id: string
            moderator_user_id: string
          })
        )
      )
      assert.strictEqual(bad._tag, "EventSubSubscribeError")
      assert.include(bad.message, "moderator_user_id")
      // none of it reached the simulator: no connection, no request
      assert.strictEqual((yield* sessions).length, 0)
      assert.strictEqual(yield* sim.countRequests({ path: "/eventsub" }), 0)
    }).pipe(withStack({ users: [B, { userId: VIEWER, scopes: [] }] })))

  it.scoped("4003 (nothing subscribed in time): reconnects and subscribes on a new session", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const eventSub = yield* EventSub.EventSub
      // the first create answers after 7 s: past the session's 5 s deadline (within Helix's 10 s timeout)
      yield* sim.injectFaults({ count: 1, kind: { delayMs: 7_000 }, pathPrefix: "/eventsub/subscriptions" })
      const { items } = yield* collect(eventSub.follows(B))
      yield* eventually(Effect.map(openSessions, (list) => list.length === 1), "first session")
      const [first] = yield* openSessions
      for (let i = 0; i < 15 && (yield* enabledSubs).length === 0; i++) {
        yield* TestClock.adjust("1 second")
        yield* realPause(10)
      }
      yield* waitSubscribed()
      const all = yield* sessions
      assert.strictEqual(all.find((s) => s.id === first!.id)!.closeCode, 4003)
      const [sub] = yield* enabledSubs
      assert.notStrictEqual(sub!.sessionId, first!.id)
      yield* sim.eventSub.trigger({ type: "channel.follow" })
      yield* eventually(Effect.sync(() => items.length === 1))
    }).pipe(withStack({ simulator: { eventSub: { subscribeDeadlineSeconds: 5 } } })))

  it.scoped("status: Connecting, Connected, then Reconnecting and Connected after a drop", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const eventSub = yield* EventSub.EventSub
      const statuses = yield* collect(eventSub.status)
      yield* realPause(10)
      yield* collect(eventSub.follows(B))
      yield* waitSubscribed()
      yield* eventually(Effect.sync(() => statuses.items.some((s) => s._tag === "Connected")))
      const [session] = yield* openSessions
      yield* sim.eventSub.close({ sessionId: session!.id, code: 4005 })
      yield* eventually(Effect.sync(() => statuses.items.filter((s) => s._tag === "Connected").length === 2))
      assert.deepStrictEqual(statuses.items.map((s) => s._tag), [
        "Connecting",
        "Connected",
        "Reconnecting",
        "Connecting",
        "Connected"
      ])
      const reconnecting = statuses.items[2]!
      assert.isTrue(reconnecting._tag === "Reconnecting" && reconnecting.reason.includes("4005"))
    }).pipe(withStack()))

  it.scoped("closing the layer's scope closes every connection", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(Stack.layerLibrary({ users: [B, VIEWER] }), scope)
      const eventSub = Context.get(context, EventSub.EventSub)
      const consumer = yield* Effect.forkDaemon(Stream.runDrain(eventSub.follows(B)))
      const chat = yield* Effect.forkDaemon(Stream.runDrain(eventSub.chatMessages(B, { userId: VIEWER })))
      yield* waitSubscribed(2)
      assert.strictEqual((yield* openSessions).length, 2)
      yield* Scope.close(scope, Exit.void)
      yield* eventually(Effect.map(openSessions, (list) => list.length === 0), "every session closed")
      yield* Fiber.interrupt(consumer)
      yield* Fiber.interrupt(chat)
      assert.isTrue((yield* sim.eventSub.sessions).every((s) => s.status === "closed"))
    }).pipe(Effect.provide(Simulator.layer())))

  it.scopedLive("Twurple's EventSubWsListener receives a triggered follow from the full simulator", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const token = yield* sim.issueUserToken({ userId: B, scopes: ["moderator:read:followers"] })
      const previous = process.env.TWURPLE_MOCK_API_PORT
      process.env.TWURPLE_MOCK_API_PORT = String(sim.port)
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          if (previous === undefined) delete process.env.TWURPLE_MOCK_API_PORT
          else process.env.TWURPLE_MOCK_API_PORT = previous
        })
      )
      const authProvider = new StaticAuthProvider(sim.clientId, token.accessToken, ["moderator:read:followers"])
      const listener = new EventSubWsListener({ apiClient: new ApiClient({ authProvider }) })
      const followed = yield* Deferred.make<string>()
      listener.onChannelFollow(B, B, (event) => {
        Deferred.unsafeDone(followed, Effect.succeed(event.userDisplayName))
      })
      listener.start()
      yield* Effect.addFinalizer(() => Effect.sync(() => listener.stop()))
      yield* enabledSubs.pipe(
        Effect.filterOrFail((subs) => subs.length === 1),
        Effect.retry({ schedule: Schedule.spaced("20 millis"), times: 250 })
      )
      yield* sim.eventSub.trigger({ type: "channel.follow", event: { user_name: "TwurpleFan" } })
      assert.strictEqual(yield* Deferred.await(followed), "TwurpleFan")
    }).pipe(Effect.provide(Simulator.layer())))
})
