// The WebSocket transport at `/ws`: sessions (welcome, keepalive, subscribe deadline, pings), closing with
// Twitch's codes, and the reconnect handover (`session_reconnect`, `reconnect_url`, grace time).
// Timers are fibers sleeping on Effect's `Clock`, so `TestClock` drives them.
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import { randomBytes, randomUUID } from "node:crypto"
import type * as http from "node:http"
import type * as stream from "node:stream"
import { WebSocket, WebSocketServer } from "ws"
import type { Conduits } from "./conduits.js"
import type { Session } from "./model.js"
import type { Registry } from "./registry.js"

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

const statusByCloseCode: Record<number, string> = {
  4000: "websocket_internal_error",
  4001: "websocket_received_inbound_traffic",
  4002: "websocket_failed_ping_pong",
  4003: "websocket_connection_unused",
  4004: "websocket_failed_to_reconnect",
  4005: "websocket_network_timeout",
  4006: "websocket_network_error"
}

/** Settings of the transport (see `SimulatorModels.EventSubOptions`). @internal */
export interface WebSocketSettings {
  readonly keepaliveSeconds: number
  readonly subscribeDeadlineSeconds: number
  readonly reconnectGraceSeconds: number
  /** 0: no pings */
  readonly pingIntervalSeconds: number
  /** e.g. ws://127.0.0.1:PORT/ws, used for reconnect_url */
  readonly baseWsUrl: string
}

/** a pong's real-time allowance (see `pingLoop`) */
const PONG_ALLOWANCE_MS = 50

const realTimeAllowance = Effect.async<void>((resume) => {
  const timer = setTimeout(() => resume(Effect.void), PONG_ALLOWANCE_MS)
  return Effect.sync(() => clearTimeout(timer))
})

/** @internal */
export type Run = (effect: Effect.Effect<void>) => Fiber.RuntimeFiber<void>

const envelope = (type: string, timestamp: string, payload: unknown): string =>
  JSON.stringify({
    metadata: { message_id: randomUUID(), message_type: type, message_timestamp: timestamp },
    payload
  })

interface Keepalive {
  readonly seconds: number
  /** the client chose it (carried into reconnect URLs) */
  readonly fromQuery: boolean
}

/** The keepalive window the client asked for (clamped to 10..600), else the previous session's or the default. */
const keepaliveFor = (url: URL, previous: Session | null, fallback: number): Keepalive => {
  const raw = url.searchParams.get("keepalive_timeout_seconds")
  const numeric = raw === null || raw.trim() === "" ? Number.NaN : Number(raw)
  const fromQuery = Number.isFinite(numeric)
  const seconds = fromQuery
    ? Math.min(600, Math.max(10, Math.round(numeric)))
    : previous !== null
    ? previous.keepaliveSeconds
    : fallback
  return { seconds, fromQuery: fromQuery || (previous !== null && previous.keepaliveFromQuery) }
}

/**
 * The transport: `handleUpgrade` takes the connections; the control API and delivery use the other methods.
 * @internal
 */
