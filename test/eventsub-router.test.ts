/**
 * The frame router alone: a message and a state in, an action out. No sockets, no fibers.
 */
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Either, Exit, Fiber, Scope, Stream } from "effect"
import { EventSubRevoked } from "../src/EventSubError.js"
import { Dedupe } from "../src/internal/eventsubDedupe.js"
import {
  addConsumer,
  conditionMatches,
  failConsumers,
  Registry,
  sameCondition,
  stableKey,
  type Subscription,
  subscriptionFields
} from "../src/internal/eventsubRegistry.js"
import { AgeGuard, clip, type Message, parseFrame, route, type RouterState } from "../src/internal/eventsubRouter.js"

const revoked = new EventSubRevoked({
  subscriptionId: "sub-1",
  type: "channel.follow",
  version: "2",
  status: "authorization_revoked"
})

const NOW = Date.parse("2026-01-10T12:00:00.000Z")
const iso = (millis: number) => new Date(millis).toISOString()

const follow = subscriptionFields({
  type: "channel.follow",
  version: "2",
  decode: (event) =>
    typeof (event as { user_name?: unknown }).user_name === "string"
      ? Either.right(event)
      : Either.left("does not match its schema at user_name")
}, { broadcaster_user_id: "1", moderator_user_id: "1" })

const setup = (created = true) => {
  const registry = new Registry<Subscription>((entry) => entry.twitchId === null)
  const entry: Subscription = { ...follow, inboxes: new Set() }
  registry.add(entry)
  if (created) registry.setTwitchId(entry, "sub-1")
  const state: RouterState<Subscription> = {
    now: NOW,
    dedupe: new Dedupe(100),
    ageGuard: new AgeGuard(10 * 60_000),
    find: (s) => registry.find(s)
  }
  return { entry, registry, state }
}

const subscription = {
  id: "sub-1",
  type: "channel.follow",
  version: "2",
  status: "enabled",
  condition: { broadcaster_user_id: "1", moderator_user_id: "1" }
}

const notification = (id: string, event: unknown, overrides: Partial<Message> = {}): Message => ({
  id,
  type: "notification",
  timestamp: iso(NOW - 1_000),
  payload: { subscription, event },
  ...overrides
})

