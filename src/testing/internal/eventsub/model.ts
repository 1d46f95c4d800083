// The EventSub part's state (sessions, subscriptions) and the views of it: what the REST endpoints, the messages
// and the control API show. Plain mutable records: JavaScript is single threaded and every mutation is synchronous.
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type * as Fiber from "effect/Fiber"
import * as Schema from "effect/Schema"
import type * as stream from "node:stream"
import type { WebSocket } from "ws"
import type { SimEventSubSessionInfo, SimEventSubSubscriptionInfo, SimJsonObject } from "../../SimulatorModels.js"
import type { TypeDef } from "./catalogue.js"

/**
 * Failure of a control call: unknown session, subscription, type or message id, or a bad argument.
 * @since 0.1.0
 * @category errors
 * @internal
 */
export class SimEventSubControlError extends Schema.TaggedError<SimEventSubControlError>()(
  "SimEventSubControlError",
  { message: Schema.String }
) {}

/** @internal */
export const controlError = (message: string): SimEventSubControlError => new SimEventSubControlError({ message })

/** @internal */
export interface Session {
  readonly id: string
  readonly ws: WebSocket
  /** the upgraded socket under `ws` (bursts write ready frames to it) */
  readonly raw: stream.Duplex
  readonly connectedAt: string
  readonly keepaliveSeconds: number
  /** whether the client chose `keepalive_timeout_seconds` (then carried into reconnect URLs) */
  readonly keepaliveFromQuery: boolean
  keepaliveEnabled: boolean
  status: "connected" | "reconnecting" | "closed"
  /** Clock millis of the last notification or keepalive */
  lastSentMs: number
  closeCode: number | null
  /** code the simulator closed with (the client may echo anything) */
  serverCloseCode: number | null
  reconnectedTo: string | null
  reconnectId: string | null
  everSubscribed: boolean
  pongPending: boolean
  /** the path to the client is dead and the server has not noticed: nothing is sent or heard (see `halfOpen`) */
  halfOpen: boolean
  readonly subs: Set<Sub>
  readonly fibers: Set<Fiber.RuntimeFiber<void>>
  graceFiber: Fiber.RuntimeFiber<void> | null
}

/** Where a webhook subscription's messages go. @internal */
export interface WebhookTarget {
  readonly callback: string
  readonly secret: string
}

/** @internal */
export interface Sub {
  readonly id: string
  readonly clientId: string
  /** the token's user (websocket), or the user the condition names (webhook; null when it names none) */
  readonly userId: string | null
  readonly def: TypeDef
  readonly condition: Record<string, string>
  readonly cost: number
  readonly createdAt: string
  status: string
  /** the WebSocket session (empty for a webhook subscription) */
  sessionId: string
  connectedAt: string
  disconnectedAt: string | null
  disabledAtMs: number | null
  /** null for a WebSocket subscription */
  readonly webhook: WebhookTarget | null
  /** the conduit its notifications go through (transport `conduit`), else null */
  readonly conduitId: string | null
}

/** @internal */
export const isPlainObject = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/** @internal */
export const deepMerge = (base: unknown, overrides: SimJsonObject): Record<string, unknown> => {
  const out: Record<string, unknown> = isPlainObject(base) ? { ...base } : {}
  for (const key of Object.keys(overrides)) {
    const value = overrides[key]
    const current = out[key]
    out[key] = isPlainObject(value) && isPlainObject(current) ? deepMerge(current, value) : value
  }
  return out
}

/** @internal */
export const conditionEquals = (a: Record<string, string>, b: Record<string, string>): boolean => {
  const ka = Object.keys(a)
  if (ka.length !== Object.keys(b).length) return false
  return ka.every((k) => a[k] === b[k])
}

/** @internal */
export const conditionMatches = (cond: Record<string, string>, wanted: { readonly [key: string]: string }): boolean =>
  Object.keys(wanted).every((k) => cond[k] === wanted[k])

const reasonPhrases: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  410: "Gone",
  429: "Too Many Requests"
}

/** Twitch's error body `{error, status, message}`. @internal */
export const errorResponse = (status: number, message: string): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.unsafeJson({ error: reasonPhrases[status] ?? "Error", status, message }, { status })

// ---------------------------------------------------------------------------------------------------- views

const transportView = (sub: Sub): SimJsonObject => {
  if (sub.conduitId !== null) return { method: "conduit", conduit_id: sub.conduitId }
  if (sub.webhook !== null) return { method: "webhook", callback: sub.webhook.callback }
  return sub.disconnectedAt === null
    ? { method: "websocket", session_id: sub.sessionId, connected_at: sub.connectedAt }
    : {
      method: "websocket",
      session_id: sub.sessionId,
      connected_at: sub.connectedAt,
      disconnected_at: sub.disconnectedAt
    }
}

/** A subscription as Get EventSub Subscriptions shows it. @internal */
export const restView = (sub: Sub): SimJsonObject => ({
  id: sub.id,
  status: sub.status,
  type: sub.def.type,
  version: sub.def.version,
  condition: sub.condition,
  created_at: sub.createdAt,
  transport: transportView(sub),
  cost: sub.cost
})

/** A subscription as a message (notification, revocation, challenge) carries it, with `status`. @internal */
export const messageView = (sub: Sub, status: string): SimJsonObject => ({
  id: sub.id,
  status,
  type: sub.def.type,
  version: sub.def.version,
  cost: sub.cost,
  condition: sub.condition,
  transport: sub.conduitId !== null
    ? { method: "conduit", conduit_id: sub.conduitId }
    : sub.webhook !== null
    ? { method: "webhook", callback: sub.webhook.callback }
    : { method: "websocket", session_id: sub.sessionId },
  created_at: sub.createdAt
})

/** @internal */
export const sessionInfo = (s: Session): SimEventSubSessionInfo => ({
  id: s.id,
  status: s.status,
  connectedAt: s.connectedAt,
  keepaliveTimeoutSeconds: s.keepaliveSeconds,
  keepaliveEnabled: s.keepaliveEnabled,
  halfOpen: s.halfOpen,
  closeCode: s.closeCode,
  reconnectedTo: s.reconnectedTo,
  subscriptions: Array.from(s.subs, (sub) => sub.id)
})

/** @internal */
export const subscriptionInfo = (sub: Sub): SimEventSubSubscriptionInfo => ({
  id: sub.id,
  clientId: sub.clientId,
  userId: sub.userId ?? "",
  type: sub.def.type,
  version: sub.def.version,
  status: sub.status,
  transport: sub.conduitId !== null ? "conduit" : sub.webhook === null ? "websocket" : "webhook",
  sessionId: sub.sessionId,
  callback: sub.webhook?.callback ?? null,
  condition: sub.condition,
  subscription: restView(sub)
})
