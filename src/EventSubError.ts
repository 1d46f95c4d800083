/**
 * Errors of the EventSub streams (`EventSub` re-exports them).
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { TaggedError } from "./internal/errors.js"

const Tagged = TaggedError("EventSub")

/**
 * Twitch revoked the subscription (`authorization_revoked`, `user_removed`, `version_removed`, …).
 * The stream of that subscription fails with this error after delivering every event received
 * before the revocation.
 *
 * @since 0.1.0
 * @category errors
 */
export class EventSubRevoked extends Tagged<EventSubRevoked>()("EventSubRevoked", {
  subscriptionId: Schema.String,
  type: Schema.String,
  version: Schema.String,
  status: Schema.String
}) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `EventSub subscription ${this.type} v${this.version} (${this.subscriptionId}) revoked: ${this.status}`
  }
}

/**
 * A Twitch limit was reached: 300 subscriptions per connection and 3 connections per user token,
 * or the `max_total_cost` of the user's subscriptions.
 *
 * @since 0.1.0
 * @category errors
 */
export class EventSubLimitExceeded extends Tagged<EventSubLimitExceeded>()("EventSubLimitExceeded", {
  userId: Schema.String,
  /**
   * `subscriptions`: 300 on one connection; `connections`: 3 per user token; `cost`: Twitch's
   * `max_total_cost`; `duplicates`: Twitch allows at most 3 subscriptions with the same type + condition.
   */
  limit: Schema.Literal("subscriptions", "connections", "cost", "duplicates"),
  description: Schema.String
}) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `EventSub limit reached for user ${this.userId} (${this.limit}): ${this.description}`
  }
}

/**
 * An EventSub operation failed on Twitch's side: creating a subscription (`subscribe`: bad condition,
 * missing scope, unauthorized …), keeping the WebSocket connected (`connect`) or deleting a
 * subscription (`delete`). `type` / `version` name the subscription when the failure is about one;
 * `cause` carries the Helix error.
 *
 * @since 0.1.0
 * @category errors
 */
export class EventSubSubscribeError extends Tagged<EventSubSubscribeError>()("EventSubSubscribeError", {
  userId: Schema.String,
  operation: Schema.Literal("subscribe", "connect", "delete"),
  type: Schema.optional(Schema.String),
  version: Schema.optional(Schema.String),
  description: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    const subscription = this.type === undefined
      ? ""
      : ` ${this.type}${this.version === undefined ? "" : ` v${this.version}`}`
    switch (this.operation) {
      case "subscribe":
        return `Could not subscribe to${subscription} as user ${this.userId}: ${this.description}`
      case "connect":
        return `EventSub connection of user ${this.userId}${
          subscription === "" ? "" : ` (for${subscription})`
        } failed: ${this.description}`
      case "delete":
        return `EventSub delete${subscription} failed for user ${this.userId}: ${this.description}`
    }
  }
}

/**
 * No user to open the EventSub WebSocket for: pass `userId`, run under `Helix.withUser`, or set the
 * layer's `defaultUser`.
 *
 * @since 0.1.0
 * @category errors
 */
export class EventSubNoUser extends Tagged<EventSubNoUser>()("EventSubNoUser", { type: Schema.String }) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `No user for the EventSub subscription ${this.type}: WebSocket subscriptions need a user token`
  }
}

/**
 * Twitch would refuse this subscription as unauthorized ("403 subscription missing proper authorization"), so it
 * was not requested: the subscribing user has not granted a scope the type needs (`missingScopes`, each entry
 * one scope or alternatives joined with " or "), or the condition's authorizing field (`conditionField`:
 * `moderator_user_id`, `user_id` or `broadcaster_user_id`) names another user than the one whose token
 * subscribes, or the type takes an app access token only (`appTokenOnly`: webhooks and conduits).
 * Checked before any request, from the token in the `TokenStore`.
 *
 * @since 0.2.0
 * @category errors
 */
export class EventSubUnauthorized extends Tagged<EventSubUnauthorized>()("EventSubUnauthorized", {
  userId: Schema.String,
  /** the user's login ("" when unknown) */
  login: Schema.String,
  type: Schema.String,
  version: Schema.String,
  missingScopes: Schema.Array(Schema.String),
  conditionField: Schema.optional(Schema.String),
  /** what `conditionField` holds instead of `userId` */
  conditionValue: Schema.optional(Schema.String),
  appTokenOnly: Schema.Boolean
}) {
  /**
   * @since 0.2.0
   */
  override get message(): string {
    const who = this.login !== "" ? `${this.login} (${this.userId})` : `user ${this.userId}`
    const subject = `EventSub ${this.type} v${this.version}`
    if (this.appTokenOnly) {
      return `${subject} takes an app access token only (a webhook or conduit transport), ` +
        `not the user token of ${who} a WebSocket subscribes with`
    }
    if (this.missingScopes.length > 0) {
      const s = this.missingScopes.length === 1 ? "scope" : "scopes"
      return `${subject}: ${who} has not granted the ${s} ${this.missingScopes.join(", ")}: ` +
        `authorize the user again with ${this.missingScopes.length === 1 ? "it" : "them"}`
    }
    return `${subject}: the condition's ${this.conditionField ?? "user"} (${this.conditionValue ?? ""}) must be ` +
      `the user whose token subscribes, ${who}: subscribe as that user (\`userId\`, \`Helix.withUser\`)`
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export type EventSubError =
  | EventSubRevoked
  | EventSubLimitExceeded
  | EventSubSubscribeError
  | EventSubNoUser
  | EventSubUnauthorized

/**
 * @since 0.1.0
 * @category errors
 */
export const EventSubError = Schema.Union(
  EventSubRevoked,
  EventSubLimitExceeded,
  EventSubSubscribeError,
  EventSubNoUser,
  EventSubUnauthorized
)
