/**
 * Twitch EventSub as typed `Stream`s, over WebSocket (this module's `layer`) or webhooks
 * (`EventSubWebhook.layer`: the same service, the same streams).
 *
 * ```ts
 * const program = Effect.gen(function*() {
 *   const eventSub = yield* EventSub.EventSub
 *   yield* eventSub.follows("1234").pipe(
 *     Stream.map((follow) => `${follow.user_name} followed`),
 *     Stream.runForEach(Console.log)
 *   )
 * })
 * ```
 *
 * What the streams handle for you:
 * - a subscription is created when its stream starts and deleted when the stream's scope ends
 *   (interruption included); two streams of the same type + condition share one Twitch subscription;
 * - connection per user token, opened lazily; more connections (up to 3) past 300 subscriptions;
 * - keepalive watchdog: silence longer than the session's keepalive timeout (plus `keepaliveGrace`)
 *   means the connection is dead and it is replaced (a half-open one too, which Twitch still holds);
 *   a welcome's keepalive outside Twitch's 10–600 s is clamped;
 * - `session_reconnect`: the new connection is opened at the given URL while the old one keeps
 *   delivering; the old one is closed (cleanly, reading up to the server's close frame) once the new
 *   welcome arrives. Nothing lost, nothing twice; during the overlap events are delivered in arrival order;
 * - a lost connection (close code, network error, a frame too large for the socket, keepalive timeout)
 *   is re-opened and every subscription is re-created on the new session. The first attempt goes at
 *   once; the next ones wait on `reconnectSchedule` (jittered, capped exponential), which starts afresh
 *   only after a session lived a minute, so a server that kills every session at once is not hammered.
 *   Reconnecting never gives up. Twitch does not replay: events sent while no connection was open are
 *   lost (that is Twitch's protocol);
 * - re-creating after a reconnect: a 409 (Twitch still holds the subscription, e.g. on a session that
 *   went half-open and Twitch has not noticed) is resolved through Get EventSub Subscriptions: the
 *   subscription on this very session is adopted, those on this client's own lost sessions are deleted
 *   and the subscription is created again; one held by a session this client never had (another process
 *   of the same app and user) is not deleted. That, timeouts, 5xx and network errors are retried on
 *   `reconnectSchedule` while the session lives (and on every new session);
 * - duplicates (same `message_id`, e.g. during a reconnect) are delivered once, within a window of
 *   at least the last `dedupeWindow` ids (at most twice that); messages older than 10 minutes are dropped.
 *   Ids longer than 128 characters (Twitch's are 36) are not remembered, so dedupe memory stays bounded:
 *   such a notification is delivered without dedupe, with a warning;
 * - frames that are not JSON, have a wrong envelope or an unknown `message_type` are skipped and logged
 *   with the message id; an event that fails its schema is never dropped silently: it goes to the
 *   `undecodable` stream (raw event, message id, failing field paths), is counted in
 *   `undecodableEvents` and logged with the message id, type and the failing field paths, never values
 *   (a value may be a viewer's chat text); wire strings in log lines are cut short. Unknown fields never
 *   fail a decode. Per kind of problem the first warning is logged, then at most one per 10 s, carrying
 *   the number of those suppressed in between: a flood of bad frames cannot flood the log. The stream
 *   goes on;
 * - revocation: the subscription's stream fails with `EventSubRevoked` after delivering every event
 *   that arrived before it;
 * - a connection lives only while it has subscriptions: when the last stream ends (or its subscription
 *   cannot be created, or is revoked) the connection is closed, so an unused connection never lingers.
 *   Close code 4003 (unused) can then only mean that creating took longer than Twitch's deadline: the
 *   client reconnects (on the backoff, since that session never became healthy) and subscribes again.
 *   Every other close code (4000–4007), a network error and a keepalive timeout are handled alike:
 *   a fresh connection, every subscription re-created. Only a revocation, a subscription that can no
 *   longer be created (a 4xx other than 409: scope gone, bad condition, a Twitch limit; the stream fails
 *   with `EventSubSubscribeError` or `EventSubLimitExceeded`) or the consumer ends a stream.
 *
 * Buffers: each stream has a bounded buffer of `consumerBuffer` events (default 1024). When a consumer
 * falls behind, delivery to every stream of that connection waits (backpressure, nothing is dropped);
 * incoming events then queue up to `ingressHighWater` (decoded) and the socket is paused.
 *
 * Hot streams: a stream hands over every event waiting as one chunk, so the README's consumer
 * (`Stream.runForEach` with an Effect per event) costs about what a synchronous sink (`Stream.runFold`)
 * does. The delivery path avoids what made it slower with Effect's `Mailbox`: V8 allocates objects made
 * by a literal straight into the old generation once that literal's objects tend to survive a young
 * GC (allocation-site pretenuring), and a dead container there keeps the events it points to alive
 * until the next full GC. So the buffers are long-lived arrays emptied in place, each chunk is a copy,
 * and chunks are made by a constructor (checked at load against Effect's Chunk layout, else
 * `Chunk.unsafeFromArray`). Chunks are never reused: a chunk a consumer keeps stays as delivered.
 * Measured in `bench/eventsub.ts` (rows `ours` and `ours-fold`). At chat rates of a few hundred events
 * a second none of this matters.
 *
 * @since 0.1.0
 */
