/**
 * A chat bot: `!ping`, `!uptime`, `!help`, and thanks for every follow and subscription.
 *
 *   npx tsx examples/commands-bot.ts
 *
 * Without TWITCH_CLIENT_ID it runs against the local simulator: a viewer tries the commands, follows
 * and subscribes, the bot answers, and the example ends. With TWITCH_CLIENT_ID it runs against Twitch
 * until you stop it (Ctrl-C), as the broadcaster (the subscriptions need their token); README,
 * "Examples", says where the token comes from.
 *
 * Replies and thanks go through the client's chat queue: they keep Twitch's chat limits, and a
 * message Twitch refuses (AutoMod, …) is logged without stopping the bot.
 */
import { Console, Duration, Effect, Option, Stream } from "effect"
import type { Scopes } from "effect-twitch"
import { Client, Commands, EventSub, HelixApi } from "effect-twitch"
import * as NodeTwitch from "effect-twitch/NodeTwitch"
import * as Env from "./internal/env.js"

export const scopes: ReadonlyArray<Scopes.Scope> = [
  "user:read:chat",
  "user:write:chat",
  "moderator:read:followers",
  "channel:read:subscriptions"
]

// ------------------------------------------------------------------------------------------------ the bot

const uptime = (channel: string) =>
  Effect.map(Stream.runHead(HelixApi.Streams.getStreams({ user_id: [channel] })), (stream) =>
    Option.match(stream, {
      onNone: () => "The stream is offline.",
      onSome: (live) =>
        `Live for ${
          Duration.format(Duration.minutes(Math.floor((Date.now() - Date.parse(live.started_at)) / 60_000)))
        }.`
    }))

export const commands = Commands.make().pipe(
  Commands.add({ name: "ping", description: "Answers pong" }, () => "pong"),
  Commands.add({ name: "uptime", description: "How long the stream has been live" }, (ctx) => uptime(ctx.channel))
)

export const bot = (channel: string) =>
  Effect.gen(function*() {
    const client = yield* Client.Client
    const thank = (text: string) =>
      client.sendMessage(text, { channel }).pipe(Effect.catchAll((e) => Effect.logWarning(e.message)))
    yield* Effect.all([
      commands.pipe(Commands.run(client.chatMessages(channel))),
      Stream.runForEach(client.follows(channel), (f) => thank(`Thanks for the follow, ${f.user_name}!`)),
      Stream.runForEach(
        (yield* EventSub.EventSub).subscriptions(channel),
        (s) => thank(`Thanks for subscribing, ${s.user_name}!`)
      )
    ], { concurrency: "unbounded" })
  })

// ------------------------------------------------------------------------------------------------ running it

/** Simulator only: a viewer tries the commands, follows and subscribes; returns once the bot said `expected` lines. */
const stage = (sim: Env.Sim, channel: string, botId: string) =>
  Effect.gen(function*() {
    const viewer = sim.users.viewer
    yield* sim.setStream(channel, { startedAt: new Date(Date.now() - 83 * 60_000).toISOString() })
    for (const type of ["channel.chat.message", "channel.follow", "channel.subscribe"]) {
      yield* Env.awaitSubscription(sim, type)
    }
    for (const text of ["!ping", "!uptime", "!nope", "!help"]) {
      yield* Console.log(`simviewer: ${text}`)
      yield* Env.simulateChat(sim, channel, viewer, text)
    }
    yield* Env.simulateFollow(sim, channel, viewer)
    yield* Env.simulateSubscribe(sim, channel, viewer)
    const said = yield* Env.awaitChatMessages(sim, botId, 5)
    for (const line of said) yield* Console.log(`bot said: ${line}`)
  })

const main = Effect.gen(function*() {
  const client = yield* Client.Client
  const channel = yield* Env.channel(client.user)
  const simulator = yield* Env.simulator
  yield* Console.log(`Answering !ping and !uptime in ${channel.login}'s chat, thanking followers and subscribers…`)
  if (Option.isNone(simulator)) return yield* bot(channel.id)
  yield* Effect.raceFirst(
    Effect.andThen(bot(channel.id), Effect.never),
    stage(simulator.value, channel.id, client.user.id)
  ).pipe(
    Effect.timeoutFail({
      duration: "30 seconds",
      onTimeout: () => new Env.ExampleError({ message: "the bot fell silent" })
    })
  )
})

if (Env.isMain(import.meta.url)) {
  const program = Effect.gen(function*() {
    const userId = yield* Env.user({ scopes })
    yield* main.pipe(Effect.provide(NodeTwitch.layerClient({ userId, scopes })))
  })
  Env.run(program.pipe(Effect.provide(Env.layerTwitch)))
}
