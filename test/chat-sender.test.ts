/**
 * The outgoing chat queue: the lanes' schedule under TestClock (Twitch's limits, exactly), splitting,
 * the bound, interruption; then against the simulator, which enforces the same limits.
 */
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Exit, Fiber, Option, TestClock } from "effect"
import { ChatSender, Helix } from "effect-twitch"
import * as Moderation from "effect-twitch/Helix/Moderation"
import * as Simulator from "effect-twitch/testing/Simulator"
import { type LaneLimits, makeLanes } from "../src/internal/chatLanes.js"
import * as Stack from "./fixtures/stack.js"

const TWITCH: LaneLimits = {
  windowMillis: 30_000,
  perWindow: 20,
  perWindowPrivileged: 100,
  minIntervalMillis: 1_000,
  senderPerWindow: null
}

/** Lanes whose "Twitch" answers at once and records the Clock time of each message. */
const recordingLanes = (limits: LaneLimits, options: { capacity?: number; privileged?: boolean } = {}) =>
  Effect.gen(function*() {
    const sent: Array<{ at: number; channel: string; text: string }> = []
    const lanes = yield* makeLanes({
      limits,
      capacity: options.capacity ?? 100,
      isPrivileged: () => options.privileged ?? false,
      send: (request) =>
        Effect.flatMap(Clock.currentTimeMillis, (at) => {
          sent.push({ at, channel: request.channel, text: request.text })
          // "Twitch" refuses text starting with "rate" for rate the first time, "always" every time
          const refuse = request.text.startsWith("always") ||
            (request.text.startsWith("rate") && sent.filter((s) => s.text === request.text).length === 1)
          return refuse ? Effect.fail("msg_ratelimit" as const) : Effect.succeed(at)
        }),
      isRateLimited: (error) => error === "msg_ratelimit"
    })
    return { lanes, sent }
  })

const part = (text: string, channel = "c1") => ({ sender: "bot", channel, text, replyTo: undefined })

describe("ChatSender: splitting", () => {
  it("splits at word boundaries, each part at most 500 characters, nothing lost", () => {
    const words = Array.from({ length: 300 }, (_, i) => `word${i}`)
    const parts = ChatSender.split(words.join(" "))
    assert.isAbove(parts.length, 1)
    for (const p of parts) assert.isAtMost(p.length, 500)
    assert.deepStrictEqual(parts.join(" ").split(" "), words)
    assert.isTrue(parts.every((p) => !p.startsWith(" ") && !p.endsWith(" ")))
  })

  it("cuts a word longer than the limit, never inside a surrogate pair; blank text gives no part", () => {
    assert.deepStrictEqual(ChatSender.split("x".repeat(12), 5), ["xxxxx", "xxxxx", "xx"])
    const emoji = "a" + "😀".repeat(3) // 7 UTF-16 units
    const parts = ChatSender.split(emoji, 4)
    assert.deepStrictEqual(parts, ["a😀", "😀😀"])
    assert.deepStrictEqual(ChatSender.split("   "), [])
    assert.deepStrictEqual(ChatSender.split("short"), ["short"])
  })

  it("the ideal time of a burst under Twitch's limits", () => {
    // 20 in the first 19 s, one per second; then each window of 30 s lets 20 more through
    assert.strictEqual(ChatSender.idealMillis(ChatSender.twitchLimits, 1), 0)
    assert.strictEqual(ChatSender.idealMillis(ChatSender.twitchLimits, 20), 19_000)
    assert.strictEqual(ChatSender.idealMillis(ChatSender.twitchLimits, 21), 30_000)
    assert.strictEqual(ChatSender.idealMillis(ChatSender.twitchLimits, 200), 289_000)
    assert.strictEqual(ChatSender.idealMillis(ChatSender.twitchLimits, 101, true), 30_000)
    const fast = ChatSender.scaleTime(ChatSender.twitchLimits, 1 / 100)
    assert.strictEqual(ChatSender.idealMillis(fast, 200), 2_890)
  })
})

