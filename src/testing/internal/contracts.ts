/**
 * Contracts between the simulator's parts (core/OAuth/Helix and EventSub).
 * @internal
 */
import type * as Effect from "effect/Effect"

/** What the simulator knows about an access token it issued. */
export interface SimTokenInfo {
  readonly token: string
  readonly clientId: string
  /** null for app tokens (client credentials). */
  readonly userId: string | null
  readonly login: string | null
  readonly scopes: ReadonlyArray<string>
  /** epoch millis */
  readonly expiresAt: number
}

/** How a Helix-side request was authenticated (the outcome of checking `Authorization` + `Client-Id`). */
export type SimAuthResult =
  | { readonly _tag: "Ok"; readonly token: SimTokenInfo }
  | { readonly _tag: "Unauthorized"; readonly message: string }

/** Given to the EventSub part by the core. */
export interface SimAuth {
  /** Check `Authorization: Bearer` and `Client-Id` header values as Twitch does (unknown/expired/revoked token or client mismatch → Unauthorized). `now` in epoch millis. */
  readonly authenticate: (authorization: string | undefined, clientId: string | undefined, now: number) => SimAuthResult
  /** Called when a user's token is revoked (`/revoke`) so their EventSub subscriptions become `authorization_revoked`. */
  readonly onRevoke: (listener: (token: SimTokenInfo) => void) => void
}

// ---------------------------------------------------------------------------------------------
// EventSub part (src/testing/internal/eventsub.ts): control API shared with the core.
// ---------------------------------------------------------------------------------------------

/** A JSON object as sent over the control API. */
export type SimJsonObject = { readonly [key: string]: unknown }

/** A WebSocket session as the simulator sees it. */
export interface SimEventSubSessionInfo {
  readonly id: string
  /** "connected", "reconnecting" (got `session_reconnect`) or "closed" */
  readonly status: "connected" | "reconnecting" | "closed"
  readonly connectedAt: string
  readonly keepaliveTimeoutSeconds: number
  readonly keepaliveEnabled: boolean
  /** close code once closed */
  readonly closeCode: number | null
  /** the session that replaced this one after `session_reconnect` */
  readonly reconnectedTo: string | null
  /** ids of the subscriptions currently bound to this session (any status) */
  readonly subscriptions: ReadonlyArray<string>
}

/** A subscription as the simulator sees it (`subscription` is exactly what GET /eventsub/subscriptions returns). */
export interface SimEventSubSubscriptionInfo {
  readonly id: string
  readonly clientId: string
  readonly userId: string
  readonly type: string
  readonly version: string
  readonly status: string
  readonly sessionId: string
  readonly condition: { readonly [key: string]: string }
  readonly subscription: SimJsonObject
}

/** Which subscriptions a notification goes to. Omitted fields match anything. */
export interface SimEventSubTarget {
  readonly type?: string
  readonly version?: string
  /** matched by equality of every given field */
  readonly condition?: { readonly [key: string]: string }
  readonly subscriptionId?: string
  readonly sessionId?: string
}

/** Options of `trigger`: the type's documented example event with `event` deep-merged over it. */
export interface SimEventSubTriggerOptions extends SimEventSubTarget {
  readonly type: string
  /** field overrides, deep-merged into the documented example event (arrays are replaced) */
  readonly event?: SimJsonObject
  /** use this message id instead of a fresh uuid */
  readonly messageId?: string
}

/** Error of the EventSub control API (unknown session, subscription, type, message id, bad argument). */
export interface SimEventSubControlError {
  readonly _tag: "SimEventSubControlError"
  readonly message: string
}

/** Sessions that were sent `session_reconnect`, with the URL they must reconnect to. */
export type SimEventSubReconnected = ReadonlyArray<{ readonly sessionId: string; readonly reconnectUrl: string }>

/** Outcome of `burst`: frames written and the first/last message ids. */
export interface SimEventSubBurstResult {
  readonly sent: number
  readonly firstMessageId: string | null
  readonly lastMessageId: string | null
}

/** Options of `burst`: `subscriptionId`, or the first enabled subscription matching the other target fields. */
export interface SimEventSubBurstOptions extends SimEventSubTarget {
  readonly count: number
  /** field overrides, deep-merged into the documented example event (the same event in every frame) */
  readonly event?: SimJsonObject
}

type ControlEffect<A> = Effect.Effect<A, SimEventSubControlError>

/** Control API of the EventSub part (also served over HTTP at `/_sim/eventsub/*`). */
export interface EventSubControl {
  /** One notification per matching enabled subscription; returns the message ids sent (none if nothing matched). */
  readonly trigger: (options: SimEventSubTriggerOptions) => ControlEffect<ReadonlyArray<string>>
  /** Same as trigger, with `message_timestamp` `ageSeconds` in the past (replay-guard tests). */
  readonly sendOld: (
    options: SimEventSubTriggerOptions & { readonly ageSeconds: number }
  ) => ControlEffect<ReadonlyArray<string>>
  /** Send `session_reconnect` to one connected session, or to all connected sessions. */
  readonly reconnect: (options?: { readonly sessionId?: string }) => ControlEffect<SimEventSubReconnected>
  /** Close a session with a close code (4000..4007 carry Twitch's reasons; 1000 and 3000..4999 allowed). */
  readonly close: (options: { readonly sessionId: string; readonly code: number }) => ControlEffect<void>
  /** Stop (or restart) `session_keepalive` messages for one session. */
  readonly setKeepalive: (options: { readonly sessionId: string; readonly enabled: boolean }) => ControlEffect<void>
  /** Send an already delivered notification again, same `message_id`, to its session or to `sessionId`. */
  readonly resend: (options: { readonly messageId: string; readonly sessionId?: string }) => ControlEffect<void>
  /** Send a raw text frame (e.g. invalid JSON) to a session. */
  readonly sendMalformed: (options: { readonly sessionId: string; readonly text: string }) => ControlEffect<void>
  /** Send a `revocation` (default status `authorization_revoked`) for a subscription and disable it. */
  readonly revoke: (options: {
    readonly subscriptionId: string
    readonly status?: "authorization_revoked" | "user_removed" | "version_removed"
  }) => ControlEffect<void>
  /** Override a subscription's status (no message is sent). */
  readonly setSubscriptionStatus: (options: {
    readonly subscriptionId: string
    readonly status: string
  }) => ControlEffect<void>
  /**
   * Send `count` notifications (each with its own message id) as fast as the socket takes them, for one
   * subscription; follows the subscription across a reconnect handover. Completes when all frames were written.
   */
  readonly burst: (options: SimEventSubBurstOptions) => ControlEffect<SimEventSubBurstResult>
  readonly sessions: Effect.Effect<ReadonlyArray<SimEventSubSessionInfo>>
  readonly subscriptions: Effect.Effect<ReadonlyArray<SimEventSubSubscriptionInfo>>
}
