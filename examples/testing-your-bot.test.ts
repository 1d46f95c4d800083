/**
 * Testing a bot against the simulator with `@effect/vitest` and `effect-twitch/testing`: copy this file.
 *
 * The bot answers `!ping` (in a reply thread) and thanks new followers. Each test starts a fresh simulator,
 * runs the bot in the background, plays a viewer (`BotTest.chat`, `BotTest.trigger`) and reads what the bot
 * sent (`BotTest.nextChatMessage`).
 *
 * `it.scopedLive`: the bot, the simulator and the waits run on real time. Under `it.effect` / `it.scoped` the
 * test's `TestClock` stops every timer of the bot (sleeps, pacing, cooldowns) until the test moves it: use those
 * for logic you drive with `TestClock.adjust`, and the live variants for a bot talking to the simulator.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import { Client, type Scopes } from "effect-twitch"
import * as NodeTwitch from "effect-twitch/NodeTwitch"
import { BotTest, Simulator } from "effect-twitch/testing"

// ------------------------------------------------------------------------------------------------ the bot

const scopes: ReadonlyArray<Scopes.Scope> = ["user:read:chat", "user:write:chat", "moderator:read:followers"]

/** Runs until interrupted: one failing answer (a message AutoMod holds, …) never stops it. */
const bot = (channel: string) =>
  Effect.gen(function*() {
    const client = yield* Client.Client
    const pings = client.chatMessages(channel).pipe(
      Stream.filter((message) => message.message.text.trim() === "!ping"),
      Client.forEachEvent((message) => client.sendMessage("pong", { channel, replyTo: message.message_id }))
    )
    const thanks = client.follows(channel).pipe(
      Client.forEachEvent((follow) => client.sendMessage(`Thanks for the follow, ${follow.user_name}!`, { channel }))
    )
    yield* Effect.all([pings, thanks], { concurrency: "unbounded", discard: true })
  })

// ------------------------------------------------------------------------------------------------ the tests

const { bot: botUser, broadcaster } = Simulator.defaultUsers

/** The simulator, a token for the bot's user (`simbot`, a moderator of `simbroadcaster`), the kit, the client. */
const TestLive = NodeTwitch.layerClient({ userId: botUser, scopes }).pipe(Layer.provideMerge(BotTest.layer()))

/** The bot, in the background of the test (interrupted when the test ends). */
const startBot = Effect.forkScoped(bot(broadcaster))

describe("testing your bot", () => {
  it.scopedLive("answers !ping in the thread of the message", () =>
    Effect.gen(function*() {
      yield* startBot
      const ping = yield* BotTest.chat({ text: "!ping" }) // waits until the bot reads the chat
      const reply = yield* BotTest.nextChatMessage()
      assert.strictEqual(reply.message, "pong")
      assert.strictEqual(reply.sender_id, botUser)
      assert.strictEqual(reply.reply_parent_message_id, ping)
    }).pipe(Effect.provide(TestLive)))

  it.scopedLive("thanks a new follower", () =>
    Effect.gen(function*() {
      yield* startBot
      yield* BotTest.trigger({ type: "channel.follow", event: { user_name: "NewFan" } })
      const thanks = yield* BotTest.nextChatMessage()
      assert.strictEqual(thanks.message, "Thanks for the follow, NewFan!")
    }).pipe(Effect.provide(TestLive)))

  it.scopedLive("keeps running after Twitch drops one of its messages", () =>
    Effect.gen(function*() {
      const kit = yield* BotTest.BotTest
      yield* startBot
      yield* kit.simulator.setChatDrop(true) // as when AutoMod holds a message
      yield* BotTest.chat({ text: "!ping" })
      assert.isFalse((yield* BotTest.nextChatMessage()).is_sent)
      yield* kit.simulator.setChatDrop(false)
      yield* BotTest.chat({ text: "!ping" })
      const reply = yield* BotTest.nextChatMessage()
      assert.isTrue(reply.is_sent)
      assert.strictEqual(reply.message, "pong")
    }).pipe(Effect.provide(TestLive)))

  it.scopedLive("stays silent on other messages", () =>
    Effect.gen(function*() {
      yield* startBot
      yield* BotTest.chat({ text: "hello there" })
      const silence = yield* Effect.flip(BotTest.nextChatMessage({ timeout: "300 millis" }))
      assert.strictEqual(silence._tag, "BotTestTimeout")
    }).pipe(Effect.provide(TestLive)))
})