describe("EventSub router", () => {
  it("parseFrame: not JSON, not an envelope, metadata incomplete → a problem; an envelope → a message", () => {
    assert.strictEqual((parseFrame("not json") as { kind: string }).kind, "json")
    assert.strictEqual((parseFrame(`{"hello":1}`) as { kind: string }).kind, "envelope")
    const incomplete = parseFrame(JSON.stringify({ metadata: { message_id: "m-1" }, payload: {} }))
    assert.strictEqual((incomplete as { kind: string }).kind, "envelope")
    assert.include((incomplete as { text: string }).text, "m-1")
    const message = parseFrame(JSON.stringify({
      metadata: { message_id: "m-2", message_type: "notification", message_timestamp: iso(NOW) },
      payload: { subscription }
    }))
    assert.deepStrictEqual(message, { id: "m-2", type: "notification", timestamp: iso(NOW), payload: { subscription } })
  })

  it("a notification is delivered once: the same id again is a duplicate", () => {
    const { entry, state } = setup()
    const first = route(notification("m-1", { user_name: "Fan" }), state)
    assert.deepStrictEqual(first, { _tag: "Deliver", entry, event: { user_name: "Fan" }, problem: undefined })
    assert.deepStrictEqual(route(notification("m-1", { user_name: "Fan" }), state), {
      _tag: "Ignore",
      reason: "duplicate"
    })
  })

  it("an event failing its schema is Undecodable: raw event, ids, the paths", () => {
    const { state } = setup()
    const action = route(notification("m-bad", { user_name: 42 }), state)
    assert.strictEqual(action._tag, "Undecodable")
    if (action._tag !== "Undecodable") return
    assert.deepStrictEqual(action.undecodable, {
      type: "channel.follow",
      version: "2",
      subscriptionId: "sub-1",
      messageId: "m-bad",
      raw: { user_name: 42 },
      error: "does not match its schema at user_name"
    })
  })

  it("a decoder that throws is an Undecodable too, not a crash", () => {
    const { entry, state } = setup()
    const throwing = {
      ...entry,
      decoder: {
        ...entry.decoder,
        decode: () => {
          throw new Error("boom")
        }
      }
    }
    const action = route(notification("m-t", {}), { ...state, find: () => throwing })
    assert.strictEqual(action._tag, "Undecodable")
    if (action._tag === "Undecodable") assert.include(action.undecodable.error, "decoder defect")
  })

  it("older than the window → a stale problem; ids over 128 characters → delivered with a warning, not kept", () => {
    const { state } = setup()
    const stale = route(notification("m-old", { user_name: "x" }, { timestamp: iso(NOW - 11 * 60_000) }), state)
    assert.strictEqual(stale._tag === "Problem" && stale.problem.kind, "stale")
    const longId = "i".repeat(200)
    const first = route(notification(longId, { user_name: "x" }), state)
    const again = route(notification(longId, { user_name: "x" }), state)
    for (const action of [first, again]) {
      assert.strictEqual(action._tag, "Deliver")
      if (action._tag === "Deliver") assert.strictEqual(action.problem?.kind, "id")
    }
  })

  it("a subscription no stream holds is ignored without recording the id (a later retry is routed)", () => {
    const { state } = setup()
    const other = { ...subscription, id: "sub-9", type: "stream.online", version: "1" }
    const unknown = notification("m-u", {}, { payload: { subscription: other, event: {} } })
    assert.deepStrictEqual(route(unknown, state), { _tag: "Ignore", reason: "unknown-subscription" })
    assert.isFalse(state.dedupe.check("m-u"))
  })

  it("a notification overtaking the create answer finds its entry by type + version + condition", () => {
    const { entry, state } = setup(false)
    const action = route(notification("m-early", { user_name: "Early" }), state)
    assert.strictEqual(action._tag === "Deliver" && action.entry, entry)
  })

  it("without a subscription object → an envelope problem", () => {
    const { state } = setup()
    const action = route({ ...notification("m-n", {}), payload: { event: {} } }, state)
    assert.strictEqual(action._tag === "Problem" && action.problem.kind, "envelope")
  })

  it("revocation → Revoke with the status as reason, once", () => {
    const { entry, state } = setup()
    const message: Message = {
      id: "r-1",
      type: "revocation",
      timestamp: iso(NOW),
      payload: { subscription: { ...subscription, status: "authorization_revoked" } }
    }
    const action = route(message, state)
    assert.strictEqual(action._tag, "Revoke")
    if (action._tag === "Revoke") {
      assert.strictEqual(action.entry, entry)
      assert.strictEqual(action.error._tag, "EventSubRevoked")
      assert.strictEqual(action.error.status, "authorization_revoked")
      assert.strictEqual(action.error.subscriptionId, "sub-1")
    }
    assert.deepStrictEqual(route(message, state), { _tag: "Ignore", reason: "duplicate" })
  })

  it("session messages: welcome (keepalive clamped to 10–600 s), reconnect, keepalive; unknown type → problem", () => {
    const { state } = setup()
    const session = (type: string, session: unknown): Message => ({
      id: `m-${type}`,
      type,
      timestamp: iso(NOW),
      payload: { session }
    })
    assert.deepStrictEqual(route(session("session_welcome", { id: "s-1", keepalive_timeout_seconds: 0 }), state), {
      _tag: "Welcome",
      sessionId: "s-1",
      keepaliveSeconds: 10
    })
    assert.deepStrictEqual(
      route(session("session_welcome", { id: "s-1", keepalive_timeout_seconds: 9_999 }), state),
      { _tag: "Welcome", sessionId: "s-1", keepaliveSeconds: 600 }
    )
    assert.deepStrictEqual(route(session("session_reconnect", { id: "s-1", reconnect_url: "wss://x" }), state), {
      _tag: "Reconnect",
      url: "wss://x"
    })
    const noUrl = route(session("session_reconnect", { id: "s-1" }), state)
    assert.strictEqual(noUrl._tag === "Problem" && noUrl.problem.kind, "session")
    const noSession = route(session("session_welcome", null), state)
    assert.strictEqual(noSession._tag === "Problem" && noSession.problem.kind, "session")
    assert.deepStrictEqual(route(session("session_keepalive", {}), state), { _tag: "Ignore", reason: "keepalive" })
    const party = route(session("session_party", {}), state)
    assert.strictEqual(party._tag === "Problem" && party.problem.kind, "type")
  })
})

