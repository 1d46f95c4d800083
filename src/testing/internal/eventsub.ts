// The simulator's EventSub side: the WebSocket at `/ws`, the `/eventsub/subscriptions` REST endpoints and a
// control API (trigger, reconnect, close, keepalive switch, resend, old timestamps, malformed frames, revocation,
// bursts). Behaviour follows production Twitch (REFERENCE.md §1–2, SIMULATOR_CHECKLIST.md §A–B).
//
// All state lives in plain in-memory structures owned by the part (JavaScript is single threaded, every mutation
// is synchronous). Timers (keepalive, subscribe deadline, reconnect grace, ping) are fibers sleeping on Effect's
// `Clock`, so `TestClock` drives them.
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as FiberSet from "effect/FiberSet"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { randomBytes, randomUUID } from "node:crypto"
import { readFileSync } from "node:fs"
import type * as http from "node:http"
import type * as stream from "node:stream"
import { WebSocket, WebSocketServer } from "ws"
import { parseJson } from "../../internal/json.js"
import type {
  EventSubControl,
  EventSubOptions as PublicEventSubOptions,
  SimEventSubControlError as SimEventSubControlErrorShape,
  SimEventSubSessionInfo,
  SimEventSubSubscriptionInfo,
  SimEventSubTarget,
  SimEventSubTriggerOptions,
  SimJsonObject
} from "../SimulatorModels.js"
import type { SimAuth, SimTokenInfo } from "./contracts.js"

/** @internal */
export type { EventSubControl } from "../SimulatorModels.js"

// ---------------------------------------------------------------------------------------------
// Public (internal) contract
// ---------------------------------------------------------------------------------------------

/**
 * What the core mounts: REST app, upgrade handler, control API (from code and over HTTP).
 * @since 0.1.0
 * @category models
 * @internal
 */
export interface EventSubPart {
  /** REST handler for GET/POST/DELETE of /eventsub/subscriptions (the path is not checked: the core mounts it). */
  readonly subscriptionsApp: HttpApp.Default
  /** Raw node 'upgrade' handler for /ws (also ?reconnect_id=...&keepalive_timeout_seconds=N); other paths: destroy. */
  readonly handleUpgrade: (req: http.IncomingMessage, socket: stream.Duplex, head: Buffer) => void
  readonly control: EventSubControl
  /** Handles /_sim/eventsub/* control routes over HTTP (JSON bodies); matched on the last path segment. */
  readonly httpControlApp: HttpApp.Default
}

/**
 * The part's options: the public ones (see `SimulatorModels.EventSubOptions`) and the URL it runs at.
 * @since 0.1.0
 * @category models
 * @internal
 */
export interface EventSubOptions extends PublicEventSubOptions {
  /** e.g. ws://127.0.0.1:PORT/ws, used for reconnect_url */
  readonly baseWsUrl: string
}

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

// ---------------------------------------------------------------------------------------------
// Type catalogue (written by npm run codegen from codegen/inputs/eventsub-types.json, shipped next to this file)
// ---------------------------------------------------------------------------------------------

const JsonObject = Schema.Record({ key: Schema.String, value: Schema.Unknown })

const TypeDef = Schema.Struct({
  type: Schema.String,
  version: Schema.String,
  conditionFields: Schema.Array(Schema.String),
  scopes: Schema.Array(Schema.Array(Schema.String)),
  event: Schema.optional(JsonObject),
  events: Schema.optional(Schema.Array(JsonObject))
})
type TypeDef = typeof TypeDef.Type

const decodeCatalogue = Schema.decodeUnknown(Schema.parseJson(Schema.Struct({ types: Schema.Array(TypeDef) })))

/** type+version pairs Twitch removed (twitch-cli answers 410 for them). */
const removedTypes: ReadonlySet<string> = new Set(["channel.follow@1"])

const MAX_TOTAL_COST = 10
const MAX_SUBSCRIPTIONS_PER_SESSION = 300
const MAX_SESSIONS_PER_USER = 3
const MAX_SAME_TYPE_CONDITION = 3
const PAGE_SIZE = 100
/** disabled subscriptions stay visible this long (production: at least 1 minute) */
const DISABLED_RETENTION_MS = 5 * 60_000
/** closed sessions kept for `sessions` listings */
const MAX_CLOSED_SESSIONS = 1000
/** notifications remembered for `resend` */
const MAX_RECENT_MESSAGES = 10_000
/** burst: frames per socket write, and writes in flight at most (bounds the memory a burst holds) */
const BURST_BATCH = 512
const BURST_IN_FLIGHT = 4

const closeReasons: Record<number, string> = {
  1000: "client disconnected",
  4000: "internal server error",
  4001: "sent inbound traffic",
  4002: "failed ping pong",
  4003: "connection unused",
  4004: "reconnect grace time expired",
  4005: "network timeout",
  4006: "network error",
  4007: "invalid reconnect"
}

const statusForCloseCode = (code: number): string => {
  switch (code) {
    case 4000:
      return "websocket_internal_error"
    case 4001:
      return "websocket_received_inbound_traffic"
    case 4002:
      return "websocket_failed_ping_pong"
    case 4003:
      return "websocket_connection_unused"
    case 4004:
      return "websocket_failed_to_reconnect"
    case 4005:
      return "websocket_network_timeout"
    case 4006:
      return "websocket_network_error"
    default:
      return "websocket_disconnected"
  }
}

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

const errorResponse = (status: number, message: string): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.unsafeJson({ error: reasonPhrases[status] ?? "Error", status, message }, { status })

// ---------------------------------------------------------------------------------------------
// Wire bodies (REST and control API), compiled once
// ---------------------------------------------------------------------------------------------

