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
 * @since 0.1.0
 * @category errors
 */
export type EventSubError = EventSubRevoked | EventSubLimitExceeded | EventSubSubscribeError | EventSubNoUser

/**
 * @since 0.1.0
 * @category errors
 */
export const EventSubError = Schema.Union(
  EventSubRevoked,
  EventSubLimitExceeded,
  EventSubSubscribeError,
  EventSubNoUser
)
