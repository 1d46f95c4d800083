// Conduits as the EventSub part sees them: each conduit's shards and their transports (a WebSocket session or a
// webhook), a shard disabled when its session drops (status and `disconnected_at`), and the routing of a conduit
// subscription's notification to one shard: by a hash of the channel id; a disabled shard → one other shard, then
// the notification is dropped, as Twitch does (REFERENCE.md §3). The Helix conduit endpoints
// (../helix/conduits.ts) keep their state here.
import type { Session, Sub, WebhookTarget } from "./model.js"
import type { Registry } from "./registry.js"

/** A shard's transport, as assigned by Update Conduit Shards. @internal */
export type ShardTransport =
  | {
    readonly method: "websocket"
    readonly sessionId: string
    connectedAt: string
    disconnectedAt: string | null
  }
  | { readonly method: "webhook"; readonly target: WebhookTarget }

/** @internal */
export interface Shard {
  readonly id: string
  status: string
  /** Clock millis since when it is not enabled (its creation for a shard never assigned); null when enabled */
  disabledSinceMs: number | null
  /** null: never assigned */
  transport: ShardTransport | null
}

/** @internal */
export interface Conduit {
  readonly id: string
  readonly clientId: string
  shards: Array<Shard>
}

/** Where a notification goes: the shard and its open session, or its webhook. @internal */
export type Target =
  | { readonly _tag: "WebSocket"; readonly shard: Shard; readonly session: Session }
  | { readonly _tag: "Webhook"; readonly shard: Shard; readonly target: WebhookTarget }

/** The condition fields naming the channel a notification is about, in the order they are looked for. */
const channelFields = [
  "broadcaster_user_id",
  "to_broadcaster_user_id",
  "from_broadcaster_user_id",
  "user_id",
  "organization_id",
  "client_id",
  "extension_client_id"
]

/** a conduit whose shards all stay disabled this long is deleted */
const CONDUIT_EXPIRY_MS = 72 * 3600_000

/** FNV-1a, 32 bits: a stable spread of channel ids over shards. */
const hash = (text: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h
}

/** The channel id a subscription's notifications are routed by (its subscription id if the condition names none). */
export const channelOf = (sub: Sub): string => {
  for (const field of channelFields) {
    const value = sub.condition[field]
    if (value !== undefined) return value
  }
  return sub.id
}

/** @internal */
export const shardView = (shard: Shard): Record<string, unknown> => {
  const t = shard.transport
  if (t === null) return { id: shard.id, status: shard.status, transport: { method: "websocket" } }
  if (t.method === "webhook") {
    return { id: shard.id, status: shard.status, transport: { method: "webhook", callback: t.target.callback } }
  }
  return {
    id: shard.id,
    status: shard.status,
    transport: {
      method: "websocket",
      session_id: t.sessionId,
      connected_at: t.connectedAt,
      ...(t.disconnectedAt === null ? {} : { disconnected_at: t.disconnectedAt })
    }
  }
}

/** @internal */
export class Conduits {
  readonly byId = new Map<string, Conduit>()
  /** notifications dropped because their shard and the one other shard tried were disabled */
  dropped = 0
  /** a shard was disabled (its session dropped): the part sends `conduit.shard.disabled` */
  onDisabled: (conduit: Conduit, shard: Shard) => void = () => {}

  constructor(private readonly registry: Registry) {}

  /** Delete Conduit: the conduit goes, and the subscriptions on it with it. */
  delete(conduit: Conduit): void {
    this.byId.delete(conduit.id)
    for (const sub of [...this.registry.subscriptions.values()]) {
      if (sub.conduitId === conduit.id) this.registry.remove(sub)
    }
  }

  /** A session Update Conduit Shards may assign: connected, not replaced by a reconnect. */
  connectedSession(sessionId: string): Session | undefined {
    const session = this.registry.sessions.get(sessionId)
    return session !== undefined && session.status !== "closed" && session.reconnectedTo === null
      ? session
      : undefined
  }

  /** Assigns the shard to an open session (it counts as the session's subscription: no 4003). */
  assignWebSocket(shard: Shard, session: Session): void {
    shard.transport = {
      method: "websocket",
      sessionId: session.id,
      connectedAt: session.connectedAt,
      disconnectedAt: null
    }
    shard.status = "enabled"
    shard.disabledSinceMs = null
    session.everSubscribed = true
  }

  assignWebhook(shard: Shard, target: WebhookTarget): void {
    shard.transport = { method: "webhook", target }
    shard.status = "enabled"
    shard.disabledSinceMs = null
  }

  /**
   * Twitch's 72-hour rule: a conduit whose shards have all been disabled for 72 hours is deleted, with its
   * subscriptions. Checked whenever conduits are looked at.
   */
  expire(): void {
    const now = this.registry.clock.now()
    for (const conduit of [...this.byId.values()]) {
      const since = conduit.shards.reduce<number | null>(
        (latest, shard) =>
          latest === null || shard.disabledSinceMs === null ? null : Math.max(latest, shard.disabledSinceMs),
        -Infinity
      )
      if (since !== null && now - since >= CONDUIT_EXPIRY_MS) this.delete(conduit)
    }
  }

  /** Every shard on the session, with its conduit. */
  private onSession(sessionId: string): Array<readonly [Conduit, Shard]> {
    const out: Array<readonly [Conduit, Shard]> = []
    for (const conduit of this.byId.values()) {
      for (const shard of conduit.shards) {
        if (shard.transport?.method === "websocket" && shard.transport.sessionId === sessionId) {
          out.push([conduit, shard])
        }
      }
    }
    return out
  }

  /** A `session_reconnect` handover: the shards move to the new session. */
  handOver(previous: Session, next: Session): void {
    for (const [, shard] of this.onSession(previous.id)) {
      if (shard.status === "enabled") this.assignWebSocket(shard, next)
    }
  }

  /** The session ended (not handed over): its enabled shards are disabled with `status`. */
  sessionClosed(session: Session, status: string): void {
    for (const [conduit, shard] of this.onSession(session.id)) {
      if (shard.status !== "enabled" || shard.transport?.method !== "websocket") continue
      shard.status = status
      shard.disabledSinceMs = this.registry.clock.now()
      shard.transport.disconnectedAt = this.registry.clock.timestamp(shard.disabledSinceMs)
      this.onDisabled(conduit, shard)
    }
  }

  private targetOf(shard: Shard | undefined): Target | undefined {
    if (shard === undefined || shard.status !== "enabled" || shard.transport === null) return undefined
    if (shard.transport.method === "webhook") return { _tag: "Webhook", shard, target: shard.transport.target }
    const session = this.connectedSession(shard.transport.sessionId)
    return session === undefined ? undefined : { _tag: "WebSocket", shard, session }
  }

  /**
   * The shard a conduit subscription's notification goes to: the channel's shard, else one other (the next);
   * undefined (counted in `dropped`): both are disabled, the notification is lost.
   */
  route(sub: Sub, conduitId: string): Target | undefined {
    this.expire()
    const conduit = this.byId.get(conduitId)
    if (conduit === undefined || conduit.shards.length === 0) return undefined
    const count = conduit.shards.length
    const first = hash(channelOf(sub)) % count
    const target = this.targetOf(conduit.shards[first]) ??
      (count > 1 ? this.targetOf(conduit.shards[(first + 1) % count]) : undefined)
    if (target === undefined) this.dropped++
    return target
  }
}
