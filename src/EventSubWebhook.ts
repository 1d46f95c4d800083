/**
 * EventSub over webhooks: Twitch POSTs every event to your HTTPS callback. `layer` provides the same
 * `EventSub` service as the WebSocket transport (`subscribe(definition, condition)`, `follows`, …), with
 * subscriptions created by the app token, plus `EventSubWebhook`, the request handler to mount:
 *
 * ```ts
 * import * as EventSubWebhook from "effect-twitch/EventSubWebhook"
 *
 * const WebhookLive = EventSubWebhook.layerConfig({
 *   callback: Config.string("TWITCH_WEBHOOK_CALLBACK"), // the public URL Twitch posts to
 *   secret: Config.redacted("TWITCH_WEBHOOK_SECRET")     // 10–100 ASCII characters
 * })
 * // on an @effect/platform HttpRouter:
 * HttpRouter.empty.pipe(HttpRouter.post("/twitch/eventsub", EventSubWebhook.handler))
 * // any Node server: http.createServer(webhook.nodeHandler); standalone: NodeTwitch.layerWebhookServer
 * ```
 *
 * What the handler checks, in order (and answers when the check fails):
 * - `Twitch-Eventsub-Message-Signature`: `sha256=` + hex HMAC-SHA256 of message id + timestamp + the raw
 *   body bytes with the secret, compared in constant time (missing or wrong: 403);
 * - `Twitch-Eventsub-Message-Timestamp` within 10 minutes of the `Clock` (older: 400);
 * - `Twitch-Eventsub-Message-Type` one of `notification`, `revocation`, `webhook_callback_verification`
 *   (else 400), a JSON object body (else 400), the body at most `maxBodySize` bytes (else 413);
 * - `webhook_callback_verification`: 200 with the raw `challenge` as `text/plain`;
 * - duplicates (Twitch's retries carry the same message id) are answered 204 and delivered once;
 * - a notification of a subscription no stream holds: 410 (Twitch retries it for a while, then revokes
 *   the subscription), so events that arrive while a restarted app subscribes again are not lost.
 *
 * Everything else is answered 204 before any user work runs: the event waits in a bounded buffer
 * (`bufferEvents`) for the streams. When the buffer is full the handler answers 503 and records nothing,
 * so Twitch retries the message (it retries any non-2xx; too many failures make it revoke the
 * subscription with `notification_failures_exceeded`): a slow consumer delays events, never loses them
 * silently. Every refusal is logged with the message id (rate-limited per kind), never with a secret.
 *
 * Revocations: the subscription's stream fails with `EventSubRevoked` (`status` is Twitch's reason,
 * e.g. `authorization_revoked`) after delivering every event that came before.
 *
 * Subscriptions: created with the app token (`Helix.withApp`) and the transport `{ method: "webhook",
 * callback, secret }` when their stream starts. The app's subscriptions for the callback are listed
 * first: one of the same type, version and condition (enabled or awaiting verification) is adopted, not
 * duplicated (a 409 on create too), so a restart picks up what the last run created. A stream that ends
 * deletes its subscription; shutting the layer down leaves them for the next run to adopt. (An adopted
 * subscription keeps the secret it was created with: after changing the secret, delete the old ones.)
 *
 * @since 0.2.0
 */
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import type * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { IncomingMessage, ServerResponse } from "node:http"
import * as EventSub from "./EventSub.js"
import * as Helix from "./Helix.js"
import * as EventSubApi from "./Helix/EventSub.js"
import { TaggedError } from "./internal/errors.js"
import { appSubscribeError } from "./internal/eventsubAdopt.js"
import { appCreate, appList } from "./internal/eventsubAppApi.js"
import * as Service from "./internal/eventsubService.js"
import * as Webhook from "./internal/eventsubWebhook.js"
import * as WebhookHttp from "./internal/eventsubWebhookHttp.js"

/**
 * @since 0.2.0
 * @category tags
 */
export class EventSubWebhook extends Context.Tag("effect-twitch/EventSubWebhook")<
  EventSubWebhook,
  EventSubWebhook.Service
>() {}

/**
 * @since 0.2.0
 */
export declare namespace EventSubWebhook {
  /**
   * @since 0.2.0
   * @category models
   */
  export interface Service {
    /** The handler for an `@effect/platform` `HttpRouter` route (see `handler`). */
    readonly httpApp: Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest>
    /** A plain Node request listener: `http.createServer(webhook.nodeHandler)`, or a route of another server. */
    readonly nodeHandler: (request: IncomingMessage, response: ServerResponse) => void
  }
}

/**
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** The public HTTPS URL Twitch posts to (where the handler is mounted). */
  readonly callback: string
  /** 10–100 ASCII characters; signs every message. Never logged, never in an error or URL. */
  readonly secret: Redacted.Redacted<string>
  /** Used only to fill conditions that name a user (`follows`' moderator, `chatMessages`' reader). */
  readonly defaultUser?: string | undefined
  /** Largest body accepted, in bytes (default 1 MiB; Twitch's messages are a few KB). */
  readonly maxBodySize?: number | undefined
  /** Events accepted and not yet taken by the streams; beyond it the handler answers 503 (default 2,048). */
  readonly bufferEvents?: number | undefined
  /** Events buffered per stream before delivery waits (default 1024). */
  readonly consumerBuffer?: number | undefined
  /** Message ids remembered for dedupe: at least this many, at most twice (default 50,000). */
  readonly dedupeWindow?: number | undefined
}

