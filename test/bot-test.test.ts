import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Layer, Stream } from "effect"
import * as Client from "../src/Client.js"
import * as NodeTwitch from "../src/NodeTwitch.js"
import * as BotTest from "../src/testing/BotTest.js"
import * as Simulator from "../src/testing/Simulator.js"

const { bot, broadcaster, viewer } = Simulator.defaultUsers

const ClientLive = NodeTwitch.layerClient({ userId: bot }).pipe(Layer.provideMerge(BotTest.layer()))

describe("BotTest", () => {
  it.scoped("under a TestClock nobody moves, a wait that runs out says to use it.live", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(BotTest.nextChatMessage({ timeout: "200 millis" }))
      assert.strictEqual(error._tag, "BotTestTimeout")
      assert.isTrue(error.testClockStopped)
      assert.include(error.message, "no chat message within 200 ms")
      assert.include(error.message, "it.live")
      assert.include(error.message, "TestClock")
    }).pipe(Effect.provide(BotTest.layer())))

  it.scopedLive("on real time, a wait that runs out says what it waited for, and nothing about clocks", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        BotTest.awaitSubscription({
          type: "channel.follow",
          condition: { broadcaster_user_id: broadcaster },
          timeout: "100 millis"
        })
      )
      assert.isFalse(error.testClockStopped)
      assert.strictEqual(
        error.message,
        `BotTest: no enabled channel.follow subscription with broadcaster_user_id=${broadcaster} within 100 ms`
      )
    }).pipe(Effect.provide(BotTest.layer())))

  it.scoped("the waits work under it.scoped too, as long as the bot needs no timer", () =>
    Effect.gen(function*() {
      const client = yield* Client.Client
      const fiber = yield* client.chatMessages(broadcaster).pipe(Stream.take(1), Stream.runCollect, Effect.fork)
      const subscription = yield* BotTest.awaitSubscription({ type: "channel.chat.message" })
      assert.strictEqual(subscription.condition.broadcaster_user_id, broadcaster)
      const id = yield* BotTest.chat({ text: "hi" })
      const [message] = Chunk.toReadonlyArray(yield* Fiber.join(fiber))
      assert.strictEqual(message!.message_id, id)
    }).pipe(Effect.provide(ClientLive)))

  it.scopedLive("every simulated chat message has its own message_id; chat fills in chatter, channel and badges", () =>
    Effect.gen(function*() {
      const kit = yield* BotTest.BotTest
      const client = yield* Client.Client
      const fiber = yield* client.chatMessages(broadcaster).pipe(Stream.take(4), Stream.runCollect, Effect.fork)
      yield* BotTest.awaitSubscription({ type: "channel.chat.message" })
      // the simulator's own trigger: a fresh id each time, unless one is given
      yield* kit.simulator.eventSub.trigger({ type: "channel.chat.message" })
      yield* kit.simulator.eventSub.trigger({ type: "channel.chat.message" })
      yield* kit.simulator.eventSub.trigger({ type: "channel.chat.message", event: { message_id: "given" } })
      const fromBroadcaster = yield* BotTest.chat({ text: "!so simviewer", from: broadcaster, replyTo: "given" })
      const messages = Chunk.toReadonlyArray(yield* Fiber.join(fiber))
      const ids = messages.map((m) => m.message_id)
      assert.strictEqual(new Set(ids).size, 4)
      assert.strictEqual(ids[2], "given")
      assert.strictEqual(ids[3], fromBroadcaster)
      const last = messages[3]!
      assert.strictEqual(last.chatter_user_login, "simbroadcaster")
      assert.strictEqual(last.message.text, "!so simviewer")
      assert.deepStrictEqual(last.badges.map((b) => b.set_id), ["broadcaster"])
      assert.strictEqual(last.reply?.parent_message_id, "given")
    }).pipe(Effect.provide(ClientLive)))

  it.scopedLive("nextChatMessage takes the messages in order, each once, also those sent before it was called", () =>
    Effect.gen(function*() {
      const client = yield* Client.Client
      yield* client.sendMessage("one", { channel: broadcaster })
      yield* client.sendMessage("two", { channel: viewer })
      yield* client.sendMessage("three", { channel: broadcaster })
      assert.strictEqual((yield* BotTest.nextChatMessage()).message, "one")
      // skips what does not match
      assert.strictEqual((yield* BotTest.nextChatMessage({ channel: broadcaster })).message, "three")
      const late = yield* BotTest.nextChatMessage({ sender: bot }).pipe(Effect.fork)
      yield* client.sendMessage("four", { channel: broadcaster })
      assert.strictEqual((yield* Fiber.join(late)).message, "four")
    }).pipe(Effect.provide(ClientLive)))

  it.scopedLive("chat names an unknown user", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(BotTest.chat({ text: "hi", from: "999" }))
      assert.strictEqual(error._tag, "SimulatorError")
      assert.include(error.message, "unknown user 999")
    }).pipe(Effect.provide(BotTest.layer())))
})
