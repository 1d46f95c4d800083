/**
 * Twitch's REST API (Helix) as an Effect service.
 *
 * Callers never handle a token, a rate limit or a cursor: tokens come from `AccessTokens` (a 401 is
 * answered by one refresh and one retry), requests wait for the token's rate-limit bucket, 5xx and
 * transport failures are retried on a jittered schedule, lists are `Stream`s that fetch page by page.
 *
 * The operations themselves are in `HelixApi` (one module per area of Twitch's reference, generated):
 * each is an {@link Endpoint} and a function. This module runs them (`request`, `paginate`) and holds
 * the errors.
 *
 * Whose token a call uses is a context, not a parameter:
 *
 * ```ts
 * HelixApi.Users.getUsers({ id: ["1"] }).pipe(Helix.withUser("42")) // as user 42
 * HelixApi.Users.getUsers({ id: ["1"] }).pipe(Helix.withApp)        // with the app token
 * HelixApi.Users.getUsers({ id: ["1"] })                            // the `defaultUser` option, else the app token
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
import * as Redacted from "effect/Redacted"
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
import type { UserToken } from "./Token.js"
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
 * import { Helix, HelixApi } from "effect-twitch"
 *
 * // Effect<ReadonlyArray<User>, HelixFailure, Helix>, run with user 42's token
 * const users = HelixApi.Users.getUsers({ id: ["1"] }).pipe(Helix.withUser("42"))
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
 * Which token an operation takes: a user's, the app's, either (the acting principal's), or an
 * Extension's JWT (`extension_jwt` in the input).
 *
 * @since 0.2.0
 * @category endpoints
 */
export type TokenKind = "user" | "app" | "either" | "jwt"

/**
 * One Helix operation: method, path, which token, how the input becomes query and body, which scopes a
 * user token needs, and the schema of the answer (`undefined` for 204 No Content). Every generated
 * operation (`HelixApi`) is one; declare your own with {@link endpoint}; run with `Helix.request` /
 * `Helix.paginate`.
 *
 * @since 0.1.0
 * @category endpoints
 */
export interface Endpoint<in I, out A> {
  readonly name: string
  readonly method: HttpMethod.HttpMethod
  readonly path: string
  /** Which token the call takes (default `either`: the acting principal's). */
  readonly token: TokenKind
  /** A user token needs any one of them (checked before sending); empty: none. */
  readonly scopes: ReadonlyArray<string>
  /** Largest `first` the endpoint accepts when paginated; `undefined`: it takes no `first`. */
  readonly pageSize: number | undefined
  /** The input field that names the token's user; filled in from the acting user when left out. */
  readonly actingUser: string | undefined
  /** Twitch requires `actingUser`: with the app token and none given, the call fails with `HelixUserRequired`. */
  readonly actingUserRequired: boolean
  /** Array input fields sent in requests of at most 100 values in all, the `data` answers merged. */
  readonly batch: ReadonlyArray<string> | undefined
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
  readonly token?: TokenKind | undefined
  readonly scopes?: ReadonlyArray<string> | undefined
  readonly pageSize?: number | undefined
  readonly actingUser?: string | undefined
  readonly actingUserRequired?: boolean | undefined
  readonly batch?: ReadonlyArray<string> | undefined
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
  token: options.token ?? "either",
  scopes: options.scopes ?? [],
  pageSize: options.pageSize,
  actingUser: options.actingUser,
  actingUserRequired: options.actingUserRequired ?? false,
  batch: options.batch,
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
  /** `{ cursor }`; Get Extension Live Channels answers the cursor itself, as a string. */
  readonly pagination?: { readonly cursor?: string | null | undefined } | string | null | undefined
}

/**
 * `pagination: { cursor }`; absent, `{}` or an empty cursor means no more pages.
 *
 * @since 0.1.0
 * @category models
 */
