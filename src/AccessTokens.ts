/**
 * The one place the rest of the library gets a usable token from.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"
import type { OAuthError } from "./OAuth.js"
import type { AppToken, UserToken } from "./Token.js"
import type { TokenStoreError } from "./TokenStore.js"

/**
 * @since 0.1.0
 * @category tags
 */
export class AccessTokens extends Context.Tag("effect-twitch/AccessTokens")<AccessTokens, AccessTokens.Service>() {}

/**
 * @since 0.1.0
 */
export declare namespace AccessTokens {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    /**
     * A usable token for the user: refreshed ahead of expiry (single-flight per user: N concurrent
     * callers cause one refresh), the new pair saved to the `TokenStore` before it is handed out.
     */
    readonly forUser: (userId: string) => Effect.Effect<UserToken, AccessTokensError>
    /**
     * Twitch answered 401 to a request sent with `rejected`: refresh once (single-flight) unless the
     * stored token already differs from `rejected`, and return the token to retry with.
     */
    readonly refreshAfterUnauthorized: (
      userId: string,
      rejected: Redacted.Redacted<string>
    ) => Effect.Effect<UserToken, AccessTokensError>
    /** The app token (client credentials), cached until shortly before expiry. */
    readonly app: Effect.Effect<AppToken, AccessTokensError>
    /** Twitch answered 401 to an app-token request: fetch a new app token (single-flight). */
    readonly appAfterUnauthorized: (rejected: Redacted.Redacted<string>) => Effect.Effect<AppToken, AccessTokensError>
    /** Every successful user-token refresh (the seeds' `onUserTokenRefresh`). */
    readonly refreshes: Stream.Stream<UserToken>
  }
}

/**
 * No token stored for this user.
 *
 * @since 0.1.0
 * @category errors
 */
export class TokenNotFound extends Schema.TaggedError<TokenNotFound>("effect-twitch/TokenNotFound")(
  "TokenNotFound",
  { userId: Schema.String }
) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `No token stored for user ${this.userId}`
  }
}

/**
 * Twitch rejected the user's token and it cannot be refreshed (refresh token invalid, revoked,
 * or absent): the user must authorize again.
 *
 * @since 0.1.0
 * @category errors
 */
export class TokenDead extends Schema.TaggedError<TokenDead>("effect-twitch/TokenDead")(
  "TokenDead",
  { userId: Schema.String, reason: Schema.String }
) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `Token of user ${this.userId} is no longer usable: ${this.reason}`
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export type AccessTokensError = TokenNotFound | TokenDead | OAuthError | TokenStoreError
