/**
 * The frame router alone: a message and a state in, an action out. No sockets, no fibers.
 */
import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import { Dedupe } from "../src/internal/eventsubDedupe.js"
import { Registry, type Subscription, subscriptionFields } from "../src/internal/eventsubRegistry.js"
import { AgeGuard, type Message, parseFrame, route, type RouterState } from "../src/internal/eventsubRouter.js"

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
