/**
 * Twitch OAuth flows (`id.twitch.tv/oauth2`): refresh, validate, revoke, client credentials,
 * authorization code, and the two calls of the Device Code flow.
 *
 * Every POST is form-encoded, so secrets travel in the body and never in a URL. Every request has
 * the `TwitchConfig.requestTimeout`. Every failure Twitch documents is its own tagged error.
 *
 * Retries: transient failures (5xx, network, timeout) are retried with a bounded, jittered
 * exponential schedule on calls where a repeat is harmless (`validate`, `revoke`, `appToken`,
 * `deviceStart`). `refresh`, `exchangeCode` and `devicePoll` consume single-use credentials, so
 * they are retried only when the connection could not be opened at all (the request provably never
 * reached Twitch).
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { describeParseError, TaggedError } from "./internal/errors.js"
import { parseJson } from "./internal/json.js"
import { AppToken, UserToken } from "./Token.js"
import { TwitchConfig } from "./TwitchConfig.js"

// -----------------------------------------------------------------------------
// models
// -----------------------------------------------------------------------------

/**
 * The body of a successful `/token` answer (refresh, authorization code, device code, client
 * credentials). Unknown fields are ignored.
 *
 * @since 0.1.0
 * @category models
 */
export class TokenResponse extends Schema.Class<TokenResponse>("effect-twitch/OAuth/TokenResponse")({
  accessToken: Schema.propertySignature(Schema.Redacted(Schema.String)).pipe(Schema.fromKey("access_token")),
  /** Absent for client credentials; public clients get a new single-use one on every refresh. */
  refreshToken: Schema.optionalWith(Schema.Redacted(Schema.String), { as: "Option", nullable: true }).pipe(
    Schema.fromKey("refresh_token")
  ),
  /** Seconds until the access token expires. */
  expiresIn: Schema.optionalWith(Schema.Number, { as: "Option", nullable: true }).pipe(Schema.fromKey("expires_in")),
  scopes: Schema.optionalWith(Schema.Array(Schema.String), { nullable: true, default: () => [] }).pipe(
    Schema.fromKey("scope")
  )
}) {}

/**
 * The body of a successful `/validate` answer. App tokens have no `login` / `userId`.
 *
 * @since 0.1.0
 * @category models
 */
export class ValidateResponse extends Schema.Class<ValidateResponse>("effect-twitch/OAuth/ValidateResponse")({
  clientId: Schema.propertySignature(Schema.String).pipe(Schema.fromKey("client_id")),
  login: Schema.optionalWith(Schema.String, { as: "Option", nullable: true }),
  userId: Schema.optionalWith(Schema.String, { as: "Option", nullable: true }).pipe(Schema.fromKey("user_id")),
  scopes: Schema.optionalWith(Schema.Array(Schema.String), { nullable: true, default: () => [] }),
  /** Seconds until the token expires (0 for tokens that do not expire). */
  expiresIn: Schema.propertySignature(Schema.Number).pipe(Schema.fromKey("expires_in"))
}) {}

/**
 * The body of a successful `/device` answer: what to show the person, and the secret device code.
 *
 * @since 0.1.0
 * @category models
 */
export class DeviceCodeResponse extends Schema.Class<DeviceCodeResponse>("effect-twitch/OAuth/DeviceCodeResponse")({
  deviceCode: Schema.propertySignature(Schema.Redacted(Schema.String)).pipe(Schema.fromKey("device_code")),
  userCode: Schema.propertySignature(Schema.String).pipe(Schema.fromKey("user_code")),
  verificationUri: Schema.propertySignature(Schema.String).pipe(Schema.fromKey("verification_uri")),
  /** Seconds until the device code expires (Twitch: 1800). */
  expiresIn: Schema.propertySignature(Schema.Number).pipe(Schema.fromKey("expires_in")),
  /** Minimum seconds between polls (Twitch: 5). */
  interval: Schema.optionalWith(Schema.Number, { nullable: true, default: () => 5 })
}) {}