describe("EventSub router: what it logs, and the age window", () => {
  const problemOf = (action: ReturnType<typeof route>) => action._tag === "Problem" ? action.problem : undefined

  it("clip: wire strings up to the limit as they are, longer ones cut with their length", () => {
    assert.strictEqual(clip("a".repeat(64)), "a".repeat(64))
    assert.strictEqual(clip("a".repeat(65)), `${"a".repeat(64)}… (65 characters)`)
    assert.strictEqual(clip("abcdef", 3), "abc… (6 characters)")
    assert.strictEqual(clip("abc", 3), "abc")
  })

  it("parseFrame's problems name the message when its id is readable, cut to 64 characters", () => {
    assert.deepStrictEqual(parseFrame("{nope"), { kind: "json", text: "skipped a frame: not JSON (5 characters)" })
    assert.deepStrictEqual(parseFrame(`{"metadata":{"message_id":"m-1"}}`), {
      kind: "envelope",
      text: "skipped a frame: not an EventSub envelope (message m-1)"
    })
    for (const frame of [`[]`, `null`, `{"payload":{}}`, `{"metadata":{"message_id":7},"payload":{}}`]) {
      const problem = parseFrame(frame) as { kind: string; text: string }
      assert.deepStrictEqual(problem, {
        kind: "envelope",
        text: frame.startsWith(`{"metadata"`)
          ? "skipped a frame: envelope metadata incomplete"
          : "skipped a frame: not an EventSub envelope"
      }, frame)
    }
    const longId = "x".repeat(100)
    assert.deepStrictEqual(parseFrame(JSON.stringify({ metadata: { message_id: longId }, payload: {} })), {
      kind: "envelope",
      text: `skipped a frame: envelope metadata incomplete (message ${clip(longId)})`
    })
    const metadata = { message_id: "m-1", message_type: "notification", message_timestamp: iso(NOW) }
    for (const key of ["message_type", "message_timestamp"] as const) {
      const frame = JSON.stringify({ metadata: { ...metadata, [key]: 1 }, payload: {} })
      assert.deepStrictEqual(parseFrame(frame), {
        kind: "envelope",
        text: "skipped a frame: envelope metadata incomplete (message m-1)"
      })
    }
    assert.deepStrictEqual(parseFrame(JSON.stringify({ metadata, payload: null })), {
      kind: "envelope",
      text: "skipped a frame: not an EventSub envelope (message m-1)"
    })
  })

  it("route's problems: what was skipped and why, wire values cut", () => {
    const { state } = setup()
    const base = { id: "m-1", timestamp: iso(NOW), payload: {} }
    assert.deepStrictEqual(problemOf(route({ ...base, type: "x".repeat(80) }, state)), {
      kind: "type",
      text: `skipped a frame: message m-1: unknown message_type ${clip("x".repeat(80))}`
    })
    for (const type of ["notification", "revocation"]) {
      assert.deepStrictEqual(problemOf(route({ ...base, type, payload: { subscription: "sub-1" } }, state)), {
        kind: "envelope",
        text: `skipped a frame: message m-1: ${type} without subscription`
      })
    }
    for (const type of ["session_welcome", "session_reconnect"]) {
      for (const session of [undefined, { id: 1, reconnect_url: "wss://x" }]) {
        assert.deepStrictEqual(problemOf(route({ ...base, type, payload: { session } }, state)), {
          kind: "session",
          text: `skipped a frame: message m-1: ${type} without a session`
        })
      }
    }
    assert.deepStrictEqual(
      problemOf(
        route({ ...base, type: "session_reconnect", payload: { session: { id: "s", reconnect_url: 1 } } }, state)
      ),
      { kind: "session", text: "skipped a frame: message m-1: session_reconnect without reconnect_url" }
    )
    const old = iso(NOW - 11 * 60_000)
    assert.deepStrictEqual(problemOf(route(notification("m-old", { user_name: "x" }, { timestamp: old }), state)), {
      kind: "stale",
      text: `skipped a frame: message m-old older than the replay window (${old})`
    })
    const longId = "i".repeat(200)
    const delivered = route(notification(longId, { user_name: "x" }), state)
    assert.deepStrictEqual(delivered._tag === "Deliver" && delivered.problem, {
      kind: "id",
      text: `message ${clip(longId)}: id longer than 128 characters, delivered without dedupe`
    })
    // 128 characters are still kept for dedupe
    const atLimit = "j".repeat(128)
    assert.strictEqual(route(notification(atLimit, { user_name: "x" }), state)._tag, "Deliver")
    assert.deepStrictEqual(route(notification(atLimit, { user_name: "x" }), state), {
      _tag: "Ignore",
      reason: "duplicate"
    })
  })

  it("a welcome's keepalive: Twitch's value within 10–600 s; anything not a finite number is 10", () => {
    const { state } = setup()
    const keepalive = (value: unknown) => {
      const action = route({
        id: "m-w",
        type: "session_welcome",
        timestamp: iso(NOW),
        payload: { session: { id: "s-1", keepalive_timeout_seconds: value } }
      }, state)
      return action._tag === "Welcome" ? action.keepaliveSeconds : undefined
    }
    assert.strictEqual(keepalive(30), 30)
    assert.strictEqual(keepalive(10), 10)
    assert.strictEqual(keepalive(600), 600)
    assert.strictEqual(keepalive(-5), 10)
    assert.strictEqual(keepalive(JSON.parse("1e999")), 10)
    assert.strictEqual(keepalive(Number.NaN), 10)
    assert.strictEqual(keepalive("30"), 10)
    assert.strictEqual(keepalive(undefined), 10)
  })

  it("batched notifications carry `events`; an undecodable one names what it can, its error cut to 500", () => {
    const { entry, state } = setup()
    const events = [{ user_name: "a" }, { user_name: "b" }]
    const batch = { ...entry, decoder: { ...entry.decoder, decode: (raw: unknown) => Either.right(raw) } }
    const batched = route(notification("m-b", undefined, { payload: { subscription, events } }), {
      ...state,
      find: () => batch
    })
    assert.deepStrictEqual(batched, { _tag: "Deliver", entry: batch, event: events, problem: undefined })
    const longError = "e".repeat(600)
    const failing = {
      ...entry,
      decoder: { ...entry.decoder, decode: () => Either.left(longError) }
    }
    const noId = { ...subscription, id: 7 }
    const action = route(notification("m-x", { a: 1 }, { payload: { subscription: noId, event: { a: 1 } } }), {
      ...state,
      find: () => failing
    })
    assert.deepStrictEqual(action._tag === "Undecodable" && action.undecodable, {
      type: "channel.follow",
      version: "2",
      subscriptionId: "",
      messageId: "m-x",
      raw: { a: 1 },
      error: clip(longError, 500)
    })
    const throwing = {
      ...entry,
      decoder: {
        ...entry.decoder,
        decode: () => {
          throw new Error("x".repeat(300))
        }
      }
    }
    const defect = route(notification("m-d", {}), { ...state, find: () => throwing })
    assert.strictEqual(
      defect._tag === "Undecodable" && defect.undecodable.error,
      `decoder defect: ${clip(`Error: ${"x".repeat(300)}`, 200)}`
    )
  })

  it("a revocation without a readable status is revoked as `unknown`; a long status is cut", () => {
    const { state } = setup()
    const revoke = (status: unknown) => {
      const action = route({
        id: `r-${String(status).length}-${typeof status}`,
        type: "revocation",
        timestamp: iso(NOW),
        payload: { subscription: { ...subscription, status } }
      }, state)
      return action._tag === "Revoke" ? action.error.status : undefined
    }
    assert.strictEqual(revoke(undefined), "unknown")
    assert.strictEqual(revoke(3), "unknown")
    assert.strictEqual(revoke("s".repeat(70)), clip("s".repeat(70)))
    assert.strictEqual(revoke("user_removed"), "user_removed")
  })

  it("the age window: older than 10 minutes is stale, whatever the offset; unreadable timestamps are stale", () => {
    const guard = new AgeGuard(10 * 60_000)
    assert.isFalse(guard.isStale(iso(NOW - 9 * 60_000), NOW))
    assert.isTrue(guard.isStale(iso(NOW - 11 * 60_000), NOW))
    // NOW is 12:00Z: 13:52+02:00 is 8 minutes old, 13:48+02:00 is 12
    assert.isFalse(guard.isStale("2026-01-10T13:52:00+02:00", NOW))
    assert.isTrue(guard.isStale("2026-01-10T13:48:00+02:00", NOW))
    assert.isFalse(guard.isStale("2026-01-10T11:52:00+00:00", NOW))
    assert.isTrue(guard.isStale("2026-01-10T11:48:00+00:00", NOW))
    // exactly 10 minutes old is not older than the window
    assert.isFalse(guard.isStale(iso(NOW - 10 * 60_000), NOW))
    assert.isFalse(guard.isStale("2026-01-10T11:50:00.000+00:00", NOW))
    assert.isTrue(guard.isStale("2026-01-10T11:49:59.999+00:00", NOW))
    assert.isTrue(guard.isStale("yesterday", NOW))
    assert.isTrue(guard.isStale("", NOW))
    // Twitch's nanosecond timestamps
    assert.isFalse(guard.isStale("2026-01-10T11:52:00.123456789Z", NOW))
    assert.isTrue(guard.isStale("2026-01-10T11:48:00.123456789Z", NOW))
  })

  it("the age window follows the clock, its edge recomputed at most once a second (and when the clock goes back)", () => {
    const window = 10 * 60_000
    const guard = new AgeGuard(window)
    assert.isFalse(guard.isStale(iso(NOW - window + 100), NOW))
    // within the second the edge stays where it was: a message 500 ms past it still passes
    assert.isFalse(guard.isStale(iso(NOW + 1_000 - window - 500), NOW + 1_000))
    // a second later the edge has moved
    assert.isTrue(guard.isStale(iso(NOW + 1_001 - window - 500), NOW + 1_001))
    // offsets are judged exactly, at once
    assert.isTrue(guard.isStale(new Date(NOW + 1_500 - window - 100).toISOString().replace("Z", "+00:00"), NOW + 1_500))
    // the clock set back five minutes: a message four minutes old is not stale
    const back = NOW - 5 * 60_000
    assert.isFalse(guard.isStale(iso(back - 4 * 60_000), back))
    assert.isTrue(guard.isStale(iso(back - window - 1_000), back))
  })
})

