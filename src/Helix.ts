/**
 * Twitch's REST API (Helix) as an Effect service.
 *
 * Callers never handle a token, a rate limit or a cursor: tokens come from `AccessTokens` (a 401 is
 * answered by one refresh and one retry), requests wait for the token's rate-limit bucket, 5xx and
 * transport failures are retried on a jittered schedule, lists are `Stream`s that fetch page by page.
 *
 * Whose token a call uses is a context, not a parameter:
 *
 * ```ts
 * helix.getUserById("1").pipe(Helix.withUser("42")) // as user 42
 * helix.getUserById("1").pipe(Helix.withApp)        // with the app token
 * helix.getUserById("1")                            // the `defaultUser` option, else the app token
 * ```
 *
 * `withUser` / `withApp` apply to a single call, a whole program, or a `Stream`.
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpMethod from "@effect/platform/HttpMethod"
import * as UrlParams from "@effect/platform/UrlParams"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { AccessTokensError } from "./AccessTokens.js"
import { AccessTokens } from "./AccessTokens.js"
import { formatPath, TaggedError } from "./internal/errors.js"
import * as RateLimiter from "./internal/helixRateLimiter.js"
import type { RateLimitHeaders } from "./internal/helixRateLimitHeaders.js"
import { mentionsScope, scopesIn } from "./internal/helixScopes.js"
import * as Timeouts from "./internal/helixTimeouts.js"
import { parseJsonWith } from "./internal/json.js"
import type { AppToken, UserToken } from "./Token.js"
import { TwitchConfig } from "./TwitchConfig.js"

// -----------------------------------------------------------------------------
// errors
// -----------------------------------------------------------------------------

const describe = (self: {
  readonly method: string
  readonly endpoint: string
  readonly status: number
  readonly error?: string | undefined
  readonly twitchMessage?: string | undefined
}): string => {
  const head = `Helix.${self.method} (${self.endpoint})`
  const status = self.status > 0 ? ` ${self.status}` : ""
  const error = self.error !== undefined && self.error !== "" ? ` ${self.error}` : ""
  const message = self.twitchMessage !== undefined && self.twitchMessage !== "" ? `: ${self.twitchMessage}` : ""
  return `${head}:${status}${error}${message}`
}

/**
 * Fields every Helix error has: which call, which endpoint, and Twitch's `{error, status, message}`
 * body when there was one (`status` is the HTTP status, `0` when no answer was involved).
 */
const ResponseFields = {
  method: Schema.String,
  endpoint: Schema.String,
  status: Schema.Number,
  error: Schema.optional(Schema.String),
  twitchMessage: Schema.optional(Schema.String)
}

const Tagged = TaggedError("Helix")

/**
 * 400, 422 and other 4xx answers not covered by a more specific error.
 *
 * @since 0.1.0
 * @category errors
 */
export class HelixBadRequest extends Tagged<HelixBadRequest>()("HelixBadRequest", ResponseFields) {
  /** @since 0.1.0 */
  override get message(): string {
    return describe(this)
  }
}

/**
 * 401 that one refresh of the token did not cure.
 *
 * @since 0.1.0
 * @category errors
 */
export class HelixUnauthorized extends Tagged<HelixUnauthorized>()("HelixUnauthorized", ResponseFields) {
  /** @since 0.1.0 */
  override get message(): string {
    return describe(this)
  }
}

/**
 * The token lacks a scope (checked before sending when the endpoint's scopes are fixed, or reported
 * by Twitch), or the user may not do this. `missingScopes` names the scopes when known.
 *
 * @since 0.1.0
 * @category errors
 */
