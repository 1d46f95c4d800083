// The EventSub frame router: from one message (its id, type, timestamp and payload, whichever transport
// carried it) and the router's state to one action. Synchronous, never throws, no I/O: the only state it
// changes is the dedupe table it is given (the message id is recorded when the message is accepted).
// Transports parse their envelope into a `Message` (`parseFrame` for WebSocket frames; the webhook
// transport reads headers) and carry out the action.
import * as Either from "effect/Either"
import type { Undecodable } from "../EventSub.js"
import { EventSubRevoked } from "../EventSubError.js"
import { type Dedupe, maxMessageIdLength } from "./eventsubDedupe.js"
import { isRecord, type Subscription } from "./eventsubRegistry.js"

/** One EventSub message, transport-independent. @internal */
export interface Message {
  readonly id: string
  /** `notification`, `revocation`, `session_welcome`, … */
  readonly type: string
  readonly timestamp: string
  /** WebSocket: the frame's `payload`; webhook: the request body */
  readonly payload: Record<string, unknown>
}

/** What went wrong with a message; logged (rate-limited per kind), never carrying wire values. @internal */
export interface Problem {
  readonly kind: "json" | "envelope" | "stale" | "type" | "session" | "id"
  readonly text: string
}

/** What a transport does with a message. @internal */
export type Action<S extends Subscription> =
  /** hand `event` to the entry's streams; `problem` is logged besides (the event is fine) */
  | { readonly _tag: "Deliver"; readonly entry: S; readonly event: unknown; readonly problem: Problem | undefined }
  /** the event failed its schema: to the `undecodable` stream */
  | { readonly _tag: "Undecodable"; readonly entry: S; readonly undecodable: Undecodable }
  | { readonly _tag: "Revoke"; readonly entry: S; readonly error: EventSubRevoked }
  | { readonly _tag: "Welcome"; readonly sessionId: string; readonly keepaliveSeconds: number }
  | { readonly _tag: "Reconnect"; readonly url: string }
  /** skipped and logged */
  | { readonly _tag: "Problem"; readonly problem: Problem }
  /** nothing to do (no log): a keepalive, a duplicate, a subscription no stream holds */
  | { readonly _tag: "Ignore"; readonly reason: "keepalive" | "duplicate" | "unknown-subscription" }

/** What the router reads: the time, the dedupe table, and the registry's lookup. @internal */
export interface RouterState<S extends Subscription> {
  /** Clock millis of the message's arrival */
  now: number
  readonly dedupe: Dedupe
  readonly ageGuard: AgeGuard
  readonly find: (subscription: Record<string, unknown>) => S | undefined
}

/**
 * Stale-message guard without parsing every timestamp: RFC 3339 UTC timestamps (`…Z`) order as
 * strings, so each message's timestamp is compared with a threshold string recomputed at most once
 * a second. Other offsets fall back to `Date.parse`.
 *
 * @internal
 */
export class AgeGuard {
  private threshold = ""
  private computedAt = -Infinity
  constructor(readonly maxAgeMillis: number) {}
  isStale(timestamp: string, now: number): boolean {
    if (now - this.computedAt > 1000 || now < this.computedAt) {
      this.computedAt = now
      this.threshold = new Date(now - this.maxAgeMillis).toISOString()
    }
    if (timestamp.charCodeAt(timestamp.length - 1) === 90 /* Z */) return timestamp < this.threshold
    const parsed = Date.parse(timestamp)
    return Number.isNaN(parsed) || parsed < now - this.maxAgeMillis
  }
}