import type * as Socket from "@effect/platform/Socket"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as AccessTokens from "./AccessTokens.js"
import { type EventSubError, EventSubLimitExceeded, EventSubNoUser, EventSubSubscribeError } from "./EventSubError.js"
import type * as EventSubTypes from "./EventSubTypes.js"
import * as Helix from "./Helix.js"
import * as EventSubApi from "./Helix/EventSub.js"
import { failureKind } from "./internal/eventsubAdopt.js"
import { checkUserAuthorization } from "./internal/eventsubAuthorization.js"
import type { CreateFailure } from "./internal/eventsubRegistry.js"
import * as Service from "./internal/eventsubService.js"
import * as WebSocket from "./internal/eventsubWebSocket.js"
import type * as WsSubscriptions from "./internal/eventsubWsSubscriptions.js"
import { TwitchConfig } from "./TwitchConfig.js"

export {
  /**
   * @since 0.1.0
   * @category errors
   */
  EventSubError,
  /**
   * @since 0.1.0
   * @category errors
   */
  EventSubLimitExceeded,
  /**
   * @since 0.1.0
   * @category errors
   */
  EventSubNoUser,
  /**
   * @since 0.1.0
   * @category errors
   */
  EventSubRevoked,
  /**
   * @since 0.1.0
   * @category errors
   */
  EventSubSubscribeError,
  /**
   * @since 0.2.0
   * @category errors
   */
  EventSubUnauthorized
} from "./EventSubError.js"

/**
 * @since 0.1.0
 * @category tags
 */
export class EventSub extends Context.Tag("effect-twitch/EventSub")<EventSub, EventSub.Service>() {}

/**
 * A connection's state, for the seeds' `on_ready` / `on_connect` / `on_disconnect`.
 *
 * @since 0.1.0
 * @category models
 */
export type Status =
  | { readonly _tag: "Connecting"; readonly userId: string; readonly connection: number }
  | { readonly _tag: "Connected"; readonly userId: string; readonly connection: number; readonly sessionId: string }
  | {
    readonly _tag: "Reconnecting"
    readonly userId: string
    readonly connection: number
    readonly reason: string
    readonly attempt: number
  }
  | { readonly _tag: "Disconnected"; readonly userId: string; readonly connection: number; readonly reason: string }

/**
 * An event that failed its definition's schema (a field Twitch changed, a type our definitions do not know
 * yet): it is not dropped but handed to `EventSub.undecodable`, counted in `undecodableEvents` and logged
 * (paths only). `raw` is the event as Twitch sent it; `error` names the failing field paths, never values.
 *
 * @since 0.2.0
 * @category models
 */
export interface Undecodable {
  readonly type: string
  readonly version: string
  readonly subscriptionId: string
  readonly messageId: string
  /** the notification's `event` (or `events`), as received */
  readonly raw: unknown
  /** what failed, by field path (e.g. `does not match its schema at user_name`); never a value */
  readonly error: string
}

/**
 * A counter of undecodable events, tagged with `type` and `version`.
 *
 * @since 0.2.0
 * @category metrics
 */
export const undecodableEvents: Metric.Metric.Counter<number> = Service.undecodableEvents

/**
 * @since 0.1.0
 * @category models
 */
export interface SubscribeOptions {
  /** Whose token opens the WebSocket and creates the subscription (default: the layer's user). */
  readonly userId?: string | undefined
}

