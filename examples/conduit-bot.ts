/**
 * Conduit bot: one bot, N copies (processes), one EventSub conduit. Each copy serves its share of the
 * conduit's shards; `!ping` in the channel's chat is answered `pong` by whichever copy Twitch routes the
 * message to. Tokens live in PostgreSQL (`DATABASE_URL`): the copies share them, and one refreshes for all.
 * With PostgreSQL the copies also hold shard leases there: kill one, and the others take over its shards.
 *
 *   npx tsx examples/conduit-bot.ts
 *
 * Without TWITCH_CLIENT_ID it runs one copy against the local simulator (tokens in a SQLite file): a
 * viewer writes `!ping`, the bot answers, the example ends.
 * With TWITCH_CLIENT_ID (and TWITCH_CLIENT_SECRET: conduits need the app token) it runs until Ctrl-C:
 *
 *   CONDUIT_SHARDS=0/3 DATABASE_URL=postgres://… npx tsx examples/conduit-bot.ts   # and 1/3, 2/3
 *
 * Environment: CONDUIT_SHARDS (`index/total`, default 0/1), CONDUIT_SHARD_COUNT (default: total),
 * DATABASE_URL (PostgreSQL: tokens and shard leases; else SQLite in TOKENS_DB, one process only).
 * The README ("Scaling out: conduits") shows three copies against a standalone simulator.
 */
import { Config, Console, Effect, Layer, Option, Stream } from "effect"
import type { Scopes } from "effect-twitch"
import { AccessTokens, Client, Helix, OAuth } from "effect-twitch"
import * as EventSubConduit from "effect-twitch/EventSubConduit"
import * as EventSubConduitSql from "effect-twitch/EventSubConduitSql"
import * as NodeTwitch from "effect-twitch/NodeTwitch"
import * as TokenStoreSql from "effect-twitch/TokenStoreSql"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Env from "./internal/env.js"

export const scopes: ReadonlyArray<Scopes.Scope> = ["user:read:chat", "user:write:chat", "user:bot", "channel:bot"]

/** The bot: every `!ping` in the channel's chat gets a `pong`. */
export const pingPong = (channelId: string) =>
  Stream.unwrap(Effect.map(Client.Client, (client) =>
    client.chatMessages(channelId).pipe(
      Stream.filter((message) => message.message.text.trim() === "!ping"),
      Stream.mapEffect((message) =>
        Effect.as(client.sendMessage("pong", { channel: channelId, replyTo: message.message_id }), message)
      )
    )))

/** `index/total` from CONDUIT_SHARDS. */
const shards = Effect.map(
  Config.withDefault(Config.string("CONDUIT_SHARDS"), "0/1"),
  (text) => {
    const [index = 0, total = 1] = text.split("/").map(Number)
    return { index, total }
  }
)

/**
 * Tokens and shard leases. Against Twitch: PostgreSQL when DATABASE_URL is set (shared by the copies),
 * else SQLite and this process's shards only. Against the in-process simulator: SQLite (one process).
 */
const databaseUrl = Config.option(Config.redacted("DATABASE_URL"))
const sqlite = TokenStoreSql.layerSqlite(process.env.TOKENS_DB ?? Path.join(Os.tmpdir(), "conduit-bot-tokens.db"))
const tokens = Layer.unwrapEffect(
  Effect.map(databaseUrl, (url) =>
    Option.match(url, {
      onNone: () => sqlite,
      onSome: (url) => TokenStoreSql.layerPg({ url })
    }))
)
const leases = Layer.unwrapEffect(Effect.gen(function*() {
  const url = yield* databaseUrl
  const inSimulator = Option.isSome(yield* Env.simulator)
  return Option.isNone(url) || inSimulator
    ? EventSubConduit.layerStaticLeases
    : EventSubConduitSql.layerPg({ url: url.value })
}))

/** The client over the conduit: `EventSubConduit.layer` in place of the WebSocket `EventSub`. */
const layerBot = (userId: string) =>
  Layer.unwrapEffect(Effect.gen(function*() {
    const { index, total } = yield* shards
    const shardCount = yield* Config.withDefault(Config.integer("CONDUIT_SHARD_COUNT"), total)
    return Layer.scoped(Client.Client, Client.make({ userId })).pipe(
      Layer.provideMerge(EventSubConduit.layer({ shardCount, shards: { index, total }, defaultUser: userId })),
      Layer.provide(leases),
      Layer.provideMerge(Helix.layer({ defaultUser: userId })),
      Layer.provideMerge(AccessTokens.layer()),
      Layer.provideMerge(OAuth.layer()),
      Layer.provide(NodeTwitch.layerPlatform)
    )
  }))

const main = Effect.gen(function*() {
  const client = yield* Client.Client
  const conduit = yield* EventSubConduit.EventSubConduit
  const channel = yield* Env.channel(client.user)
  yield* Console.log(
    `Conduit ${conduit.conduitId}: this copy serves shard(s) ${conduit.configured.join(", ")} of ` +
      `${conduit.shardCount}; answering !ping in ${channel.login}'s chat…`
  )
  const answered = pingPong(channel.id)
  const print = Stream.runForEach(
    (m: Stream.Stream.Success<typeof answered>) => Console.log(`${m.chatter_user_login}: !ping → pong`)
  )
  const simulator = yield* Env.simulator
  if (Option.isNone(simulator)) return yield* print(answered)

  // Simulator only: a viewer writes !ping once the bot listens; the example stops after answering.
  const sim = simulator.value
  const stage = Env.awaitSubscription(sim, "channel.chat.message").pipe(
    Effect.zipRight(Env.simulateChat(sim, channel.id, sim.users.viewer, "!ping"))
  )
  yield* Effect.all([print(Stream.take(answered, 1)), stage], { concurrency: 2, discard: true }).pipe(
    Effect.timeoutFail({ duration: "30 seconds", onTimeout: () => new Env.ExampleError({ message: "no !ping seen" }) })
  )
})

if (Env.isMain(import.meta.url)) {
  const program = Effect.gen(function*() {
    const userId = yield* Env.user({ scopes }) // the bot: simbroadcaster in the simulator, or see the README
    yield* main.pipe(Effect.provide(layerBot(userId)))
  })
  // the SQL token store (shared by the copies) in place of the token file
  Env.run(program.pipe(Effect.provide(Env.layerTwitchWithStore({ onTwitch: tokens, onSimulator: sqlite }))))
}
