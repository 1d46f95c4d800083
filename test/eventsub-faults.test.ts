// EventSub against hostile or failing servers: half-open connections, 409 on re-subscribe, oversized frames,
// sessions that die at once, bad keepalives, floods of bad frames. Each case was a fault found by a hostile
// tester; the simulator expresses most of them, a fault-injecting WebSocket (fixtures/faultySocket.ts) the rest.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schedule, TestClock } from "effect"
import * as EventSub from "../src/EventSub.js"
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
  startStream,
  waitSubscribed,
  withStack
} from "./fixtures/eventsub.js"
import * as FaultySocket from "./fixtures/faultySocket.js"

const B = Simulator.defaultUsers.broadcaster

/** while true, the fault-injecting socket refuses connections */
let networkDown = false

/** the stream has not ended, and a follow triggered now arrives */
const stillDelivering = (
  started: Pick<Effect.Effect.Success<ReturnType<typeof startFollows>>, "fiber" | "items" | "sim">
) =>
  Effect.gen(function*() {
    assert.isNull(started.fiber.unsafePoll())
    yield* started.sim.eventSub.trigger({ type: "channel.follow" })
    yield* eventually(Effect.sync(() => started.items.length === 1), "an event after the reconnect")
  })

/** an enabled subscription exists, on another session than `sessionId` */
const resubscribedAwayFrom = (sessionId: string) =>
  Effect.map(enabledSubs, (subs) => subs.length === 1 && subs[0]!.sessionId !== sessionId)