type Ev<D extends EventSubTypes.AnyDefinition> = EventSubTypes.Event<D>

/**
 * @since 0.1.0
 */
export declare namespace EventSub {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    /** Any subscription type: `subscribe(EventSubTypes.ChannelFollowV2, { broadcaster_user_id, moderator_user_id })`. */
    readonly subscribe: <D extends EventSubTypes.AnyDefinition>(
      definition: D,
      condition: EventSubTypes.Condition<D>,
      options?: SubscribeOptions
    ) => Stream.Stream<Ev<D>, EventSubError>
    /** `channel.follow` v2; `moderatorId` defaults to the subscribing user. */
    readonly follows: (
      broadcasterId: string,
      options?: SubscribeOptions & { readonly moderatorId?: string }
    ) => Stream.Stream<Ev<typeof EventSubTypes.ChannelFollowV2>, EventSubError>
    /** `channel.chat.message` v1, read as the subscribing user (or `readerId`). */
    readonly chatMessages: (
      broadcasterId: string,
      options?: SubscribeOptions & { readonly readerId?: string }
    ) => Stream.Stream<Ev<typeof EventSubTypes.ChannelChatMessageV1>, EventSubError>
    readonly streamOnline: (
      broadcasterId: string,
      options?: SubscribeOptions
    ) => Stream.Stream<Ev<typeof EventSubTypes.StreamOnlineV1>, EventSubError>
    readonly streamOffline: (
      broadcasterId: string,
      options?: SubscribeOptions
    ) => Stream.Stream<Ev<typeof EventSubTypes.StreamOfflineV1>, EventSubError>
    readonly channelUpdate: (
      broadcasterId: string,
      options?: SubscribeOptions
    ) => Stream.Stream<Ev<typeof EventSubTypes.ChannelUpdateV2>, EventSubError>
    /**
     * New subscriptions to the channel (`channel.subscribe` v1: a first subscription, or one received as a
     * gift with `is_gift`; not resubscriptions, see `resubscriptions`). Needs the broadcaster's
     * `channel:read:subscriptions`.
     */
    readonly newSubscriptions: (
      broadcasterId: string,
      options?: SubscribeOptions
    ) => Stream.Stream<Ev<typeof EventSubTypes.ChannelSubscribeV1>, EventSubError>
    /**
     * @deprecated The same stream as `newSubscriptions` (`channel.subscribe`: new subscribers, not "EventSub
     * subscriptions"); use `newSubscriptions`.
     */
    readonly subscriptions: (
      broadcasterId: string,
      options?: SubscribeOptions
    ) => Stream.Stream<Ev<typeof EventSubTypes.ChannelSubscribeV1>, EventSubError>
    /**
     * Gifted subscriptions (`channel.subscription.gift` v1): one event per gift, `total` subscriptions given
     * (each recipient also arrives on `newSubscriptions` with `is_gift`). Needs `channel:read:subscriptions`.
     */
    readonly subscriptionGifts: (
      broadcasterId: string,
      options?: SubscribeOptions
    ) => Stream.Stream<Ev<typeof EventSubTypes.ChannelSubscriptionGiftV1>, EventSubError>
    /**
     * Resubscriptions shared in chat (`channel.subscription.message` v1: the months, the streak, the
     * subscriber's message). Needs `channel:read:subscriptions`.
     */
    readonly resubscriptions: (
      broadcasterId: string,
      options?: SubscribeOptions
    ) => Stream.Stream<Ev<typeof EventSubTypes.ChannelSubscriptionMessageV1>, EventSubError>
    readonly cheers: (
      broadcasterId: string,
      options?: SubscribeOptions
    ) => Stream.Stream<Ev<typeof EventSubTypes.ChannelCheerV1>, EventSubError>
    /** Raids into the channel (`to_broadcaster_user_id`). */
    readonly raids: (
      broadcasterId: string,
      options?: SubscribeOptions
    ) => Stream.Stream<Ev<typeof EventSubTypes.ChannelRaidV1>, EventSubError>
    /** Whispers received by the subscribing user. */
    readonly whispers: (
      options?: SubscribeOptions
    ) => Stream.Stream<Ev<typeof EventSubTypes.UserWhisperMessageV1>, EventSubError>
    readonly channelPointsRedemptions: (
      broadcasterId: string,
      options?: SubscribeOptions & { readonly rewardId?: string }
    ) => Stream.Stream<Ev<typeof EventSubTypes.ChannelChannelPointsCustomRewardRedemptionAddV1>, EventSubError>
    /**
     * Connection states of every connection, from the moment the stream starts: `Connecting`,
     * `Connected` (after the welcome, once every subscription was created, or failed transiently and is
     * retried in the background), `Reconnecting` (with the reason, and the attempt: 1 after a session that
     * lived, counting up while sessions fail or die young) and `Disconnected` (the connection's last
     * subscription ended). Lossy for a lagging
     * reader (a sliding buffer of 256): it is a state signal. Webhooks have no connections: their
     * `status` emits nothing.
     */
    readonly status: Stream.Stream<Status>
    /**
     * Every event, of every subscription, that failed its definition's schema (see `Undecodable`), from
     * the moment the stream starts. The subscription's own stream goes on. A slow reader makes delivery
     * wait, as a slow event stream does; with no reader the events are counted and logged only.
     */
    readonly undecodable: Stream.Stream<Undecodable>
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The user whose token opens connections when a call names none. */
  readonly defaultUser?: string | undefined
  /** Ask Twitch for this keepalive (10–600 s); Twitch's default is 10 s. */
  readonly keepaliveTimeoutSeconds?: number | undefined
  /** Silence tolerated on top of the keepalive timeout (default 2 s). */
  readonly keepaliveGrace?: Duration.DurationInput | undefined
  /**
   * Delays between reconnect attempts (the first goes at once) and between attempts to re-create a
   * subscription that failed transiently (default: exponential from 500 ms, jittered, capped at 30 s).
   * It is never the end of a stream: when it ends, attempts go on every 30 s.
   */
  readonly reconnectSchedule?: Schedule.Schedule<unknown, unknown> | undefined
  /** Events buffered per stream before delivery waits (default 1024). */
  readonly consumerBuffer?: number | undefined
  /** Message ids remembered for dedupe: at least this many, at most twice (default 50,000). */
  readonly dedupeWindow?: number | undefined
  /**
   * Decoded events held per connection, not yet handed to subscribers, before the socket is paused
   * (default 2,048; Node `ws` only: other WebSocket implementations cannot pause).
   */
  readonly ingressHighWater?: number | undefined
}

