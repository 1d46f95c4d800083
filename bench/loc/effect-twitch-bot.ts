/**
 * The bot of issue 15 with effect-twitch, for the lines-of-code comparison (`npm run bench -- loc`):
 * `!ping`, `!uptime` (and the generated `!help`), thanks for follows and subscriptions, the token in
 * a token file, status logged. Runs against Twitch (TWITCH_CLIENT_ID, TWITCH_CLIENT_SECRET) as the
 * broadcaster. Not shipped; `examples/commands-bot.ts` is the same bot, runnable against the simulator.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect, Layer, Option, Stream } from "effect"
import { Client, Commands, EventSub, HelixApi, TwitchConfig } from "effect-twitch"
import * as NodeTwitch from "effect-twitch/NodeTwitch"

const scopes = ["user:read:chat", "user:write:chat", "moderator:read:followers", "channel:read:subscriptions"] as const

const uptime = (channel: string) =>
  Effect.map(Stream.runHead(HelixApi.Streams.getStreams({ user_id: [channel] })), (stream) => {
    if (Option.isNone(stream)) return "The stream is offline."
    const minutes = Math.floor((Date.now() - Date.parse(stream.value.started_at)) / 60_000)
    return `Live for ${Math.floor(minutes / 60)}h ${minutes % 60}m.`
  })

const commands = Commands.make().pipe(
  Commands.add("ping", () => "pong"),
  Commands.add("uptime", (ctx) => uptime(ctx.channel))
)

const bot = Effect.gen(function*() {
  const client = yield* Client.Client
  const thank = (text: string) =>
    client.sendMessage(text).pipe(
      Effect.zipRight(Effect.log(`said: ${text}`)),
      Effect.catchAll((e) => Effect.logWarning(e.message))
    )
  yield* Effect.log(`running as ${client.user.login}`)
  yield* Effect.all([
    commands.pipe(
      Commands.outcomes(client.chatMessages()),
      Stream.runForEach((o) => Effect.log(`${o.command}: ${o._tag} ${o.answered ?? ""}`))
    ),
    Stream.runForEach(client.follows(), (f) => thank(`Thanks for the follow, ${f.user_name}!`)),
    Stream.runForEach(
      (yield* EventSub.EventSub).subscriptions(client.user.id),
      (s) => thank(`Thanks for subscribing, ${s.user_name}!`)
    )
  ], { concurrency: "unbounded" })
})

const TwitchLive = NodeTwitch.layerClient({ scopes }).pipe(
  Layer.provide(NodeTwitch.layerTokenFile(".twitch-tokens.json")),
  Layer.provide(TwitchConfig.layerConfig())
)

bot.pipe(Effect.provide(TwitchLive), NodeRuntime.runMain)