const CreateBody = Schema.Struct({
  type: Schema.optional(Schema.Unknown),
  version: Schema.optional(Schema.Unknown),
  condition: Schema.optional(Schema.Unknown),
  transport: Schema.optional(Schema.Unknown)
})
const decodeCreateBody = Schema.decodeUnknownEither(CreateBody)
const Transport = Schema.Struct({
  method: Schema.optional(Schema.Unknown),
  session_id: Schema.optional(Schema.Unknown)
})
const decodeTransport = Schema.decodeUnknownEither(Transport)
const decodeJsonObject = Schema.decodeUnknownEither(JsonObject)

const Condition = Schema.Record({ key: Schema.String, value: Schema.String })
const targetFields = {
  type: Schema.optionalWith(Schema.String, { exact: true }),
  version: Schema.optionalWith(Schema.String, { exact: true }),
  condition: Schema.optionalWith(Condition, { exact: true }),
  subscriptionId: Schema.optionalWith(Schema.String, { exact: true }),
  sessionId: Schema.optionalWith(Schema.String, { exact: true })
}
const TriggerBody = Schema.Struct({
  ...targetFields,
  type: Schema.String,
  event: Schema.optionalWith(JsonObject, { exact: true }),
  messageId: Schema.optionalWith(Schema.String, { exact: true })
})
const SendOldBody = Schema.Struct({ ...TriggerBody.fields, ageSeconds: Schema.Number })
const ReconnectBody = Schema.Struct({ sessionId: Schema.optionalWith(Schema.String, { exact: true }) })
const CloseBody = Schema.Struct({ sessionId: Schema.String, code: Schema.Int })
const KeepaliveBody = Schema.Struct({ sessionId: Schema.String, enabled: Schema.Boolean })
const ResendBody = Schema.Struct({
  messageId: Schema.String,
  sessionId: Schema.optionalWith(Schema.String, { exact: true })
})
const MalformedBody = Schema.Struct({ sessionId: Schema.String, text: Schema.String })
const HalfOpenBody = Schema.Struct({ sessionId: Schema.String })
const RevokeBody = Schema.Struct({
  subscriptionId: Schema.String,
  status: Schema.optionalWith(
    Schema.Literal("authorization_revoked", "user_removed", "version_removed"),
    { exact: true }
  )
})
const StatusBody = Schema.Struct({ subscriptionId: Schema.String, status: Schema.String })
const BurstBody = Schema.Struct({
  ...targetFields,
  count: Schema.Int,
  event: Schema.optionalWith(JsonObject, { exact: true })
})

// ---------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------