export const Pagination = Schema.Struct({ cursor: Schema.optional(Schema.NullOr(Schema.String)) })

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
    /** Runs any endpoint (every operation of `HelixApi` is one, or declare one with {@link endpoint}). */
    readonly request: <I, A>(endpoint: Endpoint<I, A>, input: I) => Effect.Effect<A, HelixFailure>
    /** All items of a paginated endpoint, fetched page by page as the stream is pulled. */
    readonly paginate: <I, A>(
      endpoint: Endpoint<I, PageLike<A>>,
      input: I,
      options?: { readonly pageSize?: number | undefined }
    ) => Stream.Stream<A, HelixFailure>
    /** The user the current context acts as, `defaultUser` included (`None`: the app token). */
    readonly actingUserId: Effect.Effect<Option.Option<string>>
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

/** Whose token one call runs with: a user's, the app's, or an Extension's JWT. */
type CallPrincipal = Resolved | { readonly _tag: "Jwt"; readonly token: Redacted.Redacted }

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
  const { rateLimit, status } = exit.value
  if (rateLimit !== undefined) return { _tag: "Headers", headers: rateLimit }
  // only a success without the headers says the server does not limit: a proxy's 502 says nothing
  return status >= 200 && status < 300 ? NO_HEADERS : NO_RESPONSE
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

/** The user's token, failing with `HelixForbidden` when it has none of the scopes the endpoint takes. */
const userToken = <I, A>(
  tokens: AccessTokens.Service,
  ep: Endpoint<I, A>,
  userId: string,
  ids: Ids
): Effect.Effect<UserToken, HelixFailure> =>
  Effect.flatMap(
    tokens.forUser(userId),
    (user) =>
      ep.scopes.length > 0 && !ep.scopes.some((scope) => user.scopes.includes(scope))
        ? Effect.fail(
          new HelixForbidden({
            ...ids,
            status: 0,
            twitchMessage: `the token of user ${userId} lacks ${ep.scopes.length === 1 ? "" : "any of "}${
              ep.scopes.join(", ")
            }`,
            missingScopes: ep.scopes
          })
        )
        : Effect.succeed(user)
  )

/** The token the principal calls with. */
const tokenFor = <I, A>(
  rt: Runtime,
  ep: Endpoint<I, A>,
  principal: CallPrincipal,
  ids: Ids
): Effect.Effect<{ readonly accessToken: Redacted.Redacted }, HelixFailure> => {
  switch (principal._tag) {
    case "User":
      return userToken(rt.tokens, ep, principal.userId, ids)
    case "App":
      return rt.tokens.app
    case "Jwt":
      return Effect.succeed({ accessToken: principal.token })
  }
}

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
        // what was expected, never the value found: an answer may carry a stream key or a secret
        description: issue === undefined ? "invalid body" : issue.message.replace(/, actual [\s\S]*$/, "")
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
  principal: CallPrincipal,
  input: I,
  extraQuery: ReadonlyArray<readonly [string, string]>
): Effect.Effect<A, HelixFailure> =>
  Effect.gen(function*() {
    const ids = { method: ep.name, endpoint: `${ep.method} ${ep.path}` }
    const key = principal._tag === "User" ? `user:${principal.userId}` : principal._tag === "App" ? "app" : "extension"
    // The token and the request are made once the rate limiter lets the call go (see `send`): a burst
    // of thousands of calls then costs next to nothing up front, and the work follows the permits.
    const state: {
      token: { readonly accessToken: Redacted.Redacted } | undefined
      request: HttpClientRequest.HttpClientRequest | undefined
    } = { token: undefined, request: undefined }
    const withToken = (current: { readonly accessToken: Redacted.Redacted }): HttpClientRequest.HttpClientRequest => {
      state.request ??= buildRequest(rt, ep, input, extraQuery)
      return HttpClientRequest.bearerToken(state.request, current.accessToken)
    }
    const fetchToken = tokenFor(rt, ep, principal, ids)
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
        response.status === 401 && !refreshed && rejected !== undefined && principal._tag !== "Jwt" &&
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
      const next = typeof page.pagination === "string" ? page.pagination : page.pagination?.cursor
      return [
        Chunk.unsafeFromArray(page.data.slice()),
        next !== undefined && next !== null && next !== "" && page.data.length > 0 && next !== cursor
          ? Option.some(next)
          : Option.none()
      ] as const
    })
  })
}