describe("ChatSender: the lanes keep Twitch's limits (TestClock)", () => {
  it.scoped("a viewer's burst: one per second, then 20 per 30 s, in order", () =>
    Effect.gen(function*() {
      const { lanes, sent } = yield* recordingLanes(TWITCH)
      const texts = Array.from({ length: 45 }, (_, i) => `m${i}`)
      const fiber = yield* Effect.fork(
        Effect.forEach(texts, (text) => lanes.send([part(text)]), { concurrency: "unbounded" })
      )
      yield* TestClock.adjust("2 minutes")
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(sent.map((s) => s.text), texts)
      const expected = texts.map((_, i) => 30_000 * Math.floor(i / 20) + 1_000 * (i % 20))
      assert.deepStrictEqual(sent.map((s) => s.at), expected)
      assert.strictEqual(sent[44]!.at, ChatSender.idealMillis(ChatSender.twitchLimits, 45))
    }))

  it.scoped("a moderator: 100 at once, the 101st when the window has passed", () =>
    Effect.gen(function*() {
      const { lanes, sent } = yield* recordingLanes(TWITCH, { privileged: true })
      const fiber = yield* Effect.fork(
        Effect.forEach(Array.from({ length: 101 }, (_, i) => `m${i}`), (t) => lanes.send([part(t)]), {
          concurrency: "unbounded"
        })
      )
      yield* TestClock.adjust("29 seconds")
      assert.strictEqual(sent.length, 100)
      assert.isTrue(sent.every((s) => s.at === 0))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(fiber)
      assert.strictEqual(sent[100]!.at, 30_000)
    }))

  it.scoped("channels are separate lanes; setPrivileged raises a lane's limit", () =>
    Effect.gen(function*() {
      const { lanes, sent } = yield* recordingLanes(TWITCH)
      yield* lanes.setPrivileged("bot", "c2", true)
      const fiber = yield* Effect.fork(Effect.all([
        lanes.send([part("a1", "c1"), part("a2", "c1")]),
        lanes.send([part("b1", "c2"), part("b2", "c2"), part("b3", "c2")])
      ], { concurrency: "unbounded" }))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(fiber)
      const at = Object.fromEntries(sent.map((s) => [s.text, s.at]))
      assert.deepStrictEqual(at, { a1: 0, a2: 1_000, b1: 0, b2: 0, b3: 0 })
    }))

  it.scoped("a verified bot's own limit spans its channels", () =>
    Effect.gen(function*() {
      const { lanes, sent } = yield* recordingLanes({ ...TWITCH, senderPerWindow: 3 }, { privileged: true })
      const fiber = yield* Effect.fork(Effect.forEach(
        ["c1", "c2", "c3", "c4"],
        (channel) => lanes.send([part(`to ${channel}`, channel)]),
        { concurrency: "unbounded" }
      ))
      yield* TestClock.adjust("30 seconds")
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(sent.map((s) => s.at).sort((a, b) => a - b), [0, 0, 0, 30_000])
    }))

  it.scoped("bounded: a full lane makes the caller wait (nothing dropped); an interrupted caller's parts are not sent", () =>
    Effect.gen(function*() {
      const { lanes, sent } = yield* recordingLanes(TWITCH, { capacity: 2 })
      const fibers = yield* Effect.forEach(
        ["m0", "m1", "m2", "m3", "m4"],
        (text) => Effect.fork(lanes.send([part(text)])),
        { concurrency: 1 }
      )
      yield* TestClock.adjust("500 millis")
      // m0 went out, m1 waits for its second, m2 and m3 fill the lane, m4 waits for room
      assert.deepStrictEqual(sent.map((s) => s.text), ["m0"])
      assert.strictEqual(yield* lanes.queued("bot", "c1"), 3)
      yield* Fiber.interrupt(fibers[2]!)
      yield* TestClock.adjust("10 seconds")
      for (const [i, fiber] of fibers.entries()) {
        const exit = yield* Fiber.await(fiber)
        assert.strictEqual(Exit.isSuccess(exit), i !== 2, `m${i}`)
      }
      assert.deepStrictEqual(sent.map((s) => s.text), ["m0", "m1", "m3", "m4"])
    }))
})

describe("ChatSender: Twitch refuses for rate all the same", () => {
  it.scoped("the lane waits a full window and sends it once more; refused again, the error surfaces", () =>
    Effect.gen(function*() {
      const { lanes, sent } = yield* recordingLanes(TWITCH, { privileged: true })
      const once = yield* Effect.fork(lanes.send([part("rate once")]))
      const always = yield* Effect.fork(lanes.send([part("always refused")]))
      yield* TestClock.adjust("29 seconds")
      assert.strictEqual(sent.length, 1) // the lane holds back while Twitch's window passes
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(yield* Fiber.join(once), [30_000])
      yield* TestClock.adjust("30 seconds")
      assert.deepStrictEqual(yield* Effect.flip(Fiber.join(always)), "msg_ratelimit")
      assert.deepStrictEqual(sent.map((s) => [s.text, s.at]), [
        ["rate once", 0],
        ["rate once", 30_000],
        ["always refused", 30_000],
        ["always refused", 60_000]
      ])
    }))
})

// ------------------------------------------------------------------------------------------------ simulator

const { broadcaster, moderator, viewer } = Simulator.defaultUsers
/** Twitch's limits a hundred times faster: a window of 300 ms, 10 ms between a viewer's messages. */
const FAST = ChatSender.scaleTime(ChatSender.twitchLimits, 1 / 100)