/**
 * @since 0.1.0
 * @category models
 */
export interface AuthorizeUrlOptions {
  readonly scopes: ReadonlyArray<string>
  readonly redirectUri: string
  /** An unguessable value you check when Twitch redirects back (CSRF protection). */
  readonly state: string
  readonly forceVerify?: boolean | undefined
}

// -----------------------------------------------------------------------------
// errors
// -----------------------------------------------------------------------------

const Tagged = TaggedError("OAuth")

/**
 * `refresh`: Twitch does not know the refresh token (already used, revoked, expired, or from another
 * client). The user must authorize again.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidRefreshToken
  extends Tagged<InvalidRefreshToken>()("InvalidRefreshToken", { method: Schema.String })
{
  /** @since 0.1.0 */
  override get message(): string {
    return `OAuth.${this.method}: invalid refresh token`
  }
}

/**
 * `validate`: Twitch answered 401 (the access token is expired, revoked or unknown).
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidAccessToken extends Tagged<InvalidAccessToken>()("InvalidAccessToken", { method: Schema.String }) {
  /** @since 0.1.0 */
  override get message(): string {
    return `OAuth.${this.method}: invalid access token`
  }
}

/**
 * The flow needs a client secret: either `TwitchConfig.clientSecret` is not set (checked before
 * sending) or Twitch answered "missing client secret" (a confidential client must send it).
 *
 * @since 0.1.0
 * @category errors
 */
export class MissingClientSecret
  extends Tagged<MissingClientSecret>()("MissingClientSecret", { method: Schema.String })
{
  /** @since 0.1.0 */
  override get message(): string {
    return `OAuth.${this.method}: a client secret is required for this flow`
  }
}

/**
 * Twitch rejected the client id or client secret ("invalid client", "invalid client secret").
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidClient
  extends Tagged<InvalidClient>()("InvalidClient", { method: Schema.String, description: Schema.String })
{
  /** @since 0.1.0 */
  override get message(): string {
    return `OAuth.${this.method}: ${this.description}`
  }
}

/**
 * `devicePoll`: the device code is unknown, expired or already used.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidDeviceCode extends Tagged<InvalidDeviceCode>()("InvalidDeviceCode", { method: Schema.String }) {
  /** @since 0.1.0 */
  override get message(): string {
    return `OAuth.${this.method}: invalid device code`
  }
}

/**
 * `devicePoll`: the person has not approved yet; poll again after the interval.
 *
 * @since 0.1.0
 * @category errors
 */
export class AuthorizationPending
  extends Tagged<AuthorizationPending>()("AuthorizationPending", { method: Schema.String })
{
  /** @since 0.1.0 */
  override get message(): string {
    return `OAuth.${this.method}: authorization pending`
  }
}

/**
 * `devicePoll`: polling too fast; add 5 seconds to the interval (RFC 8628).
 *
 * @since 0.1.0
 * @category errors
 */
export class SlowDown extends Tagged<SlowDown>()("SlowDown", { method: Schema.String }) {
  /** @since 0.1.0 */
  override get message(): string {
    return `OAuth.${this.method}: slow down`
  }
}

/**
 * The person declined the authorization request.
 *
 * @since 0.1.0
 * @category errors
 */
export class AccessDenied extends Tagged<AccessDenied>()("AccessDenied", { method: Schema.String }) {
  /** @since 0.1.0 */
  override get message(): string {
    return `OAuth.${this.method}: access denied`
  }
}

/**
 * Twitch does not know the client id (`revoke` answers 404 "client does not exist").
 *
 * @since 0.1.0
 * @category errors
 */
export class ClientNotFound extends Tagged<ClientNotFound>()("ClientNotFound", { method: Schema.String }) {
  /** @since 0.1.0 */
  override get message(): string {
    return `OAuth.${this.method}: client does not exist`
  }
}