/** The principal a call runs as, and its input with the acting user filled in where it was left out. */
const principalFor = <I, A>(
  ep: Endpoint<I, A>,
  context: Resolved,
  input: I
): Effect.Effect<readonly [CallPrincipal, I], HelixUserRequired> => {
  const record = (input ?? {}) as Readonly<Record<string, unknown>>
  if (ep.token === "app") return Effect.succeed([{ _tag: "App" }, input])
  if (ep.token === "jwt") {
    const { extension_jwt, ...rest } = record
    return Redacted.isRedacted(extension_jwt)
      ? Effect.succeed([{ _tag: "Jwt", token: extension_jwt as Redacted.Redacted<string> }, rest as I])
      : Effect.fail(userRequired(ep, "it needs the Extension's JWT: pass extension_jwt (a Redacted)"))
  }
  const acting = ep.actingUser
  const given = acting === undefined ? undefined : record[acting]
  if (context._tag === "User") {
    return Effect.succeed([
      context,
      acting === undefined || given !== undefined ? input : { ...record, [acting]: context.userId } as I
    ])
  }
  if (ep.token === "user" || (ep.actingUserRequired && given === undefined)) {
    return typeof given === "string"
      ? Effect.succeed([{ _tag: "User", userId: given }, input])
      : Effect.fail(userRequired(
        ep,
        ep.token === "user"
          ? `it needs a user token and runs with the app token: use Helix.withUser(userId)${
            acting === undefined ? "" : ` or pass ${acting}`
          }`
          : `it runs with the app token and Twitch requires ${acting}: pass it, or use Helix.withUser(userId)`
      ))
  }
  return Effect.succeed([context, input])
}

const userRequired = <I, A>(ep: Endpoint<I, A>, description: string): HelixUserRequired =>
  new HelixUserRequired({ method: ep.name, endpoint: `${ep.method} ${ep.path}`, description })

/** The input split so that no request carries more than 100 values of the batched fields in all. */
const batchesOf = <I>(fields: ReadonlyArray<string>, input: I): ReadonlyArray<I> | undefined => {
  const record = (input ?? {}) as Readonly<Record<string, unknown>>
  const pairs = fields.flatMap((field) => {
    const values = record[field]
    return Array.isArray(values) ? values.map((value: unknown) => [field, value] as const) : []
  })
  if (pairs.length <= 100) return undefined
  return chunksOf(pairs, 100).map((chunk) => {
    const batch: Record<string, unknown> = { ...record }
    for (const field of fields) batch[field] = chunk.filter(([f]) => f === field).map(([, v]) => v)
    return batch as I
  })
}

/** Runs every batch, four at a time, and answers the first answer with every batch's `data`, in order. */
const batched = <I, A>(
  batches: ReadonlyArray<I>,
  run: (input: I) => Effect.Effect<A, HelixFailure>
): Effect.Effect<A, HelixFailure> =>
  Effect.map(Effect.forEach(batches, run, { concurrency: 4 }), (answers) => {
    const pages = answers as ReadonlyArray<PageLike<unknown>>
    return { ...pages[0], data: pages.flatMap((page) => page.data) } as A
  })

/** The service, over one service's runtime. */
const serviceOf = (rt: Runtime): Helix.Service => {
  const execute: Execute = (ep, input, extraQuery = []) =>
    Effect.flatMap(rt.resolve, (context) =>
      Effect.flatMap(
        principalFor(ep, context, input),
        ([principal, filled]) => executeWith(rt, ep, principal, filled, extraQuery)
      ))
  const request = <I, A>(ep: Endpoint<I, A>, input: I): Effect.Effect<A, HelixFailure> => {
    const batches = ep.batch === undefined ? undefined : batchesOf(ep.batch, input)
    return Effect.withSpan(
      batches === undefined ? execute(ep, input) : batched(batches, (batch) => execute(ep, batch)),
      `Helix.${ep.name}`
    )
  }
  return {
    request,
    paginate: (ep, input, pageOptions) =>
      paginateWith(execute, ep, input, pageOptions).pipe(Stream.withSpan(`Helix.${ep.name}`)),
    actingUserId: Effect.map(rt.resolve, (r) => r._tag === "User" ? Option.some(r.userId) : Option.none())
  }
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
    return serviceOf(rt)
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
