/**
 * The data types of the simulator's public API (users, request log, counters, recorded chat/whispers/
 * announcements/bans, faults, and the EventSub control API). Types only: this module has no runtime code.
 * They are also re-exported from `Simulator`.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"

// ------------------------------------------------------------------------------------------------ core

/**
 * A user as Helix `GET /users` returns it.
 *
 * @since 0.1.0
 * @category models
 */
export interface SimUser {
  readonly id: string
  readonly login: string
  readonly display_name: string
  readonly type: string
  readonly broadcaster_type: string
  readonly description: string
  readonly profile_image_url: string
  readonly offline_image_url: string
  readonly view_count: number
  readonly email: string
  readonly created_at: string
}

/**
 * What an injected fault does to a Helix request: answer 500 / 503, 429, a malformed (truncated JSON) 200
 * body, or wait `delayMs` before the normal answer.
 *
 * @since 0.1.0
 * @category models
 */
export type FaultKind = 500 | 503 | 429 | "malformed" | { readonly delayMs: number }

/**
 * One entry of the request log.
 *
 * @since 0.1.0
 * @category models
 */
export interface RequestLogEntry {
  /** epoch millis (Effect Clock) */
  readonly at: number
  readonly method: string
  /** path as requested, without the query string, e.g. `/helix/users` or `/mock/users` */
  readonly path: string
  readonly status: number
  readonly clientId: string | null
  /** the access token that authenticated the request, if any (test tool: plain text) */
  readonly token: string | null
  /** the token's user, or null for app tokens / unauthenticated requests */
  readonly userId: string | null
}

/**
 * What the simulator counted so far.
 *
 * @since 0.1.0
 * @category models
 */
export interface Counters {
  /** successful `grant_type=refresh_token` exchanges */
  tokenRefreshes: number
  /** failed refresh attempts (invalid/reused refresh token, missing/wrong secret) */
  tokenRefreshFailures: number
  /** every device-code poll at /token */
  devicePolls: number
  /** access tokens issued by any grant or the control API */
  tokensIssued: number
  /** /validate calls */
  validations: number
  /** /revoke calls */
  revocations: number
  /** requests that reached the Helix middleware (incl. EventSub subscriptions REST) */
  helixRequests: number
  /** Helix 429 answers from the bucket (not injected faults) */
  rateLimited: number
  /** chat messages dropped with `msg_ratelimit` (the sender went over Twitch's chat limits) */
  chatRateLimited: number
  /** faults injected so far */
  faultsInjected: number
}

/**
 * A chat message sent through Helix `POST /chat/messages`.
 *
 * @since 0.1.0
 * @category models
 */
export interface SentChatMessage {
  readonly message_id: string
  readonly broadcaster_id: string
  readonly sender_id: string
  readonly message: string
  readonly reply_parent_message_id: string | null
  readonly is_sent: boolean
}

/**
 * A whisper sent through Helix `POST /whispers`.
 *
 * @since 0.1.0
 * @category models
 */
export interface SentWhisper {
  readonly from_user_id: string
  readonly to_user_id: string
  readonly message: string
}

/**
 * An announcement sent through Helix `POST /chat/announcements`.
 *
 * @since 0.1.0
 * @category models
 */
export interface SentAnnouncement {
  readonly broadcaster_id: string
  readonly moderator_id: string
  readonly message: string
  readonly color: string
}

/**
 * A ban or timeout (`end_time` set) in a broadcaster's channel.
 *
 * @since 0.1.0
 * @category models
 */
export interface BanRecord {
  readonly broadcaster_id: string
  readonly moderator_id: string
  readonly user_id: string
  readonly reason: string
  readonly created_at: string
  readonly end_time: string | null
}

// ------------------------------------------------------------------------------------------------ EventSub

/**
 * Options of the simulator's EventSub part (keepalive default, subscribe deadline, reconnect grace, pings).
 *
 * @since 0.1.0
 * @category models
 */
