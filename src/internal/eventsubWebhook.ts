// The EventSub webhook transport: Twitch POSTs each message to our callback. The request handler
// (`handle`) is synchronous up to its answer: it checks the headers, the signature (HMAC-SHA256 of
// message id + timestamp + raw body, constant-time compare), the age, the type and the JSON, routes the
// message (`route`: dedupe, decode) and applies the action to one ingress; the dispatcher fiber hands the
// ingress on to the streams. So the answer (2xx) goes out before any user work runs. When the ingress
// holds `bufferEvents` events the handler answers 503 and records nothing: Twitch retries the message.
//
// Subscriptions are created with the app token (the caller's `WebhookApi`). Before creating, the app's
// subscriptions for this callback are listed: one of the same type + version + condition (enabled or
// awaiting verification) is adopted, so a restart does not duplicate them; a 409 on create is resolved
// the same way.
import type * as Clock from "effect/Clock"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { createHmac, timingSafeEqual } from "node:crypto"
import type { Undecodable } from "../EventSub.js"
import type { EventSubError } from "../EventSubError.js"
import { type Adopting, endEntry, ensureCreated, routingOf } from "./eventsubAdopt.js"
import type { AppSubscription } from "./eventsubAppApi.js"
import type { Ingress, WarningGate } from "./eventsubDispatcher.js"
import { dispatch, warn } from "./eventsubDispatcher.js"
import {
  addConsumer,
  type CreateFailure,
  type EventDecoder,
  isRecord,
  type Registry,
  stableKey,
  type Subscription,
  subscriptionFields
} from "./eventsubRegistry.js"
import { clip, type Message, route, type RouterState } from "./eventsubRouter.js"

/** What the transport needs from Helix (with the app token, for the configured callback and secret). @internal */
export interface WebhookApi {
  readonly create: (request: {
    readonly type: string
    readonly version: string
    readonly condition: Readonly<Record<string, unknown>>
  }) => Effect.Effect<{ readonly id: string }, CreateFailure>
  /** the app's webhook subscriptions of this type to this callback, every page */
  readonly list: (type: string) => Effect.Effect<ReadonlyArray<AppSubscription>, EventSubError>
  readonly delete: (id: string) => Effect.Effect<void, EventSubError>
}

/** @internal */
export interface WebhookOptions {
  readonly secret: Redacted.Redacted<string>
  /** events routed and not yet handed to the streams; beyond it the handler answers 503 */
  readonly bufferEvents: number
  readonly consumerBuffer: number
  readonly dedupeWindow: number
  readonly maxMessageAge: Duration.Duration
  readonly warningInterval: Duration.Duration
  /** retries of a create that failed transiently (timeouts, 5xx, a conflict not found in the list) */
  readonly createSchedule: Schedule.Schedule<unknown, unknown>
}

/** A request as the handler reads it: header lookup by lowercase name, and the raw body. @internal */
export interface WebhookRequest {
  readonly header: (name: string) => string | undefined
  readonly body: Uint8Array
}

/** The answer: a status and a `text/plain` body (the challenge, or a short reason). @internal */
export interface WebhookResponse {
  readonly status: number
  readonly body: string
}

/** @internal */
export interface WebhookEngine {
  readonly subscribe: <A>(
    decoder: EventDecoder<A>,
    condition: Readonly<Record<string, unknown>>
  ) => Stream.Stream<A, EventSubError>
  readonly handle: (request: WebhookRequest) => Effect.Effect<WebhookResponse>
  /** the answer to a body over the size limit (413), logged like every refusal */
  readonly tooLarge: (messageId: string | undefined, maxBytes: number) => Effect.Effect<WebhookResponse>
}

type Entry = Subscription

/** a listed subscription that still delivers (or will, once Twitch verified the callback) is adopted */
const adopting: Adopting = {
  liveStatuses: new Set(["enabled", "webhook_callback_verification_pending"]),
  label: "EventSub webhook"
}

/** Twitch's header names, lowercase. */
const headers = {
  id: "twitch-eventsub-message-id",
  timestamp: "twitch-eventsub-message-timestamp",
  signature: "twitch-eventsub-message-signature",
  type: "twitch-eventsub-message-type"
} as const

const messageTypes = new Set(["notification", "revocation", "webhook_callback_verification"])

const textDecoder = new TextDecoder()

/** A request refused: the status, and the warning (kind, text naming the message id; never a secret). */
interface Refusal {
  readonly status: number
  readonly kind: string
  readonly text: string
}