export class HelixForbidden
  extends Tagged<HelixForbidden>()("HelixForbidden", { ...ResponseFields, missingScopes: Schema.Array(Schema.String) })
{
  /** @since 0.1.0 */
  override get message(): string {
    const scopes = this.missingScopes.length > 0 ? ` (missing scope ${this.missingScopes.join(" or ")})` : ""
    return describe(this) + scopes
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export class HelixNotFound extends Tagged<HelixNotFound>()("HelixNotFound", ResponseFields) {
  /** @since 0.1.0 */
  override get message(): string {
    return describe(this)
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export class HelixConflict extends Tagged<HelixConflict>()("HelixConflict", ResponseFields) {
  /** @since 0.1.0 */
  override get message(): string {
    return describe(this)
  }
}

/**
 * 429 after the bounded number of waits until `Ratelimit-Reset` (or a reset too far away).
 * `resetAt` is when the bucket is full again, in epoch milliseconds of the local clock (Twitch's reset
 * read against the answer's `Date`), when Twitch sent a plausible one.
 *
 * @since 0.1.0
 * @category errors
 */
export class HelixRateLimited
  extends Tagged<HelixRateLimited>()("HelixRateLimited", { ...ResponseFields, resetAt: Schema.optional(Schema.Number) })
{
  /** @since 0.1.0 */
  override get message(): string {
    return describe(this)
  }
}

/**
 * 5xx after the bounded retries.
 *
 * @since 0.1.0
 * @category errors
 */
export class HelixServerError extends Tagged<HelixServerError>()("HelixServerError", ResponseFields) {
  /** @since 0.1.0 */
  override get message(): string {
    return describe(this)
  }
}

/**
 * No complete answer within `TwitchConfig.requestTimeout`; or (`waitedForRateLimit`) the call waited that
 * long for its token's rate-limit bucket while the bucket released nothing, and was not sent. A long
 * queue that moves at the bucket's refill rate does not time out.
 *
 * @since 0.1.0
 * @category errors
 */
export class HelixTimeout extends Tagged<HelixTimeout>()("HelixTimeout", {
  method: Schema.String,
  endpoint: Schema.String,
  timeoutMillis: Schema.Number,
  waitedForRateLimit: Schema.optional(Schema.Boolean)
}) {
  /** @since 0.1.0 */
  override get message(): string {
    return this.waitedForRateLimit === true
      ? `Helix.${this.method} (${this.endpoint}): not sent, the rate-limit queue did not move for ${this.timeoutMillis} ms`
      : `Helix.${this.method} (${this.endpoint}): no answer within ${this.timeoutMillis} ms`
  }
}

/**
 * The request could not be sent or the answer could not be read (connection refused, reset, …),
 * after the bounded retries.
 *
 * @since 0.1.0
 * @category errors
 */
export class HelixTransportError extends Tagged<HelixTransportError>()("HelixTransportError", {
  method: Schema.String,
  endpoint: Schema.String,
  description: Schema.String
}) {
  /** @since 0.1.0 */
  override get message(): string {
    return `Helix.${this.method} (${this.endpoint}): ${this.description}`
  }
}

/**
 * The answer did not match the endpoint's schema: not JSON (an HTML error page, a truncated body),
 * or a field missing or of the wrong type. `path` names the field, e.g. `data[0].display_name`.
 *
 * @since 0.1.0
 * @category errors
 */
export class HelixDecodeError extends Tagged<HelixDecodeError>()("HelixDecodeError", {
  method: Schema.String,
  endpoint: Schema.String,
  status: Schema.Number,
  path: Schema.String,
  description: Schema.String
}) {
  /** @since 0.1.0 */
  override get message(): string {
    const at = this.path === "" ? "" : ` at ${this.path}`
    return `Helix.${this.method} (${this.endpoint}): unexpected answer${at}: ${this.description}`
  }
}

/**
 * The call needs a user (sender, moderator, …) and runs with the app token without one given:
 * run it under `Helix.withUser(userId)` or pass the id.
 *
 * @since 0.1.0
 * @category errors
 */
export class HelixUserRequired extends Tagged<HelixUserRequired>()("HelixUserRequired", {
  method: Schema.String,
  endpoint: Schema.String,
  description: Schema.String
}) {
  /** @since 0.1.0 */
  override get message(): string {
    return `Helix.${this.method} (${this.endpoint}): ${this.description}`
  }
}

/**
 * `POST /chat/messages` answered 200 with `is_sent: false`: Twitch dropped the message.
 *
 * @since 0.1.0
 * @category errors
 */
export class ChatMessageDropped extends Tagged<ChatMessageDropped>()("ChatMessageDropped", {
  method: Schema.String,
  endpoint: Schema.String,
  broadcasterId: Schema.String,
  messageId: Schema.String,
  code: Schema.String,
  reason: Schema.String
}) {
  /** @since 0.1.0 */
  override get message(): string {
    return `Helix.${this.method} (${this.endpoint}): message dropped in channel ${this.broadcasterId}: ${this.code}: ${this.reason}`
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export type HelixError =
  | HelixBadRequest
  | HelixUnauthorized
  | HelixForbidden
  | HelixNotFound
  | HelixConflict
  | HelixRateLimited
  | HelixServerError
  | HelixTimeout
  | HelixTransportError
  | HelixDecodeError
  | HelixUserRequired
  | ChatMessageDropped

/**
 * @since 0.1.0
 * @category errors
 */
export const HelixError: Schema.Union<[
  typeof HelixBadRequest,
  typeof HelixUnauthorized,
  typeof HelixForbidden,
  typeof HelixNotFound,
  typeof HelixConflict,
  typeof HelixRateLimited,
  typeof HelixServerError,
  typeof HelixTimeout,
  typeof HelixTransportError,
  typeof HelixDecodeError,
  typeof HelixUserRequired,
  typeof ChatMessageDropped
]> = Schema.Union(
  HelixBadRequest,
  HelixUnauthorized,
  HelixForbidden,
  HelixNotFound,
  HelixConflict,
  HelixRateLimited,
  HelixServerError,
  HelixTimeout,
  HelixTransportError,
  HelixDecodeError,
  HelixUserRequired,
  ChatMessageDropped
)

/**
 * What a Helix call can fail with: a `HelixError`, or the token could not be had
 * (`TokenNotFound`, `TokenDead`, …, passed through from `AccessTokens`).
 *
 * @since 0.1.0
 * @category errors
 */
export type HelixFailure = HelixError | AccessTokensError

// -----------------------------------------------------------------------------
// user context
// -----------------------------------------------------------------------------

/**
 * Whose token calls run with.
 *
 * @since 0.1.0
 * @category models
 */
export type Principal =
  | { readonly _tag: "Default" }
  | { readonly _tag: "User"; readonly userId: string }
  | { readonly _tag: "App" }

/**
 * The principal of the current fiber (default: `Default`, i.e. the `defaultUser` option, else the app).
 *
 * @since 0.1.0
 * @category context
 */
export class CurrentPrincipal extends Context.Reference<CurrentPrincipal>()("effect-twitch/Helix/CurrentPrincipal", {
  defaultValue: (): Principal => ({ _tag: "Default" })
}) {}

/**
 * Applies to an `Effect` or a `Stream` and returns the same type.
 *
 * @since 0.1.0
 * @category models
 */
export type WithPrincipal = <
  Self extends Effect.Effect<unknown, unknown, unknown> | Stream.Stream<unknown, unknown, unknown>
>(self: Self) => Self

const withPrincipal = (principal: Principal): WithPrincipal =>
<
  Self extends Effect.Effect<unknown, unknown, unknown> | Stream.Stream<unknown, unknown, unknown>
>(self: Self): Self =>
  // effects carry a StreamTypeId too: test for an effect first
  (Effect.isEffect(self)
    ? Effect.provideService(self, CurrentPrincipal, principal)
    : Stream.provideService(self as Stream.Stream<unknown, unknown, unknown>, CurrentPrincipal, principal)) as Self

/**
 * Runs the Helix calls of an effect or stream with the user's token (from `AccessTokens`); calls
 * that act as a user (chat sender, moderator, whisper sender) act as this user unless told otherwise.
 *
 * @example
 * ```ts
 * import { Helix } from "effect-twitch"
 * import { Effect } from "effect"
 *
 * const user = Effect.flatMap(Helix.Helix, (helix) => helix.getUserById("1")).pipe(Helix.withUser("42"))
 * ```
 *
 * @since 0.1.0
 * @category context
 */
export const withUser = (userId: string): WithPrincipal => withPrincipal({ _tag: "User", userId })

/**
 * The user id set by the innermost `withUser` around the current fiber (`undefined`: none, or
 * `withApp`). The service's `actingUserId` also accounts for its `defaultUser` option.
 *
 * @since 0.1.0
 * @category context
 */
export const currentUserId: Effect.Effect<string | undefined> = Effect.map(
  CurrentPrincipal,
  (principal) => principal._tag === "User" ? principal.userId : undefined
)

/**
 * Runs the Helix calls of an effect or stream with the app token.
 *
 * @since 0.1.0
 * @category context
 */
export const withApp: WithPrincipal = withPrincipal({ _tag: "App" })

// -----------------------------------------------------------------------------
// endpoints
// -----------------------------------------------------------------------------

/**
 * One Helix operation: method, path, how the input becomes query and body, which scopes a user token
 * needs, and the schema of the answer (`undefined` for 204 No Content). Build with {@link endpoint};
 * run with `Helix.request` / `Helix.paginate`.
 *
 * @since 0.1.0
 * @category endpoints
 */
export interface Endpoint<in I, out A> {
  readonly name: string
  readonly method: HttpMethod.HttpMethod
  readonly path: string
  /** All required when the call runs with a user token (checked before sending). */
  readonly scopes: ReadonlyArray<string>
  /** Largest `first` the endpoint accepts when paginated; `undefined`: it takes no `first`. */
  readonly pageSize: number | undefined
  readonly query: (input: I) => UrlParams.Input
  readonly body: ((input: I) => unknown) | undefined
  readonly decode: ((text: string) => Effect.Effect<A, ParseResult.ParseError>) | undefined
}

/**
 * @since 0.1.0
 * @category endpoints
 */
export interface EndpointOptions<I> {
  readonly name: string
  readonly method: HttpMethod.HttpMethod
  readonly path: string
  readonly scopes?: ReadonlyArray<string> | undefined
  readonly pageSize?: number | undefined
  readonly query?: ((input: I) => UrlParams.Input) | undefined
  readonly body?: ((input: I) => unknown) | undefined
}

/**
 * Declares an endpoint. The response schema is compiled once, here.
 *
 * @since 0.1.0
 * @category endpoints
 */
export const endpoint: {
  <I, A, IA>(options: EndpointOptions<I> & { readonly response: Schema.Schema<A, IA> }): Endpoint<I, A>
  <I>(options: EndpointOptions<I>): Endpoint<I, void>
} = <I, A, IA>(
  options: EndpointOptions<I> & { readonly response?: Schema.Schema<A, IA> | undefined }
): Endpoint<I, A> => ({
  name: options.name,
  method: options.method,
  path: options.path,
  scopes: options.scopes ?? [],
  pageSize: options.pageSize,
  query: options.query ?? (() => []),
  body: options.body,
  decode: options.response === undefined
    ? undefined
    // an `Either` is an `Effect`: decoding runs synchronously, without a fiber step per schema node
    : Schema.decodeUnknownEither(parseJsonWith(options.response), { errors: "first", onExcessProperty: "ignore" })
})

/**
 * What a paginated endpoint answers.
 *
 * @since 0.1.0
 * @category endpoints
 */
export interface PageLike<A> {
  readonly data: ReadonlyArray<A>
  readonly pagination?: { readonly cursor?: string | null | undefined } | null | undefined
}

const field = <S extends Schema.Schema.All>(key: string, schema: S) =>
  Schema.propertySignature(schema).pipe(Schema.fromKey(key))
const optionalField = <S extends Schema.Schema.All>(key: string, schema: S) =>
  Schema.optional(schema).pipe(Schema.fromKey(key))

/**
 * `pagination: { cursor }`; absent, `{}` or an empty cursor means no more pages.
 *
 * @since 0.1.0
 * @category models
 */
export const Pagination = Schema.Struct({ cursor: Schema.optional(Schema.NullOr(Schema.String)) })

const pageOf = <A, IA>(item: Schema.Schema<A, IA>) =>
  Schema.Struct({ data: Schema.Array(item), pagination: Schema.optional(Schema.NullOr(Pagination)) })

const dataOf = <A, IA>(item: Schema.Schema<A, IA>) => Schema.Struct({ data: Schema.Array(item) })

// --- users -------------------------------------------------------------------

/**
 * @since 0.1.0
 * @category models
 */
export class User extends Schema.Class<User>("effect-twitch/Helix/User")({
  id: Schema.String,
  login: Schema.String,
  displayName: field("display_name", Schema.String),
  /** `admin`, `global_mod`, `staff` or `""`. */
  type: Schema.String,
  /** `affiliate`, `partner` or `""`. */
  broadcasterType: field("broadcaster_type", Schema.String),
  description: Schema.String,
  profileImageUrl: field("profile_image_url", Schema.String),
  offlineImageUrl: field("offline_image_url", Schema.String),
  /** Deprecated by Twitch. */
  viewCount: optionalField("view_count", Schema.Number),
  /** Only with the `user:read:email` scope, for the token's own user. */
  email: Schema.optional(Schema.String),
  createdAt: field("created_at", Schema.DateTimeUtc)
}) {}

const getUsersEndpoint = endpoint({
  name: "getUsers",
  method: "GET",
  path: "/users",
  query: (input: { readonly ids: ReadonlyArray<string>; readonly logins: ReadonlyArray<string> }) => ({
    id: input.ids,
    login: input.logins
  }),
  response: dataOf(User)
})

// --- channels ----------------------------------------------------------------

/**
 * @since 0.1.0
 * @category models
 */
export class ChannelInformation extends Schema.Class<ChannelInformation>("effect-twitch/Helix/ChannelInformation")({
  broadcasterId: field("broadcaster_id", Schema.String),
  broadcasterLogin: field("broadcaster_login", Schema.String),
  broadcasterName: field("broadcaster_name", Schema.String),
  broadcasterLanguage: field("broadcaster_language", Schema.String),
  gameName: field("game_name", Schema.String),
  gameId: field("game_id", Schema.String),
  title: Schema.String,
  delay: Schema.Number,
  tags: Schema.Array(Schema.String),
  contentClassificationLabels: optionalField("content_classification_labels", Schema.Array(Schema.String)),
  isBrandedContent: optionalField("is_branded_content", Schema.Boolean)
}) {}

const getChannelsEndpoint = endpoint({
  name: "getChannelInformation",
  method: "GET",
  path: "/channels",
  query: (ids: ReadonlyArray<string>) => ({ broadcaster_id: ids }),
  response: dataOf(ChannelInformation)
})

/**
 * What `modifyChannelInfo` changes; absent fields stay as they are.
 *
 * @since 0.1.0
 * @category models
 */
export interface ChannelInformationUpdate {
  readonly gameId?: string | undefined
  readonly broadcasterLanguage?: string | undefined
  readonly title?: string | undefined
  readonly delay?: number | undefined
  readonly tags?: ReadonlyArray<string> | undefined
  readonly contentClassificationLabels?:
    | ReadonlyArray<{ readonly id: string; readonly isEnabled: boolean }>
    | undefined
  readonly isBrandedContent?: boolean | undefined
}

const modifyChannelEndpoint = endpoint({
  name: "modifyChannelInformation",
  method: "PATCH",
  path: "/channels",
  scopes: ["channel:manage:broadcast"],
  query: (input: { readonly broadcasterId: string; readonly update: ChannelInformationUpdate }) => ({
    broadcaster_id: input.broadcasterId
  }),
  body: ({ update }) =>
    compact({
      game_id: update.gameId,
      broadcaster_language: update.broadcasterLanguage,
      title: update.title,
      delay: update.delay,
      tags: update.tags,
      content_classification_labels: update.contentClassificationLabels?.map((label) => ({
        id: label.id,
        is_enabled: label.isEnabled
      })),
      is_branded_content: update.isBrandedContent
    })
})

// --- followers ---------------------------------------------------------------

/**
 * @since 0.1.0
 * @category models
 */
export class Follower extends Schema.Class<Follower>("effect-twitch/Helix/Follower")({
  followedAt: field("followed_at", Schema.DateTimeUtc),
  userId: field("user_id", Schema.String),
  userLogin: field("user_login", Schema.String),
  userName: field("user_name", Schema.String)
}) {}

const FollowersPage = Schema.Struct({ ...pageOf(Follower).fields, total: Schema.Number })

const followersEndpoint = endpoint({
  name: "getChannelFollowers",
  method: "GET",
  path: "/channels/followers",
  pageSize: 100,
  query: (input: { readonly broadcasterId: string; readonly userId?: string | undefined }) => ({
    broadcaster_id: input.broadcasterId,
    user_id: input.userId
  }),
  response: FollowersPage
})

// --- chat --------------------------------------------------------------------

/**
 * @since 0.1.0
 * @category models
 */
export class DropReason extends Schema.Class<DropReason>("effect-twitch/Helix/DropReason")({
  code: Schema.String,
  message: Schema.String
}) {}

/**
 * @since 0.1.0
 * @category models
 */
export class SentChatMessage extends Schema.Class<SentChatMessage>("effect-twitch/Helix/SentChatMessage")({
  messageId: field("message_id", Schema.String),
  isSent: field("is_sent", Schema.Boolean),
  dropReason: optionalField("drop_reason", Schema.NullOr(DropReason))
}) {}

const sendChatMessageEndpoint = endpoint({
  name: "sendChatMessage",
  method: "POST",
  path: "/chat/messages",
  scopes: ["user:write:chat"],
  body: (input: {
    readonly broadcasterId: string
    readonly senderId: string
    readonly message: string
    readonly replyTo?: string | undefined
  }) =>
    compact({
      broadcaster_id: input.broadcasterId,
      sender_id: input.senderId,
      message: input.message,
      reply_parent_message_id: input.replyTo
    }),
  response: dataOf(SentChatMessage)
})

/**
 * @since 0.1.0
 * @category models
 */
export type AnnouncementColor = "blue" | "green" | "orange" | "purple" | "primary"

const sendAnnouncementEndpoint = endpoint({
  name: "sendChatAnnouncement",
  method: "POST",
  path: "/chat/announcements",
  scopes: ["moderator:manage:announcements"],
  query: (input: {
    readonly broadcasterId: string
    readonly moderatorId: string
    readonly message: string
    readonly color?: AnnouncementColor | undefined
  }) => ({ broadcaster_id: input.broadcasterId, moderator_id: input.moderatorId }),
  body: (input) => compact({ message: input.message, color: input.color })
})

/**
 * @since 0.1.0
 * @category models
 */
export class Chatter extends Schema.Class<Chatter>("effect-twitch/Helix/Chatter")({
  userId: field("user_id", Schema.String),
  userLogin: field("user_login", Schema.String),
  userName: field("user_name", Schema.String)
}) {}

const chattersEndpoint = endpoint({
  name: "getChatters",
  method: "GET",
  path: "/chat/chatters",
  scopes: ["moderator:read:chatters"],
  pageSize: 1000,
  query: (input: { readonly broadcasterId: string; readonly moderatorId: string }) => ({
    broadcaster_id: input.broadcasterId,
    moderator_id: input.moderatorId
  }),
  response: Schema.Struct({ ...pageOf(Chatter).fields, total: Schema.optional(Schema.Number) })
})

/**
 * @since 0.1.0
 * @category models
 */
export class ChatSettings extends Schema.Class<ChatSettings>("effect-twitch/Helix/ChatSettings")({
  broadcasterId: field("broadcaster_id", Schema.String),
  emoteMode: field("emote_mode", Schema.Boolean),
  followerMode: field("follower_mode", Schema.Boolean),
  followerModeDuration: field("follower_mode_duration", Schema.NullOr(Schema.Number)),
  moderatorId: optionalField("moderator_id", Schema.String),
  /** Only when read with a moderator's token. */
  nonModeratorChatDelay: optionalField("non_moderator_chat_delay", Schema.Boolean),
  nonModeratorChatDelayDuration: optionalField("non_moderator_chat_delay_duration", Schema.NullOr(Schema.Number)),
  slowMode: field("slow_mode", Schema.Boolean),
  slowModeWaitTime: field("slow_mode_wait_time", Schema.NullOr(Schema.Number)),
  subscriberMode: field("subscriber_mode", Schema.Boolean),
  uniqueChatMode: field("unique_chat_mode", Schema.Boolean)
}) {}

const getChatSettingsEndpoint = endpoint({
  name: "getChatSettings",
  method: "GET",
  path: "/chat/settings",
  query: (input: { readonly broadcasterId: string; readonly moderatorId?: string | undefined }) => ({
    broadcaster_id: input.broadcasterId,
    moderator_id: input.moderatorId
  }),
  response: dataOf(ChatSettings)
})

/**
 * What `updateChatSettings` changes; absent fields stay as they are.
 *
 * @since 0.1.0
 * @category models
 */
export interface ChatSettingsUpdate {
  readonly emoteMode?: boolean | undefined
  readonly followerMode?: boolean | undefined
  readonly followerModeDuration?: number | undefined
  readonly nonModeratorChatDelay?: boolean | undefined
  readonly nonModeratorChatDelayDuration?: 2 | 4 | 6 | undefined
  readonly slowMode?: boolean | undefined
  readonly slowModeWaitTime?: number | undefined
  readonly subscriberMode?: boolean | undefined
  readonly uniqueChatMode?: boolean | undefined
}

const updateChatSettingsEndpoint = endpoint({
  name: "updateChatSettings",
  method: "PATCH",
  path: "/chat/settings",
  scopes: ["moderator:manage:chat_settings"],
  query: (
    input: { readonly broadcasterId: string; readonly moderatorId: string; readonly update: ChatSettingsUpdate }
  ) => ({
    broadcaster_id: input.broadcasterId,
    moderator_id: input.moderatorId
  }),
  body: ({ update }) =>
    compact({
      emote_mode: update.emoteMode,
      follower_mode: update.followerMode,
      follower_mode_duration: update.followerModeDuration,
      non_moderator_chat_delay: update.nonModeratorChatDelay,
      non_moderator_chat_delay_duration: update.nonModeratorChatDelayDuration,
      slow_mode: update.slowMode,
      slow_mode_wait_time: update.slowModeWaitTime,
      subscriber_mode: update.subscriberMode,
      unique_chat_mode: update.uniqueChatMode
    }),
  response: dataOf(ChatSettings)
})

// --- whispers ----------------------------------------------------------------

const sendWhisperEndpoint = endpoint({
  name: "sendWhisper",
  method: "POST",
  path: "/whispers",
  scopes: ["user:manage:whispers"],
  query: (input: { readonly fromUserId: string; readonly toUserId: string; readonly message: string }) => ({
    from_user_id: input.fromUserId,
    to_user_id: input.toUserId
  }),
  body: (input) => ({ message: input.message })
})

// --- streams -----------------------------------------------------------------

/**
 * A live stream (Get Streams). Named so as not to clash with `effect/Stream`.
 *
 * @since 0.1.0
 * @category models
 */
export class LiveStream extends Schema.Class<LiveStream>("effect-twitch/Helix/LiveStream")({
  id: Schema.String,
  userId: field("user_id", Schema.String),
  userLogin: field("user_login", Schema.String),
  userName: field("user_name", Schema.String),
  gameId: field("game_id", Schema.String),
  gameName: field("game_name", Schema.String),
  /** `live`, or `""` on error. */
  type: Schema.String,
  title: Schema.String,
  viewerCount: field("viewer_count", Schema.Number),
  startedAt: field("started_at", Schema.DateTimeUtc),
  language: Schema.String,
  thumbnailUrl: field("thumbnail_url", Schema.String),
  tags: Schema.optionalWith(Schema.NullOr(Schema.Array(Schema.String)), { default: () => [] }),
  isMature: optionalField("is_mature", Schema.Boolean)
}) {}

/**
 * Filters of Get Streams (each list up to 100 entries).
 *
 * @since 0.1.0
 * @category models
 */
export interface StreamsFilter {
  readonly userIds?: ReadonlyArray<string> | undefined
  readonly userLogins?: ReadonlyArray<string> | undefined
  readonly gameIds?: ReadonlyArray<string> | undefined
  readonly type?: "all" | "live" | undefined
  readonly languages?: ReadonlyArray<string> | undefined
}

const streamsEndpoint = endpoint({
  name: "getStreams",
  method: "GET",
  path: "/streams",
  pageSize: 100,
  query: (filter: StreamsFilter) => ({
    user_id: filter.userIds,
    user_login: filter.userLogins,
    game_id: filter.gameIds,
    type: filter.type,
    language: filter.languages
  }),
  response: pageOf(LiveStream)
})

// --- EventSub subscriptions ----------------------------------------------------

/**
 * @since 0.1.0
 * @category models
 */
export class EventSubTransport extends Schema.Class<EventSubTransport>("effect-twitch/Helix/EventSubTransport")({
  /** `webhook`, `websocket` or `conduit`. */
  method: Schema.String,
  callback: Schema.optional(Schema.String),
  sessionId: optionalField("session_id", Schema.String),
  conduitId: optionalField("conduit_id", Schema.String),
  connectedAt: optionalField("connected_at", Schema.String),
  disconnectedAt: optionalField("disconnected_at", Schema.String)
}) {}

/**
 * @since 0.1.0
 * @category models
 */
export class EventSubSubscription extends Schema.Class<EventSubSubscription>(
  "effect-twitch/Helix/EventSubSubscription"
)({
  id: Schema.String,
  /** `enabled`, `webhook_callback_verification_pending`, `authorization_revoked`, … */
  status: Schema.String,
  type: Schema.String,
  version: Schema.String,
  condition: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  createdAt: field("created_at", Schema.DateTimeUtc),
  transport: EventSubTransport,
  cost: Schema.Number
}) {}

const SubscriptionTotals = {
  total: Schema.Number,
  totalCost: field("total_cost", Schema.Number),
  maxTotalCost: field("max_total_cost", Schema.Number)
}

/**
 * The answer to Create EventSub Subscription: the subscription and the client's totals.
 *
 * @since 0.1.0
 * @category models
 */
export class CreatedEventSubSubscription extends Schema.Class<CreatedEventSubSubscription>(
  "effect-twitch/Helix/CreatedEventSubSubscription"
)({
  data: Schema.NonEmptyArray(EventSubSubscription),
  ...SubscriptionTotals
}) {
  /** @since 0.1.0 */
  get subscription(): EventSubSubscription {
    return this.data[0]
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface CreateEventSubSubscription {
  readonly type: string
  readonly version: string
  readonly condition: Readonly<Record<string, string>>
  readonly transport:
    | { readonly method: "websocket"; readonly sessionId: string }
    | { readonly method: "webhook"; readonly callback: string; readonly secret: string }
    | { readonly method: "conduit"; readonly conduitId: string }
}

const createEventSubEndpoint = endpoint({
  name: "createEventSubSubscription",
  method: "POST",
  path: "/eventsub/subscriptions",
  body: (input: CreateEventSubSubscription) => ({
    type: input.type,
    version: input.version,
    condition: input.condition,
    transport: input.transport.method === "websocket"
      ? { method: "websocket", session_id: input.transport.sessionId }
      : input.transport.method === "webhook"
      ? { method: "webhook", callback: input.transport.callback, secret: input.transport.secret }
      : { method: "conduit", conduit_id: input.transport.conduitId }
  }),
  response: CreatedEventSubSubscription
})

/**
 * Filter of Get EventSub Subscriptions (Twitch accepts at most one).
 *
 * @since 0.1.0
 * @category models
 */
export type EventSubSubscriptionsFilter =
  | {}
  | { readonly status: string }
  | { readonly type: string }
  | { readonly userId: string }
  | { readonly subscriptionId: string }

const eventSubSubscriptionsEndpoint = endpoint({
  name: "getEventSubSubscriptions",
  method: "GET",
  path: "/eventsub/subscriptions",
  pageSize: undefined,
  query: (filter: EventSubSubscriptionsFilter) => ({
    status: "status" in filter ? filter.status : undefined,
    type: "type" in filter ? filter.type : undefined,
    user_id: "userId" in filter ? filter.userId : undefined,
    subscription_id: "subscriptionId" in filter ? filter.subscriptionId : undefined
  }),
  response: Schema.Struct({ ...pageOf(EventSubSubscription).fields, ...SubscriptionTotals })
})

const deleteEventSubEndpoint = endpoint({
  name: "deleteEventSubSubscription",
  method: "DELETE",
  path: "/eventsub/subscriptions",
  query: (id: string) => ({ id })
})

// --- moderation --------------------------------------------------------------

/**
 * @since 0.1.0
 * @category models
 */
export class Ban extends Schema.Class<Ban>("effect-twitch/Helix/Ban")({
  broadcasterId: field("broadcaster_id", Schema.String),
  moderatorId: field("moderator_id", Schema.String),
  userId: field("user_id", Schema.String),
  createdAt: field("created_at", Schema.DateTimeUtc),
  /** `null` for a permanent ban. */
  endTime: field("end_time", Schema.NullOr(Schema.DateTimeUtc))
}) {}

const banEndpoint = endpoint({
  name: "banUser",
  method: "POST",
  path: "/moderation/bans",
  scopes: ["moderator:manage:banned_users"],
  query: (input: {
    readonly broadcasterId: string
    readonly moderatorId: string
    readonly userId: string
    readonly duration?: number | undefined
    readonly reason?: string | undefined
  }) => ({ broadcaster_id: input.broadcasterId, moderator_id: input.moderatorId }),
  body: (input) => ({ data: compact({ user_id: input.userId, duration: input.duration, reason: input.reason }) }),
  response: dataOf(Ban)
})

const unbanEndpoint = endpoint({
  name: "unbanUser",
  method: "DELETE",
  path: "/moderation/bans",
  scopes: ["moderator:manage:banned_users"],
  query: (input: { readonly broadcasterId: string; readonly moderatorId: string; readonly userId: string }) => ({
    broadcaster_id: input.broadcasterId,
    moderator_id: input.moderatorId,
    user_id: input.userId
  })
})

/**
 * The endpoint descriptors behind the service's methods, for `Helix.request` / `Helix.paginate`.
 *
 * @since 0.1.0
 * @category endpoints
 */
export const endpoints = {
  getUsers: getUsersEndpoint,
  getChannelInformation: getChannelsEndpoint,
  modifyChannelInformation: modifyChannelEndpoint,
  getChannelFollowers: followersEndpoint,
  sendChatMessage: sendChatMessageEndpoint,
  sendChatAnnouncement: sendAnnouncementEndpoint,
  getChatters: chattersEndpoint,
  getChatSettings: getChatSettingsEndpoint,
  updateChatSettings: updateChatSettingsEndpoint,
  sendWhisper: sendWhisperEndpoint,
  getStreams: streamsEndpoint,
  createEventSubSubscription: createEventSubEndpoint,
  getEventSubSubscriptions: eventSubSubscriptionsEndpoint,
  deleteEventSubSubscription: deleteEventSubEndpoint,
  banUser: banEndpoint,
  unbanUser: unbanEndpoint
} as const

function compact<T extends Record<string, unknown>>(record: T): Partial<T> {
  const out: Record<string, unknown> = {}
  for (const key in record) {
    if (record[key] !== undefined) out[key] = record[key]
  }
  return out as Partial<T>
}

// -----------------------------------------------------------------------------
// service
// -----------------------------------------------------------------------------

/**
 * @since 0.1.0
 * @category tags
 */
export class Helix extends Context.Tag("effect-twitch/Helix")<Helix, Helix.Service>() {}

/**
 * @since 0.1.0
 */
export declare namespace Helix {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    /** Runs any endpoint (see {@link endpoints}, or declare one with {@link endpoint}). */
    readonly request: <I, A>(endpoint: Endpoint<I, A>, input: I) => Effect.Effect<A, HelixFailure>
    /** All items of a paginated endpoint, fetched page by page as the stream is pulled. */
    readonly paginate: <I, A>(
      endpoint: Endpoint<I, PageLike<A>>,
      input: I,
      options?: { readonly pageSize?: number | undefined }
    ) => Stream.Stream<A, HelixFailure>
    /** The user the current context acts as, `defaultUser` included (`None`: the app token). */
    readonly actingUserId: Effect.Effect<Option.Option<string>>

    /** Users by id and/or login, any number (sent in batches of 100). */
    readonly getUsers: (query: {
      readonly ids?: Iterable<string> | undefined
      readonly logins?: Iterable<string> | undefined
    }) => Effect.Effect<ReadonlyArray<User>, HelixFailure>
    readonly getUserById: (id: string) => Effect.Effect<Option.Option<User>, HelixFailure>
    readonly getUserByLogin: (login: string) => Effect.Effect<Option.Option<User>, HelixFailure>

    /** Channel information by broadcaster ids, any number (sent in batches of 100). */
    readonly getChannels: (
      broadcasterIds: Iterable<string>
    ) => Effect.Effect<ReadonlyArray<ChannelInformation>, HelixFailure>
    readonly getChannelInfo: (broadcasterId: string) => Effect.Effect<Option.Option<ChannelInformation>, HelixFailure>
    /** Needs `channel:manage:broadcast`; runs as the broadcaster. */
    readonly modifyChannelInfo: (
      broadcasterId: string,
      update: ChannelInformationUpdate
    ) => Effect.Effect<void, HelixFailure>

    /** Followers, newest first (needs `moderator:read:followers` as the broadcaster or a moderator). */
    readonly followers: (
      broadcasterId: string,
      options?: { readonly userId?: string | undefined }
    ) => Stream.Stream<Follower, HelixFailure>
    /** The follower total (no scope needed). */
    readonly followerCount: (broadcasterId: string) => Effect.Effect<number, HelixFailure>

    /** Sends a chat message; the sender is the current user unless given. Dropped → `ChatMessageDropped`. */
    readonly sendChatMessage: (message: {
      readonly broadcasterId: string
      readonly message: string
      readonly replyTo?: string | undefined
      readonly senderId?: string | undefined
    }) => Effect.Effect<SentChatMessage, HelixFailure>
    readonly sendAnnouncement: (announcement: {
      readonly broadcasterId: string
      readonly message: string
      readonly color?: AnnouncementColor | undefined
      readonly moderatorId?: string | undefined
    }) => Effect.Effect<void, HelixFailure>
    /** Users in the chat (needs `moderator:read:chatters`; the moderator is the current user unless given). */
    readonly chatters: (
      broadcasterId: string,
      options?: { readonly moderatorId?: string | undefined }
    ) => Stream.Stream<Chatter, HelixFailure>
    readonly getChatSettings: (
      broadcasterId: string,
      options?: { readonly moderatorId?: string | undefined }
    ) => Effect.Effect<ChatSettings, HelixFailure>
    readonly updateChatSettings: (
      broadcasterId: string,
      update: ChatSettingsUpdate,
      options?: { readonly moderatorId?: string | undefined }
    ) => Effect.Effect<ChatSettings, HelixFailure>

    /** Sends a whisper from the current user (or `fromUserId`). */
    readonly sendWhisper: (
      toUserId: string,
      message: string,
      options?: { readonly fromUserId?: string | undefined }
    ) => Effect.Effect<void, HelixFailure>

    /** The first page (up to 100) of live streams matching the filter. */
    readonly getStreams: (filter?: StreamsFilter) => Effect.Effect<ReadonlyArray<LiveStream>, HelixFailure>
    /** Every live stream matching the filter, page by page. */
    readonly streams: (filter?: StreamsFilter) => Stream.Stream<LiveStream, HelixFailure>

    readonly createEventSubSubscription: (
      subscription: CreateEventSubSubscription
    ) => Effect.Effect<CreatedEventSubSubscription, HelixFailure>
    readonly eventSubSubscriptions: (
      filter?: EventSubSubscriptionsFilter
    ) => Stream.Stream<EventSubSubscription, HelixFailure>
    readonly deleteEventSubSubscription: (id: string) => Effect.Effect<void, HelixFailure>

    /** Bans (or times out, with `duration` in seconds) a user; the moderator is the current user unless given. */
    readonly banUser: (ban: {
      readonly broadcasterId: string
      readonly userId: string
      readonly duration?: number | undefined
      readonly reason?: string | undefined
      readonly moderatorId?: string | undefined
    }) => Effect.Effect<Ban, HelixFailure>
    readonly unbanUser: (unban: {
      readonly broadcasterId: string
      readonly userId: string
      readonly moderatorId?: string | undefined
    }) => Effect.Effect<void, HelixFailure>
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** User id whose token calls use when no `withUser` / `withApp` context is set (default: the app token). */
  readonly defaultUser?: string | undefined
  /** Most requests in flight at once, over all tokens (default 50). */
  readonly maxConcurrency?: number | undefined
  /** Retries of a 5xx answer or a transport failure (default 2; a 503 is always retried at least once). */
  readonly maxRetries?: number | undefined
  /** First delay of the jittered exponential backoff between those retries (default 250 ms, capped at 5 s). */
  readonly retryBaseDelay?: Duration.DurationInput | undefined
  /**
   * Waits after a 429 before giving up (default 3): until `Ratelimit-Reset`, read on Twitch's clock (the
   * answer's `Date`), so a wrong local clock does not matter; a reset missing or beyond Twitch's one-minute
   * refill window is ignored (logged) and the wait is one second, then the limiter's pace.
   */
  readonly maxRateLimitRetries?: number | undefined
  /** A 429 whose reset is further away than this fails at once (default 2 minutes). */
  readonly maxRateLimitWait?: Duration.DurationInput | undefined
}

type Resolved = { readonly _tag: "User"; readonly userId: string } | { readonly _tag: "App" }

interface RawResponse {
  readonly status: number
  /** its `Ratelimit-*` headers, read once */
  readonly rateLimit: RateLimitHeaders | undefined
  readonly text: string
}

class ServerFailure {
  readonly _tag = "ServerFailure" as const
  constructor(readonly response: RawResponse) {}
}

const TwitchErrorBody = parseJsonWith(Schema.Struct({
  error: Schema.optional(Schema.String),
  status: Schema.optional(Schema.Number),
  message: Schema.optional(Schema.String)
}))
const decodeErrorBody = Schema.decodeUnknownOption(TwitchErrorBody)

const outcomeOf = (exit: Exit.Exit<RawResponse, unknown>): RateLimiter.Outcome => {
  if (Exit.isFailure(exit)) return NO_RESPONSE
  const headers = exit.value.rateLimit
  return headers === undefined ? NO_HEADERS : { _tag: "Headers", headers }
}
const NO_RESPONSE: RateLimiter.Outcome = { _tag: "NoResponse" }
/** Shortest wait after a 429 (ms). */
const MIN_RATE_LIMIT_WAIT = 1000
const NO_HEADERS: RateLimiter.Outcome = { _tag: "NoHeaders" }

const IDEMPOTENT: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"])

const chunksOf = <A>(items: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

/** What one Helix service's requests share: set up once by `make`. */
interface Runtime {
  readonly resolve: Effect.Effect<Resolved>
  readonly tokens: AccessTokens.Service
  readonly baseUrl: string
  readonly baseHeaders: Readonly<Record<string, string>>
  readonly client: HttpClient.HttpClient
  readonly limiter: RateLimiter.RateLimiter
  readonly timeouts: Timeouts.Timeouts
  readonly timeoutMillis: number
  readonly maxRetries: number
  readonly retrySchedule: Schedule.Schedule<unknown>
  readonly maxRateLimitRetries: number
  readonly maxRateLimitWait: number
}

type Ids = { readonly method: string; readonly endpoint: string }

const failure = (
  response: RawResponse,
  ids: { readonly method: string; readonly endpoint: string }
): HelixError => {
  const body = Option.getOrElse(decodeErrorBody(response.text), () => ({
    error: undefined,
    status: undefined,
    message: undefined
  }))
  const fields = {
    ...ids,
    status: response.status,
    ...(body.error !== undefined ? { error: body.error } : {}),
    ...(body.message !== undefined ? { twitchMessage: body.message } : {})
  }
  const message = body.message ?? ""
  switch (response.status) {
    case 401:
      return mentionsScope(message)
        ? new HelixForbidden({ ...fields, missingScopes: scopesIn(message) })
        : new HelixUnauthorized(fields)
    case 403:
      return new HelixForbidden({ ...fields, missingScopes: scopesIn(message) })
    case 404:
      return new HelixNotFound(fields)
    case 409:
      return new HelixConflict(fields)
    case 429: {
      const reset = response.rateLimit
      return new HelixRateLimited({
        ...fields,
        ...(reset !== undefined && reset.resetKnown ? { resetAt: reset.resetAt } : {})
      })
    }
    default:
      return response.status >= 500 ? new HelixServerError(fields) : new HelixBadRequest(fields)
  }
}

// Until the reset (read on the server's clock), and never less than a second: without a plausible
// reset, a second and then the limiter's pace
const resetDelay = (response: RawResponse, now: number): number =>
  response.rateLimit !== undefined && response.rateLimit.resetKnown
    ? Math.max(MIN_RATE_LIMIT_WAIT, response.rateLimit.resetAt - now)
    : MIN_RATE_LIMIT_WAIT

const pointsLeft = (response: RawResponse): boolean => (response.rateLimit?.remaining ?? 0) > 0

/** A permit of the key's bucket; a queue that has not moved for the request timeout is a `HelixTimeout`. */
const acquire = (
  rt: Runtime,
  key: string,
  ids: Ids
): Effect.Effect<RateLimiter.Permit, HelixTimeout> =>
  Effect.catchTag(
    rt.limiter.acquire(key),
    "QueueTimeout",
    () => Effect.fail(new HelixTimeout({ ...ids, timeoutMillis: rt.timeoutMillis, waitedForRateLimit: true }))
  )

/** Sends the request and reads the whole answer within the request timeout. */
const exchange = (
  rt: Runtime,
  request: HttpClientRequest.HttpClientRequest,
  ids: Ids
): Effect.Effect<RawResponse, HelixTimeout | HelixTransportError> =>
  rt.timeouts.run(
    Effect.flatMap(rt.client.execute(request), (response) =>
      Effect.map(response.text, (text): RawResponse => ({
        status: response.status,
        rateLimit: rt.limiter.read(response.headers),
        text
      }))),
    () => new HelixTimeout({ ...ids, timeoutMillis: rt.timeoutMillis })
  ).pipe(
    Effect.catchTags({
      RequestError: (e: HttpClientError.RequestError) =>
        Effect.fail(
          new HelixTransportError({ ...ids, description: `${e.reason}: ${e.description ?? "request failed"}` })
        ),
      ResponseError: (e: HttpClientError.ResponseError) =>
        Effect.fail(
          new HelixTransportError({ ...ids, description: `${e.reason}: ${e.description ?? "response failed"}` })
        )
    })
  )

/**
 * Waits for a permit of the key's bucket, then makes the request (`prepare`: token and request,
 * which may fail: the unused permit is then given back), sends it and feeds the answer to the limiter.
 */
const send = <E>(
  rt: Runtime,
  key: string,
  prepare: Effect.Effect<HttpClientRequest.HttpClientRequest, E>,
  ids: Ids
): Effect.Effect<RawResponse, E | HelixTimeout | HelixTransportError> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(restore(acquire(rt, key, ids)), (permit) =>
      Effect.flatMap(
        Effect.onExit(restore(prepare), (exit) => Exit.isFailure(exit) ? rt.limiter.cancel(permit) : Effect.void),
        (request) =>
          restore(exchange(rt, request, ids)).pipe(
            Effect.onExit((exit) => rt.limiter.release(permit, outcomeOf(exit)))
          )
      ))
  )

/** The request without its token: made once, when the first permit is granted. */
const buildRequest = <I, A>(
  rt: Runtime,
  ep: Endpoint<I, A>,
  input: I,
  extraQuery: ReadonlyArray<readonly [string, string]>
): HttpClientRequest.HttpClientRequest => {
  const query = UrlParams.fromInput(ep.query(input))
  const built = HttpClientRequest.make(ep.method)(
    ep.path.startsWith("/") ? rt.baseUrl + ep.path : `${rt.baseUrl}/${ep.path}`,
    {
      urlParams: extraQuery.length === 0 ? query : UrlParams.appendAll(query, extraQuery),
      headers: rt.baseHeaders
    }
  )
  return ep.body === undefined ? built : HttpClientRequest.bodyUnsafeJson(built, ep.body(input))
}

/** The user's token, failing with `HelixForbidden` when it lacks a scope the endpoint needs. */
const userToken = <I, A>(
  tokens: AccessTokens.Service,
  ep: Endpoint<I, A>,
  userId: string,
  ids: Ids
): Effect.Effect<UserToken, HelixFailure> =>
  Effect.flatMap(tokens.forUser(userId), (user) => {
    if (ep.scopes.length > 0) {
      const missing = ep.scopes.filter((scope) => !user.scopes.includes(scope))
      if (missing.length > 0) {
        return Effect.fail(
          new HelixForbidden({
            ...ids,
            status: 0,
            twitchMessage: `the token of user ${userId} lacks ${missing.join(", ")}`,
            missingScopes: missing
          })
        )
      }
    }
    return Effect.succeed(user)
  })

/** Retries `once` on the retry schedule after its first failure `first`, while `retryable`. */
const retryAfter = <E extends ServerFailure | HelixFailure>(
  rt: Runtime,
  first: E,
  once: Effect.Effect<RawResponse, E>,
  retryable: (e: E) => boolean
): Effect.Effect<RawResponse, E> => {
  if (!retryable(first)) return Effect.fail(first)
  let replay = true
  return Effect.retry(
    // the schedule sees the first failure, then each retry
    Effect.suspend(() => {
      if (replay) {
        replay = false
        return Effect.fail(first)
      }
      return once
    }),
    { schedule: rt.retrySchedule, times: Math.max(rt.maxRetries, 1), while: retryable }
  )
}

/** Decodes a 2xx answer; a body that does not fit is a `HelixDecodeError` naming the path. */
const decodeSuccess = <A>(
  decode: (text: string) => Effect.Effect<A, ParseResult.ParseError>,
  response: RawResponse,
  ids: Ids
): Effect.Effect<A, HelixDecodeError> =>
  decode(response.text).pipe(
    Effect.mapError((error) => {
      const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
      return new HelixDecodeError({
        ...ids,
        status: response.status,
        path: issue === undefined ? "" : formatPath(issue.path),
        description: issue === undefined ? "invalid body" : issue.message
      })
    })
  )

/**
 * Makes one call: the token and request once a permit is granted, transport and 5xx retries, one
 * refresh-and-retry on a 401, waits after a 429, then decodes the answer.
 */
const executeWith = <I, A>(
  rt: Runtime,
  ep: Endpoint<I, A>,
  input: I,
  extraQuery: ReadonlyArray<readonly [string, string]> = []
): Effect.Effect<A, HelixFailure> =>
  Effect.gen(function*() {
    const ids = { method: ep.name, endpoint: `${ep.method} ${ep.path}` }
    const principal = yield* rt.resolve
    const key = principal._tag === "User" ? `user:${principal.userId}` : "app"
    // The token and the request are made once the rate limiter lets the call go (see `send`): a burst
    // of thousands of calls then costs next to nothing up front, and the work follows the permits.
    const state: {
      token: UserToken | AppToken | undefined
      request: HttpClientRequest.HttpClientRequest | undefined
    } = { token: undefined, request: undefined }
    const withToken = (current: UserToken | AppToken): HttpClientRequest.HttpClientRequest => {
      state.request ??= buildRequest(rt, ep, input, extraQuery)
      return HttpClientRequest.bearerToken(state.request, current.accessToken)
    }
    const fetchToken: Effect.Effect<UserToken | AppToken, HelixFailure> = principal._tag === "User"
      ? userToken(rt.tokens, ep, principal.userId, ids)
      : rt.tokens.app
    const prepare: Effect.Effect<HttpClientRequest.HttpClientRequest, HelixFailure> = Effect.suspend(() =>
      state.token !== undefined
        ? Effect.succeed(withToken(state.token))
        : Effect.map(fetchToken, (fetched) => {
          state.token = fetched
          return withToken(fetched)
        })
    )
    const retryTransport = IDEMPOTENT.has(ep.method)
    const retryable = (e: ServerFailure | HelixFailure): boolean =>
      e._tag === "ServerFailure"
        // a 503 is retried at least once, as Twitch asks, even with maxRetries = 0
        ? rt.maxRetries > 0 || e.response.status === 503
        : e._tag === "HelixTransportError" && retryTransport && rt.maxRetries > 0

    const attempt = () => {
      const once = Effect.flatMap(
        send(rt, key, prepare, ids),
        (response): Effect.Effect<RawResponse, ServerFailure> =>
          response.status >= 500 ? Effect.fail(new ServerFailure(response)) : Effect.succeed(response)
      )
      return once.pipe(
        // the retry schedule is only set up once the first attempt failed: most calls never need it
        Effect.catchAll((first) => retryAfter(rt, first, once, retryable)),
        Effect.catchTag("ServerFailure", (e) => Effect.succeed(e.response))
      )
    }

    let refreshed = false
    let rateLimited = 0
    while (true) {
      const response = yield* attempt()
      if (response.status >= 200 && response.status < 300) {
        if (ep.decode === undefined) return undefined as A
        return yield* decodeSuccess(ep.decode, response, ids)
      }
      const rejected = state.token
      if (
        response.status === 401 && !refreshed && rejected !== undefined &&
        !mentionsScope(decodeErrorMessage(response.text))
      ) {
        refreshed = true
        state.token = principal._tag === "User"
          ? yield* rt.tokens.refreshAfterUnauthorized(principal.userId, rejected.accessToken)
          : yield* rt.tokens.appAfterUnauthorized(rejected.accessToken)
        continue
      }
      // a 429 with points left in the bucket is not the rate limiter's (Twitch also answers 429 for
      // EventSub subscription limits): waiting would not help
      if (response.status === 429 && rateLimited < rt.maxRateLimitRetries && !pointsLeft(response)) {
        const delay = resetDelay(response, yield* Clock.currentTimeMillis)
        if (delay <= rt.maxRateLimitWait) {
          rateLimited += 1
          yield* Effect.sleep(Duration.millis(delay))
          continue
        }
      }
      return yield* Effect.fail(failure(response, ids))
    }
  })

/** `executeWith` bound to one service's runtime. */
type Execute = <I, A>(
  ep: Endpoint<I, A>,
  input: I,
  extraQuery?: ReadonlyArray<readonly [string, string]>
) => Effect.Effect<A, HelixFailure>

/** Every item of every page, following the cursor until it is missing, empty or repeats, or a page is empty. */
const paginateWith = <I, A>(
  execute: Execute,
  ep: Endpoint<I, PageLike<A>>,
  input: I,
  pageOptions?: { readonly pageSize?: number | undefined }
): Stream.Stream<A, HelixFailure> => {
  const first = ep.pageSize === undefined
    ? undefined
    : Math.max(1, Math.min(ep.pageSize, pageOptions?.pageSize ?? ep.pageSize))
  return Stream.paginateChunkEffect(undefined as string | undefined, (cursor) => {
    const extra: Array<readonly [string, string]> = []
    if (first !== undefined) extra.push(["first", String(first)])
    if (cursor !== undefined) extra.push(["after", cursor])
    return Effect.map(execute(ep, input, extra), (page) => {
      const next = page.pagination?.cursor
      return [
        Chunk.unsafeFromArray(page.data.slice()),
        next !== undefined && next !== null && next !== "" && page.data.length > 0 && next !== cursor
          ? Option.some(next)
          : Option.none()
      ] as const
    })
  })
}

/** Runs `run` on batches of 100 items, four at a time, and joins the results in order. */
const batched = <A>(
  items: ReadonlyArray<readonly [string, string]>,
  run: (batch: ReadonlyArray<readonly [string, string]>) => Effect.Effect<ReadonlyArray<A>, HelixFailure>
): Effect.Effect<ReadonlyArray<A>, HelixFailure> =>
  items.length === 0
    ? Effect.succeed([])
    : Effect.map(
      Effect.forEach(chunksOf(items, 100), run, { concurrency: 4 }),
      (results) => results.flat()
    )

/** An answer without the item it must carry. */
const missingFirst = (ep: Endpoint<never, unknown>, endpoint: string): HelixDecodeError =>
  new HelixDecodeError({ method: ep.name, endpoint, status: 200, path: "data[0]", description: "is missing" })

/** The service's methods, over one service's `execute` and acting principal. */
const serviceOf = (execute: Execute, resolve: Effect.Effect<Resolved>): Helix.Service => {
  const actingUserId = Effect.map(resolve, (r) => r._tag === "User" ? Option.some(r.userId) : Option.none())

  const userIdFor = (
    given: string | undefined,
    ep: Endpoint<never, unknown>,
    what: string
  ): Effect.Effect<string, HelixUserRequired> =>
    given !== undefined ?
      Effect.succeed(given) :
      Effect.flatMap(resolve, (r) =>
        r._tag === "User" ? Effect.succeed(r.userId) : Effect.fail(
          new HelixUserRequired({
            method: ep.name,
            endpoint: `${ep.method} ${ep.path}`,
            description: `no ${what} given and running with the app token: use Helix.withUser(userId) or pass it`
          })
        ))

  const request = <I, A>(ep: Endpoint<I, A>, input: I): Effect.Effect<A, HelixFailure> =>
    Effect.withSpan(execute(ep, input), `Helix.request ${ep.name}`)
  const paginate = <I, A>(
    ep: Endpoint<I, PageLike<A>>,
    input: I,
    pageOptions?: { readonly pageSize?: number | undefined }
  ): Stream.Stream<A, HelixFailure> => paginateWith(execute, ep, input, pageOptions)

  const getUsers = Effect.fn("Helix.getUsers")(function*(query: {
    readonly ids?: Iterable<string> | undefined
    readonly logins?: Iterable<string> | undefined
  }) {
    const items: Array<readonly [string, string]> = [
      ...Array.from(query.ids ?? [], (id) => ["id", id] as const),
      ...Array.from(query.logins ?? [], (login) => ["login", login] as const)
    ]
    return yield* batched(items, (batch) =>
      Effect.map(
        execute(getUsersEndpoint, {
          ids: batch.filter(([k]) => k === "id").map(([, v]) => v),
          logins: batch.filter(([k]) => k === "login").map(([, v]) => v)
        }),
        (page) => page.data
      ))
  })

  const getChannels = Effect.fn("Helix.getChannels")(function*(broadcasterIds: Iterable<string>) {
    const items = Array.from(broadcasterIds, (id) => ["broadcaster_id", id] as const)
    return yield* batched(
      items,
      (batch) => Effect.map(execute(getChannelsEndpoint, batch.map(([, v]) => v)), (page) => page.data)
    )
  })

  const service: Helix.Service = {
    request,
    paginate,
    actingUserId,
    getUsers,
    getUserById: Effect.fn("Helix.getUserById")(function*(id: string) {
      const page = yield* execute(getUsersEndpoint, { ids: [id], logins: [] })
      return Option.fromNullable(page.data.find((user) => user.id === id) ?? page.data[0])
    }),
    getUserByLogin: Effect.fn("Helix.getUserByLogin")(function*(login: string) {
      const page = yield* execute(getUsersEndpoint, { ids: [], logins: [login] })
      const wanted = login.toLowerCase()
      return Option.fromNullable(page.data.find((user) => user.login.toLowerCase() === wanted) ?? page.data[0])
    }),
    getChannels,
    getChannelInfo: Effect.fn("Helix.getChannelInfo")(function*(broadcasterId: string) {
      const page = yield* execute(getChannelsEndpoint, [broadcasterId])
      return Option.fromNullable(page.data[0])
    }),
    modifyChannelInfo: Effect.fn("Helix.modifyChannelInfo")(function*(broadcasterId: string, update) {
      yield* execute(modifyChannelEndpoint, { broadcasterId, update })
    }),
    followers: (broadcasterId, options) =>
      paginate(followersEndpoint, { broadcasterId, userId: options?.userId }).pipe(
        Stream.withSpan("Helix.followers")
      ),
    followerCount: Effect.fn("Helix.followerCount")(function*(broadcasterId: string) {
      const page = yield* execute(followersEndpoint, { broadcasterId }, [["first", "1"]])
      return page.total
    }),
    sendChatMessage: Effect.fn("Helix.sendChatMessage")(function*(input) {
      const senderId = yield* userIdFor(input.senderId, sendChatMessageEndpoint, "sender")
      const page = yield* execute(sendChatMessageEndpoint, {
        broadcasterId: input.broadcasterId,
        senderId,
        message: input.message,
        replyTo: input.replyTo
      })
      const sent = page.data[0]
      if (sent === undefined) {
        return yield* missingFirst(sendChatMessageEndpoint, "POST /chat/messages")
      }
      if (!sent.isSent) {
        return yield* new ChatMessageDropped({
          method: sendChatMessageEndpoint.name,
          endpoint: "POST /chat/messages",
          broadcasterId: input.broadcasterId,
          messageId: sent.messageId,
          code: sent.dropReason?.code ?? "unknown",
          reason: sent.dropReason?.message ?? "no reason given"
        })
      }
      return sent
    }),
    sendAnnouncement: Effect.fn("Helix.sendAnnouncement")(function*(input) {
      const moderatorId = yield* userIdFor(input.moderatorId, sendAnnouncementEndpoint, "moderator")
      yield* execute(sendAnnouncementEndpoint, {
        broadcasterId: input.broadcasterId,
        moderatorId,
        message: input.message,
        color: input.color
      })
    }),
    chatters: (broadcasterId, options) =>
      Stream.unwrap(
        Effect.map(
          userIdFor(options?.moderatorId, chattersEndpoint, "moderator"),
          (moderatorId) => paginate(chattersEndpoint, { broadcasterId, moderatorId })
        )
      ).pipe(Stream.withSpan("Helix.chatters")),
    getChatSettings: Effect.fn("Helix.getChatSettings")(function*(broadcasterId: string, options) {
      const page = yield* execute(getChatSettingsEndpoint, { broadcasterId, moderatorId: options?.moderatorId })
      const settings = page.data[0]
      if (settings === undefined) {
        return yield* new HelixNotFound({
          method: getChatSettingsEndpoint.name,
          endpoint: "GET /chat/settings",
          status: 200,
          twitchMessage: `no chat settings for ${broadcasterId}`
        })
      }
      return settings
    }),
    updateChatSettings: Effect.fn("Helix.updateChatSettings")(function*(broadcasterId: string, update, options) {
      const moderatorId = yield* userIdFor(options?.moderatorId, updateChatSettingsEndpoint, "moderator")
      const page = yield* execute(updateChatSettingsEndpoint, { broadcasterId, moderatorId, update })
      const settings = page.data[0]
      if (settings === undefined) {
        return yield* missingFirst(updateChatSettingsEndpoint, "PATCH /chat/settings")
      }
      return settings
    }),
    sendWhisper: Effect.fn("Helix.sendWhisper")(function*(toUserId: string, message: string, options) {
      const fromUserId = yield* userIdFor(options?.fromUserId, sendWhisperEndpoint, "sender")
      yield* execute(sendWhisperEndpoint, { fromUserId, toUserId, message })
    }),
    getStreams: Effect.fn("Helix.getStreams")(function*(filter?: StreamsFilter) {
      const page = yield* execute(streamsEndpoint, filter ?? {}, [["first", "100"]])
      return page.data
    }),
    streams: (filter) => paginate(streamsEndpoint, filter ?? {}).pipe(Stream.withSpan("Helix.streams")),
    createEventSubSubscription: Effect.fn("Helix.createEventSubSubscription")(
      function*(subscription: CreateEventSubSubscription) {
        return yield* execute(createEventSubEndpoint, subscription)
      }
    ),
    eventSubSubscriptions: (filter) =>
      paginate(eventSubSubscriptionsEndpoint, filter ?? {}).pipe(Stream.withSpan("Helix.eventSubSubscriptions")),
    deleteEventSubSubscription: Effect.fn("Helix.deleteEventSubSubscription")(function*(id: string) {
      yield* execute(deleteEventSubEndpoint, id)
    }),
    banUser: Effect.fn("Helix.banUser")(function*(input) {
      const moderatorId = yield* userIdFor(input.moderatorId, banEndpoint, "moderator")
      const page = yield* execute(banEndpoint, {
        broadcasterId: input.broadcasterId,
        moderatorId,
        userId: input.userId,
        duration: input.duration,
        reason: input.reason
      })
      const ban = page.data[0]
      if (ban === undefined) {
        return yield* missingFirst(banEndpoint, "POST /moderation/bans")
      }
      return ban
    }),
    unbanUser: Effect.fn("Helix.unbanUser")(function*(input) {
      const moderatorId = yield* userIdFor(input.moderatorId, unbanEndpoint, "moderator")
      yield* execute(unbanEndpoint, { broadcasterId: input.broadcasterId, moderatorId, userId: input.userId })
    })
  }
  return service
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<Helix.Service, never, HttpClient.HttpClient | TwitchConfig | AccessTokens | Scope.Scope> =>
  Effect.gen(function*() {
    const config = yield* TwitchConfig
    const tokens = yield* AccessTokens
    const timeoutMillis = Duration.toMillis(config.requestTimeout)
    const limiter = yield* RateLimiter.make(Math.max(1, options.maxConcurrency ?? 50), timeoutMillis)
    const timeouts = yield* Timeouts.make(config.requestTimeout)
    const maxRetries = Math.max(0, options.maxRetries ?? 2)
    const maxRateLimitRetries = Math.max(0, options.maxRateLimitRetries ?? 3)
    const maxRateLimitWait = Duration.toMillis(Duration.decode(options.maxRateLimitWait ?? Duration.minutes(2)))
    const retrySchedule = Schedule.exponential(options.retryBaseDelay ?? Duration.millis(250)).pipe(
      Schedule.union(Schedule.spaced(Duration.seconds(5))),
      Schedule.jittered
    )

    // Requests are built complete (URL, Client-Id, Accept) by `execute`: a `mapRequest` here would copy
    // every request three times.
    const client = (yield* HttpClient.HttpClient).pipe(HttpClient.withTracerPropagation(false))
    const baseUrl = config.helixUrl.endsWith("/") ? config.helixUrl.slice(0, -1) : config.helixUrl
    const baseHeaders = { "client-id": config.clientId, accept: "application/json" }

    const resolve: Effect.Effect<Resolved> = Effect.map(
      CurrentPrincipal,
      (principal): Resolved =>
        principal._tag === "Default"
          ? options.defaultUser === undefined ? { _tag: "App" } : { _tag: "User", userId: options.defaultUser }
          : principal
    )

    const rt: Runtime = {
      resolve,
      tokens,
      baseUrl,
      baseHeaders,
      client,
      limiter,
      timeouts,
      timeoutMillis,
      maxRetries,
      retrySchedule,
      maxRateLimitRetries,
      maxRateLimitWait
    }
    const execute: Execute = (ep, input, extraQuery) => executeWith(rt, ep, input, extraQuery)
    return serviceOf(execute, resolve)
  })

const decodeErrorMessage = (text: string): string =>
  Option.match(decodeErrorBody(text), { onNone: () => "", onSome: (body) => body.message ?? "" })

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<Helix, never, HttpClient.HttpClient | TwitchConfig | AccessTokens> => Layer.scoped(Helix, make(options))

/**
 * Accessor: runs `f` with the `Helix` service.
 *
 * @since 0.1.0
 * @category accessors
 */
export const use = <A, E, R>(f: (helix: Helix.Service) => Effect.Effect<A, E, R>): Effect.Effect<A, E, R | Helix> =>
  Effect.flatMap(Helix, f)