export interface EventSubOptions {
  /** keepalive when the client gives no `keepalive_timeout_seconds` (default 10; not clamped, so tests may use 1) */
  readonly keepaliveSeconds?: number
  /** subscribe deadline when the client gives no `keepalive_timeout_seconds` (default 10); else that value */
  readonly subscribeDeadlineSeconds?: number
  /** old socket closed with 4004 this long after `session_reconnect` (default 30) */
  readonly reconnectGraceSeconds?: number
  /**
   * WebSocket Ping interval, as Twitch pings (default 10; 0: no pings). A Ping not answered by the next one closes
   * with 4002; a pong gets a short real-time allowance too (a round trip takes real time, whatever the `Clock`).
   */
  readonly pingIntervalSeconds?: number
  /** Webhooks: an answer slower than this (on the `Clock`) is a failed attempt (default 10). */
  readonly webhookTimeoutSeconds?: number
  /**
   * Webhooks: attempts per notification, the first one and its retries (default 4). A notification whose attempts
   * all fail (no 2xx answer in time) revokes the subscription with `notification_failures_exceeded`.
   */
  readonly webhookAttempts?: number
  /** Webhooks: delay before the first retry, doubled before each further one (default 1; on the `Clock`). */
  readonly webhookRetryDelaySeconds?: number
}

/**
 * A JSON object as sent over the control API.
 *
 * @since 0.1.0
 * @category models
 */
export type SimJsonObject = { readonly [key: string]: unknown }

/**
 * A WebSocket session as the simulator sees it.
 *
 * @since 0.1.0
 * @category models
 */
export interface SimEventSubSessionInfo {
  readonly id: string
  /** "connected", "reconnecting" (got `session_reconnect`) or "closed" */
  readonly status: "connected" | "reconnecting" | "closed"
  readonly connectedAt: string
  readonly keepaliveTimeoutSeconds: number
  readonly keepaliveEnabled: boolean
  /** the session was made half-open (`halfOpen`) and the server has not noticed yet */
  readonly halfOpen: boolean
  /** close code once closed */
  readonly closeCode: number | null
  /** the session that replaced this one after `session_reconnect` */
  readonly reconnectedTo: string | null
  /** ids of the subscriptions currently bound to this session (any status) */
  readonly subscriptions: ReadonlyArray<string>
}

/**
 * A subscription as the simulator sees it (`subscription` is exactly what GET /eventsub/subscriptions returns).
 *
 * @since 0.1.0
 * @category models
 */
export interface SimEventSubSubscriptionInfo {
  readonly id: string
  readonly clientId: string
  /** the user whose token created it (WebSocket), or the user its condition names (webhook; empty when none) */
  readonly userId: string
  readonly type: string
  readonly version: string
  readonly status: string
  /** how its messages go out */
  readonly transport: "websocket" | "webhook" | "conduit"
  /** the WebSocket session (empty for a webhook subscription) */
  readonly sessionId: string
  /** the webhook callback (null for a WebSocket subscription) */
  readonly callback: string | null
  readonly condition: { readonly [key: string]: string }
  readonly subscription: SimJsonObject
}

/**
 * Which subscriptions a notification goes to. Omitted fields match anything.
 *
 * @since 0.1.0
 * @category models
 */
export interface SimEventSubTarget {
  readonly type?: string
  readonly version?: string
  /** matched by equality of every given field */
  readonly condition?: { readonly [key: string]: string }
  readonly subscriptionId?: string
  /** a WebSocket session (matches no webhook subscription) */
  readonly sessionId?: string
}

/**
 * Options of `trigger`: the type's documented example event with `event` deep-merged over it.
 *
 * @since 0.1.0
 * @category models
 */
export interface SimEventSubTriggerOptions extends SimEventSubTarget {
  readonly type: string
  /**
   * field overrides, deep-merged into the documented example event (arrays are replaced). An event that is a
   * new thing each time (a chat message's `message_id`, a redemption's or a donation's `id`) gets a fresh id
   * per trigger unless given here.
   */
  readonly event?: SimJsonObject
  /** use this message id (the notification's `metadata.message_id`) instead of a fresh uuid */
  readonly messageId?: string
}

/**
 * Error of the EventSub control API (unknown session, subscription, type, message id, bad argument).
 *
 * @since 0.1.0
 * @category models
 */
export interface SimEventSubControlError {
  readonly _tag: "SimEventSubControlError"
  readonly message: string
}

/**
 * Sessions that were sent `session_reconnect`, with the URL they must reconnect to.
 *
 * @since 0.1.0
 * @category models
 */
export type SimEventSubReconnected = ReadonlyArray<{ readonly sessionId: string; readonly reconnectUrl: string }>

/**
 * Outcome of `burst`: frames written and the first/last message ids.
 *
 * @since 0.1.0
 * @category models
 */
