/**
 * Commands: each kind of input has a defined answer (or a configured silence), cooldowns follow the
 * Clock (TestClock), and a failing handler never stops the others. Replies go to a recording ChatSender.
 */
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Duration, Effect, Layer, Queue, Ref, Schema, Stream, TestClock } from "effect"
import { ChatSender, type Client, Commands, Helix } from "effect-twitch"

const BOT = "900"
const CHANNEL = "100"

let nextId = 0
/** A `channel.chat.message` event from `login` (id from the login) with the given badges. */
const chat = (
  login: string,
  text: string,
  badges: ReadonlyArray<string> = [],
  extra: Partial<Client.ChatMessage> = {}
): Client.ChatMessage => ({
  broadcaster_user_id: CHANNEL,
  broadcaster_user_login: "streamer",
  broadcaster_user_name: "Streamer",
  chatter_user_id: login === "streamer" ? CHANNEL : login === "bot" ? BOT : `id-${login}`,
  chatter_user_login: login,
  chatter_user_name: login,
  message_id: `msg-${++nextId}`,
  message: { text, fragments: [] },
  color: "",
  badges: badges.map((set_id) => ({ set_id, id: "1", info: "" })),
  message_type: "text",
  cheer: null,
  reply: null,
  channel_points_custom_reward_id: null,
  source_broadcaster_user_id: null,
  source_broadcaster_user_login: null,
  source_broadcaster_user_name: null,
  source_message_id: null,
  source_badges: null,
  is_source_only: null,
  ...extra
})

interface Sent {
  readonly channel: string
  readonly text: string
  readonly replyTo: string | undefined
}

/** A ChatSender that records what it is asked to send (and fails for text starting with "DROP"). */
const recording = Effect.gen(function*() {
  const sent = yield* Ref.make<ReadonlyArray<Sent>>([])
  const privileged = yield* Ref.make<ReadonlyArray<[string, boolean]>>([])
  const service = ChatSender.ChatSender.of({
    sender: BOT,
    limits: ChatSender.twitchLimits,
    send: (message) =>
      message.text.startsWith("DROP")
        ? Effect.fail(
          new Helix.ChatMessageDropped({
            method: "sendChatMessage",
            endpoint: "POST /chat/messages",
            broadcasterId: message.channel,
            messageId: "",
            code: "msg_rejected",
            reason: "held by AutoMod"
          })
        )
        : Effect.as(
          Ref.update(
            sent,
            (all) => [...all, { channel: message.channel, text: message.text, replyTo: message.replyTo }]
          ),
          [{ message_id: "m", is_sent: true, drop_reason: undefined }]
        ),
    setPrivileged: (channel, value) => Ref.update(privileged, (all) => [...all, [channel, value] as [string, boolean]]),
    queued: () => Effect.succeed(0)
  })
  return { sent, privileged, layer: Layer.succeed(ChatSender.ChatSender, service) }
})

const commands = Commands.make().pipe(
  Commands.add({ name: "ping", aliases: ["p"], description: "Answers pong" }, () => "pong"),
  Commands.add({
    name: "add",
    description: "Adds two numbers",
    args: Schema.Tuple(
      Schema.NumberFromString.annotations({ title: "a" }),
      Schema.NumberFromString.annotations({ title: "b" })
    )
  }, ({ args: [a, b] }) => `${a + b}`),
  Commands.add({
    name: "so",
    description: "Gives a shout-out",
    permission: "moderator",
    args: Schema.Tuple(Schema.String.annotations({ title: "login" }))
  }, ({ args: [login] }) => `Go follow ${login}!`),
  Commands.add({ name: "hug", cooldown: { user: "10 seconds" } }, ({ user }) => `hugs ${user.name}`),
  Commands.add({ name: "raffle", cooldown: { channel: "1 minute" }, permission: "subscriber" }, () => "raffle!"),
  Commands.add("boom", () => Effect.fail("kaboom")),
  Commands.add("die", () => Effect.die(new Error("bug"))),
  Commands.add({ name: "twice", hidden: true }, ({ reply }) => Effect.as(reply("one"), "two")),
  Commands.add("say", ({ text }) => `DROP ${text}`)
)

