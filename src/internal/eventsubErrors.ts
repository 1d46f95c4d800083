/**
 * Errors of the EventSub module (re-exported by `EventSub.ts`).
 *
 * @internal
 */
import * as Schema from "effect/Schema"

/**
 * Twitch revoked the subscription (`authorization_revoked`, `user_removed`, `version_removed`, …).
 * The stream of that subscription fails with this error after delivering every event received
 * before the revocation.
 *
 * @since 0.1.0
 * @category errors
 */
export class EventSubRevoked extends Schema.TaggedError<EventSubRevoked>("effect-twitch/EventSubRevoked")(
  "EventSubRevoked",
  {
    subscriptionId: Schema.String,
    type: Schema.String,
    version: Schema.String,
    status: Schema.String
  }
) {
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
export class EventSubLimitExceeded extends Schema.TaggedError<EventSubLimitExceeded>(
  "effect-twitch/EventSubLimitExceeded"
)("EventSubLimitExceeded", {
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
 * The subscription could not be created on Twitch (bad condition, missing scope, unauthorized …).
 * `cause` carries the Helix error.
 *
 * @since 0.1.0
 * @category errors
 */
export class EventSubSubscribeError extends Schema.TaggedError<EventSubSubscribeError>(
  "effect-twitch/EventSubSubscribeError"
)("EventSubSubscribeError", {
  userId: Schema.String,
  type: Schema.String,
  version: Schema.String,
  description: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    // version "" marks a failure that is not about one subscription type ("websocket", "delete")
    return this.version === ""
      ? `EventSub ${this.type} failed for user ${this.userId}: ${this.description}`
      : `Could not subscribe to ${this.type} v${this.version} as user ${this.userId}: ${this.description}`
  }
}

/**
 * No user to open the EventSub WebSocket for: pass `userId`, run under `Helix.withUser`, or set the
 * layer's `defaultUser`.
 *
 * @since 0.1.0
 * @category errors
 */
export class EventSubNoUser extends Schema.TaggedError<EventSubNoUser>("effect-twitch/EventSubNoUser")(
  "EventSubNoUser",
  { type: Schema.String }
) {
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
export const EventSubError = Schema.Union(EventSubRevoked, EventSubLimitExceeded, EventSubSubscribeError, EventSubNoUser)
