/**
 * A consumer's bot, about 100 lines, written against the published package only: typechecked by
 * `npm run smoke` under strict consumer settings (NodeNext and Bundler resolution, no skipLibCheck),
 * and timed by `npm run bench -- consumer` beside `plain.ts`, an Effect program of the same size.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import type { ConfigError } from "effect"
import { Config, Console, Duration, Effect, Layer, Option, Schedule, Stream } from "effect"
import { Client, EventSub, EventSubTypes, Helix, HelixApi, Scopes, TokenStore, TwitchConfig } from "effect-twitch"
import * as NodeTwitch from "effect-twitch/NodeTwitch"
import { Simulator } from "effect-twitch/testing"

const scopes = [
  Scopes.MODERATOR_READ_FOLLOWERS,
  Scopes.USER_WRITE_CHAT,
  Scopes.USER_READ_CHAT,
  Scopes.USER_MANAGE_WHISPERS
]

/** Says `text` in the channel; a dropped message (AutoMod, a ban) is logged, not fatal. */
const say = (client: Client.Client.Service, text: string, replyTo?: string) =>
  client.sendMessage(text, { replyTo }).pipe(
    Effect.asVoid,
    Effect.catchTag("ChatMessageDropped", (dropped) => Effect.logWarning(`dropped: ${dropped.message}`)),
    Effect.retry({ while: (error) => error._tag === "HelixRateLimited", times: 3 })
  )

/** Every follow becomes a thank-you. */
const thankFollowers = Effect.gen(function*() {
  const client = yield* Client.Client
  yield* client.follows().pipe(
    Stream.mapEffect((follow) => say(client, `Thanks for the follow, ${follow.user_name}!`)),
    Stream.runDrain
  )
})

type Command = (message: Client.ChatMessage) => Effect.Effect<string, Helix.HelixFailure, Helix.Helix>

const commands: Record<string, Command> = {
  "!followers": (message) =>
    Helix.use((helix) =>
      helix.request(HelixApi.Channels.getChannelFollowers, { broadcaster_id: message.broadcaster_user_id })
    ).pipe(Effect.map((page) => `${page.total} followers`)),
  "!whoami": (message) =>
    HelixApi.Users.getUsers({ id: [message.chatter_user_id] }).pipe(
      Effect.map(([user]) => user === undefined ? "nobody" : `${user.display_name}, since ${user.created_at}`)
    )
}

/** Chat commands, answered as replies; a missing scope is said in chat instead of failing the bot. */
const answerCommands = Effect.gen(function*() {
  const client = yield* Client.Client
  yield* client.chatMessages().pipe(
    Stream.filter((message) => message.chatter_user_id !== client.user.id),
    Stream.mapEffect((message) => {
      const command = commands[message.message.text.split(" ")[0] ?? ""]
      if (command === undefined) return Effect.void
      return command(message).pipe(
        Effect.catchTag("HelixForbidden", (e) => Effect.succeed(`I lack ${e.missingScopes.join(", ")}`)),
        Effect.flatMap((answer) => say(client, answer, message.message_id))
      )
    }),
    Stream.runDrain
  )
})

/** Raids, through EventSub directly, with the raider greeted by whisper as the bot's user. */
const greetRaiders = Effect.gen(function*() {
  const client = yield* Client.Client
  const eventSub = yield* EventSub.EventSub
  const raids: Stream.Stream<EventSubTypes.Event<typeof EventSubTypes.ChannelRaidV1>, EventSub.EventSubError> = eventSub
    .subscribe(EventSubTypes.ChannelRaidV1, { to_broadcaster_user_id: client.user.id })
  yield* raids.pipe(
    Stream.mapEffect((raid) =>
      client.whisper(raid.from_broadcaster_user_id, `Thanks for the raid of ${raid.viewers}!`).pipe(
        Effect.catchTags({ MissingScopes: Effect.logWarning, HelixForbidden: Effect.logWarning })
      )
    ),
    Stream.runDrain,
    Effect.catchTag("EventSubRevoked", (revoked) => Console.log(`raids revoked: ${revoked.status}`))
  )
})

/** Rotated tokens, as the store sees them. */
const watchTokens = Effect.flatMap(
  TokenStore.TokenStore,
  (store) => Stream.runForEach(store.changes, (change) => Effect.log(`token ${change._tag}`))
)

const bot = Effect.all([thankFollowers, answerCommands, greetRaiders, watchTokens], { concurrency: "unbounded" }).pipe(
  Effect.retry(Schedule.exponential(Duration.seconds(1)).pipe(Schedule.upTo("1 minute")))
)

type BotLayer = Layer.Layer<
  Client.Client | EventSub.EventSub | Helix.Helix | TokenStore.TokenStore,
  Client.ClientError | TokenStore.TokenStoreError | ConfigError.ConfigError | Simulator.SimulatorError
>

/** Against Twitch: `TWITCH_*` from the environment, tokens in a file. */
const TwitchLive: BotLayer = NodeTwitch.layerClient({ scopes }).pipe(
  Layer.provideMerge(NodeTwitch.layerTokenFile(".twitch-tokens.json")),
  Layer.provide(TwitchConfig.layerConfig())
)

/** Against the local simulator: its config and a token for its broadcaster. */
const SimulatorLive: BotLayer = NodeTwitch.layerClient({ scopes }).pipe(
  Layer.provideMerge(Simulator.layerTokenStore([Simulator.defaultUsers.broadcaster])),
  Layer.provide(Simulator.layerTwitchConfig),
  Layer.provide(Simulator.layer())
)

const MainLive = Layer.unwrapEffect(
  Effect.map(Config.option(Config.string("TWITCH_CLIENT_ID")), (id) => Option.isSome(id) ? TwitchLive : SimulatorLive)
)

/** The types are real (an `any` would let these through, and the unused `@ts-expect-error` would fail). */
export const misuses = (client: Client.Client.Service, helix: Helix.Helix.Service) => [
  // @ts-expect-error: "NoSuchError" is not an error sendMessage can fail with
  client.sendMessage("hi").pipe(Effect.catchTag("NoSuchError", () => Effect.void)),
  // @ts-expect-error: user ids are strings
  HelixApi.Users.getUsers({ id: [42] }),
  // @ts-expect-error: Send Chat Message needs the channel
  helix.request(HelixApi.Chat.sendChatMessage, { message: "hi" })
]

bot.pipe(Effect.provide(MainLive), NodeRuntime.runMain)