/**
 * `revoke`: Twitch answered 400 "Invalid token" (unknown or already revoked).
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidToken extends Tagged<InvalidToken>()("InvalidToken", { method: Schema.String }) {
  /** @since 0.1.0 */
  override get message(): string {
    return `OAuth.${this.method}: invalid token`
  }
}

/**
 * Any other 4xx answer, with Twitch's `{ status, message }`.
 *
 * @since 0.1.0
 * @category errors
 */
export class OAuthBadRequest extends Tagged<OAuthBadRequest>()("OAuthBadRequest", {
  method: Schema.String,
  status: Schema.Number,
  description: Schema.String
}) {
  /** @since 0.1.0 */
  override get message(): string {
    return `OAuth.${this.method}: HTTP ${this.status}: ${this.description}`
  }
}

/**
 * Twitch answered 5xx (transient; retried where safe).
 *
 * @since 0.1.0
 * @category errors
 */
export class OAuthServerError extends Tagged<OAuthServerError>()("OAuthServerError", {
  method: Schema.String,
  status: Schema.Number,
  description: Schema.String
}) {
  /** @since 0.1.0 */
  override get message(): string {
    return `OAuth.${this.method}: HTTP ${this.status}: ${this.description}`
  }
}

/**
 * The request failed on the way (connection refused, reset, DNS, timeout). `connectFailed` is true
 * only when the connection could not be opened, i.e. the request provably never reached Twitch.
 *
 * @since 0.1.0
 * @category errors
 */
export class OAuthTransportError extends Tagged<OAuthTransportError>()("OAuthTransportError", {
  method: Schema.String,
  reason: Schema.Literal("Transport", "Timeout"),
  connectFailed: Schema.Boolean,
  description: Schema.String
}) {
  /** @since 0.1.0 */
  override get message(): string {
    return `OAuth.${this.method}: ${this.reason}: ${this.description}`
  }
}

/**
 * A successful answer whose body could not be read: an HTML page, malformed or truncated JSON, or
 * fields of the wrong type. The description names the failing fields, never their values.
 *
 * @since 0.1.0
 * @category errors
 */
