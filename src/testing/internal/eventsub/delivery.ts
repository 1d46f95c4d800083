// Triggering: the event a notification carries (the catalogue's example, ids following the condition, the
// caller's overrides deep-merged), and sending notifications and revocations to the subscriptions they are for.
import * as Effect from "effect/Effect"
import { randomUUID } from "node:crypto"
import type { SimEventSubTriggerOptions, SimJsonObject } from "../../SimulatorModels.js"
import type { Catalogue } from "./catalogue.js"
import type { Conduits } from "./conduits.js"
import { withFreshOwnId } from "./eventIds.js"
import { deepMerge, messageView, type Session, type SimEventSubControlError, type Sub } from "./model.js"
import type { Registry } from "./registry.js"
import type { WebhookTransport } from "./webhook.js"
import type { WebSocketTransport } from "./websocket.js"

const buildEvent = (sub: Sub, overrides: SimJsonObject | undefined): Record<string, unknown> => {
  const base: Record<string, unknown> = { ...(sub.def.event ?? {}) }
  // the example's ids follow the subscription's condition where the event has the same field
  for (const key of Object.keys(sub.condition)) {
    if (typeof base[key] === "string") base[key] = sub.condition[key]
  }
  return overrides === undefined ? base : deepMerge(base, overrides)
}

/** `{subscription, event}`, or `{subscription, events}` for the batched types. @internal */
export const notificationPayload = (sub: Sub, overrides: SimJsonObject | undefined): SimJsonObject => {
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

/** A WebSocket message with the subscription's type and version in its metadata. @internal */
export const subscriptionFrame = (
  sub: Sub,
  messageType: "notification" | "revocation",
  messageId: string,
  timestamp: string,
  payload: SimJsonObject
): string =>
  JSON.stringify({
    metadata: {
      message_id: messageId,
      message_type: messageType,
      message_timestamp: timestamp,
      subscription_type: sub.def.type,
      subscription_version: sub.def.version
    },
    payload
  })

/** @internal */
export interface Delivery {
  /** one notification per matching enabled subscription, `ageSeconds` old; the message ids sent */
  readonly deliver: (
    options: SimEventSubTriggerOptions,
    ageSeconds: number
  ) => Effect.Effect<ReadonlyArray<string>, SimEventSubControlError>
  /** sends a `revocation` with `status` (if the subscription is enabled) and disables it */
  readonly revoke: (sub: Sub, status: string) => void
}

/** @internal */
export const make = (
  registry: Registry,
  catalogue: Catalogue,
  ws: WebSocketTransport,
  webhook: WebhookTransport,
  conduits: Conduits
): Delivery => {
  const { clock } = registry

  const notifyWebSocket = (
    sub: Sub,
    messageId: string,
    timestamp: string,
    event: SimJsonObject | undefined,
    to?: Session
  ) => {
    const session = to ?? registry.sessions.get(sub.sessionId)
    if (session === undefined || !ws.isOpen(session)) return false
    const frame = subscriptionFrame(sub, "notification", messageId, timestamp, notificationPayload(sub, event))
    session.ws.send(frame)
    session.lastSentMs = clock.now()
    registry.remember(messageId, { _tag: "WebSocket", frame, sessionId: session.id })
    return true
  }

  /** webhook messages go out in the background (retried on failure); true: sent (or sending) */
  const notifyWebhook = (sub: Sub, messageId: string, timestamp: string, event: SimJsonObject | undefined) => {
    const body = JSON.stringify(notificationPayload(sub, event))
    webhook.notify(sub, { id: messageId, type: "notification", timestamp, body })
    registry.remember(messageId, { _tag: "Webhook", subscriptionId: sub.id, body, timestamp })
    return true
  }

  /** to the shard the conduit routes it to (none: dropped, as Twitch drops it) */
  const notifyConduit = (sub: Sub, messageId: string, timestamp: string, event: SimJsonObject | undefined) => {
    const target = conduits.route(sub, sub.conduitId ?? "")
    if (target === undefined) return false
    if (target._tag === "WebSocket") return notifyWebSocket(sub, messageId, timestamp, event, target.session)
    return notifyWebhook({ ...sub, webhook: target.target }, messageId, timestamp, event)
  }

  const deliver = (options: SimEventSubTriggerOptions, ageSeconds: number) =>
    Effect.andThen(
      catalogue.check(options.type, options.version),
      Effect.sync(() => {
        const ids: Array<string> = []
        const timestamp = clock.now() - ageSeconds * 1000
        const event = withFreshOwnId(options.type, options.event)
        for (const sub of registry.matching(options)) {
          const messageId = options.messageId ?? randomUUID()
          const notify = sub.conduitId !== null
            ? notifyConduit
            : sub.webhook === null
            ? notifyWebSocket
            : notifyWebhook
          if (notify(sub, messageId, clock.timestamp(timestamp), event)) ids.push(messageId)
        }
        return ids as ReadonlyArray<string>
      })
    )

  const revoke = (sub: Sub, status: string): void => {
    if (sub.status !== "enabled") return
    if (sub.conduitId !== null) {
      const target = conduits.route(sub, sub.conduitId)
      if (target?._tag === "WebSocket") {
        const payload = { subscription: messageView(sub, status) }
        ws.sendFrame(
          target.session,
          subscriptionFrame(sub, "revocation", randomUUID(), clock.timestamp(clock.now()), payload)
        )
      }
      return registry.disable(sub, status, false)
    }
    if (sub.webhook !== null) return webhook.revoke(sub, status)
    const session = registry.sessions.get(sub.sessionId)
    if (session !== undefined) {
      const payload = { subscription: messageView(sub, status) }
      ws.sendFrame(session, subscriptionFrame(sub, "revocation", randomUUID(), clock.timestamp(clock.now()), payload))
    }
    registry.disable(sub, status, false)
  }

  return { deliver, revoke }
}