interface Session {
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

interface Sub {
  readonly id: string
  readonly clientId: string
  readonly userId: string
  readonly def: TypeDef
  readonly condition: Record<string, string>
  readonly cost: number
  readonly createdAt: string
  status: string
  sessionId: string
  connectedAt: string
  disconnectedAt: string | null
  disabledAtMs: number | null
}

interface RecentMessage {
  readonly frame: string
  readonly sessionId: string
}

const isPlainObject = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

const deepMerge = (base: unknown, overrides: SimJsonObject): Record<string, unknown> => {
  const out: Record<string, unknown> = isPlainObject(base) ? { ...base } : {}
  for (const key of Object.keys(overrides)) {
    const value = overrides[key]
    const current = out[key]
    out[key] = isPlainObject(value) && isPlainObject(current) ? deepMerge(current, value) : value
  }
  return out
}

const conditionEquals = (a: Record<string, string>, b: Record<string, string>): boolean => {
  const ka = Object.keys(a)
  if (ka.length !== Object.keys(b).length) return false
  return ka.every((k) => a[k] === b[k])
}

const conditionMatches = (cond: Record<string, string>, wanted: { readonly [key: string]: string }): boolean =>
  Object.keys(wanted).every((k) => cond[k] === wanted[k])

/**
 * Builds the EventSub part. Everything it starts (timers, sockets) ends with the scope.
 * @since 0.1.0
 * @category constructors
 * @internal
 */
export const make = (auth: SimAuth, options: EventSubOptions): Effect.Effect<EventSubPart, never, Scope.Scope> =>
  Effect.gen(function*() {
    const defaultKeepalive = options.keepaliveSeconds ?? 10
    const defaultDeadline = options.subscribeDeadlineSeconds ?? 10
    const graceSeconds = options.reconnectGraceSeconds ?? 30
    const pingInterval = options.pingIntervalSeconds
    const baseWsUrl = options.baseWsUrl

    const catalogueText = yield* Effect.sync(() =>
      readFileSync(new URL("./eventsubExamples.json", import.meta.url), "utf8")
    )
    const catalogue = yield* Effect.orDie(decodeCatalogue(catalogueText))
    const defs = new Map<string, TypeDef>()
    const versionsByType = new Map<string, Array<TypeDef>>()
    for (const def of catalogue.types) {
      defs.set(`${def.type}@${def.version}`, def)
      const list = versionsByType.get(def.type) ?? []
      list.push(def)
      versionsByType.set(def.type, list)
    }

    const clock = yield* Effect.clock
    const now = (): number => clock.unsafeCurrentTimeMillis()
    let nanoCounter = 0
    /** RFC3339 with nanoseconds (the sub-millisecond digits are a counter: distinct, not meaningful). */
    const timestamp = (ms: number): string => {
      nanoCounter = (nanoCounter + 1) % 1_000_000
      return new Date(ms).toISOString().slice(0, 23) + String(nanoCounter).padStart(6, "0") + "Z"
    }

    const run = yield* FiberSet.makeRuntime<never, void, never>()

    const sessions = new Map<string, Session>()
    const closedSessions: Array<string> = []
    const subscriptions = new Map<string, Sub>()
    const reconnectIds = new Map<string, Session>()
    const recent = new Map<string, RecentMessage>()

    const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false })
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        for (const s of sessions.values()) {
          if (s.ws.readyState !== WebSocket.CLOSED) s.ws.terminate()
        }
        wss.close()
      })
    )

    // ---------------------------------------------------------------------------------------------
    // Views
    // ---------------------------------------------------------------------------------------------

    const restView = (sub: Sub): SimJsonObject => ({
      id: sub.id,
      status: sub.status,
      type: sub.def.type,
      version: sub.def.version,
      condition: sub.condition,
      created_at: sub.createdAt,
      transport: sub.disconnectedAt === null
        ? { method: "websocket", session_id: sub.sessionId, connected_at: sub.connectedAt }
        : {
          method: "websocket",
          session_id: sub.sessionId,
          connected_at: sub.connectedAt,
          disconnected_at: sub.disconnectedAt
        },
      cost: sub.cost
    })

    const messageView = (sub: Sub, status: string): SimJsonObject => ({
      id: sub.id,
      status,
      type: sub.def.type,
      version: sub.def.version,
      cost: sub.cost,
      condition: sub.condition,
      transport: { method: "websocket", session_id: sub.sessionId },
      created_at: sub.createdAt
    })

    const sessionInfo = (s: Session): SimEventSubSessionInfo => ({
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

    const subscriptionInfo = (sub: Sub): SimEventSubSubscriptionInfo => ({
      id: sub.id,
      clientId: sub.clientId,
      userId: sub.userId,
      type: sub.def.type,
      version: sub.def.version,
      status: sub.status,
      sessionId: sub.sessionId,
      condition: sub.condition,
      subscription: restView(sub)
    })

    // ---------------------------------------------------------------------------------------------
    // Sockets
    // ---------------------------------------------------------------------------------------------

    /** frames can reach the client (a half-open session sends nothing: they would be lost on the way) */
    const isOpen = (s: Session): boolean => !s.halfOpen && s.ws.readyState === WebSocket.OPEN

    const sendFrame = (s: Session, frame: string): boolean => {
      if (!isOpen(s)) return false
      s.ws.send(frame)
      return true
    }

    const closeSession = (s: Session, code: number): void => {
      if (s.halfOpen) return noticeDead(s, code)
      if (s.ws.readyState === WebSocket.CLOSED || s.ws.readyState === WebSocket.CLOSING) return
      s.serverCloseCode = code
      s.ws.close(code, closeReasons[code] ?? "")
    }

    const disable = (sub: Sub, status: string, disconnected: boolean): void => {
      if (sub.status !== "enabled") return
      const ms = now()
      sub.status = status
      sub.disabledAtMs = ms
      if (disconnected) sub.disconnectedAt = timestamp(ms)
    }

    const interruptFibers = (s: Session): void => {
      for (const fiber of s.fibers) fiber.unsafeInterruptAsFork(FiberId.none)
      s.fibers.clear()
    }

    const forget = (s: Session): void => {
      closedSessions.push(s.id)
      while (closedSessions.length > MAX_CLOSED_SESSIONS) {
        const id = closedSessions.shift()
        if (id !== undefined) sessions.delete(id)
      }
    }

    const onClosed = (s: Session, code: number): void => {
      if (s.status === "closed") return
      const waitingForReconnect = s.status === "reconnecting" && s.reconnectedTo === null
      s.status = "closed"
      s.closeCode = s.serverCloseCode ?? code
      interruptFibers(s)
      if (waitingForReconnect) {
        // subscriptions move to the new session if the client connects to reconnect_url within the grace time
        return
      }
      if (s.graceFiber !== null) s.graceFiber.unsafeInterruptAsFork(FiberId.none)
      const status = statusForCloseCode(s.closeCode)
      for (const sub of s.subs) disable(sub, status, true)
      forget(s)
    }

    /** the server notices that a half-open session is dead: it ends as if closed with `code`, no close frame sent */
    const noticeDead = (s: Session, code: number): void => {
      s.halfOpen = false
      s.serverCloseCode = code
      if (s.ws.readyState !== WebSocket.CLOSED) s.ws.terminate()
      onClosed(s, code)
    }

    const keepaliveLoop = (s: Session): Effect.Effect<void> =>
      Effect.gen(function*() {
        const periodMs = s.keepaliveSeconds * 1000
        while (s.status !== "closed") {
          const due = s.lastSentMs + periodMs
          const t = now()
          if (t < due) {
            yield* Effect.sleep(due - t)
            continue
          }
          if (s.status === "connected" && s.keepaliveEnabled) {
            sendFrame(
              s,
              JSON.stringify({
                metadata: {
                  message_id: randomUUID(),
                  message_type: "session_keepalive",
                  message_timestamp: timestamp(t)
                },
                payload: {}
              })
            )
          }
          s.lastSentMs = t
        }
      })

    const deadlineTimer = (s: Session, seconds: number): Effect.Effect<void> =>
      Effect.sleep(seconds * 1000).pipe(
        Effect.andThen(Effect.sync(() => {
          if (!s.everSubscribed && s.status === "connected") closeSession(s, 4003)
        }))
      )

    const pingLoop = (s: Session, seconds: number): Effect.Effect<void> =>
      Effect.gen(function*() {
        while (s.status !== "closed") {
          yield* Effect.sleep(seconds * 1000)
          if (s.pongPending) {
            closeSession(s, 4002)
            return
          }
          if (isOpen(s)) {
            s.pongPending = true
            s.ws.ping()
          } else if (s.halfOpen) {
            // the ping is lost on the way: no pong will come, which is how the server notices
            s.pongPending = true
          }
        }
      })

    const fork = (s: Session, effect: Effect.Effect<void>): Fiber.RuntimeFiber<void> => {
      const fiber = run(effect)
      s.fibers.add(fiber)
      fiber.addObserver(() => s.fibers.delete(fiber))
      return fiber
    }

    const onConnection = (ws: WebSocket, raw: stream.Duplex, url: URL): void => {
      ws.on("error", () => {
        // socket errors end in "close", handled there
      })
      const reconnectId = url.searchParams.get("reconnect_id")
      let previous: Session | null = null
      if (reconnectId !== null) {
        const old = reconnectIds.get(reconnectId)
        if (old === undefined || old.reconnectedTo !== null) {
          ws.close(4007, closeReasons[4007])
          return
        }
        reconnectIds.delete(reconnectId)
        previous = old
      }
      const rawKeepalive = url.searchParams.get("keepalive_timeout_seconds")
      const numeric = rawKeepalive === null || rawKeepalive.trim() === "" ? Number.NaN : Number(rawKeepalive)
      const fromQuery = Number.isFinite(numeric)
      const keepaliveSeconds = fromQuery
        ? Math.min(600, Math.max(10, Math.round(numeric)))
        : previous !== null
        ? previous.keepaliveSeconds
        : defaultKeepalive
      const t = now()
      const session: Session = {
        id: randomBytes(18).toString("base64url"),
        ws,
        raw,
        connectedAt: timestamp(t),
        keepaliveSeconds,
        keepaliveFromQuery: fromQuery || (previous !== null && previous.keepaliveFromQuery),
        keepaliveEnabled: true,
        status: "connected",
        lastSentMs: t,
        closeCode: null,
        serverCloseCode: null,
        reconnectedTo: null,
        reconnectId: null,
        everSubscribed: false,
        pongPending: false,
        halfOpen: false,
        subs: new Set(),
        fibers: new Set(),
        graceFiber: null
      }
      sessions.set(session.id, session)
      // a half-open session hears nothing from the client: not its frames, pongs or close
      ws.on("message", () => {
        if (!session.halfOpen) closeSession(session, 4001)
      })
      ws.on("pong", () => {
        if (!session.halfOpen) session.pongPending = false
      })
      ws.on("close", (code: number) => {
        if (!session.halfOpen) onClosed(session, code)
      })
      ws.send(JSON.stringify({
        metadata: { message_id: randomUUID(), message_type: "session_welcome", message_timestamp: timestamp(t) },
        payload: {
          session: {
            id: session.id,
            status: "connected",
            connected_at: session.connectedAt,
            keepalive_timeout_seconds: keepaliveSeconds,
            reconnect_url: null,
            recovery_url: null
          }
        }
      }))
      if (previous !== null) {
        // handover: from now on the carried subscriptions deliver on the new socket
        previous.reconnectedTo = session.id
        for (const sub of previous.subs) {
          if (sub.status !== "enabled") continue
          previous.subs.delete(sub)
          sub.sessionId = session.id
          sub.connectedAt = session.connectedAt
          session.subs.add(sub)
          session.everSubscribed = true
        }
        if (previous.status === "closed") {
          if (previous.graceFiber !== null) previous.graceFiber.unsafeInterruptAsFork(FiberId.none)
          forget(previous)
        }
      }
      fork(session, keepaliveLoop(session))
      fork(session, deadlineTimer(session, fromQuery ? keepaliveSeconds : defaultDeadline))
      if (pingInterval !== undefined && pingInterval > 0) fork(session, pingLoop(session, pingInterval))
    }

    const handleUpgrade = (req: http.IncomingMessage, socket: stream.Duplex, head: Buffer): void => {
      const url = new URL(req.url ?? "/", "http://localhost")
      if (url.pathname !== "/ws" && url.pathname !== "/ws/") {
        socket.destroy()
        return
      }
      wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, socket, url))
    }

    // ---------------------------------------------------------------------------------------------
    // Notifications
    // ---------------------------------------------------------------------------------------------

    const buildEvent = (sub: Sub, overrides: SimJsonObject | undefined): Record<string, unknown> => {
      const base: Record<string, unknown> = { ...(sub.def.event ?? {}) }
      // the example's ids follow the subscription's condition where the event has the same field
      for (const key of Object.keys(sub.condition)) {
        if (typeof base[key] === "string") base[key] = sub.condition[key]
      }
      return overrides === undefined ? base : deepMerge(base, overrides)
    }

    const notificationPayload = (sub: Sub, overrides: SimJsonObject | undefined): SimJsonObject => {
      if (sub.def.events !== undefined) {
        const events = sub.def.events.map((e) => ({
          ...e,
          id: randomUUID(),
          data: overrides === undefined ? e.data : deepMerge(e.data, overrides)
        }))
        return { subscription: messageView(sub, "enabled"), events }
      }
      return { subscription: messageView(sub, "enabled"), event: buildEvent(sub, overrides) }
    }

    const notificationFrame = (sub: Sub, messageId: string, ts: string, payload: SimJsonObject): string =>
      JSON.stringify({
        metadata: {
          message_id: messageId,
          message_type: "notification",
          message_timestamp: ts,
          subscription_type: sub.def.type,
          subscription_version: sub.def.version
        },
        payload
      })

    const remember = (messageId: string, message: RecentMessage): void => {
      recent.delete(messageId)
      recent.set(messageId, message)
      if (recent.size > MAX_RECENT_MESSAGES) {
        const oldest = recent.keys().next()
        if (oldest.done !== true) recent.delete(oldest.value)
      }
    }

    const matchingSubs = (target: SimEventSubTarget): Array<Sub> => {
      const out: Array<Sub> = []
      for (const sub of subscriptions.values()) {
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

    const checkType = (
      type: string | undefined,
      version: string | undefined
    ): Effect.Effect<void, SimEventSubControlError> => {
      if (type === undefined) return Effect.void
      const versions = versionsByType.get(type)
      if (versions === undefined || (version !== undefined && !versions.some((d) => d.version === version))) {
        return Effect.fail(new SimEventSubControlError({ message: `unknown EventSub type ${type} v${version ?? "*"}` }))
      }
      return Effect.void
    }

    const deliver = (options: SimEventSubTriggerOptions, ageSeconds: number) =>
      Effect.andThen(
        checkType(options.type, options.version),
        Effect.sync(() => {
          const ids: Array<string> = []
          const t = now()
          for (const sub of matchingSubs(options)) {
            const session = sessions.get(sub.sessionId)
            if (session === undefined || !isOpen(session)) continue
            const messageId = options.messageId ?? randomUUID()
            const frame = notificationFrame(
              sub,
              messageId,
              timestamp(t - ageSeconds * 1000),
              notificationPayload(sub, options.event)
            )
            session.ws.send(frame)
            session.lastSentMs = t
            remember(messageId, { frame, sessionId: session.id })
            ids.push(messageId)
          }
          return ids as ReadonlyArray<string>
        })
      )

    const revokeSub = (sub: Sub, status: string): void => {
      if (sub.status !== "enabled") return
      const session = sessions.get(sub.sessionId)
      if (session !== undefined) {
        sendFrame(
          session,
          JSON.stringify({
            metadata: {
              message_id: randomUUID(),
              message_type: "revocation",
              message_timestamp: timestamp(now()),
              subscription_type: sub.def.type,
              subscription_version: sub.def.version
            },
            payload: { subscription: messageView(sub, status) }
          })
        )
      }
      disable(sub, status, false)
    }

    auth.onRevoke((token: SimTokenInfo) => {
      if (token.userId === null) return
      for (const sub of subscriptions.values()) {
        if (sub.clientId === token.clientId && sub.userId === token.userId) revokeSub(sub, "authorization_revoked")
      }
    })

    // ---------------------------------------------------------------------------------------------
    // Burst: every frame of a burst has the same byte length (only the 36-character message id differs), so a
    // batch buffer of BURST_BATCH ready WebSocket frames is built once and only the ids are overwritten before
    // each write to the raw socket. At most BURST_IN_FLIGHT batches are in flight: the socket's write callbacks
    // are the backpressure. Frames are whole and written synchronously, so they never interleave with the `ws`
    // sender's own frames.
    // ---------------------------------------------------------------------------------------------

    const frameHeader = (length: number): Buffer => {
      if (length < 126) return Buffer.from([0x81, length])
      if (length < 65536) return Buffer.from([0x81, 126, length >> 8, length & 0xff])
      const header = Buffer.alloc(10)
      header[0] = 0x81
      header[1] = 127
      header.writeBigUInt64BE(BigInt(length), 2)
      return header
    }

    const burst = (options: SimEventSubTarget & { readonly count: number; readonly event?: SimJsonObject }) =>
      Effect.gen(function*() {
        yield* checkType(options.type, options.version)
        const sub = matchingSubs(options)[0]
        if (sub === undefined) {
          return yield* new SimEventSubControlError({ message: "no enabled subscription matches the burst target" })
        }
        const count = Math.max(0, Math.floor(options.count))
        const placeholder = "00000000-0000-0000-0000-000000000000"
        const payload = notificationPayload(sub, options.event)
        let firstMessageId: string | null = null
        let lastMessageId: string | null = null
        const sent = yield* Effect.async<number>((resume) => {
          let i = 0
          let inFlight = 0
          let finished = false
          let session: Session | undefined
          let frameLength = 0
          let idOffset = 0
          let template: Buffer = Buffer.alloc(0)
          let pool: Array<Buffer> = []
          const finish = (): void => {
            if (finished) return
            finished = true
            resume(Effect.succeed(i))
          }
          const prepare = (): void => {
            session = sessions.get(sub.sessionId)
            const frame = Buffer.from(
              notificationFrame(sub, placeholder, timestamp(now()), {
                ...payload,
                subscription: messageView(sub, "enabled")
              })
            )
            const header = frameHeader(frame.length)
            frameLength = header.length + frame.length
            idOffset = header.length + frame.indexOf(placeholder)
            template = Buffer.concat([header, frame])
            pool = []
          }
          const batchBuffer = (): Buffer => {
            const buffer = Buffer.allocUnsafe(frameLength * BURST_BATCH)
            for (let k = 0; k < BURST_BATCH; k++) template.copy(buffer, k * frameLength)
            return buffer
          }
          const pump = (): void => {
            while (!finished && inFlight < BURST_IN_FLIGHT) {
              if (i >= count || sub.status !== "enabled") {
                if (inFlight === 0) finish()
                return
              }
              // a reconnect hands the subscription to another session: follow it
              if (session === undefined || session.id !== sub.sessionId) prepare()
              const target = session
              if (target === undefined || !isOpen(target)) {
                if (inFlight === 0) finish()
                return
              }
              const currentPool = pool
              const buffer = currentPool.pop() ?? batchBuffer()
              const n = Math.min(BURST_BATCH, count - i)
              for (let k = 0; k < n; k++) {
                const id = randomUUID()
                buffer.write(id, k * frameLength + idOffset, "latin1")
                if (firstMessageId === null) firstMessageId = id
                lastMessageId = id
              }
              i += n
              inFlight++
              target.lastSentMs = now()
              target.raw.write(n === BURST_BATCH ? buffer : buffer.subarray(0, n * frameLength), (err) => {
                inFlight--
                if (err !== undefined && err !== null) return finish()
                currentPool.push(buffer)
                pump()
              })
            }
          }
          pump()
          return Effect.sync(() => {
            finished = true
          })
        })
        return { sent, firstMessageId, lastMessageId }
      })

    // ---------------------------------------------------------------------------------------------
    // Control API
    // ---------------------------------------------------------------------------------------------

    const findSession = (id: string): Effect.Effect<Session, SimEventSubControlError> => {
      const s = sessions.get(id)
      return s === undefined
        ? Effect.fail(new SimEventSubControlError({ message: `unknown session ${id}` }))
        : Effect.succeed(s)
    }
    const findSub = (id: string): Effect.Effect<Sub, SimEventSubControlError> => {
      const sub = subscriptions.get(id)
      return sub === undefined
        ? Effect.fail(new SimEventSubControlError({ message: `unknown subscription ${id}` }))
        : Effect.succeed(sub)
    }

    const sendReconnect = (s: Session): { readonly sessionId: string; readonly reconnectUrl: string } => {
      const reconnectId = Buffer.from(s.id).toString("base64url")
      const reconnectUrl = `${baseWsUrl}?reconnect_id=${reconnectId}` +
        (s.keepaliveFromQuery ? `&keepalive_timeout_seconds=${s.keepaliveSeconds}` : "")
      s.status = "reconnecting"
      s.reconnectId = reconnectId
      reconnectIds.set(reconnectId, s)
      sendFrame(
        s,
        JSON.stringify({
          metadata: {
            message_id: randomUUID(),
            message_type: "session_reconnect",
            message_timestamp: timestamp(now())
          },
          payload: {
            session: {
              id: s.id,
              status: "reconnecting",
              keepalive_timeout_seconds: null,
              reconnect_url: reconnectUrl,
              connected_at: s.connectedAt
            }
          }
        })
      )
      s.graceFiber = run(
        Effect.sleep(graceSeconds * 1000).pipe(Effect.andThen(Effect.sync(() => {
          s.graceFiber = null
          reconnectIds.delete(reconnectId)
          if (s.reconnectedTo === null) {
            for (const sub of s.subs) disable(sub, "websocket_failed_to_reconnect", true)
          }
          if (s.status === "closed") forget(s)
          else closeSession(s, 4004)
        })))
      )
      return { sessionId: s.id, reconnectUrl }
    }

    const control: EventSubControl = {
      trigger: (opts) => deliver(opts, 0),
      sendOld: (opts) => deliver(opts, opts.ageSeconds),
      reconnect: (opts) =>
        Effect.suspend(() => {
          if (opts?.sessionId !== undefined) {
            return Effect.flatMap(findSession(opts.sessionId), (s) =>
              s.status === "connected"
                ? Effect.succeed([sendReconnect(s)])
                : Effect.fail(new SimEventSubControlError({ message: `session ${s.id} is ${s.status}` })))
          }
          const out: Array<{ readonly sessionId: string; readonly reconnectUrl: string }> = []
          for (const s of sessions.values()) if (s.status === "connected") out.push(sendReconnect(s))
          return Effect.succeed(out)
        }),
      close: ({ code, sessionId }) =>
        Effect.flatMap(findSession(sessionId), (s) =>
          code !== 1000 && (code < 3000 || code > 4999)
            ? Effect.fail(new SimEventSubControlError({ message: `invalid close code ${code}` }))
            : Effect.sync(() => closeSession(s, code))),
      setKeepalive: ({ enabled, sessionId }) =>
        Effect.flatMap(findSession(sessionId), (s) =>
          Effect.sync(() => {
            if (enabled && !s.keepaliveEnabled) s.lastSentMs = now()
            s.keepaliveEnabled = enabled
          })),
      resend: ({ messageId, sessionId }) =>
        Effect.suspend(() => {
          const message = recent.get(messageId)
          if (message === undefined) {
            return Effect.fail(new SimEventSubControlError({ message: `unknown message id ${messageId}` }))
          }
          return Effect.flatMap(findSession(sessionId ?? message.sessionId), (s) =>
            sendFrame(s, message.frame)
              ? Effect.void
              : Effect.fail(new SimEventSubControlError({ message: `session ${s.id} is not open` })))
        }),
      halfOpen: ({ sessionId }) =>
        Effect.flatMap(findSession(sessionId), (s) =>
          s.status === "closed"
            ? Effect.fail(new SimEventSubControlError({ message: `session ${s.id} is closed` }))
            : Effect.sync(() => {
              s.halfOpen = true
            })),
      sendMalformed: ({ sessionId, text }) =>
        Effect.flatMap(findSession(sessionId), (s) =>
          sendFrame(s, text)
            ? Effect.void
            : Effect.fail(new SimEventSubControlError({ message: `session ${s.id} is not open` }))),
      revoke: ({ status, subscriptionId }) =>
        Effect.flatMap(
          findSub(subscriptionId),
          (sub) => Effect.sync(() => revokeSub(sub, status ?? "authorization_revoked"))
        ),
      setSubscriptionStatus: ({ status, subscriptionId }) =>
        Effect.flatMap(findSub(subscriptionId), (sub) =>
          Effect.sync(() => {
            sub.status = status
            sub.disabledAtMs = status === "enabled" ? null : now()
          })),
      burst,
      sessions: Effect.sync(() => Array.from(sessions.values(), sessionInfo)),
      subscriptions: Effect.sync(() => Array.from(subscriptions.values(), subscriptionInfo))
    }

    // ---------------------------------------------------------------------------------------------
    // REST: /eventsub/subscriptions
    // ---------------------------------------------------------------------------------------------

    const prune = (t: number): void => {
      for (const sub of subscriptions.values()) {
        if (sub.disabledAtMs !== null && t - sub.disabledAtMs > DISABLED_RETENTION_MS) {
          subscriptions.delete(sub.id)
          sessions.get(sub.sessionId)?.subs.delete(sub)
        }
      }
    }

    const ownedBy = (token: SimTokenInfo) => (sub: Sub): boolean =>
      sub.clientId === token.clientId && (token.userId === null || sub.userId === token.userId)

    const totals = (token: SimTokenInfo) => {
      let total = 0
      let totalCost = 0
      const owned = ownedBy(token)
      for (const sub of subscriptions.values()) {
        if (!owned(sub)) continue
        total++
        if (sub.status === "enabled") totalCost += sub.cost
      }
      return { total, total_cost: totalCost, max_total_cost: MAX_TOTAL_COST }
    }

    const hasScopes = (def: TypeDef, scopes: ReadonlyArray<string>): boolean =>
      def.scopes.every((anyOf) => anyOf.some((scope) => scopes.includes(scope)))

    /** The condition field naming the user who must have authorized the subscription. */
    const authorizingField = (def: TypeDef): string | undefined => {
      const fields = def.conditionFields
      return ["moderator_user_id", "user_id", "broadcaster_user_id"].find((f) => fields.includes(f))
    }

    const create = (token: SimTokenInfo, raw: unknown): HttpServerResponse.HttpServerResponse => {
      const body = decodeCreateBody(raw)
      if (Either.isLeft(body)) return errorResponse(400, "The request body is not a valid JSON object")
      const { condition: rawCondition, transport: rawTransport, type, version } = body.right
      if (typeof type !== "string" || type === "") return errorResponse(400, "The parameter \"type\" is required")
      if (typeof version !== "string" || version === "") {
        return errorResponse(400, "The parameter \"version\" is required")
      }
      if (removedTypes.has(`${type}@${version}`)) return errorResponse(410, "This subscription type is not available.")
      const def = defs.get(`${type}@${version}`)
      if (def === undefined) {
        return errorResponse(400, "The combination of values in the type and version fields is not valid")
      }
      const transport = decodeTransport(rawTransport)
      if (Either.isLeft(transport) || rawTransport === undefined) {
        return errorResponse(400, "The parameter \"transport\" is required")
      }
      if (transport.right.method !== "websocket") {
        return errorResponse(400, "The value in \"transport.method\" is not valid (the simulator supports websocket)")
      }
      const sessionId = transport.right.session_id
      if (typeof sessionId !== "string" || sessionId === "") {
        return errorResponse(400, "The parameter \"transport.session_id\" is required")
      }
      const conditionObject = decodeJsonObject(rawCondition)
      if (Either.isLeft(conditionObject)) return errorResponse(400, "The parameter \"condition\" is required")
      const condition: Record<string, string> = {}
      for (const [key, value] of Object.entries(conditionObject.right)) {
        if (typeof value === "string" && value !== "") condition[key] = value
      }
      for (const field of def.conditionFields) {
        if (!field.endsWith("?") && condition[field] === undefined) {
          return errorResponse(400, `The parameter "condition.${field}" is required`)
        }
      }
      if (def.type === "channel.raid") {
        const n = Number(condition.from_broadcaster_user_id !== undefined) +
          Number(condition.to_broadcaster_user_id !== undefined)
        if (n !== 1) {
          return errorResponse(
            400,
            "Exactly one of condition.from_broadcaster_user_id and condition.to_broadcaster_user_id is required"
          )
        }
      }
      if (token.userId === null) {
        return errorResponse(401, "The websocket transport requires a user access token")
      }
      const userId = token.userId
      if (def.scopes.length > 0) {
        const field = authorizingField(def)
        if (!hasScopes(def, token.scopes) || (field !== undefined && condition[field] !== userId)) {
          return errorResponse(403, "subscription missing proper authorization")
        }
      }
      const session = sessions.get(sessionId)
      if (session === undefined || session.status === "closed" || session.reconnectedTo !== null) {
        return errorResponse(400, "websocket transport session does not exist or has already disconnected")
      }
      prune(now())
      let sameTypeCondition = 0
      let totalCost = 0
      const userSessions = new Set<string>()
      for (const sub of subscriptions.values()) {
        if (sub.status !== "enabled" || sub.clientId !== token.clientId) continue
        const sameType = sub.def.type === def.type && conditionEquals(sub.condition, condition)
        if (sub.userId === userId) {
          if (sameType && sub.def.version === def.version) {
            return errorResponse(409, "subscription already exists")
          }
          totalCost += sub.cost
          userSessions.add(sub.sessionId)
        }
        if (sameType) sameTypeCondition++
      }
      if (sameTypeCondition >= MAX_SAME_TYPE_CONDITION) {
        return errorResponse(429, "too many subscriptions with the same type and condition")
      }
      let sessionEnabled = 0
      for (const sub of session.subs) if (sub.status === "enabled") sessionEnabled++
      if (sessionEnabled >= MAX_SUBSCRIPTIONS_PER_SESSION) {
        return errorResponse(429, "number of subscriptions on the websocket transport session exceeded the limit")
      }
      if (!userSessions.has(session.id) && userSessions.size >= MAX_SESSIONS_PER_USER) {
        return errorResponse(429, "number of websocket transports limit exceeded")
      }
      // cost 0 when the type needs the user's authorization or names the authorizing user; else 1
      const cost = def.scopes.length > 0 || Object.values(condition).includes(userId) ? 0 : 1
      if (totalCost + cost > MAX_TOTAL_COST) {
        return errorResponse(429, "total cost of subscriptions exceeded max_total_cost")
      }
      const t = now()
      const sub: Sub = {
        id: randomUUID(),
        clientId: token.clientId,
        userId,
        def,
        condition,
        cost,
        createdAt: timestamp(t),
        status: "enabled",
        sessionId: session.id,
        connectedAt: session.connectedAt,
        disconnectedAt: null,
        disabledAtMs: null
      }
      subscriptions.set(sub.id, sub)
      session.subs.add(sub)
      session.everSubscribed = true
      return HttpServerResponse.unsafeJson({ data: [restView(sub)], ...totals(token) }, { status: 202 })
    }

    const list = (token: SimTokenInfo, params: URLSearchParams): HttpServerResponse.HttpServerResponse => {
      const filters = ["status", "type", "user_id", "subscription_id"].filter((name) => params.has(name))
      if (filters.length > 1) {
        return errorResponse(400, "The status, type, user_id and subscription_id filters are mutually exclusive")
      }
      prune(now())
      const owned = ownedBy(token)
      const value = filters.length === 1 ? params.get(filters[0]!) ?? "" : ""
      const matches = (sub: Sub): boolean => {
        switch (filters[0]) {
          case "status":
            return sub.status === value
          case "type":
            return sub.def.type === value
          case "user_id":
            return Object.values(sub.condition).includes(value)
          case "subscription_id":
            return sub.id === value
          default:
            return true
        }
      }
      const all: Array<Sub> = []
      for (const sub of subscriptions.values()) if (owned(sub) && matches(sub)) all.push(sub)
      let offset = 0
      const after = params.get("after")
      if (after !== null) {
        offset = Number(Buffer.from(after, "base64url").toString("utf8"))
        if (!Number.isSafeInteger(offset) || offset < 0) {
          return errorResponse(400, "The cursor in \"after\" is not valid")
        }
      }
      const page = all.slice(offset, offset + PAGE_SIZE)
      const next = offset + PAGE_SIZE
      return HttpServerResponse.unsafeJson({
        data: page.map(restView),
        ...totals(token),
        total: all.length,
        pagination: next < all.length ? { cursor: Buffer.from(String(next)).toString("base64url") } : {}
      })
    }

    const remove = (token: SimTokenInfo, params: URLSearchParams): HttpServerResponse.HttpServerResponse => {
      const id = params.get("id")
      if (id === null || id === "") return errorResponse(400, "The parameter \"id\" is required")
      const sub = subscriptions.get(id)
      if (sub === undefined || !ownedBy(token)(sub)) return errorResponse(404, "subscription not found")
      subscriptions.delete(id)
      sessions.get(sub.sessionId)?.subs.delete(sub)
      return HttpServerResponse.empty({ status: 204 })
    }

    const subscriptionsApp: HttpApp.Default = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const result = auth.authenticate(request.headers["authorization"], request.headers["client-id"], now())
      if (result._tag === "Unauthorized") return errorResponse(401, result.message)
      const params = new URL(request.url, "http://localhost").searchParams
      switch (request.method) {
        case "GET":
          return list(result.token, params)
        case "DELETE":
          return remove(result.token, params)
        case "POST": {
          const body = yield* Effect.either(request.json)
          return Either.isLeft(body)
            ? errorResponse(400, "The request body is not valid JSON")
            : create(result.token, body.right)
        }
        default:
          return errorResponse(405, `Method ${request.method} is not allowed`)
      }
    })

    // ---------------------------------------------------------------------------------------------
    // Control over HTTP: /_sim/eventsub/<route>
    // ---------------------------------------------------------------------------------------------

    const controlFailure = (e: SimEventSubControlErrorShape) =>
      errorResponse(e.message.startsWith("unknown") ? 404 : 400, e.message)

    const withBody = <A, I>(
      schema: Schema.Schema<A, I>,
      f: (a: A) => Effect.Effect<unknown, SimEventSubControlErrorShape>
    ) => {
      const decode = Schema.decodeUnknownEither(schema)
      return (raw: unknown): Effect.Effect<HttpServerResponse.HttpServerResponse> => {
        const decoded = decode(raw)
        if (Either.isLeft(decoded)) return Effect.succeed(errorResponse(400, "Invalid control request body"))
        return f(decoded.right).pipe(
          Effect.map((out) =>
            out === undefined ? HttpServerResponse.empty({ status: 204 }) : HttpServerResponse.unsafeJson(out)
          ),
          Effect.catchAll((e) => Effect.succeed(controlFailure(e)))
        )
      }
    }

    const postRoutes: Record<string, (raw: unknown) => Effect.Effect<HttpServerResponse.HttpServerResponse>> = {
      trigger: withBody(TriggerBody, (b) => Effect.map(control.trigger(b), (messageIds) => ({ messageIds }))),
      "send-old": withBody(SendOldBody, (b) => Effect.map(control.sendOld(b), (messageIds) => ({ messageIds }))),
      reconnect: withBody(ReconnectBody, (b) => Effect.map(control.reconnect(b), (data) => ({ data }))),
      close: withBody(CloseBody, control.close),
      keepalive: withBody(KeepaliveBody, control.setKeepalive),
      resend: withBody(ResendBody, control.resend),
      malformed: withBody(MalformedBody, control.sendMalformed),
      "half-open": withBody(HalfOpenBody, control.halfOpen),
      revoke: withBody(RevokeBody, control.revoke),
      "subscription-status": withBody(StatusBody, control.setSubscriptionStatus),
      burst: withBody(BurstBody, control.burst)
    }

    const httpControlApp: HttpApp.Default = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const path = new URL(request.url, "http://localhost").pathname.replace(/\/+$/, "")
      const route = path.slice(path.lastIndexOf("/") + 1)
      if (request.method === "GET") {
        if (route === "sessions") return HttpServerResponse.unsafeJson({ data: yield* control.sessions })
        if (route === "subscriptions") return HttpServerResponse.unsafeJson({ data: yield* control.subscriptions })
        return errorResponse(404, `unknown control route ${path}`)
      }
      if (request.method !== "POST") return errorResponse(405, `Method ${request.method} is not allowed`)
      const handler = postRoutes[route]
      if (handler === undefined) return errorResponse(404, `unknown control route ${path}`)
      const text = yield* Effect.either(request.text)
      if (Either.isLeft(text)) return errorResponse(400, "Unreadable request body")
      const parsed = text.right.trim() === "" ? Either.right({}) : parseJson(text.right)
      if (Either.isLeft(parsed)) return errorResponse(400, "The request body is not valid JSON")
      return yield* handler(parsed.right)
    })

    return { subscriptionsApp, handleUpgrade, control, httpControlApp } satisfies EventSubPart
  })