describe("EventSub router: edges", () => {
  it("a clock set back moves the window's edge back at once: six minutes old is then not stale", () => {
    const guard = new AgeGuard(10 * 60_000)
    assert.isTrue(guard.isStale(iso(NOW - 11 * 60_000), NOW))
    const back = NOW - 5 * 60_000
    assert.isFalse(guard.isStale(iso(back - 6 * 60_000), back))
  })

  it("an envelope whose message_id is not a string is incomplete; a revocation no stream holds is ignored", () => {
    const frame = {
      metadata: { message_id: 7, message_type: "notification", message_timestamp: iso(NOW) },
      payload: { subscription }
    }
    assert.deepStrictEqual(parseFrame(JSON.stringify(frame)), {
      kind: "envelope",
      text: "skipped a frame: envelope metadata incomplete"
    })
    const { state } = setup()
    const other = { ...subscription, id: "sub-9", type: "stream.online", version: "1" }
    const revocation: Message = { id: "r-u", type: "revocation", timestamp: iso(NOW), payload: { subscription: other } }
    assert.deepStrictEqual(route(revocation, state), { _tag: "Ignore", reason: "unknown-subscription" })
  })
})

describe("EventSub registry", () => {
  const entryOf = (condition: Record<string, unknown>, type = "channel.follow", version = "2"): Subscription =>
    subscriptionFields({ type, version, decode: (event) => Either.right(event) }, condition)
  const lookup = (id: unknown, condition: unknown, type = "channel.follow", version = "2") => ({
    id,
    type,
    version,
    condition
  })

  it("one key per type + version + condition, whatever the order of the condition's fields", () => {
    const key = stableKey("channel.follow", "2", { broadcaster_user_id: "1", moderator_user_id: "2" })
    assert.strictEqual(stableKey("channel.follow", "2", { moderator_user_id: "2", broadcaster_user_id: "1" }), key)
    for (
      const other of [
        stableKey("channel.follow", "1", { broadcaster_user_id: "1", moderator_user_id: "2" }),
        stableKey("channel.update", "2", { broadcaster_user_id: "1", moderator_user_id: "2" }),
        stableKey("channel.follow", "2", { broadcaster_user_id: "1", moderator_user_id: "3" }),
        stableKey("channel.follow", "2", { broadcaster_user_id: "2", moderator_user_id: "1" }),
        stableKey("channel.follow", "2", { broadcaster_user_id: "1" })
      ]
    ) assert.notStrictEqual(other, key)
    // type, version and condition cannot run into each other
    assert.notStrictEqual(stableKey("channel.follow", "12", {}), stableKey("channel.follow1", "2", {}))
    assert.strictEqual(entryOf({ b: "2", a: "1" }).key, stableKey("channel.follow", "2", { a: "1", b: "2" }))
  })

  it("a new entry: no Twitch id, no consumers, not ended nor removed", () => {
    const entry = entryOf({ broadcaster_user_id: "1" })
    assert.strictEqual(entry.twitchId, null)
    assert.strictEqual(entry.refCount, 0)
    assert.strictEqual(entry.inboxes.size, 0)
    assert.isFalse(entry.ended)
    assert.isFalse(entry.removed)
    assert.deepStrictEqual(entry.condition, { broadcaster_user_id: "1" })
  })

  it("conditionMatches: every field we set, other fields allowed; sameCondition: others only when empty", () => {
    const wanted = { broadcaster_user_id: "1", moderator_user_id: "2" }
    assert.isTrue(conditionMatches(wanted, { moderator_user_id: "2", broadcaster_user_id: "1" }))
    assert.isTrue(conditionMatches(wanted, { ...wanted, user_id: "3" }))
    assert.isFalse(conditionMatches(wanted, { broadcaster_user_id: "1" }))
    assert.isFalse(conditionMatches(wanted, { broadcaster_user_id: "1", moderator_user_id: "3" }))
    assert.isFalse(conditionMatches(wanted, null))
    assert.isFalse(conditionMatches(wanted, "broadcaster_user_id"))
    assert.isTrue(conditionMatches({}, {}))

    assert.isTrue(sameCondition(wanted, wanted))
    assert.isTrue(sameCondition(wanted, { ...wanted, user_id: "", reward_id: undefined }))
    assert.isFalse(sameCondition(wanted, { ...wanted, user_id: "3" }))
    assert.isFalse(sameCondition(wanted, { broadcaster_user_id: "1", moderator_user_id: "" }))
    assert.isFalse(sameCondition({ broadcaster_user_id: "1" }, { broadcaster_user_id: "2" }))
  })

  it("find: by Twitch id first; by type + version + condition only among entries being created", () => {
    const pending = new Set<Subscription>()
    const registry = new Registry<Subscription>((entry) => pending.has(entry))
    const created = entryOf({ broadcaster_user_id: "1" })
    const creating = entryOf({ broadcaster_user_id: "2" })
    registry.add(created)
    registry.add(creating)
    registry.setTwitchId(created, "sub-1")
    pending.add(creating)
    assert.strictEqual(registry.size, 2)
    assert.strictEqual(created.twitchId, "sub-1")

    assert.strictEqual(registry.find(lookup("sub-1", {})), created)
    assert.strictEqual(registry.find(lookup("sub-9", { broadcaster_user_id: "2" })), creating)
    assert.strictEqual(registry.find(lookup(undefined, { broadcaster_user_id: "2", user_id: "" })), creating)
    // created (not pending): only its Twitch id finds it
    assert.isUndefined(registry.find(lookup("sub-9", { broadcaster_user_id: "1" })))
    assert.isUndefined(registry.find(lookup(42, { broadcaster_user_id: "1" })))
    // another type, version or condition
    assert.isUndefined(registry.find(lookup("sub-9", { broadcaster_user_id: "2" }, "channel.update")))
    assert.isUndefined(registry.find(lookup("sub-9", { broadcaster_user_id: "2" }, "channel.follow", "1")))
    assert.isUndefined(registry.find(lookup("sub-9", { broadcaster_user_id: "3" })))
    assert.isUndefined(registry.find(lookup("sub-9", undefined)))
  })

  it("setTwitchId replaces the entry's id; an ended entry is not found by its new one; clearIds forgets all", () => {
    const registry = new Registry<Subscription>(() => false)
    const entry = entryOf({ broadcaster_user_id: "1" })
    registry.add(entry)
    registry.setTwitchId(entry, "sub-1")
    registry.setTwitchId(entry, "sub-2")
    assert.isUndefined(registry.find(lookup("sub-1", {})))
    assert.strictEqual(registry.find(lookup("sub-2", {})), entry)

    const ended = entryOf({ broadcaster_user_id: "2" })
    registry.add(ended)
    failConsumers(ended, revoked)
    registry.setTwitchId(ended, "sub-3")
    assert.strictEqual(ended.twitchId, "sub-3")
    assert.isUndefined(registry.find(lookup("sub-3", {})))

    registry.clearIds()
    assert.isUndefined(registry.find(lookup("sub-2", {})))
    assert.strictEqual(registry.size, 2)
  })

  it("delete takes the entry and its id out, leaving an id another entry has taken since", () => {
    const registry = new Registry<Subscription>(() => true)
    const old = entryOf({ broadcaster_user_id: "1" })
    const successor = entryOf({ broadcaster_user_id: "1" })
    registry.add(old)
    registry.setTwitchId(old, "sub-1")
    registry.add(successor)
    registry.setTwitchId(successor, "sub-1")
    registry.delete(old)
    assert.strictEqual(registry.size, 1)
    assert.isFalse(registry.entries.has(old))
    assert.strictEqual(registry.find(lookup("sub-1", {})), successor)
    // setTwitchId of the old entry leaves the successor's id alone too
    registry.setTwitchId(old, "sub-2")
    assert.strictEqual(registry.find(lookup("sub-1", {})), successor)

    registry.delete(successor)
    assert.strictEqual(registry.size, 0)
    assert.isUndefined(registry.find(lookup("sub-1", { broadcaster_user_id: "1" })))
    // deleted while being created: no longer found by condition
    const creating = entryOf({ broadcaster_user_id: "5" })
    registry.add(creating)
    registry.delete(creating)
    assert.isUndefined(registry.find(lookup(undefined, { broadcaster_user_id: "5" })))
  })

  it.effect("failConsumers: the entry ends, each consumer's stream fails after what was offered before", () =>
    Effect.gen(function*() {
      const entry = entryOf({ broadcaster_user_id: "1" })
      const scope = yield* Scope.make()
      const inboxes = [
        yield* Scope.extend(addConsumer(entry, 4, Effect.void), scope),
        yield* Scope.extend(addConsumer(entry, 4, Effect.void), scope)
      ]
      for (const inbox of inboxes) yield* inbox.offerAll(["before"])
      failConsumers(entry, revoked)
      assert.isTrue(entry.ended)
      for (const inbox of inboxes) {
        const out = yield* inbox.stream.pipe(Stream.either, Stream.runCollect)
        assert.deepStrictEqual(Chunk.toArray(out), [Either.right("before"), Either.left(revoked)])
      }
      yield* Scope.close(scope, Exit.void)
    }))

  it.effect("addConsumer: a bounded inbox joins the entry; when its scope closes it leaves, then release runs", () =>
    Effect.gen(function*() {
      const entry = entryOf({ broadcaster_user_id: "1" })
      let released = 0
      const release = Effect.sync(() => {
        assert.strictEqual(entry.inboxes.size, 0, "the inbox left before release")
        released++
      })
      const scope = yield* Scope.make()
      const inbox = yield* Scope.extend(addConsumer(entry, 2, release), scope)
      assert.strictEqual(entry.refCount, 1)
      assert.isTrue(entry.inboxes.has(inbox))
      assert.strictEqual(inbox.capacity, 2)
      // full at 2: a third event waits
      const offer = yield* Effect.fork(inbox.offerAll([1, 2, 3]))
      yield* Effect.repeatN(Effect.yieldNow(), 20)
      assert.strictEqual(inbox.size, 2)
      assert.strictEqual(released, 0)
      yield* Scope.close(scope, Exit.void)
      // the offer waiting for room goes on: the consumer is gone
      yield* Fiber.join(offer)
      assert.strictEqual(released, 1)
      assert.strictEqual(inbox.size, 0)
      assert.strictEqual(entry.inboxes.size, 0)
    }))
})