/** A wire string as it may appear in a log line: cut to `max` characters, with its length when cut. @internal */
export const clip = (text: string, max = 64): string =>
  text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`

/** Twitch's keepalive range (10–600 s); anything else in a welcome (0, negative, not a number) is clamped or 10. */
const keepaliveSecondsOf = (value: unknown): number =>
  typeof value === "number" && Number.isFinite(value) ? Math.min(600, Math.max(10, value)) : 10

const problem = (kind: Problem["kind"], text: string): { readonly _tag: "Problem"; readonly problem: Problem } => ({
  _tag: "Problem",
  problem: { kind, text }
})

const ignoreKeepalive = { _tag: "Ignore", reason: "keepalive" } as const
const ignoreDuplicate = { _tag: "Ignore", reason: "duplicate" } as const
const ignoreUnknown = { _tag: "Ignore", reason: "unknown-subscription" } as const

/**
 * A WebSocket frame's text as a `Message`, or the problem that makes it none (not JSON, not an envelope,
 * metadata missing).
 *
 * @internal
 */
export const parseFrame = (text: string): Message | Problem => {
  let frame: unknown
  try {
    frame = JSON.parse(text)
  } catch {
    return { kind: "json", text: `skipped a frame: not JSON (${text.length} characters)` }
  }
  if (!isRecord(frame) || !isRecord(frame.metadata) || !isRecord(frame.payload)) {
    const id = isRecord(frame) && isRecord(frame.metadata) ? frame.metadata.message_id : undefined
    const named = typeof id === "string" ? ` (message ${clip(id)})` : ""
    return { kind: "envelope", text: `skipped a frame: not an EventSub envelope${named}` }
  }
  const { message_id: id, message_timestamp: timestamp, message_type: type } = frame.metadata
  if (typeof id !== "string" || typeof type !== "string" || typeof timestamp !== "string") {
    const named = typeof id === "string" ? ` (message ${clip(id)})` : ""
    return { kind: "envelope", text: `skipped a frame: envelope metadata incomplete${named}` }
  }
  return { id, type, timestamp, payload: frame.payload }
}

/** Routes one message: see `Action`. @internal */
export const route = <S extends Subscription>(message: Message, state: RouterState<S>): Action<S> => {
  switch (message.type) {
    case "notification":
      return routeNotification(message, state)
    case "revocation":
      return routeRevocation(message, state)
    case "session_keepalive":
      return ignoreKeepalive
    case "session_welcome":
    case "session_reconnect":
      return routeSession(message)
    default:
      return problem(
        "type",
        `skipped a frame: message ${clip(message.id)}: unknown message_type ${clip(message.type)}`
      )
  }
}

const noSubscription = (message: Message) =>
  problem("envelope", `skipped a frame: message ${clip(message.id)}: ${message.type} without subscription`)

const routeNotification = <S extends Subscription>(message: Message, state: RouterState<S>): Action<S> => {
  const subscription = message.payload.subscription
  if (!isRecord(subscription)) return noSubscription(message)
  const entry = state.find(subscription)
  if (entry === undefined) return ignoreUnknown
  let longId: Problem | undefined
  if (message.id.length > maxMessageIdLength) {
    // not kept for dedupe (bounded memory), and not dropped either: the event itself may be fine
    longId = {
      kind: "id",
      text: `message ${clip(message.id)}: id longer than ${maxMessageIdLength} characters, delivered without dedupe`
    }
  } else if (state.dedupe.check(message.id)) return ignoreDuplicate
  if (state.ageGuard.isStale(message.timestamp, state.now)) {
    return problem(
      "stale",
      `skipped a frame: message ${clip(message.id)} older than the replay window (${clip(message.timestamp, 40)})`
    )
  }
  const raw = message.payload.event ?? message.payload.events
  let decoded: Either.Either<unknown, string>
  try {
    decoded = entry.decoder.decode(raw, subscription)
  } catch (defect) {
    decoded = Either.left(`decoder defect: ${clip(String(defect), 200)}`)
  }
  if (Either.isRight(decoded)) return { _tag: "Deliver", entry, event: decoded.right, problem: longId }
  return {
    _tag: "Undecodable",
    entry,
    undecodable: {
      type: entry.decoder.type,
      version: entry.decoder.version,
      subscriptionId: typeof subscription.id === "string" ? subscription.id : "",
      messageId: message.id,
      raw,
      error: clip(decoded.left, 500)
    }
  }
}

const routeRevocation = <S extends Subscription>(message: Message, state: RouterState<S>): Action<S> => {
  const subscription = message.payload.subscription
  if (!isRecord(subscription)) return noSubscription(message)
  const entry = state.find(subscription)
  if (entry === undefined) return ignoreUnknown
  if (state.dedupe.check(message.id)) return ignoreDuplicate
  return {
    _tag: "Revoke",
    entry,
    error: new EventSubRevoked({
      subscriptionId: String(subscription.id),
      type: entry.decoder.type,
      version: entry.decoder.version,
      status: typeof subscription.status === "string" ? clip(subscription.status) : "unknown"
    })
  }
}

const routeSession = (message: Message): Action<never> => {
  const session = message.payload.session
  if (!isRecord(session) || typeof session.id !== "string") {
    return problem("session", `skipped a frame: message ${clip(message.id)}: ${message.type} without a session`)
  }
  if (message.type === "session_welcome") {
    return {
      _tag: "Welcome",
      sessionId: session.id,
      keepaliveSeconds: keepaliveSecondsOf(session.keepalive_timeout_seconds)
    }
  }
  if (typeof session.reconnect_url === "string") return { _tag: "Reconnect", url: session.reconnect_url }
  return problem(
    "session",
    `skipped a frame: message ${clip(message.id)}: session_reconnect without reconnect_url`
  )
}