/**
 * The default reconnect backoff: 500 ms doubling, jittered, capped at 30 s, forever.
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaultReconnectSchedule: Schedule.Schedule<unknown, unknown> = Schedule.exponential("500 millis").pipe(
  Schedule.jittered,
  Schedule.union(Schedule.spaced("30 seconds"))
)

/** Which limit a 429 on "Create EventSub Subscription" names (Twitch's message; cost when it says nothing known). */
const limitOf = (twitchMessage: string | undefined): EventSubLimitExceeded["limit"] => {
  const text = (twitchMessage ?? "").toLowerCase()
  if (text.includes("same type")) return "duplicates"
  if (text.includes("transports limit") || text.includes("connections")) return "connections"
  if (text.includes("session exceeded")) return "subscriptions"
  return "cost"
}

/**
 * What a failed create means for the stream: a 409 (and the connection limit, which a lost session Twitch has
 * not noticed yet may fill) can be resolved; timeouts, 5xx and network errors pass; the rest ends it.
 */
const createFailure = (
  userId: string,
  type: string,
  version: string,
  error: Helix.HelixFailure
): CreateFailure => {
  if (error._tag === "HelixRateLimited") {
    // Twitch answers 429 for each of its subscription limits; its message tells which
    const limit = limitOf(error.twitchMessage)
    return {
      kind: limit === "connections" ? "conflict" : "fatal",
      error: new EventSubLimitExceeded({ userId, limit, description: error.message })
    }
  }
  return {
    kind: failureKind(error),
    error: new EventSubSubscribeError({
      userId,
      operation: "subscribe",
      type,
      version,
      description: error.message,
      cause: error
    })
  }
}