const Tagged = TaggedError("EventSubWebhook")

/**
 * The webhook options are unusable: the secret is not 10–100 ASCII characters, or the callback is not a
 * URL. Names the field, never its value.
 *
 * @since 0.2.0
 * @category errors
 */
export class EventSubWebhookConfigError extends Tagged<EventSubWebhookConfigError>()("EventSubWebhookConfigError", {
  field: Schema.Literal("secret", "callback"),
  description: Schema.String
}) {
  /**
   * @since 0.2.0
   */
  override get message(): string {
    return `EventSub webhook ${this.field}: ${this.description}`
  }
}

const validate = (options: Options): Effect.Effect<void, EventSubWebhookConfigError> => {
  if (!/^[\x20-\x7e]{10,100}$/.test(Redacted.value(options.secret))) {
    return Effect.fail(
      new EventSubWebhookConfigError({ field: "secret", description: "must be 10–100 ASCII characters" })
    )
  }
  if (!URL.canParse(options.callback)) {
    return Effect.fail(new EventSubWebhookConfigError({ field: "callback", description: "is not a URL" }))
  }
  return Effect.void
}

/** Create, list and delete webhook subscriptions for the callback, with the app token. */
const helixWebhookApi = (helix: Helix.Helix.Service, options: Options): Webhook.WebhookApi => ({
  create: appCreate(
    helix,
    () => ({ method: "webhook", callback: options.callback, secret: Redacted.value(options.secret) })
  ),
  list: appList(helix, (t) => t.method === "webhook" && t.callback === options.callback),
  delete: (id) =>
    helix.request(EventSubApi.deleteEventsubSubscription, { id }).pipe(
      Helix.withApp,
      Effect.catchAll((error) =>
        error._tag === "HelixNotFound" ? Effect.void : Effect.fail(appSubscribeError(undefined, "delete", error))
      )
    )
})

/**
 * The `EventSub` service over webhooks, and the handler to mount.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<
  { readonly eventSub: EventSub.EventSub.Service; readonly webhook: EventSubWebhook.Service },
  EventSubWebhookConfigError,
  Helix.Helix | Scope.Scope
> =>
  Effect.gen(function*() {
    yield* validate(options)
    const helix = yield* Helix.Helix
    const consumerBuffer = options.consumerBuffer ?? 1024
    const maxBodySize = options.maxBodySize ?? 1024 * 1024
    const sink = yield* Service.makeUndecodableSink(consumerBuffer)
    const engine = yield* Webhook.make(helixWebhookApi(helix, options), {
      secret: options.secret,
      bufferEvents: options.bufferEvents ?? 2048,
      consumerBuffer,
      dedupeWindow: options.dedupeWindow ?? 50_000,
      maxMessageAge: Duration.minutes(10),
      warningInterval: Duration.seconds(10),
      createSchedule: Schedule.exponential("500 millis").pipe(Schedule.jittered, Schedule.intersect(Schedule.recurs(5)))
    }, sink.publish)
    const eventSub = Service.makeService({
      needsUser: false,
      subscribe: (_userId, decoder, condition) => engine.subscribe(decoder, condition),
      status: Stream.never,
      undecodable: sink.stream
    }, Service.resolveUserWith(helix.actingUserId, options.defaultUser))
    const webhook: EventSubWebhook.Service = yield* WebhookHttp.handlers(engine, maxBodySize)
    return { eventSub, webhook }
  })

/**
 * `EventSub` over webhooks, and `EventSubWebhook` (the handler). Needs `Helix` with an app token.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<EventSub.EventSub | EventSubWebhook, EventSubWebhookConfigError, Helix.Helix> =>
  Layer.scopedContext(
    Effect.map(make(options), ({ eventSub, webhook }) =>
      Context.make(EventSub.EventSub, eventSub).pipe(Context.add(EventSubWebhook, webhook)))
  )

/**
 * `layer` with its options from `Config`, e.g. `secret: Config.redacted("TWITCH_WEBHOOK_SECRET")`.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerConfig = (
  options: Config.Config.Wrap<Options>
): Layer.Layer<
  EventSub.EventSub | EventSubWebhook,
  ConfigError.ConfigError | EventSubWebhookConfigError,
  Helix.Helix
> => Layer.unwrapEffect(Effect.map(Config.unwrap(options), layer))

/**
 * The handler for an `HttpRouter` route:
 * `HttpRouter.empty.pipe(HttpRouter.post("/twitch/eventsub", EventSubWebhook.handler))`.
 *
 * @since 0.2.0
 * @category handlers
 */
export const handler: Effect.Effect<
  HttpServerResponse.HttpServerResponse,
  never,
  HttpServerRequest.HttpServerRequest | EventSubWebhook
> = Effect.flatMap(EventSubWebhook, (webhook) => webhook.httpApp)