describe("ChatSender against the simulator (Twitch's limits, 100× faster)", () => {
  it.live("the simulator drops a viewer's second message within the interval: msg_ratelimit", () =>
    Effect.gen(function*() {
      const helix = yield* Helix.Helix
      const sim = yield* Simulator.Simulator
      yield* sim.setChatLimits(ChatSender.scaleTime(ChatSender.twitchLimits, 1 / 10)) // 100 ms between messages
      const send = (text: string) => ChatSender.sendNow(helix, { sender: viewer, channel: broadcaster, text })
      yield* send("first")
      const second = yield* Effect.flip(send("second"))
      assert.strictEqual(second._tag, "ChatMessageDropped")
      if (second._tag === "ChatMessageDropped") assert.strictEqual(second.code, "msg_ratelimit")
      assert.strictEqual((yield* sim.counters).chatRateLimited, 1)
    }).pipe(Effect.provide(Stack.layer({ users: [viewer] }))))

  it.live("a VIP (added through Helix) has the privileged limits at the simulator", () =>
    Effect.gen(function*() {
      const helix = yield* Helix.Helix
      const sim = yield* Simulator.Simulator
      yield* helix.request(Moderation.addChannelVip, { broadcaster_id: broadcaster, user_id: viewer })
      yield* Effect.forEach(["1", "2", "3"], (text) =>
        ChatSender.sendNow(helix, { sender: viewer, channel: broadcaster, text }), { concurrency: "unbounded" })
      assert.strictEqual((yield* sim.counters).chatRateLimited, 0)
    }).pipe(Effect.provide(Stack.layer({ users: [broadcaster, viewer] }))))

  it.scopedLive("through the queue: a viewer's burst of 45 is never refused and takes about the ideal time", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const chat = yield* ChatSender.make({ sender: viewer, limits: FAST })
      const start = yield* Clock.currentTimeMillis
      const sent = yield* Effect.forEach(
        Array.from({ length: 45 }, (_, i) => `burst ${i}`),
        (text) => chat.send({ channel: broadcaster, text }),
        { concurrency: "unbounded" }
      )
      const took = (yield* Clock.currentTimeMillis) - start
      assert.strictEqual(sent.flat().length, 45)
      assert.strictEqual((yield* sim.counters).chatRateLimited, 0)
      const ideal = ChatSender.idealMillis(FAST, 45)
      assert.isAtLeast(took, ideal)
      assert.isBelow(took, ideal * 1.5 + 200, `took ${took} ms, ideal ${ideal} ms`)
      const mine = (yield* sim.chatMessages).filter((m) => m.sender_id === viewer)
      assert.deepStrictEqual(mine.map((m) => m.message), Array.from({ length: 45 }, (_, i) => `burst ${i}`))
    }).pipe(Effect.provide(Stack.layer({ users: [viewer], simulator: { chatLimits: FAST } }))))

  it.scopedLive("a moderator's 100 go at once; long text arrives split, each part threaded to the same message", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const chat = yield* ChatSender.make({ sender: moderator, privileged: [broadcaster] })
      yield* Effect.forEach(
        Array.from({ length: 100 }, (_, i) => `mod ${i}`),
        (text) => chat.send({ channel: broadcaster, text }),
        { concurrency: "unbounded" }
      )
      const long = Array.from({ length: 150 }, (_, i) => `w${i}`).join(" ")
      const fiber = yield* Effect.fork(chat.send({ channel: broadcaster, text: long, replyTo: "parent-1" }))
      // the window (30 s, Twitch's) is full: the long text's first part waits for it, the second in the lane
      yield* Effect.sleep("200 millis")
      assert.strictEqual(yield* chat.queued(broadcaster), 1)
      yield* Fiber.interrupt(fiber)
      assert.strictEqual((yield* sim.counters).chatRateLimited, 0)
      yield* sim.setChatLimits(false)
      const parts = yield* chat.send({ channel: broadcaster, text: long, replyTo: "parent-1", sender: viewer })
      assert.strictEqual(parts.length, 2)
      const replies = (yield* sim.chatMessages).filter((m) => m.reply_parent_message_id === "parent-1")
      assert.strictEqual(replies.map((m) => m.message).join(" "), long)
      assert.isTrue(replies.every((m) => m.message.length <= 500))
    }).pipe(Effect.provide(Stack.layer({ users: [moderator, viewer] }))))

  it.live("a message Twitch drops fails with its drop_reason as a typed error", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      yield* sim.setChatDrop({ code: "msg_duplicate", message: "Your message is identical to the previous one." })
      const error = yield* Effect.flip(
        ChatSender.ChatSender.pipe(Effect.flatMap((chat) => chat.send({ channel: broadcaster, text: "hi" })))
      )
      assert.strictEqual(error._tag, "ChatMessageDropped")
      if (error._tag === "ChatMessageDropped") assert.strictEqual(error.code, "msg_duplicate")
      yield* sim.setChatDrop(false)
      assert.isTrue(Option.isSome(Option.fromNullable((yield* sim.chatMessages)[0])))
    }).pipe(
      Effect.provide(ChatSender.layer({ sender: broadcaster })),
      Effect.provide(Stack.layer({ users: [broadcaster] }))
    ))
})
