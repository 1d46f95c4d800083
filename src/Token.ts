/**
 * Token models: a user's access + refresh token pair, and an app token.
 *
 * Tokens are `Redacted` end to end: `String(token)`, `JSON.stringify(token)` and
 * logs show `<redacted>`; only the persistence codec (`TokenStore.StoreFile`) writes the text.
 *
 * @since 0.1.0
 */
import * as DateTime from "effect/DateTime"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"

/**
 * A user access token with its refresh token, as stored in a `TokenStore`.
 *
 * @since 0.1.0
 * @category models
 */
export class UserToken extends Schema.Class<UserToken>("effect-twitch/UserToken")({
  userId: Schema.String,
  login: Schema.String,
  scopes: Schema.Array(Schema.String),
  accessToken: Schema.Redacted(Schema.String),
  /** Absent for tokens that cannot be refreshed (e.g. implicit grant). */
  refreshToken: Schema.OptionFromNullOr(Schema.Redacted(Schema.String)),
  /** When the access token stops working; `None` when unknown. */
  expiresAt: Schema.OptionFromNullOr(Schema.DateTimeUtc),
  /** When this access token was obtained. */
  obtainedAt: Schema.DateTimeUtc
}) {
  /**
   * Whether the token expires within `marginMillis` of `now`.
   *
   * @since 0.1.0
   */
  expiresWithin(now: DateTime.Utc, marginMillis: number): boolean {
    return Option.match(this.expiresAt, {
      onNone: () => false,
      onSome: (at) => DateTime.toEpochMillis(at) - DateTime.toEpochMillis(now) <= marginMillis
    })
  }

  /**
   * Whether the token holds a given scope.
   *
   * @since 0.1.0
   */
  hasScope(scope: string): boolean {
    return this.scopes.includes(scope)
  }
}

/**
 * An app access token (client credentials). It cannot be refreshed: a new one is requested.
 *
 * @since 0.1.0
 * @category models
 */
export class AppToken extends Schema.Class<AppToken>("effect-twitch/AppToken")({
  accessToken: Schema.Redacted(Schema.String),
  expiresAt: Schema.OptionFromNullOr(Schema.DateTimeUtc),
  obtainedAt: Schema.DateTimeUtc
}) {}

/**
 * A secret handed to the library as text or `Redacted` (text is wrapped in `Redacted` at once).
 *
 * @since 0.1.0
 * @category models
 */
export type Secret = string | Redacted.Redacted<string>

/**
 * A user token handed over by the caller (e.g. `Client.layer({ token })`, `Bot.register`): it is
 * validated with Twitch before use and stored in the `TokenStore`.
 *
 * @since 0.1.0
 * @category models
 */
export interface TokenInput {
  readonly accessToken: Secret
  readonly refreshToken?: Secret | undefined
}

/**
 * Who a user token belongs to, as Twitch reported it when it was validated.
 *
 * @since 0.1.0
 * @category models
 */
export interface UserInfo {
  readonly userId: string
  readonly login: string
  readonly scopes: ReadonlyArray<string>
}