export class WebSocketTransport {
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false })

  constructor(
    private readonly registry: Registry,
    private readonly run: Run,
    private readonly settings: WebSocketSettings,
    private readonly conduits: Conduits
  ) {}

  private get clock() {
    return this.registry.clock
  }

  /** frames can reach the client (a half-open session sends nothing: they would be lost on the way) */
  isOpen(s: Session): boolean {
    return !s.halfOpen && s.ws.readyState === WebSocket.OPEN
  }

  /** sends a text frame if the session is open; false if it is not */
  sendFrame(s: Session, frame: string): boolean {
    if (!this.isOpen(s)) return false
    s.ws.send(frame)
    return true
  }

  closeSession(s: Session, code: number): void {
    if (s.halfOpen) return this.noticeDead(s, code)
    if (s.ws.readyState === WebSocket.CLOSED || s.ws.readyState === WebSocket.CLOSING) return
    s.serverCloseCode = code
    s.ws.close(code, closeReasons[code] ?? "")
  }

  /** Raw node 'upgrade' handler for /ws (also ?reconnect_id=...&keepalive_timeout_seconds=N); other paths: destroy. */
  readonly handleUpgrade = (req: http.IncomingMessage, socket: stream.Duplex, head: Buffer): void => {
    const url = new URL(req.url ?? "/", "http://localhost")
    if (url.pathname !== "/ws" && url.pathname !== "/ws/") return void socket.destroy()
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, socket, url))
  }

  /** `session_reconnect`: the client has the grace time to connect to the URL (the old socket delivers until then) */
  sendReconnect(s: Session): { readonly sessionId: string; readonly reconnectUrl: string } {
    const reconnectId = Buffer.from(s.id).toString("base64url")
    const reconnectUrl = `${this.settings.baseWsUrl}?reconnect_id=${reconnectId}` +
      (s.keepaliveFromQuery ? `&keepalive_timeout_seconds=${s.keepaliveSeconds}` : "")
    s.status = "reconnecting"
    s.reconnectId = reconnectId
    this.registry.reconnectIds.set(reconnectId, s)
    this.sendFrame(
      s,
      envelope("session_reconnect", this.clock.timestamp(this.clock.now()), {
        session: {
          id: s.id,
          status: "reconnecting",
          keepalive_timeout_seconds: null,
          reconnect_url: reconnectUrl,
          connected_at: s.connectedAt
        }
      })
    )
    const grace = Effect.sleep(this.settings.reconnectGraceSeconds * 1000)
    s.graceFiber = this.run(Effect.zipRight(grace, Effect.sync(() => this.graceExpired(s, reconnectId))))
    return { sessionId: s.id, reconnectUrl }
  }

  /** ends every socket (the part's finalizer) */
  shutdown(): void {
    for (const s of this.registry.sessions.values()) {
      if (s.ws.readyState !== WebSocket.CLOSED) s.ws.terminate()
    }
    this.wss.close()
  }

  // -------------------------------------------------------------------------------------------------- connections

  private onConnection(ws: WebSocket, raw: stream.Duplex, url: URL): void {
    ws.on("error", () => {
      // socket errors end in "close", handled there
    })
    const previous = this.reconnecting(url)
    if (previous === undefined) return ws.close(4007, closeReasons[4007])
    const keepalive = keepaliveFor(url, previous, this.settings.keepaliveSeconds)
    const session = this.newSession(ws, raw, keepalive)
    this.registry.sessions.set(session.id, session)
    this.listen(session)
    this.sendWelcome(session)
    if (previous !== null) this.handOver(previous, session)
    this.fork(session, this.keepaliveLoop(session))
    const deadline = keepalive.fromQuery ? keepalive.seconds : this.settings.subscribeDeadlineSeconds
    this.fork(session, this.deadlineTimer(session, deadline))
    const ping = this.settings.pingIntervalSeconds
    if (ping > 0) this.fork(session, this.pingLoop(session, ping))
  }

  /** The session a `reconnect_id` names; null when there is none; undefined when it is not valid (4007). */
  private reconnecting(url: URL): Session | null | undefined {
    const reconnectId = url.searchParams.get("reconnect_id")
    if (reconnectId === null) return null
    const old = this.registry.reconnectIds.get(reconnectId)
    if (old === undefined || old.reconnectedTo !== null) return undefined
    this.registry.reconnectIds.delete(reconnectId)
    return old
  }

  private newSession(ws: WebSocket, raw: stream.Duplex, keepalive: Keepalive): Session {
    const t = this.clock.now()
    return {
      id: randomBytes(18).toString("base64url"),
      ws,
      raw,
      connectedAt: this.clock.timestamp(t),
      keepaliveSeconds: keepalive.seconds,
      keepaliveFromQuery: keepalive.fromQuery,
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
  }

  /** a half-open session hears nothing from the client: not its frames, pongs or close */
  private listen(session: Session): void {
    session.ws.on("message", () => {
      if (!session.halfOpen) this.closeSession(session, 4001)
    })
    session.ws.on("pong", () => {
      if (!session.halfOpen) session.pongPending = false
    })
    session.ws.on("close", (code: number) => {
      if (!session.halfOpen) this.onClosed(session, code)
    })
  }

  private sendWelcome(session: Session): void {
    session.ws.send(envelope("session_welcome", session.connectedAt, {
      session: {
        id: session.id,
        status: "connected",
        connected_at: session.connectedAt,
        keepalive_timeout_seconds: session.keepaliveSeconds,
        reconnect_url: null,
        recovery_url: null
      }
    }))
  }

  /** from now on the subscriptions the old session carried deliver on the new socket */
  private handOver(previous: Session, session: Session): void {
    previous.reconnectedTo = session.id
    for (const sub of previous.subs) {
      if (sub.status !== "enabled") continue
      previous.subs.delete(sub)
      sub.sessionId = session.id
      sub.connectedAt = session.connectedAt
      session.subs.add(sub)
      session.everSubscribed = true
    }
    this.conduits.handOver(previous, session)
    if (previous.status === "closed") {
      if (previous.graceFiber !== null) previous.graceFiber.unsafeInterruptAsFork(FiberId.none)
      this.registry.forget(previous)
    }
  }

  // -------------------------------------------------------------------------------------------------- closing

  private onClosed(s: Session, code: number): void {
    if (s.status === "closed") return
    const waitingForReconnect = s.status === "reconnecting" && s.reconnectedTo === null
    s.status = "closed"
    s.closeCode = s.serverCloseCode ?? code
    for (const fiber of s.fibers) fiber.unsafeInterruptAsFork(FiberId.none)
    s.fibers.clear()
    // subscriptions move to the new session if the client connects to reconnect_url within the grace time
    if (waitingForReconnect) return
    if (s.graceFiber !== null) s.graceFiber.unsafeInterruptAsFork(FiberId.none)
    const status = statusByCloseCode[s.closeCode] ?? "websocket_disconnected"
    for (const sub of s.subs) this.registry.disable(sub, status, true)
    this.conduits.sessionClosed(s, status)
    this.registry.forget(s)
  }

  /** the server notices that a half-open session is dead: it ends as if closed with `code`, no close frame sent */
  private noticeDead(s: Session, code: number): void {
    s.halfOpen = false
    s.serverCloseCode = code
    if (s.ws.readyState !== WebSocket.CLOSED) s.ws.terminate()
    this.onClosed(s, code)
  }

  /** after the grace time: subscriptions not carried over fail, the old socket closes with 4004 */
  private graceExpired(s: Session, reconnectId: string): void {
    s.graceFiber = null
    this.registry.reconnectIds.delete(reconnectId)
    if (s.reconnectedTo === null) {
      for (const sub of s.subs) this.registry.disable(sub, "websocket_failed_to_reconnect", true)
      this.conduits.sessionClosed(s, "websocket_failed_to_reconnect")
    }
    if (s.status === "closed") this.registry.forget(s)
    else this.closeSession(s, 4004)
  }

  // -------------------------------------------------------------------------------------------------- timers

  private fork(s: Session, effect: Effect.Effect<void>): void {
    const fiber = this.run(effect)
    s.fibers.add(fiber)
    fiber.addObserver(() => s.fibers.delete(fiber))
  }

  private keepaliveLoop(s: Session): Effect.Effect<void> {
    const clock = this.clock
    const sendKeepalive = (t: number) => this.sendFrame(s, envelope("session_keepalive", clock.timestamp(t), {}))
    return Effect.gen(function*() {
      const periodMs = s.keepaliveSeconds * 1000
      while (s.status !== "closed") {
        const due = s.lastSentMs + periodMs
        const t = clock.now()
        if (t < due) {
          yield* Effect.sleep(due - t)
          continue
        }
        if (s.status === "connected" && s.keepaliveEnabled) sendKeepalive(t)
        s.lastSentMs = t
      }
    })
  }

  private deadlineTimer(s: Session, seconds: number): Effect.Effect<void> {
    return Effect.zipRight(
      Effect.sleep(seconds * 1000),
      Effect.sync(() => {
        if (!s.everSubscribed && s.status === "connected") this.closeSession(s, 4003)
      })
    )
  }

  /**
   * A ping not answered by the next one closes with 4002. Before that, a pong still on its way gets
   * PONG_ALLOWANCE_MS of real time: under `TestClock` many ping periods can pass in one adjustment, with no time
   * for the network round trip.
   */
  private pingLoop(s: Session, seconds: number): Effect.Effect<void> {
    const ping = Effect.sync(() => {
      if (this.isOpen(s)) {
        s.pongPending = true
        s.ws.ping()
      } else if (s.halfOpen) {
        // the ping is lost on the way: no pong will come, which is how the server notices
        s.pongPending = true
      }
    })
    const noPong = Effect.sync(() => this.closeSession(s, 4002))
    return Effect.gen(function*() {
      while (s.status !== "closed") {
        yield* Effect.sleep(seconds * 1000)
        if (s.pongPending) yield* realTimeAllowance
        if (s.pongPending) return yield* noPong
        yield* ping
      }
    })
  }
}