const refusal = (status: number, kind: string, messageId: string | undefined, text: string): Refusal => ({
  status,
  kind,
  text: `EventSub webhook: ${status} to message ${messageId === undefined ? "(no id)" : clip(messageId)}: ${text}`
})

/** `sha256=<hex>` over id + timestamp + raw body, compared in constant time. @internal */
export const verifySignature = (
  secret: Redacted.Redacted<string>,
  id: string,
  timestamp: string,
  body: Uint8Array,
  header: string
): boolean => {
  if (!header.startsWith("sha256=") || !/^[0-9a-fA-F]{64}$/.test(header.slice(7))) return false
  const expected = createHmac("sha256", Redacted.value(secret)).update(id).update(timestamp).update(body).digest()
  return timingSafeEqual(expected, Buffer.from(header.slice(7), "hex"))
}

/** The engine's state: the registry, the ingress and what the handler checks against. */
interface WebhookContext {
  readonly api: WebhookApi
  readonly options: WebhookOptions
  readonly clock: Clock.Clock
  readonly registry: Registry<Entry>
  readonly byKey: Map<string, Entry>
  /** serialises registration (find or add an entry) */
  readonly lock: Effect.Semaphore
  readonly ingress: Ingress<Entry>
  readonly router: RouterState<Entry>
  readonly warnings: WarningGate
  /** set first when the layer's scope closes: streams ending after that leave their Twitch subscriptions */
  shuttingDown: boolean
}

/** Headers, signature, age, type and JSON, in that order: a message to route, or why not. */
const check = (ctx: WebhookContext, request: WebhookRequest): Message | Refusal => {
  const id = request.header(headers.id)
  const timestamp = request.header(headers.timestamp)
  const signature = request.header(headers.signature)
  if (signature === undefined) return refusal(403, "no-signature", id, "no signature")
  if (id === undefined || timestamp === undefined) return refusal(403, "headers", id, "id or timestamp missing")
  if (!verifySignature(ctx.options.secret, id, timestamp, request.body, signature)) {
    return refusal(403, "signature", id, "bad signature")
  }
  if (ctx.router.ageGuard.isStale(timestamp, ctx.clock.unsafeCurrentTimeMillis())) {
    return refusal(400, "stale", id, `older than the replay window (${clip(timestamp, 40)})`)
  }
  const type = request.header(headers.type)
  if (type === undefined || !messageTypes.has(type)) {
    return refusal(400, "type", id, `unknown message type ${type === undefined ? "(none)" : clip(type)}`)
  }
  let payload: unknown
  try {
    payload = JSON.parse(textDecoder.decode(request.body))
  } catch {
    return refusal(400, "json", id, `body is not JSON (${request.body.length} bytes)`)
  }
  if (!isRecord(payload)) return refusal(400, "json", id, "body is not a JSON object")
  return { id, type, timestamp, payload }
}

const noContent: WebhookResponse = { status: 204, body: "" }

/** A verified message: the challenge answered, or the message routed into the ingress. */
const accept = (ctx: WebhookContext, message: Message): WebhookResponse | Refusal => {
  if (message.type === "webhook_callback_verification") {
    const challenge = message.payload.challenge
    return typeof challenge === "string"
      ? { status: 200, body: challenge }
      : refusal(400, "envelope", message.id, "verification without a challenge")
  }
  // full: refuse before routing, so the id is not recorded and Twitch's retry is taken
  if (ctx.ingress.pending >= ctx.options.bufferEvents) {
    return refusal(503, "full", message.id, `${ctx.ingress.pending} events wait for slow streams; Twitch will retry`)
  }
  ctx.router.now = ctx.clock.unsafeCurrentTimeMillis()
  const action = route(message, ctx.router)
  switch (action._tag) {
    case "Deliver":
    case "Undecodable":
    case "Revoke":
      ctx.ingress.apply(action)
      // one dispatcher turn for the requests of one event-loop turn, at once when the buffer is half full
      if (ctx.ingress.pending * 2 >= ctx.options.bufferEvents) ctx.ingress.wake()
      else ctx.ingress.wakeSoon()
      return noContent
    case "Problem":
      return refusal(400, action.problem.kind, message.id, action.problem.text)
    case "Ignore":
      // a notification no stream holds (yet): Twitch retries it, and revokes it when nobody ever takes it
      return action.reason === "unknown-subscription" && message.type === "notification"
        ? refusal(410, "unknown-subscription", message.id, "no stream holds this subscription")
        : noContent
    default:
      return refusal(400, "type", message.id, `unexpected ${message.type}`)
  }
}

