// The simulator's EventSub side: the WebSocket at `/ws`, webhooks, the `/eventsub/subscriptions` REST endpoints and a
// control API (trigger, reconnect, close, keepalive switch, resend, old timestamps, malformed frames, revocation,
// bursts). Behaviour follows production Twitch (REFERENCE.md §1–2, SIMULATOR_CHECKLIST.md §A–B).
//
// The parts live in ./eventsub/: the registry (state), the catalogue of types, the WebSocket transport, the REST
// handlers, the webhook transport, delivery (triggering), bursts and the control API. This module wires them.
import type * as HttpApp from "@effect/platform/HttpApp"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import type * as Scope from "effect/Scope"
import type * as http from "node:http"
import type * as stream from "node:stream"
import type { EventSubControl, EventSubOptions as PublicEventSubOptions } from "../SimulatorModels.js"
import type { SimAuth, SimTokenInfo } from "./contracts.js"
import * as Burst from "./eventsub/burst.js"
import * as Catalogue from "./eventsub/catalogue.js"
import { type Conduit, Conduits, type Shard, shardView } from "./eventsub/conduits.js"
import * as Control from "./eventsub/control.js"
import * as Delivery from "./eventsub/delivery.js"
import { makeClock, Registry } from "./eventsub/registry.js"
import * as Rest from "./eventsub/rest.js"
import * as Webhook from "./eventsub/webhook.js"
import * as WebSocketTransport from "./eventsub/websocket.js"

/** @internal */
export type { EventSubControl } from "../SimulatorModels.js"

/** @internal */
export { SimEventSubControlError } from "./eventsub/model.js"

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
  /** the conduits and their shards (the Helix conduit endpoints keep their state here) */
  readonly conduits: Conduits
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

const webSocketSettings = (options: EventSubOptions): WebSocketTransport.WebSocketSettings => ({
  keepaliveSeconds: options.keepaliveSeconds ?? 10,
  subscribeDeadlineSeconds: options.subscribeDeadlineSeconds ?? 10,
  reconnectGraceSeconds: options.reconnectGraceSeconds ?? 30,
  pingIntervalSeconds: options.pingIntervalSeconds ?? 10,
  baseWsUrl: options.baseWsUrl
})

const webhookSettings = (options: EventSubOptions): Webhook.WebhookSettings => ({
  timeoutMillis: (options.webhookTimeoutSeconds ?? 10) * 1000,
  attempts: Math.max(1, options.webhookAttempts ?? 4),
  retryDelayMillis: (options.webhookRetryDelaySeconds ?? 1) * 1000
})

/** OAuth revocation: the user's WebSocket subscriptions, and webhook ones the user authorized, are revoked. */
const onRevoke = (registry: Registry, delivery: Delivery.Delivery) => (token: SimTokenInfo): void => {
  if (token.userId === null) return
  for (const sub of registry.subscriptions.values()) {
    if (sub.clientId !== token.clientId || sub.userId !== token.userId) continue
    if ((sub.webhook === null && sub.conduitId === null) || sub.def.scopes.length > 0) {
      delivery.revoke(sub, "authorization_revoked")
    }
  }
}

/**
 * `conduit.shard.disabled` to the client's subscriptions of that type (for this conduit, or any when the
 * condition names none), with the shard's status and transport.
 */
const shardDisabled = (registry: Registry, delivery: Delivery.Delivery, conduit: Conduit, shard: Shard) => {
  const event = {
    conduit_id: conduit.id,
    shard_id: shard.id,
    status: shard.status,
    transport: shardView(shard).transport
  }
  const subs = [...registry.subscriptions.values()].filter((sub) =>
    sub.status === "enabled" && sub.def.type === "conduit.shard.disabled" &&
    sub.clientId === conduit.clientId && sub.condition.client_id === conduit.clientId &&
    (sub.condition.conduit_id === undefined || sub.condition.conduit_id === conduit.id)
  )
  return Effect.forEach(
    subs,
    (sub) => delivery.deliver({ type: sub.def.type, version: sub.def.version, subscriptionId: sub.id, event }, 0),
    { discard: true }
  )
}

/**
 * Builds the EventSub part. Everything it starts (timers, sockets) ends with the scope.
 * @since 0.1.0
 * @category constructors
 * @internal
 */
export const make = (auth: SimAuth, options: EventSubOptions): Effect.Effect<EventSubPart, never, Scope.Scope> =>
  Effect.gen(function*() {
    const catalogue = yield* Catalogue.load
    const clock = yield* Effect.clock
    const registry = new Registry(makeClock(() => clock.unsafeCurrentTimeMillis()))
    const run = yield* FiberSet.makeRuntime<never, void, never>()
    const conduits = new Conduits(registry)
    const ws = new WebSocketTransport.WebSocketTransport(registry, run, webSocketSettings(options), conduits)
    yield* Effect.addFinalizer(() => Effect.sync(() => ws.shutdown()))
    const webhook = new Webhook.WebhookTransport(registry, run, webhookSettings(options))
    const delivery = Delivery.make(registry, catalogue, ws, webhook, conduits)
    conduits.onDisabled = (conduit, shard) => run(Effect.ignore(shardDisabled(registry, delivery, conduit, shard)))
    auth.onRevoke(onRevoke(registry, delivery))
    const burst = Burst.make(registry, catalogue, ws)
    const control = Control.make({ registry, ws, webhook, delivery, burst })
    return {
      subscriptionsApp: Rest.make({ auth, registry, catalogue, conduits, verify: (sub) => webhook.verify(sub) }),
      conduits,
      handleUpgrade: ws.handleUpgrade,
      control,
      httpControlApp: Control.httpApp(control)
    } satisfies EventSubPart
  })
