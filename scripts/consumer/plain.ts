/**
 * The baseline for `npm run bench -- consumer`: a bot of the same size and shape as `bot.ts` (services,
 * Schema models, Streams, tagged errors, layers, Config) written with Effect and @effect/platform
 * alone, no effect-twitch. Its typecheck time is what the bot's is compared with.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { Config, Console, Context, Duration, Effect, Layer, Option, PubSub, Schedule, Schema, Stream } from "effect"

class User extends Schema.Class<User>("User")({
  id: Schema.String,
  login: Schema.String,
  displayName: Schema.propertySignature(Schema.String).pipe(Schema.fromKey("display_name")),
  createdAt: Schema.propertySignature(Schema.DateTimeUtc).pipe(Schema.fromKey("created_at"))
}) {}
const Follow = Schema.Struct({ user_id: Schema.String, user_name: Schema.String, followed_at: Schema.String })
const ChatMessage = Schema.Struct({
  message_id: Schema.String,
  chatter_user_id: Schema.String,
  broadcaster_user_id: Schema.String,
  message: Schema.Struct({ text: Schema.String })
})
const Raid = Schema.Struct({ from_broadcaster_user_id: Schema.String, viewers: Schema.Number })
export const Event = Schema.Union(
  Schema.TaggedStruct("Follow", { event: Follow }),
  Schema.TaggedStruct("Chat", { event: ChatMessage }),
  Schema.TaggedStruct("Raid", { event: Raid })
)
type ChatMessage = typeof ChatMessage.Type

class Forbidden extends Schema.TaggedError<Forbidden>()("Forbidden", { missingScopes: Schema.Array(Schema.String) }) {}
class Dropped extends Schema.TaggedError<Dropped>()("Dropped", { reason: Schema.String }) {}
class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", { resetAt: Schema.Number }) {}
type ApiError = Forbidden | Dropped | RateLimited

class Api extends Context.Tag("Api")<Api, {
  readonly self: User
  readonly say: (text: string, replyTo?: string) => Effect.Effect<void, ApiError>
  readonly whisper: (to: string, text: string) => Effect.Effect<void, ApiError>
  readonly user: (id: string) => Effect.Effect<Option.Option<User>, ApiError>
  readonly followerCount: (id: string) => Effect.Effect<number, ApiError>
  readonly events: Stream.Stream<typeof Event.Type>
}>() {}

const say = (api: Api["Type"], text: string, replyTo?: string) =>
  api.say(text, replyTo).pipe(
    Effect.catchTag("Dropped", (dropped) => Effect.logWarning(`dropped: ${dropped.reason}`)),
    Effect.retry({ while: (error) => error._tag === "RateLimited", times: 3 })
  )

type Command = (message: ChatMessage) => Effect.Effect<string, ApiError, Api>
const commands: Record<string, Command> = {
  "!followers": (message) =>
    Effect.flatMap(Api, (api) => api.followerCount(message.broadcaster_user_id)).pipe(
      Effect.map((n) => `${n} followers`)
    ),
  "!whoami": (message) =>
    Effect.flatMap(Api, (api) => api.user(message.chatter_user_id)).pipe(
      Effect.map(
        Option.match({ onNone: () => "nobody", onSome: (user) => `${user.displayName}, since ${user.createdAt}` })
      )
    )
}

const bot = Effect.gen(function*() {
  const api = yield* Api
  yield* api.events.pipe(
    Stream.mapEffect((event) => {
      switch (event._tag) {
        case "Follow":
          return say(api, `Thanks for the follow, ${event.event.user_name}!`)
        case "Raid":
          return api.whisper(event.event.from_broadcaster_user_id, `Thanks for the raid of ${event.event.viewers}!`)
        case "Chat": {
          const command = commands[event.event.message.text.split(" ")[0] ?? ""]
          if (command === undefined || event.event.chatter_user_id === api.self.id) return Effect.void
          return command(event.event).pipe(
            Effect.catchTag("Forbidden", (e) => Effect.succeed(`I lack ${e.missingScopes.join(", ")}`)),
            Effect.flatMap((answer) => say(api, answer, event.event.message_id))
          )
        }
      }
    }),
    Stream.runDrain
  )
}).pipe(Effect.retry(Schedule.exponential(Duration.seconds(1)).pipe(Schedule.upTo("1 minute"))))

const ApiLive = Layer.scoped(
  Api,
  Effect.gen(function*() {
    const base = yield* Config.string("API_URL").pipe(Config.withDefault("http://127.0.0.1:8080"))
    const client = (yield* HttpClient.HttpClient).pipe(HttpClient.mapRequest(HttpClientRequest.prependUrl(base)))
    const get = <A, I>(schema: Schema.Schema<A, I>, path: string) =>
      client.get(path).pipe(Effect.flatMap(HttpClientResponse.schemaBodyJson(schema)), Effect.orDie)
    const post = (path: string, body: unknown) =>
      HttpClientRequest.post(path).pipe(
        HttpClientRequest.bodyUnsafeJson(body),
        client.execute,
        Effect.asVoid,
        Effect.orDie
      )
    const self = yield* get(User, "/me")
    const hub = yield* PubSub.bounded<typeof Event.Type>(1024)
    return Api.of({
      self,
      say: (text, replyTo) => post("/chat", { text, replyTo }),
      whisper: (to, text) => post("/whispers", { to, text }),
      user: (id) => Effect.map(get(Schema.Array(User), `/users?id=${id}`), (users) => Option.fromNullable(users[0])),
      followerCount: (id) =>
        get(Schema.Struct({ total: Schema.Number }), `/followers?id=${id}`).pipe(Effect.map((r) => r.total)),
      events: Stream.fromPubSub(hub)
    })
  })
)

bot.pipe(
  Effect.tapErrorCause(Console.error),
  Effect.provide(ApiLive.pipe(Layer.provide(FetchHttpClient.layer))),
  NodeRuntime.runMain
)
