// What the EventSub part holds: sessions, subscriptions, reconnect ids and recently sent messages, with the
// bookkeeping on them (disable, forget, prune, match). Transports and handlers share one `Registry`.
import type { SimEventSubTarget } from "../../SimulatorModels.js"
import type { SimTokenInfo } from "../contracts.js"
import { conditionMatches, type Session, type Sub } from "./model.js"

/** disabled subscriptions stay visible this long (production: at least 1 minute) */
const DISABLED_RETENTION_MS = 5 * 60_000
/** closed sessions kept for `sessions` listings */
const MAX_CLOSED_SESSIONS = 1000
/** notifications remembered for `resend` */
const MAX_RECENT_MESSAGES = 10_000

/** A notification as sent, for `resend`: a WebSocket frame, or a webhook message (its body and headers). @internal */
export type RecentMessage =
  | { readonly _tag: "WebSocket"; readonly frame: string; readonly sessionId: string }
  | { readonly _tag: "Webhook"; readonly subscriptionId: string; readonly body: string; readonly timestamp: string }

/** The part's clock: Effect's `Clock` (so `TestClock` drives it) and Twitch's timestamps. @internal */
export interface SimClock {
  readonly now: () => number
  /** RFC3339 with nanoseconds (the sub-millisecond digits are a counter: distinct, not meaningful) */
  readonly timestamp: (ms: number) => string
}

/** @internal */
export const makeClock = (now: () => number): SimClock => {
  let nanoCounter = 0
  return {
    now,
    timestamp: (ms) => {
      nanoCounter = (nanoCounter + 1) % 1_000_000
      return new Date(ms).toISOString().slice(0, 23) + String(nanoCounter).padStart(6, "0") + "Z"
    }
  }
}

/** @internal */
export class Registry {
  readonly sessions = new Map<string, Session>()
  readonly subscriptions = new Map<string, Sub>()
  readonly reconnectIds = new Map<string, Session>()
  readonly recent = new Map<string, RecentMessage>()
  private readonly closedSessions: Array<string> = []

  constructor(readonly clock: SimClock) {}

  /** An enabled subscription stops: `status`, and (a lost WebSocket) `disconnected_at`. */
  disable(sub: Sub, status: string, disconnected: boolean): void {
    if (sub.status !== "enabled") return
    const ms = this.clock.now()
    sub.status = status
    sub.disabledAtMs = ms
    if (disconnected) sub.disconnectedAt = this.clock.timestamp(ms)
  }

  add(sub: Sub, session: Session | undefined): void {
    this.subscriptions.set(sub.id, sub)
    if (session === undefined) return
    session.subs.add(sub)
    session.everSubscribed = true
  }

  remove(sub: Sub): void {
    this.subscriptions.delete(sub.id)
    this.sessions.get(sub.sessionId)?.subs.delete(sub)
  }

  /** A closed session stays listed until MAX_CLOSED_SESSIONS later ones closed. */
  forget(s: Session): void {
    this.closedSessions.push(s.id)
    while (this.closedSessions.length > MAX_CLOSED_SESSIONS) {
      const id = this.closedSessions.shift()
      if (id !== undefined) this.sessions.delete(id)
    }
  }

  /** Disabled subscriptions leave the listing DISABLED_RETENTION_MS after they stopped. */
  prune(): void {
    const t = this.clock.now()
    for (const sub of this.subscriptions.values()) {
      if (sub.disabledAtMs !== null && t - sub.disabledAtMs > DISABLED_RETENTION_MS) this.remove(sub)
    }
  }

  remember(messageId: string, message: RecentMessage): void {
    this.recent.delete(messageId)
    this.recent.set(messageId, message)
    if (this.recent.size > MAX_RECENT_MESSAGES) {
      const oldest = this.recent.keys().next()
      if (oldest.done !== true) this.recent.delete(oldest.value)
    }
  }

  /** Enabled subscriptions matching every given field of the target. */
  matching(target: SimEventSubTarget): Array<Sub> {
    const out: Array<Sub> = []
    for (const sub of this.subscriptions.values()) {
      if (sub.status !== "enabled") continue
      if (target.subscriptionId !== undefined && sub.id !== target.subscriptionId) continue
      if (target.type !== undefined && sub.def.type !== target.type) continue
      if (target.version !== undefined && sub.def.version !== target.version) continue
      if (target.sessionId !== undefined && sub.sessionId !== target.sessionId) continue
      if (target.condition !== undefined && !conditionMatches(sub.condition, target.condition)) continue
      out.push(sub)
    }
    return out
  }
}

/**
 * Whose subscriptions a token sees (Get EventSub Subscriptions): an app token the client's webhook and conduit
 * subscriptions,
 * a user token the WebSocket subscriptions that user created.
 * @internal
 */
export const ownedBy = (token: SimTokenInfo) => (sub: Sub): boolean =>
  sub.clientId === token.clientId &&
  (token.userId === null
    ? sub.webhook !== null || sub.conduitId !== null
    : sub.webhook === null && sub.conduitId === null && sub.userId === token.userId)