export interface SimEventSubBurstResult {
  readonly sent: number
  readonly firstMessageId: string | null
  readonly lastMessageId: string | null
}

/**
 * Options of `burst`: `subscriptionId`, or the first enabled subscription matching the other target fields.
 *
 * @since 0.1.0
 * @category models
 */
export interface SimEventSubBurstOptions extends SimEventSubTarget {
  readonly count: number
  /** field overrides, deep-merged into the documented example event (the same event in every frame) */
  readonly event?: SimJsonObject
}

/**
 * Control API of the EventSub part (also served over HTTP at `/_sim/eventsub/*`).
 *
 * @since 0.1.0
 * @category models
 */
export interface EventSubControl {
  /**
   * One notification per matching enabled subscription, WebSocket or webhook; returns the message ids sent (none if
   * nothing matched). Webhook notifications are POSTed in the background (retried on failure).
   */
  readonly trigger: (
    options: SimEventSubTriggerOptions
  ) => Effect.Effect<ReadonlyArray<string>, SimEventSubControlError>
  /** Same as trigger, with `message_timestamp` `ageSeconds` in the past (replay-guard tests). */
  readonly sendOld: (
    options: SimEventSubTriggerOptions & { readonly ageSeconds: number }
  ) => Effect.Effect<ReadonlyArray<string>, SimEventSubControlError>
  /** Send `session_reconnect` to one connected session, or to all connected sessions. */
  readonly reconnect: (
    options?: { readonly sessionId?: string }
  ) => Effect.Effect<SimEventSubReconnected, SimEventSubControlError>
  /** Close a session with a close code (4000..4007 carry Twitch's reasons; 1000 and 3000..4999 allowed). */
  readonly close: (
    options: { readonly sessionId: string; readonly code: number }
  ) => Effect.Effect<void, SimEventSubControlError>
  /** Stop (or restart) `session_keepalive` messages for one session. */
  readonly setKeepalive: (
    options: { readonly sessionId: string; readonly enabled: boolean }
  ) => Effect.Effect<void, SimEventSubControlError>
  /**
   * Send an already delivered notification again, same `message_id`: over WebSocket to its session or to
   * `sessionId`; over a webhook the same message (id, timestamp, body) POSTed again to its enabled subscription.
   */
  readonly resend: (
    options: { readonly messageId: string; readonly sessionId?: string }
  ) => Effect.Effect<void, SimEventSubControlError>
  /**
   * Make a session half-open, as after a network failure Twitch has not noticed: from now on nothing is sent
   * on it (no keepalives, notifications, pings or close frame) and nothing from the client is heard (not even
   * its close), while the session and its subscriptions stay enabled (a new subscription of the same type
   * and condition gets 409). The server notices only when the session is closed (`close`, which then
   * disables the subscriptions with that code's status) or, with `pingIntervalSeconds`, when a pong is
   * missing (4002).
   */
  readonly halfOpen: (options: { readonly sessionId: string }) => Effect.Effect<void, SimEventSubControlError>
  /** Send a raw text frame (e.g. invalid JSON) to a session. */
  readonly sendMalformed: (
    options: { readonly sessionId: string; readonly text: string }
  ) => Effect.Effect<void, SimEventSubControlError>
  /** Send a `revocation` (default status `authorization_revoked`) for a subscription and disable it (any transport). */
  readonly revoke: (options: {
    readonly subscriptionId: string
    readonly status?: "authorization_revoked" | "user_removed" | "version_removed"
  }) => Effect.Effect<void, SimEventSubControlError>
  /** Override a subscription's status (no message is sent). */
  readonly setSubscriptionStatus: (options: {
    readonly subscriptionId: string
    readonly status: string
  }) => Effect.Effect<void, SimEventSubControlError>
  /**
   * Send `count` notifications (each with its own message id) as fast as the socket takes them, for one
   * subscription; follows the subscription across a reconnect handover. Completes when all frames were written.
   */
  readonly burst: (
    options: SimEventSubBurstOptions
  ) => Effect.Effect<SimEventSubBurstResult, SimEventSubControlError>
  readonly sessions: Effect.Effect<ReadonlyArray<SimEventSubSessionInfo>>
  readonly subscriptions: Effect.Effect<ReadonlyArray<SimEventSubSubscriptionInfo>>
}
