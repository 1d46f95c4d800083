/**
 * Errors of `Client` and `Bot` (both modules re-export them): a token for another app, missing scopes,
 * an unknown user, no user to default to, a token Twitch does not accept.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { TaggedError } from "./internal/errors.js"

const Tagged = TaggedError("Client")

/**
 * The token was issued for another app (client id) than the one in `TwitchConfig`. Twitch would
 * reject every call made with it (and refreshing it would fail), so it is refused up front.
 *
 * @since 0.1.0
 * @category errors
 */
export class ClientIdMismatch extends Tagged<ClientIdMismatch>()("ClientIdMismatch", {
  /** the token's user, when Twitch named one */
  userId: Schema.optional(Schema.String),
  login: Schema.optional(Schema.String),
  /** this app's client id (`TwitchConfig.clientId`) */
  expected: Schema.String,
  /** the client id Twitch reports for the token */
  actual: Schema.String
}) {
  /** @since 0.1.0 */
  override get message(): string {
    const who = this.login !== undefined ? `The token of ${this.login}` : "The token"
    return `${who} was issued for client id ${this.actual}, not for this app (client id ${this.expected}): ` +
      `authorize the user with this app's client id`
  }
}

/**
 * The user has not granted scopes an operation needs. `missing` names them; authorize the user again
 * asking for them.
 *
 * @since 0.1.0
 * @category errors
 */
export class MissingScopes extends Tagged<MissingScopes>()("MissingScopes", {
  userId: Schema.String,
  login: Schema.String,
  /** what needed the scopes, e.g. `Client.sendMessage` */
  operation: Schema.String,
  missing: Schema.Array(Schema.String)
}) {
  /** @since 0.1.0 */
  override get message(): string {
    const who = this.login !== "" ? `${this.login} (${this.userId})` : `user ${this.userId}`
    const s = this.missing.length === 1 ? "scope" : "scopes"
    return `${this.operation}: ${who} has not granted the ${s} ${this.missing.join(", ")}: ` +
      `authorize again with ${this.missing.length === 1 ? "it" : "them"}`
  }
}

/**
 * No token is stored for this user id: register (or authorize) the user first.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnknownUser
  extends Tagged<UnknownUser>()("UnknownUser", { userId: Schema.String, operation: Schema.String })
{
  /** @since 0.1.0 */
  override get message(): string {
    return `${this.operation}: no token is stored for user ${this.userId}: register or authorize the user first`
  }
}

/**
 * `Client.layer` was given no user, and the `TokenStore` does not hold exactly one token to default to.
 *
 * @since 0.1.0
 * @category errors
 */
export class NoUserToken extends Tagged<NoUserToken>()("NoUserToken", { stored: Schema.Number }) {
  /** @since 0.1.0 */
  override get message(): string {
    return this.stored === 0
      ? "Client: the TokenStore holds no user token: authorize a user first (DeviceAuth), or pass `token`"
      : `Client: the TokenStore holds ${this.stored} user tokens: choose one with \`userId\``
  }
}

/**
 * Twitch does not accept the token: the access token is expired, revoked or unknown and could not be
 * refreshed (no refresh token, or Twitch rejected it), or it is an app token where a user token is needed.
 *
 * @since 0.1.0
 * @category errors
 */
export class TokenRejected extends Tagged<TokenRejected>()("TokenRejected", {
  operation: Schema.String,
  userId: Schema.optional(Schema.String),
  reason: Schema.String
}) {
  /** @since 0.1.0 */
  override get message(): string {
    const who = this.userId !== undefined ? ` of user ${this.userId}` : ""
    return `${this.operation}: the token${who} is not usable: ${this.reason}`
  }
}