/** Runs `commands` over `messages`, returning the outcomes and what was sent. */
const runOver = <E, R>(set: Commands.Commands<E, R>, messages: ReadonlyArray<Client.ChatMessage>) =>
  Effect.gen(function*() {
    const { layer, privileged, sent } = yield* recording
    const outcomes = yield* Stream.runCollect(set.pipe(Commands.outcomes(Stream.fromIterable(messages)))).pipe(
      Effect.provide(layer)
    )
    return {
      outcomes: Chunk.toReadonlyArray(outcomes),
      sent: yield* Ref.get(sent),
      privileged: yield* Ref.get(privileged)
    }
  })

describe("Commands", () => {
  it.effect("!ping answers pong, threaded to the message; aliases and case do not matter; other text is ignored", () =>
    Effect.gen(function*() {
      const messages = [chat("viewer", "!ping"), chat("viewer", "hello there"), chat("viewer", "  !P  ")]
      const { outcomes, sent } = yield* runOver(commands, messages)
      assert.deepStrictEqual(outcomes.map((o) => [o._tag, o.answered]), [["Ran", "pong"], ["Ran", "pong"]])
      assert.deepStrictEqual(sent, [
        { channel: CHANNEL, text: "pong", replyTo: messages[0]!.message_id },
        { channel: CHANNEL, text: "pong", replyTo: messages[2]!.message_id }
      ])
    }))

  it.effect("arguments are decoded with the Schema; wrong count or type answers with the usage", () =>
    Effect.gen(function*() {
      const { outcomes, sent } = yield* runOver(commands, [
        chat("viewer", "!add 2 3"),
        chat("viewer", "!add 2"),
        chat("viewer", "!add 2 three"),
        chat("viewer", "!add 1 2 3")
      ])
      assert.deepStrictEqual(outcomes.map((o) => o._tag), ["Ran", "BadArguments", "BadArguments", "BadArguments"])
      assert.deepStrictEqual(sent.map((s) => s.text), [
        "5",
        "Usage: !add <a> <b>",
        "Usage: !add <a> <b>",
        "Usage: !add <a> <b>"
      ])
      const issues = outcomes.flatMap((o) => o._tag === "BadArguments" ? [o.issue] : [])
      assert.match(issues[0]!, /argument 2/)
      assert.match(issues[1]!, /argument 2/)
      assert.match(issues[2]!, /argument 3/)
    }))

  it.effect("permissions come from the badges (the broadcaster also by id); a chatter below answers who it is for", () =>
    Effect.gen(function*() {
      const { outcomes, sent } = yield* runOver(commands, [
        chat("viewer", "!so someone"),
        chat("vip", "!so someone", ["vip"]),
        chat("mod", "!so someone", ["moderator"]),
        chat("streamer", "!so someone"),
        chat("viewer", "!raffle"),
        chat("founder", "!raffle", ["founder"])
      ])
      assert.deepStrictEqual(outcomes.map((o) => o._tag), ["Denied", "Denied", "Ran", "Ran", "Denied", "Ran"])
      assert.deepStrictEqual(sent.map((s) => s.text), [
        "!so is for moderators",
        "!so is for moderators",
        "Go follow someone!",
        "Go follow someone!",
        "!raffle is for subscribers",
        "raffle!"
      ])
      assert.deepStrictEqual(Commands.permissionOf(chat("x", "", ["subscriber", "vip"])), "vip")
    }))

  it.effect("an unknown command is silent by default, answered when configured", () =>
    Effect.gen(function*() {
      const silent = yield* runOver(commands, [chat("viewer", "!nope")])
      assert.deepStrictEqual(silent.outcomes.map((o) => [o._tag, o.command, o.answered]), [
        ["UnknownCommand", "!nope", undefined]
      ])
      assert.deepStrictEqual(silent.sent, [])
      const talkative = Commands.make({ answers: { unknown: (o) => `${o.command}? Try !help` } }).pipe(
        Commands.add("ping", () => "pong")
      )
      const answered = yield* runOver(talkative, [chat("viewer", "!nope")])
      assert.deepStrictEqual(answered.sent.map((s) => s.text), ["!nope? Try !help"])
    }))

  it.scoped("per-user cooldown on the Clock: silent while cooling down, again after it; moderators skip it", () =>
    Effect.gen(function*() {
      const { at, live, sent } = yield* live_(commands)
      yield* at(chat("viewer", "!hug"))
      yield* at(chat("viewer", "!hug"))
      yield* at(chat("other", "!hug"))
      yield* at(chat("mod", "!hug", ["moderator"]))
      yield* at(chat("mod", "!hug", ["moderator"]))
      yield* TestClock.adjust("9 seconds")
      yield* at(chat("viewer", "!hug"))
      yield* TestClock.adjust("1 second")
      yield* at(chat("viewer", "!hug"))
      const all = yield* live
      assert.deepStrictEqual(all.map((o) => o._tag), ["Ran", "CoolingDown", "Ran", "Ran", "Ran", "CoolingDown", "Ran"])
      const cooling = all[1]!
      assert.strictEqual(cooling._tag === "CoolingDown" ? Duration.toMillis(cooling.remaining) : 0, 10_000)
      assert.strictEqual(all[5]!._tag === "CoolingDown" ? Duration.toMillis(all[5]!.remaining) : 0, 1_000)
      assert.deepStrictEqual((yield* Ref.get(sent)).map((s) => s.text), [
        "hugs viewer",
        "hugs other",
        "hugs mod",
        "hugs mod",
        "hugs viewer"
      ])
    }))

  it.scoped("per-channel cooldown holds everyone in the channel; answered when configured", () =>
    Effect.gen(function*() {
      const set = Commands.make({
        answers: { cooldown: (o) => `${o.command} again in ${Duration.format(o.remaining)}` }
      })
        .pipe(Commands.add({ name: "raffle", cooldown: { channel: "1 minute" } }, () => "raffle!"))
      const { at, live, sent } = yield* live_(set)
      yield* at(chat("a", "!raffle"))
      yield* TestClock.adjust("30 seconds")
      yield* at(chat("b", "!raffle"))
      yield* at(chat("c", "!raffle", [], { broadcaster_user_id: "200" })) // another channel
      yield* TestClock.adjust("30 seconds")
      yield* at(chat("b", "!raffle"))
      assert.deepStrictEqual((yield* live).map((o) => o._tag), ["Ran", "CoolingDown", "Ran", "Ran"])
      assert.deepStrictEqual((yield* Ref.get(sent)).map((s) => s.text), [
        "raffle!",
        "!raffle again in 30s",
        "raffle!",
        "raffle!"
      ])
    }))

  it.effect("a failing or dying handler answers sorry, is logged, and the next commands still run", () =>
    Effect.gen(function*() {
      const { outcomes, sent } = yield* runOver(commands, [
        chat("viewer", "!boom"),
        chat("viewer", "!die"),
        chat("viewer", "!ping")
      ])
      assert.deepStrictEqual(outcomes.map((o) => o._tag), ["Failed", "Failed", "Ran"])
      assert.deepStrictEqual(sent.map((s) => s.text), ["Sorry, !boom failed.", "Sorry, !die failed.", "pong"])
      const silent = Commands.make({ answers: { failed: false } }).pipe(Commands.add("boom", () => Effect.fail("x")))
      assert.deepStrictEqual((yield* runOver(silent, [chat("viewer", "!boom")])).sent, [])
    }))

  it.effect("a reply Twitch drops is recorded on the outcome, and the runner goes on", () =>
    Effect.gen(function*() {
      const { outcomes, sent } = yield* runOver(commands, [chat("viewer", "!say hi"), chat("viewer", "!ping")])
      assert.strictEqual(outcomes[0]!._tag, "Ran")
      assert.strictEqual(outcomes[0]!.replyError?._tag, "ChatMessageDropped")
      assert.strictEqual(outcomes[0]!.answered, undefined)
      assert.deepStrictEqual(sent.map((s) => s.text), ["pong"])
    }))

  it.effect("ctx.reply sends more than one reply, all threaded", () =>
    Effect.gen(function*() {
      const message = chat("viewer", "!twice")
      const { sent } = yield* runOver(commands, [message])
      assert.deepStrictEqual(sent.map((s) => [s.text, s.replyTo]), [["one", message.message_id], [
        "two",
        message.message_id
      ]])
    }))

  it.effect("!help lists the commands the chatter may use; !help <name> tells about one", () =>
    Effect.gen(function*() {
      const { sent } = yield* runOver(commands, [
        chat("viewer", "!help"),
        chat("mod", "!help", ["moderator"]),
        chat("viewer", "!help p"),
        chat("viewer", "!help !add"),
        chat("mod", "!help so", ["moderator"]),
        chat("viewer", "!help so")
      ])
      assert.deepStrictEqual(sent.map((s) => s.text), [
        "Commands: !ping, !add, !hug, !boom, !die, !say",
        "Commands: !ping, !add, !so, !hug, !raffle, !boom, !die, !say",
        "!ping (also !p): Answers pong",
        "!add <a> <b>: Adds two numbers",
        "!so <login>: Gives a shout-out (for moderators)",
        "There is no !so"
      ])
    }))

  it.effect("the bot's own messages are not commands; their badges tell the sender its limits", () =>
    Effect.gen(function*() {
      const { outcomes, privileged, sent } = yield* runOver(commands, [
        chat("bot", "!ping", ["moderator"]),
        chat("bot", "!ping", ["moderator"]),
        chat("bot", "!ping")
      ])
      assert.deepStrictEqual(outcomes, [])
      assert.deepStrictEqual(sent, [])
      assert.deepStrictEqual(privileged, [[CHANNEL, true], [CHANNEL, false]])
    }))

  it.effect("a message shared from another channel's chat is left to that channel's bot", () =>
    Effect.gen(function*() {
      const shared = chat("viewer", "!ping", [], { source_broadcaster_user_id: "300" })
      assert.deepStrictEqual((yield* runOver(commands, [shared])).outcomes, [])
      const all = Commands.make({ sharedChat: true }).pipe(Commands.add("ping", () => "pong"))
      assert.strictEqual((yield* runOver(all, [shared])).outcomes.length, 1)
    }))

  it.effect("a custom prefix; !help can be renamed or left out", () =>
    Effect.gen(function*() {
      const set = Commands.make({ prefix: "?", help: "commands" }).pipe(Commands.add("ping", () => "pong"))
      const { sent } = yield* runOver(set, [chat("v", "!ping"), chat("v", "?ping"), chat("v", "?commands")])
      assert.deepStrictEqual(sent.map((s) => s.text), ["pong", "Commands: ?ping"])
      const none = Commands.make({ help: false }).pipe(Commands.add("ping", () => "pong"))
      assert.strictEqual((yield* runOver(none, [chat("v", "!help")])).outcomes[0]!._tag, "UnknownCommand")
    }))
})

/** Runs `set` live over a queue: `at(message)` feeds one message and lets it be handled; `live` the outcomes so far. */
const live_ = <E, R>(set: Commands.Commands<E, R>) =>
  Effect.gen(function*() {
    const { layer, sent } = yield* recording
    const queue = yield* Queue.unbounded<Client.ChatMessage>()
    const outcomes = yield* Ref.make<ReadonlyArray<Commands.Outcome>>([])
    yield* set.pipe(
      Commands.outcomes(Stream.fromQueue(queue)),
      Stream.runForEach((o) => Ref.update(outcomes, (all) => [...all, o])),
      Effect.provide(layer),
      Effect.forkScoped
    )
    const at = (message: Client.ChatMessage) =>
      Effect.gen(function*() {
        const before = (yield* Ref.get(outcomes)).length
        yield* queue.offer(message)
        // until the message has its outcome
        while ((yield* Ref.get(outcomes)).length === before) yield* Effect.yieldNow()
      })
    return { at, live: Ref.get(outcomes), sent }
  })