/** Logs the refusal (rate-limited per kind) and answers it. */
const refuse = (ctx: WebhookContext, answer: Refusal): Effect.Effect<WebhookResponse> =>
  Effect.as(
    warn(ctx.warnings, ctx.clock, `webhook-${answer.kind}`, answer.text, { transport: "webhook" }),
    { status: answer.status, body: answer.status === 503 ? "busy" : "refused" }
  )

const handle = (ctx: WebhookContext, request: WebhookRequest): Effect.Effect<WebhookResponse> =>
  Effect.suspend(() => {
    const checked = check(ctx, request)
    const answer = "kind" in checked ? checked : accept(ctx, checked)
    return "kind" in answer ? refuse(ctx, answer) : Effect.succeed(answer)
  })

/** A consumer is gone: the last one deletes the Twitch subscription (not at shutdown: a restart adopts it). */
const release = (ctx: WebhookContext, entry: Entry): Effect.Effect<void> =>
  Effect.gen(function*() {
    const last = yield* ctx.lock.withPermits(1)(Effect.sync(() => {
      entry.refCount--
      if (entry.refCount > 0) return false
      entry.removed = true
      ctx.registry.delete(entry)
      if (ctx.byKey.get(entry.key) === entry) ctx.byKey.delete(entry.key)
      return true
    }))
    if (!last || entry.ended || ctx.shuttingDown) return
    yield* entry.lock.withPermits(1)(Effect.suspend(() =>
      entry.twitchId === null ? Effect.void : ctx.api.delete(entry.twitchId).pipe(
        Effect.catchAll((error) =>
          Effect.logWarning(`EventSub webhook: could not delete subscription ${entry.twitchId}: ${error.message}`)
        )
      )
    ))
  })

/** Registers a consumer (sharing the entry of the same type + condition) and returns its inbox. */
const register = (ctx: WebhookContext, decoder: EventDecoder<unknown>, condition: Readonly<Record<string, unknown>>) =>
  Effect.uninterruptible(
    ctx.lock.withPermits(1)(Effect.gen(function*() {
      const key = stableKey(decoder.type, decoder.version, condition)
      let entry = ctx.byKey.get(key)
      if (entry === undefined) {
        entry = subscriptionFields(decoder, condition)
        ctx.registry.add(entry)
        ctx.byKey.set(key, entry)
      }
      const inbox = yield* addConsumer(entry, ctx.options.consumerBuffer, release(ctx, entry))
      return [entry, inbox] as const
    }))
  )

const makeContext = (api: WebhookApi, options: WebhookOptions): Effect.Effect<WebhookContext, never, Scope.Scope> =>
  Effect.gen(function*() {
    const ctx: WebhookContext = {
      api,
      options,
      clock: yield* Effect.clock,
      ...routingOf<Entry>(options),
      lock: yield* Effect.makeSemaphore(1),
      shuttingDown: false
    }
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        ctx.shuttingDown = true
      })
    )
    return ctx
  })

/** @internal */
export const make = (
  api: WebhookApi,
  options: WebhookOptions,
  undecodable: (event: Undecodable) => Effect.Effect<void>
): Effect.Effect<WebhookEngine, never, Scope.Scope> =>
  Effect.gen(function*() {
    const ctx = yield* makeContext(api, options)
    yield* Effect.forkScoped(dispatch(ctx.ingress, {
      warnings: ctx.warnings,
      clock: ctx.clock,
      annotations: { transport: "webhook" },
      resume: () => {},
      end: (entry, error) => endEntry(ctx, entry, error),
      undecodable
    }))
    return {
      subscribe: <A>(decoder: EventDecoder<A>, condition: Readonly<Record<string, unknown>>) =>
        Stream.unwrapScoped(Effect.gen(function*() {
          const [entry, inbox] = yield* register(ctx, decoder as EventDecoder<unknown>, condition)
          yield* Effect.tapError(ensureCreated(ctx, adopting, entry), (error) => endEntry(ctx, entry, error))
          return inbox.stream as Stream.Stream<A, EventSubError>
        })),
      handle: (request) => handle(ctx, request),
      tooLarge: (messageId, maxBytes) => refuse(ctx, refusal(413, "size", messageId, `body over ${maxBytes} bytes`))
    }
  })