describe("EventSub under faults", () => {
  it.scoped("half-open connection: after the keepalive timeout the 409 is resolved (stale deleted) and the stream goes on", () =>
    Effect.gen(function*() {
      const { fiber, items, sim, subscription: before } = yield* startFollows(B)
      // the network fails: the client hears nothing, Twitch still holds the session and its subscription
      yield* sim.eventSub.halfOpen({ sessionId: before.sessionId })
      yield* eventuallyWithClock(resubscribedAwayFrom(before.sessionId), "a subscription on a new session")
      // the stale subscription (enabled on the dead session) was deleted, not left to Twitch
      const all = yield* sim.eventSub.subscriptions
      assert.isUndefined(all.find((s) => s.id === before.id))
      assert.isAtLeast(yield* sim.countRequests({ path: "/eventsub/subscriptions", method: "DELETE" }), 1)
      assert.isNull(fiber.unsafePoll())
      yield* sim.eventSub.trigger({ type: "channel.follow", event: { user_name: "After" } })
      yield* eventually(Effect.sync(() => items.length === 1), "an event after the reconnect")
      assert.strictEqual(items[0]!.user_name, "After")
    }).pipe(withStack()))

  it.scoped("a frame larger than the socket accepts is a transport failure: reconnect, the stream goes on", () =>
    Effect.gen(function*() {
      const { fiber, items, sim, subscription: before } = yield* startFollows(B)
      // too large for the client (maxPayload 64 KiB here, 100 MiB by default); the server does not hear the
      // client's close (half-open), so its subscription stays enabled
      yield* sim.eventSub.sendMalformed({ sessionId: before.sessionId, text: "x".repeat(100_000) })
      yield* sim.eventSub.halfOpen({ sessionId: before.sessionId })
      yield* eventuallyWithClock(resubscribedAwayFrom(before.sessionId), "a subscription on a new session")
      yield* stillDelivering({ fiber, items, sim })
    }).pipe(withStack({ webSocket: FaultySocket.layer({ maxPayload: 64 * 1024 }) })))

  it.scoped("a session_reconnect to an invalid URL: a failed handover, a fresh connection, the stream goes on", () =>
    Effect.gen(function*() {
      const { fiber, items, sim, subscription: before } = yield* startFollows(B)
      yield* sim.eventSub.reconnect({ sessionId: before.sessionId })
      // the old session waits for the handover, holding the subscription: the fresh session's create gets 409
      yield* eventuallyWithClock(resubscribedAwayFrom(before.sessionId), "a subscription on a new session")
      yield* stillDelivering({ fiber, items, sim })
    }).pipe(withStack({
      webSocket: FaultySocket.layer({
        inbound: (text) => text.replace(/"reconnect_url":"[^"]*"/, "\"reconnect_url\":\"not a url\"")
      })
    })))

  it.scoped("re-creating fails for a while (503s): retried on a schedule, the stream survives", () =>
    Effect.gen(function*() {
      const { fiber, items, sim, subscription: before } = yield* startFollows(B)
      yield* sim.injectFaults({ count: 12, kind: 503, pathPrefix: "/eventsub/subscriptions" })
      yield* sim.eventSub.close({ sessionId: before.sessionId, code: 4006 })
      yield* eventuallyWithClock(resubscribedAwayFrom(before.sessionId), "a subscription on a new session", "1 second")
      yield* stillDelivering({ fiber, items, sim })
    }).pipe(withStack()))

  it.scoped("a re-create retried across a session_reconnect handover: made on the new session id", () =>
    Effect.gen(function*() {
      const { fiber, items, sim, subscription: before } = yield* startFollows(B)
      const eventSub = yield* EventSub.EventSub
      const statuses = yield* collect(eventSub.status)
      yield* sim.injectFaults({ count: 1_000, kind: 503, pathPrefix: "/eventsub/subscriptions" })
      yield* sim.eventSub.close({ sessionId: before.sessionId, code: 4006 })
      // the new session is up (its first round of creates failed: retried in the background) ...
      const connected = Effect.sync(() =>
        statuses.items.flatMap((s) => s._tag === "Connected" && s.sessionId !== before.sessionId ? [s.sessionId] : [])
      )
      yield* eventuallyWithClock(Effect.map(connected, (ids) => ids.length > 0), "the new session", "100 millis")
      const [freshId] = yield* connected
      // ... and is handed over to another one before Twitch answers again
      yield* sim.eventSub.reconnect({ sessionId: freshId! })
      yield* eventually(
        Effect.map(sessions, (list) => list.find((s) => s.id === freshId)?.reconnectedTo != null),
        "the handover"
      )
      const handedTo = (yield* sessions).find((s) => s.id === freshId)!.reconnectedTo!
      yield* sim.clearFaults
      yield* eventuallyWithClock(
        Effect.map(enabledSubs, (subs) => subs.length === 1 && subs[0]!.sessionId === handedTo),
        "the subscription on the handed-over session",
        "1 second"
      )
      yield* stillDelivering({ fiber, items, sim })
    }).pipe(withStack()))

  it.scoped("reconnecting never gives up, even when the reconnect schedule ends; status counts the attempts", () =>
    Effect.gen(function*() {
      const eventSub = yield* EventSub.EventSub
      const statuses = yield* collect(eventSub.status)
      const { fiber, items } = yield* collect(eventSub.follows(B))
      yield* waitSubscribed()
      const [before] = yield* enabledSubs
      networkDown = true
      const sim = yield* Simulator.Simulator
      yield* sim.eventSub.close({ sessionId: before.sessionId, code: 4006 })
      // far more failed attempts than the schedule's 2 recurrences
      yield* eventuallyWithClock(
        Effect.sync(() => statuses.items.filter((s) => s._tag === "Reconnecting").length >= 6),
        "six reconnect attempts",
        "1 second"
      )
      assert.isNull(fiber.unsafePoll())
      networkDown = false
      yield* eventuallyWithClock(resubscribedAwayFrom(before.sessionId), "a subscription on a new session", "1 second")
      const attempts = statuses.items.flatMap((s) => s._tag === "Reconnecting" ? [s.attempt] : [])
      assert.deepStrictEqual(attempts.slice(0, 6), [1, 2, 3, 4, 5, 6])
      yield* sim.eventSub.trigger({ type: "channel.follow" })
      yield* eventually(Effect.sync(() => items.length === 1), "an event after the reconnect")
    }).pipe(withStack({
      eventSub: { reconnectSchedule: Schedule.spaced("1 second").pipe(Schedule.compose(Schedule.recurs(2))) },
      webSocket: FaultySocket.layer({ refuse: () => networkDown })
    })))

  it.scoped("sessions that die right after subscribing: the backoff grows instead of reconnecting at once", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const eventSub = yield* EventSub.EventSub
      const statuses = yield* collect(eventSub.status)
      yield* collect(eventSub.follows(B))
      yield* waitSubscribed()
      // for a simulated minute, every session is closed as soon as its subscription exists
      for (let i = 0; i < 240; i++) {
        for (const sub of yield* enabledSubs) yield* sim.eventSub.close({ sessionId: sub.sessionId, code: 4000 })
        yield* realPause(5)
        yield* TestClock.adjust("250 millis")
      }
      const count = (yield* sessions).length
      assert.isAtMost(count, 10, `${count} connections in a minute`)
      assert.isAtLeast(count, 3)
      const attempts = statuses.items.flatMap((s) => s._tag === "Reconnecting" ? [s.attempt] : [])
      assert.deepStrictEqual(attempts, attempts.map((_, i) => i + 1))
    }).pipe(withStack()))

  it.scoped("a welcome with a zero or negative keepalive is clamped (10 s): no reconnect storm", () =>
    Effect.gen(function*() {
      const eventSub = yield* EventSub.EventSub
      yield* collect(eventSub.follows(B))
      yield* waitSubscribed()
      for (let i = 0; i < 60; i++) {
        yield* TestClock.adjust("500 millis")
        yield* realPause(5)
      }
      // the simulator sends a keepalive every 10 s: one session all along
      assert.strictEqual((yield* sessions).length, 1)
      assert.strictEqual((yield* openSessions).length, 1)
    }).pipe(withStack({
      webSocket: FaultySocket.layer({
        inbound: (text) => text.replace(/"keepalive_timeout_seconds":\d+/, "\"keepalive_timeout_seconds\":-5")
      })
    })))

  it.scoped("a flood of bad frames: the first warning, then at most one per interval with the count suppressed", () =>
    captureLogs((lines) =>
      Effect.gen(function*() {
        const { items, sim } = yield* startFollows(B)
        const [session] = yield* openSessions
        const unknown = (i: number) =>
          JSON.stringify({
            metadata: {
              message_id: `u-${i}`,
              message_type: "session_party",
              message_timestamp: new Date().toISOString()
            },
            payload: {}
          })
        for (let i = 0; i < 1_000; i++) yield* sim.eventSub.sendMalformed({ sessionId: session!.id, text: unknown(i) })
        // another kind of problem is not hidden by the flood
        yield* sim.eventSub.sendMalformed({ sessionId: session!.id, text: "not json" })
        yield* sim.eventSub.trigger({ type: "channel.follow" })
        yield* eventually(Effect.sync(() => items.length === 1), "the event after the flood")
        const warned = () => lines.filter((l) => l.startsWith("WARN") && l.includes("session_party"))
        assert.strictEqual(warned().length, 1, warned().join("\n"))
        assert.isTrue(lines.some((l) => l.startsWith("WARN") && l.includes("not JSON")))
        // after the interval the next one is logged, with the count of those suppressed
        yield* TestClock.adjust("1 minute")
        yield* sim.eventSub.sendMalformed({ sessionId: session!.id, text: unknown(1_000) })
        yield* eventually(Effect.sync(() => warned().length === 2), "the next warning")
        assert.include(warned()[1]!, "999")
      }).pipe(withStack())
    ))

  it.scoped("a bad field of 1 MB: the log line names message id, type and path, never the value, and is short", () =>
    captureLogs((lines) =>
      Effect.gen(function*() {
        const { items, sim } = yield* startStream((eventSub) => eventSub.chatMessages(B))
        const text = "VIEWER-CHAT-TEXT ".repeat(60_000)
        // `message` must be an object: the whole chat text sits where the schema fails
        const [badId] = yield* sim.eventSub.trigger({ type: "channel.chat.message", event: { message: text } })
        const [session] = yield* openSessions
        // an unknown message_type of 1 MB: named in the log, cut short
        const hugeType = JSON.stringify({
          metadata: {
            message_id: "m-huge",
            message_type: "y".repeat(1_000_000),
            message_timestamp: new Date().toISOString()
          },
          payload: {}
        })
        yield* sim.eventSub.sendMalformed({ sessionId: session!.id, text: hugeType })
        yield* sim.eventSub.trigger({ type: "channel.chat.message" })
        yield* eventually(Effect.sync(() => items.length === 1), "the good event")
        yield* realPause(20)
        const line = lines.find((l) => l.includes(badId!))
        assert.isDefined(line, lines.join("\n").slice(0, 2_000))
        assert.include(line!, "channel.chat.message")
        assert.include(line!, "message")
        assert.isTrue(lines.some((l) => l.includes("m-huge")))
        for (const l of lines) {
          assert.notInclude(l, "VIEWER-CHAT-TEXT")
          assert.isBelow(l.length, 2_000)
        }
      }).pipe(withStack())
    ))

  it.scoped("message ids over 128 characters: not kept for dedupe, delivered (each time) with a warning", () =>
    captureLogs((lines) =>
      Effect.gen(function*() {
        const { items, sim } = yield* startFollows(B)
        const longId = "i".repeat(200_000)
        yield* sim.eventSub.trigger({ type: "channel.follow", messageId: longId, event: { user_name: "Long" } })
        yield* sim.eventSub.resend({ messageId: longId })
        yield* sim.eventSub.trigger({ type: "channel.follow", event: { user_name: "Next" } })
        yield* eventually(Effect.sync(() => items.length === 3), "three events")
        assert.deepStrictEqual(items.map((e) => e.user_name), ["Long", "Long", "Next"])
        const warned = lines.filter((l) => l.startsWith("WARN") && l.includes("128"))
        assert.strictEqual(warned.length, 1, lines.join("\n").slice(0, 2_000))
        assert.isBelow(warned[0]!.length, 500)
      }).pipe(withStack())
    ))
})
