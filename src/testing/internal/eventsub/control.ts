// The EventSub part's control API: from code (`EventSubControl`) and over HTTP at `/_sim/eventsub/<route>`
// (JSON bodies, matched on the last path segment).
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { parseJson } from "../../../internal/json.js"
import type { EventSubControl, SimEventSubControlError as SimEventSubControlErrorShape } from "../../SimulatorModels.js"
import type { Delivery } from "./delivery.js"
import {
  controlError,
  errorResponse,
  type Session,
  sessionInfo,
  type SimEventSubControlError,
  type Sub,
  subscriptionInfo
} from "./model.js"
import type { RecentMessage, Registry } from "./registry.js"
import type { WebhookTransport } from "./webhook.js"
import type { WebSocketTransport } from "./websocket.js"

/** What the control API drives. @internal */
export interface Parts {
  readonly registry: Registry
  readonly ws: WebSocketTransport
  readonly webhook: WebhookTransport
  readonly delivery: Delivery
  readonly burst: EventSubControl["burst"]
}

const findSession = (registry: Registry, id: string): Effect.Effect<Session, SimEventSubControlError> => {
  const s = registry.sessions.get(id)
  return s === undefined ? Effect.fail(controlError(`unknown session ${id}`)) : Effect.succeed(s)
}

const findSub = (registry: Registry, id: string): Effect.Effect<Sub, SimEventSubControlError> => {
  const sub = registry.subscriptions.get(id)
  return sub === undefined ? Effect.fail(controlError(`unknown subscription ${id}`)) : Effect.succeed(sub)
}

const sendOrFail = (ws: WebSocketTransport, s: Session, frame: string) =>
  ws.sendFrame(s, frame) ? Effect.void : Effect.fail(controlError(`session ${s.id} is not open`))

const reconnect = ({ registry, ws }: Parts): EventSubControl["reconnect"] => (opts) =>
  Effect.suspend(() => {
    if (opts?.sessionId !== undefined) {
      return Effect.flatMap(findSession(registry, opts.sessionId), (s) =>
        s.status === "connected"
          ? Effect.succeed([ws.sendReconnect(s)])
          : Effect.fail(controlError(`session ${s.id} is ${s.status}`)))
    }
    const out: Array<{ readonly sessionId: string; readonly reconnectUrl: string }> = []
    for (const s of registry.sessions.values()) if (s.status === "connected") out.push(ws.sendReconnect(s))
    return Effect.succeed(out)
  })

/** At-least-once delivery: the same message (id, timestamp, body) once more, retried like any notification. */
const resendWebhook = ({ registry, webhook }: Parts, messageId: string, message: RecentMessage & { _tag: "Webhook" }) =>
  Effect.flatMap(findSub(registry, message.subscriptionId), (sub) => {
    if (sub.status !== "enabled") return Effect.fail(controlError(`subscription ${sub.id} is ${sub.status}`))
    return Effect.sync(() =>
      webhook.notify(sub, { id: messageId, type: "notification", timestamp: message.timestamp, body: message.body })
    )
  })

const resend = (parts: Parts): EventSubControl["resend"] => ({ messageId, sessionId }) =>
  Effect.suspend(() => {
    const { registry, ws } = parts
    const message = registry.recent.get(messageId)
    if (message === undefined) return Effect.fail(controlError(`unknown message id ${messageId}`))
    if (message._tag === "Webhook") return resendWebhook(parts, messageId, message)
    return Effect.flatMap(
      findSession(registry, sessionId ?? message.sessionId),
      (s) => sendOrFail(ws, s, message.frame)
    )
  })

/** @internal */
export const make = (parts: Parts): EventSubControl => {
  const { delivery, registry, ws } = parts
  return {
    trigger: (opts) => delivery.deliver(opts, 0),
    sendOld: (opts) => delivery.deliver(opts, opts.ageSeconds),
    reconnect: reconnect(parts),
    close: ({ code, sessionId }) =>
      Effect.flatMap(findSession(registry, sessionId), (s) =>
        code !== 1000 && (code < 3000 || code > 4999)
          ? Effect.fail(controlError(`invalid close code ${code}`))
          : Effect.sync(() => ws.closeSession(s, code))),
    setKeepalive: ({ enabled, sessionId }) =>
      Effect.flatMap(findSession(registry, sessionId), (s) =>
        Effect.sync(() => {
          if (enabled && !s.keepaliveEnabled) s.lastSentMs = registry.clock.now()
          s.keepaliveEnabled = enabled
        })),
    resend: resend(parts),
    halfOpen: ({ sessionId }) =>
      Effect.flatMap(findSession(registry, sessionId), (s) =>
        s.status === "closed"
          ? Effect.fail(controlError(`session ${s.id} is closed`))
          : Effect.sync(() => {
            s.halfOpen = true
          })),
    sendMalformed: ({ sessionId, text }) =>
      Effect.flatMap(findSession(registry, sessionId), (s) => sendOrFail(ws, s, text)),
    revoke: ({ status, subscriptionId }) =>
      Effect.flatMap(
        findSub(registry, subscriptionId),
        (sub) => Effect.sync(() => delivery.revoke(sub, status ?? "authorization_revoked"))
      ),
    setSubscriptionStatus: ({ status, subscriptionId }) =>
      Effect.flatMap(findSub(registry, subscriptionId), (sub) =>
        Effect.sync(() => {
          sub.status = status
          sub.disabledAtMs = status === "enabled" ? null : registry.clock.now()
        })),
    burst: parts.burst,
    sessions: Effect.sync(() => Array.from(registry.sessions.values(), sessionInfo)),
    subscriptions: Effect.sync(() => Array.from(registry.subscriptions.values(), subscriptionInfo))
  }
}

// ---------------------------------------------------------------------------------------------------- over HTTP

const JsonObject = Schema.Record({ key: Schema.String, value: Schema.Unknown })
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

type Route = (raw: unknown) => Effect.Effect<HttpServerResponse.HttpServerResponse>

const controlFailure = (e: SimEventSubControlErrorShape) =>
  errorResponse(e.message.startsWith("unknown") ? 404 : 400, e.message)

const withBody = <A, I>(
  schema: Schema.Schema<A, I>,
  f: (a: A) => Effect.Effect<unknown, SimEventSubControlErrorShape>
): Route => {
  const decode = Schema.decodeUnknownEither(schema)
  return (raw) => {
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

const postRoutes = (control: EventSubControl): Record<string, Route> => ({
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
})

/** Handles /_sim/eventsub/* control routes over HTTP. @internal */
export const httpApp = (control: EventSubControl): HttpApp.Default => {
  const routes = postRoutes(control)
  return Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const path = new URL(request.url, "http://localhost").pathname.replace(/\/+$/, "")
    const route = path.slice(path.lastIndexOf("/") + 1)
    if (request.method === "GET") {
      if (route === "sessions") return HttpServerResponse.unsafeJson({ data: yield* control.sessions })
      if (route === "subscriptions") return HttpServerResponse.unsafeJson({ data: yield* control.subscriptions })
      return errorResponse(404, `unknown control route ${path}`)
    }
    if (request.method !== "POST") return errorResponse(405, `Method ${request.method} is not allowed`)
    const handler = routes[route]
    if (handler === undefined) return errorResponse(404, `unknown control route ${path}`)
    const text = yield* Effect.either(request.text)
    if (Either.isLeft(text)) return errorResponse(400, "Unreadable request body")
    const parsed = text.right.trim() === "" ? Either.right({}) : parseJson(text.right)
    if (Either.isLeft(parsed)) return errorResponse(400, "The request body is not valid JSON")
    return yield* handler(parsed.right)
  })
}
