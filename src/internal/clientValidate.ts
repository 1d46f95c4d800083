// Validating user tokens for `Client` and `Bot`: a new token (validate, refresh once if Twitch no
// longer accepts it, check the client id), or a stored one (through `AccessTokens`).
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type { AccessTokensError } from "../AccessTokens.js"
import { AccessTokens } from "../AccessTokens.js"
import { ClientIdMismatch, MissingScopes, TokenRejected, UnknownUser } from "../ClientError.js"
import type { OAuthError, ValidateResponse } from "../OAuth.js"
import { makeUserToken, OAuth, TokenResponse } from "../OAuth.js"
import type { Secret, TokenInput, UserInfo, UserToken } from "../Token.js"
import { TwitchConfig } from "../TwitchConfig.js"

/** @internal */
export const toRedacted = (secret: Secret): Redacted.Redacted<string> =>
  Redacted.isRedacted(secret) ? secret as Redacted.Redacted<string> : Redacted.make(secret)

const validateOption = (oauth: OAuth.Service, accessToken: Redacted.Redacted<string>) =>
  oauth.validate(accessToken).pipe(
    Effect.map(Option.some),
    Effect.catchTag("InvalidAccessToken", () => Effect.succeed(Option.none<ValidateResponse>()))
  )

const checkClient = (clientId: string, validated: ValidateResponse): Effect.Effect<void, ClientIdMismatch> =>
  validated.clientId === clientId ? Effect.void : Effect.fail(
    new ClientIdMismatch({
      ...Option.match(validated.userId, { onNone: () => ({}), onSome: (userId) => ({ userId }) }),
      ...Option.match(validated.login, { onNone: () => ({}), onSome: (login) => ({ login }) }),
      expected: clientId,
      actual: validated.clientId
    })
  )

/**
 * Validates a token handed to the library (not yet stored): Twitch must accept it (after one refresh
 * when the access token is no longer valid and a refresh token is given), it must be a user token,
 * and it must belong to this app's client id.
 *
 * @internal
 */
export const validateNew = (
  input: TokenInput,
  operation: string
): Effect.Effect<UserToken, ClientIdMismatch | TokenRejected | OAuthError, OAuth | TwitchConfig> =>
  Effect.gen(function*() {
    const oauth = yield* OAuth
    const config = yield* TwitchConfig
    const accessToken = toRedacted(input.accessToken)
    const refreshToken = Option.map(Option.fromNullable(input.refreshToken), toRedacted)
    let response = new TokenResponse({ accessToken, refreshToken, expiresIn: Option.none(), scopes: [] })
    let validated = yield* validateOption(oauth, accessToken)
    if (Option.isNone(validated)) {
      if (Option.isNone(refreshToken)) {
        return yield* new TokenRejected({
          operation,
          reason: "Twitch does not accept the access token (expired, revoked or unknown) and no refresh token was given"
        })
      }
      const refreshed = yield* oauth.refresh(refreshToken.value).pipe(
        Effect.catchTag("InvalidRefreshToken", () =>
          new TokenRejected({
            operation,
            reason: "Twitch does not accept the access token, and rejected the refresh token " +
              "(already used, revoked, or issued for another client id)"
          }))
      )
      response = new TokenResponse({
        accessToken: refreshed.accessToken,
        refreshToken: Option.orElse(refreshed.refreshToken, () => refreshToken),
        expiresIn: refreshed.expiresIn,
        scopes: refreshed.scopes
      })
      validated = yield* validateOption(oauth, response.accessToken)
      if (Option.isNone(validated)) {
        return yield* new TokenRejected({ operation, reason: "Twitch does not accept the refreshed access token" })
      }
    }
    yield* checkClient(config.clientId, validated.value)
    if (Option.isNone(validated.value.userId)) {
      return yield* new TokenRejected({ operation, reason: "this is an app token; a user token is needed" })
    }
    return makeUserToken({ token: response, validated: validated.value, now: yield* DateTime.now })
  })

/**
 * Checks a stored token: it exists, is usable (refreshed when expiring or rejected), and belongs to
 * this app's client id. Returns what Twitch reports about it.
 *
 * @internal
 */
export const verifyStored = (
  userId: string,
  operation: string
): Effect.Effect<
  UserInfo,
  ClientIdMismatch | TokenRejected | UnknownUser | AccessTokensError,
  OAuth | TwitchConfig | AccessTokens
> =>
  Effect.gen(function*() {
    const oauth = yield* OAuth
    const config = yield* TwitchConfig
    const tokens = yield* AccessTokens
    const mapTokenErrors = <A, R>(
      effect: Effect.Effect<A, AccessTokensError, R>
    ): Effect.Effect<A, AccessTokensError | UnknownUser | TokenRejected, R> =>
      Effect.catchTags(effect, {
        TokenNotFound: () => Effect.fail(new UnknownUser({ userId, operation })),
        TokenDead: (e) => Effect.fail(new TokenRejected({ operation, userId, reason: e.reason }))
      })
    const token = yield* mapTokenErrors(tokens.forUser(userId))
    let validated = yield* validateOption(oauth, token.accessToken)
    let current = token
    if (Option.isNone(validated)) {
      current = yield* mapTokenErrors(tokens.refreshAfterUnauthorized(userId, token.accessToken))
      validated = yield* validateOption(oauth, current.accessToken)
      if (Option.isNone(validated)) {
        return yield* new TokenRejected({
          operation,
          userId,
          reason: "Twitch does not accept the refreshed access token"
        })
      }
    }
    yield* checkClient(config.clientId, validated.value)
    return {
      userId,
      login: Option.getOrElse(validated.value.login, () => current.login),
      scopes: validated.value.scopes.length > 0 ? validated.value.scopes : current.scopes
    }
  })

/**
 * Fails with `MissingScopes` naming the scopes of `needed` the user has not granted.
 *
 * @internal
 */
export const requireScopes = (
  user: UserInfo,
  needed: ReadonlyArray<string>,
  operation: string
): Effect.Effect<void, MissingScopes> => {
  const missing = needed.filter((scope) => !user.scopes.includes(scope))
  return missing.length === 0
    ? Effect.void
    : Effect.fail(new MissingScopes({ userId: user.userId, login: user.login, operation, missing }))
}