export class OAuthDecodeError extends Tagged<OAuthDecodeError>()("OAuthDecodeError", {
  method: Schema.String,
  status: Schema.Number,
  description: Schema.String
}) {
  /** @since 0.1.0 */
  override get message(): string {
    return `OAuth.${this.method}: HTTP ${this.status}: ${this.description}`
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export type OAuthError =
  | InvalidRefreshToken
  | InvalidAccessToken
  | MissingClientSecret
  | InvalidClient
  | InvalidDeviceCode
  | AuthorizationPending
  | SlowDown
  | AccessDenied
  | ClientNotFound
  | InvalidToken
  | OAuthBadRequest
  | OAuthServerError
  | OAuthTransportError
  | OAuthDecodeError

/**
 * @since 0.1.0
 * @category errors
 */
export const OAuthError: Schema.Union<[
  typeof InvalidRefreshToken,
  typeof InvalidAccessToken,
  typeof MissingClientSecret,
  typeof InvalidClient,
  typeof InvalidDeviceCode,
  typeof AuthorizationPending,
  typeof SlowDown,
  typeof AccessDenied,
  typeof ClientNotFound,
  typeof InvalidToken,
  typeof OAuthBadRequest,
  typeof OAuthServerError,
  typeof OAuthTransportError,
  typeof OAuthDecodeError
]> = Schema.Union(
  InvalidRefreshToken,
  InvalidAccessToken,
  MissingClientSecret,
  InvalidClient,
  InvalidDeviceCode,
  AuthorizationPending,
  SlowDown,
  AccessDenied,
  ClientNotFound,
  InvalidToken,
  OAuthBadRequest,
  OAuthServerError,
  OAuthTransportError,
  OAuthDecodeError
)

/**
 * Whether an error is worth retrying (5xx, network, timeout). Single-use credentials must not be
 * retried on these unless `connectFailed` (see {@link OAuthTransportError}).
 *
 * @since 0.1.0
 * @category predicates
 */
export const isTransient = (error: OAuthError): error is OAuthServerError | OAuthTransportError =>
  error._tag === "OAuthServerError" || error._tag === "OAuthTransportError"

// -----------------------------------------------------------------------------
// service
// -----------------------------------------------------------------------------

/**
 * @since 0.1.0
 * @category tags
 */
export class OAuth extends Context.Tag("effect-twitch/OAuth")<OAuth, OAuth.Service>() {}

/**
 * @since 0.1.0
 */
export declare namespace OAuth {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    /**
     * Exchange a refresh token for a new pair (`grant_type=refresh_token`). Sends the client secret
     * when configured; public clients refresh without one. Public-client refresh tokens are single
     * use: store the returned pair before anything else.
     */
    readonly refresh: (refreshToken: Redacted.Redacted<string>) => Effect.Effect<TokenResponse, OAuthError>
    /** `GET /validate`: who the token belongs to, its scopes and remaining lifetime. */
    readonly validate: (accessToken: Redacted.Redacted<string>) => Effect.Effect<ValidateResponse, OAuthError>
    /** `POST /revoke`. */
    readonly revoke: (accessToken: Redacted.Redacted<string>) => Effect.Effect<void, OAuthError>
    /** A new app token by client credentials (needs the client secret). */
    readonly appToken: Effect.Effect<AppToken, OAuthError>
    /** The browser URL of the authorization-code flow. Pure; contains no secret. */
    readonly authorizeUrl: (options: AuthorizeUrlOptions) => string
    /** Exchange an authorization code (needs the client secret). */
    readonly exchangeCode: (options: {
      readonly code: string
      readonly redirectUri: string
    }) => Effect.Effect<TokenResponse, OAuthError>
    /** Device Code flow, step 1: `POST /device`. */
    readonly deviceStart: (scopes: ReadonlyArray<string>) => Effect.Effect<DeviceCodeResponse, OAuthError>
    /**
     * Device Code flow, step 2: one poll of `/token`. Fails with `AuthorizationPending` or `SlowDown`
     * while waiting (see `DeviceAuth` for the loop).
     */
    readonly devicePoll: (
      deviceCode: Redacted.Redacted<string>,
      scopes: ReadonlyArray<string>
    ) => Effect.Effect<TokenResponse, OAuthError>
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** How many times a transient failure is retried where that is safe (default 3). */
  readonly retryTimes?: number | undefined
  /** First retry delay, doubled each time and jittered (default 250 millis). */
  readonly retryBaseDelay?: Duration.DurationInput | undefined
}

type Method =
  | "refresh"
  | "validate"
  | "revoke"
  | "appToken"
  | "exchangeCode"
  | "deviceStart"
  | "devicePoll"

interface RawResponse {
  readonly status: number
  readonly contentType: string
  readonly text: string
}

const ErrorBody = Schema.Struct({
  status: Schema.optional(Schema.Number),
  message: Schema.optional(Schema.String),
  error: Schema.optional(Schema.String)
})

const decodeErrorBody = Schema.decodeUnknownOption(ErrorBody)
const decodeTokenResponse = Schema.decodeUnknownEither(TokenResponse)
const decodeValidateResponse = Schema.decodeUnknownEither(ValidateResponse)
const decodeDeviceCodeResponse = Schema.decodeUnknownEither(DeviceCodeResponse)

const DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"

const truncate = (s: string, max = 200): string => (s.length > max ? `${s.slice(0, max)}…` : s)

const NOT_CONNECTED_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"])

/** Walks `cause` chains looking for an errno code proving the connection never opened. */
const connectionNeverOpened = (cause: unknown): boolean => {
  let current: unknown = cause
  for (let depth = 0; depth < 6 && typeof current === "object" && current !== null; depth++) {
    const code = (current as { readonly code?: unknown }).code
    if (typeof code === "string" && NOT_CONNECTED_CODES.has(code)) return true
    const errors = (current as { readonly errors?: unknown }).errors
    if (Array.isArray(errors) && errors.length > 0 && errors.every(connectionNeverOpened)) return true
    current = (current as { readonly cause?: unknown }).cause
  }
  return false
}

const describeCause = (cause: unknown): string => {
  let current: unknown = cause
  const parts: Array<string> = []
  for (let depth = 0; depth < 4 && typeof current === "object" && current !== null; depth++) {
    const code = (current as { readonly code?: unknown }).code
    if (typeof code === "string") parts.push(code)
    current = (current as { readonly cause?: unknown }).cause
  }
  return parts.length > 0 ? parts.join(" <- ") : "network error"
}

const classify = (method: Method, response: RawResponse): OAuthError => {
  const parsed = Either.getRight(parseJson(response.text)).pipe(Option.flatMap(decodeErrorBody))
  const serverMessage = parsed.pipe(
    Option.flatMap((body) => Option.fromNullable(body.message ?? body.error)),
    Option.map((m) => truncate(m))
  )
  const status = response.status
  const description = Option.getOrElse(
    serverMessage,
    () => `HTTP ${status} with a non-JSON body (${response.contentType || "no content-type"})`
  )
  if (status >= 500) return new OAuthServerError({ method, status, description })
  const m = Option.getOrElse(serverMessage, () => "").toLowerCase().trim()
  if (m === "invalid refresh token") return new InvalidRefreshToken({ method })
  if (m === "missing client secret") return new MissingClientSecret({ method })
  if (m === "invalid client secret" || m === "invalid client") return new InvalidClient({ method, description })
  if (m === "invalid device code") return new InvalidDeviceCode({ method })
  if (m === "authorization_pending" || m === "authorization pending") return new AuthorizationPending({ method })
  if (m === "slow_down" || m === "slow down") return new SlowDown({ method })
  if (m === "access_denied" || m === "access denied" || m === "authorization denied") {
    return new AccessDenied({ method })
  }
  if (m === "client does not exist" || (method === "revoke" && status === 404)) return new ClientNotFound({ method })
  if (method === "revoke" && m === "invalid token") return new InvalidToken({ method })
  if (m === "invalid access token" || (method === "validate" && status === 401)) {
    return new InvalidAccessToken({ method })
  }
  return new OAuthBadRequest({ method, status, description })
}

const decodeSuccess = <A>(
  method: Method,
  response: RawResponse,
  decode: (u: unknown) => Either.Either<A, ParseResult.ParseError>
): Either.Either<A, OAuthError> =>
  Either.mapLeft(
    parseJson(response.text),
    (problem) =>
      new OAuthDecodeError({
        method,
        status: response.status,
        description: `response body is ${problem} (${response.contentType || "no content-type"})`
      })
  ).pipe(
    Either.flatMap((json) =>
      Either.mapLeft(
        decode(json),
        (error) =>
          new OAuthDecodeError({
            method,
            status: response.status,
            description: describeParseError(error, "unexpected response shape")
          })
      )
    )
  )

/**
 * Builds a `UserToken` from a token answer and the `/validate` answer for its access token.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeUserToken = (options: {
  readonly token: TokenResponse
  readonly validated: ValidateResponse
  readonly now: DateTime.Utc
  /** Fallback when the answers carry no user id / login (never the case for user tokens). */
  readonly userId?: string | undefined
  readonly login?: string | undefined
}): UserToken => {
  const { now, token, validated } = options
  const expiresIn = Option.orElse(
    Option.filter(token.expiresIn, (n) => n > 0),
    () => Option.some(validated.expiresIn).pipe(Option.filter((n) => n > 0))
  )
  return new UserToken({
    userId: Option.getOrElse(validated.userId, () => options.userId ?? ""),
    login: Option.getOrElse(validated.login, () => options.login ?? ""),
    scopes: validated.scopes.length > 0 ? validated.scopes : token.scopes,
    accessToken: token.accessToken,
    refreshToken: Option.filter(token.refreshToken, (r) => Redacted.value(r).length > 0),
    expiresAt: Option.map(expiresIn, (s) => DateTime.addDuration(now, Duration.seconds(s))),
    obtainedAt: now
  })
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<OAuth.Service, never, HttpClient.HttpClient | TwitchConfig> =>
  Effect.gen(function*() {
    const config = yield* TwitchConfig
    const client = (yield* HttpClient.HttpClient).pipe(HttpClient.withTracerPropagation(false))
    const retryTimes = options.retryTimes ?? 3
    const retrySchedule = Schedule.exponential(options.retryBaseDelay ?? Duration.millis(250)).pipe(
      Schedule.jittered,
      Schedule.intersect(Schedule.recurs(retryTimes))
    )

    const url = (path: string) => `${config.authUrl}${path}`

    const execute = (method: Method, request: HttpClientRequest.HttpClientRequest) =>
      client.execute(request).pipe(
        Effect.flatMap((response) =>
          Effect.map(response.text, (text): RawResponse => ({
            status: response.status,
            contentType: response.headers["content-type"] ?? "",
            text
          }))
        ),
        Effect.catchAll((error: HttpClientError.HttpClientError) =>
          Effect.fail(
            new OAuthTransportError({
              method,
              reason: "Transport",
              connectFailed: error._tag === "RequestError" && error.reason === "Transport" &&
                connectionNeverOpened(error.cause),
              description: error._tag === "RequestError"
                ? `${error.reason}: ${describeCause(error.cause)}`
                : `reading the response failed (${error.reason})`
            })
          )
        ),
        Effect.timeoutFail({
          duration: config.requestTimeout,
          onTimeout: () =>
            new OAuthTransportError({
              method,
              reason: "Timeout",
              connectFailed: false,
              description: `no answer within ${Duration.format(config.requestTimeout)}`
            })
        })
      )

    const call = <A>(
      method: Method,
      request: HttpClientRequest.HttpClientRequest,
      decode: (u: unknown) => Either.Either<A, ParseResult.ParseError>
    ): Effect.Effect<A, OAuthError> =>
      Effect.flatMap(execute(method, request), (response) =>
        response.status >= 200 && response.status < 300
          ? decodeSuccess(method, response, decode)
          : Effect.fail(classify(method, response)))

    const retryIdempotent = <A>(effect: Effect.Effect<A, OAuthError>) =>
      Effect.retry(effect, { schedule: retrySchedule, while: isTransient })

    const retryIfNeverSent = <A>(effect: Effect.Effect<A, OAuthError>) =>
      Effect.retry(effect, {
        schedule: retrySchedule,
        while: (e) => e._tag === "OAuthTransportError" && e.connectFailed
      })

    const form = (method: Method, params: Record<string, string>) =>
      HttpClientRequest.post(url(method === "revoke" ? "/revoke" : method === "deviceStart" ? "/device" : "/token"))
        .pipe(
          HttpClientRequest.acceptJson,
          HttpClientRequest.bodyUrlParams(params)
        )

    const requireSecret = (method: Method) =>
      Option.match(config.clientSecret, {
        onNone: () => Effect.fail(new MissingClientSecret({ method })),
        onSome: (secret) => Effect.succeed(Redacted.value(secret) as string)
      })

    const optionalSecret = (): Record<string, string> =>
      Option.match(config.clientSecret, {
        onNone: () => ({}),
        onSome: (secret) => ({ client_secret: Redacted.value(secret) as string })
      })

    const refresh = Effect.fn("OAuth.refresh")(function*(refreshToken: Redacted.Redacted<string>) {
      return yield* retryIfNeverSent(call(
        "refresh",
        form("refresh", {
          grant_type: "refresh_token",
          refresh_token: Redacted.value(refreshToken),
          client_id: config.clientId,
          ...optionalSecret()
        }),
        decodeTokenResponse
      ))
    })

    const validate = Effect.fn("OAuth.validate")(function*(accessToken: Redacted.Redacted<string>) {
      return yield* retryIdempotent(call(
        "validate",
        HttpClientRequest.get(url("/validate")).pipe(
          HttpClientRequest.acceptJson,
          HttpClientRequest.setHeader("Authorization", `OAuth ${Redacted.value(accessToken)}`)
        ),
        decodeValidateResponse
      ))
    })

    const revoke = Effect.fn("OAuth.revoke")(function*(accessToken: Redacted.Redacted<string>) {
      yield* retryIdempotent(Effect.flatMap(
        execute("revoke", form("revoke", { client_id: config.clientId, token: Redacted.value(accessToken) })),
        (response) =>
          response.status >= 200 && response.status < 300 ? Effect.void : Effect.fail(classify("revoke", response))
      ))
    })

    const appToken = Effect.gen(function*() {
      const secret = yield* requireSecret("appToken")
      const response = yield* retryIdempotent(call(
        "appToken",
        form("appToken", { client_id: config.clientId, client_secret: secret, grant_type: "client_credentials" }),
        decodeTokenResponse
      ))
      const now = yield* DateTime.now
      return new AppToken({
        accessToken: response.accessToken,
        expiresAt: Option.map(
          Option.filter(response.expiresIn, (s) => s > 0),
          (s) => DateTime.addDuration(now, Duration.seconds(s))
        ),
        obtainedAt: now
      })
    }).pipe(Effect.withSpan("OAuth.appToken"))

    const authorizeUrl = (opts: AuthorizeUrlOptions): string => {
      const params = new URLSearchParams({
        response_type: "code",
        client_id: config.clientId,
        redirect_uri: opts.redirectUri,
        scope: opts.scopes.join(" "),
        state: opts.state
      })
      if (opts.forceVerify === true) params.set("force_verify", "true")
      return `${url("/authorize")}?${params.toString()}`
    }

    const exchangeCode = Effect.fn("OAuth.exchangeCode")(function*(opts: {
      readonly code: string
      readonly redirectUri: string
    }) {
      const secret = yield* requireSecret("exchangeCode")
      return yield* retryIfNeverSent(call(
        "exchangeCode",
        form("exchangeCode", {
          client_id: config.clientId,
          client_secret: secret,
          code: opts.code,
          grant_type: "authorization_code",
          redirect_uri: opts.redirectUri
        }),
        decodeTokenResponse
      ))
    })

    const deviceStart = Effect.fn("OAuth.deviceStart")(function*(scopes: ReadonlyArray<string>) {
      return yield* retryIdempotent(call(
        "deviceStart",
        form("deviceStart", { client_id: config.clientId, scopes: scopes.join(" ") }),
        decodeDeviceCodeResponse
      ))
    })

    const devicePoll = Effect.fn("OAuth.devicePoll")(
      function*(deviceCode: Redacted.Redacted<string>, scopes: ReadonlyArray<string>) {
        return yield* retryIfNeverSent(call(
          "devicePoll",
          form("devicePoll", {
            client_id: config.clientId,
            scopes: scopes.join(" "),
            device_code: Redacted.value(deviceCode),
            grant_type: DEVICE_GRANT
          }),
          decodeTokenResponse
        ))
      }
    )

    return OAuth.of({
      refresh,
      validate,
      revoke,
      appToken,
      authorizeUrl,
      exchangeCode,
      deviceStart,
      devicePoll
    })
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<OAuth, never, HttpClient.HttpClient | TwitchConfig> =>
  Layer.effect(OAuth, make(options))