/** Create, list and delete WebSocket subscriptions through Helix, with the given user's token. */
const helixSubscriptionApi = (helix: Helix.Helix.Service): WsSubscriptions.SubscriptionApi => ({
  create: ({ condition, sessionId, type, userId, version }) =>
    helix.request(EventSubApi.createEventsubSubscription, {
      type,
      version,
      condition,
      transport: { method: "websocket", session_id: sessionId }
    }).pipe(
      Helix.withUser(userId),
      Effect.flatMap((created) =>
        created.data[0] === undefined
          ? Effect.fail(
            new Helix.HelixDecodeError({
              method: "createEventsubSubscription",
              endpoint: "POST /eventsub/subscriptions",
              status: 202,
              path: "data[0]",
              description: "is missing"
            })
          )
          : Effect.succeed({ id: created.data[0].id })
      ),
      Effect.mapError((error) => createFailure(userId, type, version, error))
    ),
  list: (userId, type) =>
    helix.paginate(EventSubApi.getEventsubSubscriptions, { type }).pipe(
      Stream.filter((subscription) => subscription.transport.method === "websocket"),
      Stream.map((subscription): WsSubscriptions.ListedSubscription => ({
        id: subscription.id,
        status: subscription.status,
        version: subscription.version,
        condition: subscription.condition,
        sessionId: subscription.transport.session_id
      })),
      Stream.runCollect,
      Effect.map(Chunk.toReadonlyArray),
      Helix.withUser(userId),
      Effect.mapError((error) =>
        new EventSubSubscribeError({
          userId,
          operation: "subscribe",
          type,
          description: error.message,
          cause: error
        })
      )
    ),
  delete: (userId, id) =>
    helix.request(EventSubApi.deleteEventsubSubscription, { id }).pipe(
      Helix.withUser(userId),
      Effect.catchAll((error) =>
        error._tag === "HelixNotFound"
          ? Effect.void
          : Effect.fail(
            new EventSubSubscribeError({
              userId,
              operation: "delete",
              description: error.message,
              cause: error
            })
          )
      )
    )
})

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<EventSub.Service, never, Helix.Helix | TwitchConfig | Socket.WebSocketConstructor | Scope.Scope> =>
  Effect.gen(function*() {
    const config = yield* TwitchConfig
    const helix = yield* Helix.Helix

    const api = helixSubscriptionApi(helix)

    const consumerBuffer = options.consumerBuffer ?? 1024
    const sink = yield* Service.makeUndecodableSink(consumerBuffer)
    const engine = yield* WebSocket.make(api, {
      url: config.eventSubWsUrl,
      keepaliveTimeoutSeconds: options.keepaliveTimeoutSeconds,
      keepaliveGrace: Duration.decode(options.keepaliveGrace ?? Duration.seconds(2)),
      openTimeout: config.requestTimeout,
      welcomeTimeout: Duration.sum(config.requestTimeout, Duration.seconds(5)),
      reconnectSchedule: options.reconnectSchedule ?? defaultReconnectSchedule,
      maxRetryDelay: Duration.seconds(30),
      stableAfter: Duration.minutes(1),
      warningInterval: Duration.seconds(10),
      maxSubscriptionsPerConnection: 300,
      maxConnectionsPerUser: 3,
      dedupeWindow: options.dedupeWindow ?? 50_000,
      maxMessageAge: Duration.minutes(10),
      consumerBuffer,
      ingressHighWater: options.ingressHighWater ?? 2048
    }, sink.publish)

    // when the token store is at hand (always under Client, Bot and NodeTwitch): what Twitch would refuse as
    // unauthorized is refused before any request, naming what is missing
    const tokens = yield* Effect.serviceOption(AccessTokens.AccessTokens)
    const authorize = Option.match(tokens, {
      onNone: () => undefined,
      onSome: (tokens): Service.Transport["authorize"] => (userId, definition, condition) =>
        tokens.forUser(userId).pipe(
          Effect.option, // no token: the subscribe reports it, as it does without a store
          Effect.flatMap(Option.match({
            onNone: () => Effect.void,
            onSome: (token) => checkUserAuthorization(definition, condition, token)
          }))
        )
    })

    return Service.makeService({
      needsUser: true,
      ...(authorize === undefined ? {} : { authorize }),
      subscribe: (userId, decoder, condition) =>
        userId === undefined
          ? Stream.fail(new EventSubNoUser({ type: decoder.type }))
          : engine.subscribe(userId, decoder, condition),
      status: engine.status,
      undecodable: sink.stream
    }, Service.resolveUserWith(helix.actingUserId, options.defaultUser))
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<EventSub, never, Helix.Helix | TwitchConfig | Socket.WebSocketConstructor> =>
  Layer.scoped(EventSub, make(options))
