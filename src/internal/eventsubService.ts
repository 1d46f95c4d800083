// The EventSub service as users see it (`subscribe`, the helpers, `status`, `undecodable`), built from a
// transport: the same API whether events come over WebSocket or webhooks.
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import type * as ParseResult from "effect/ParseResult"
import * as PubSub from "effect/PubSub"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { EventSub, Status, SubscribeOptions, Undecodable } from "../EventSub.js"
import { type EventSubError, EventSubNoUser } from "../EventSubError.js"
import * as EventSubTypes from "../EventSubTypes.js"
import { describeParseError } from "./errors.js"
import { checkCondition } from "./eventsubAuthorization.js"
import type { EventDecoder } from "./eventsubRegistry.js"

type Ev<D extends EventSubTypes.AnyDefinition> = EventSubTypes.Event<D>

/**
 * Events that failed their definition's schema, by `type` and `version` (tags).
 *
 * @internal
 */
export const undecodableEvents = Metric.counter("effect_twitch_eventsub_undecodable_events", {
  description: "EventSub events that failed their definition's schema (delivered to EventSub.undecodable)",
  incremental: true
})

/** paths only: a value may be a viewer's chat text (and a hostile one megabytes long) */
const formatParseError = (error: ParseResult.ParseError): string =>
  describeParseError(error, "does not match its schema")

const decoderCache = new WeakMap<EventSubTypes.AnyDefinition, EventDecoder<unknown>>()

/** The definition's decoder, compiled once per definition. @internal */
export const decoderFor = <D extends EventSubTypes.AnyDefinition>(definition: D): EventDecoder<Ev<D>> => {
  let decoder = decoderCache.get(definition)
  if (decoder === undefined) {
    decoder = {
      type: definition.type,
      version: definition.version,
      decode: (raw) => {
        const decoded = definition.decodeEvent(raw)
        // a Right carries no error: reuse it rather than allocate another (hot path)
        return Either.isRight(decoded)
          ? decoded as Either.Either<Ev<D>, never>
          : Either.left(formatParseError(decoded.left))
      }
    }
    decoderCache.set(definition, decoder)
  }
  return decoder as EventDecoder<Ev<D>>
}

/** Where undecodable events go: counted, then offered to every `undecodable` stream. @internal */
export interface UndecodableSink {
  readonly publish: (event: Undecodable) => Effect.Effect<void>
  readonly stream: Stream.Stream<Undecodable>
}

/**
 * A bounded hub: a slow `undecodable` reader makes delivery wait, as a slow event stream does (nothing is
 * dropped); with no reader, events are counted and logged only.
 *
 * @internal
 */
export const makeUndecodableSink = (capacity: number): Effect.Effect<UndecodableSink, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(PubSub.bounded<Undecodable>(Math.max(1, capacity)), PubSub.shutdown),
    (hub) => ({
      publish: (event) =>
        Effect.zipRight(
          Metric.increment(
            Metric.tagged(Metric.tagged(undecodableEvents, "type", event.type), "version", event.version)
          ),
          Effect.asVoid(PubSub.publish(hub, event))
        ),
      stream: Stream.fromPubSub(hub)
    })
  )

/** What a transport gives the service. @internal */
export interface Transport {
  /**
   * `true`: every subscription needs a user (WebSocket: the user's token opens the connection and
   * creates it); `false`: the user only fills conditions (webhooks: the app token creates subscriptions).
   */
  readonly needsUser: boolean
  readonly subscribe: <A>(
    userId: string | undefined,
    decoder: EventDecoder<A>,
    condition: Readonly<Record<string, unknown>>
  ) => Stream.Stream<A, EventSubError>
  readonly status: Stream.Stream<Status>
  readonly undecodable: Stream.Stream<Undecodable>
  /**
   * Checked before `subscribe` makes any request (the condition already fits the type): fails when Twitch would
   * refuse the subscription as unauthorized for this user.
   */
  readonly authorize?: (
    userId: string,
    definition: EventSubTypes.AnyDefinition,
    condition: Readonly<Record<string, unknown>>
  ) => Effect.Effect<void, EventSubError>
}

/** Who subscribes: the call's `userId`, else the acting user (`Helix.withUser`), else the layer's default. */
export type ResolveUser = (options: SubscribeOptions | undefined) => Effect.Effect<string | undefined>

/** Builds the service from a transport. @internal */
export const makeService = (transport: Transport, resolveUser: ResolveUser): EventSub.Service => {
  /** the subscribing user; without one, `fallback` when the transport does not need a user */
  const userFor = (type: string, options: SubscribeOptions | undefined, fallback?: string) =>
    Effect.flatMap(resolveUser(options), (userId) => {
      const resolved = userId ?? (transport.needsUser ? undefined : fallback)
      return resolved === undefined ? Effect.fail(new EventSubNoUser({ type })) : Effect.succeed(resolved)
    })

  const subscribe = <D extends EventSubTypes.AnyDefinition>(
    definition: D,
    condition: EventSubTypes.Condition<D>,
    options?: SubscribeOptions
  ): Stream.Stream<Ev<D>, EventSubError> =>
    Stream.unwrap(Effect.flatMap(
      transport.needsUser ? userFor(definition.type, options) : resolveUser(options),
      (userId) => {
        const fields = condition as Record<string, unknown>
        const checked = checkCondition(definition, condition, userId)
        const authorized = userId === undefined || transport.authorize === undefined
          ? checked
          : Effect.zipRight(checked, transport.authorize(userId, definition, fields))
        return Effect.as(authorized, transport.subscribe(userId, decoderFor(definition), fields))
      }
    ))

  /** a helper whose condition needs the subscribing user's id (or `fallback`, see `userFor`) */
  const asUser = <A>(
    type: string,
    options: SubscribeOptions | undefined,
    f: (userId: string) => Stream.Stream<A, EventSubError>,
    fallback?: string
  ): Stream.Stream<A, EventSubError> => Stream.unwrap(Effect.map(userFor(type, options, fallback), f))

  const broadcaster = (broadcasterId: string) => ({ broadcaster_user_id: broadcasterId })

  return {
    subscribe,
    follows: (broadcasterId, opts) =>
      asUser("channel.follow", opts, (userId) =>
        subscribe(EventSubTypes.ChannelFollowV2, {
          broadcaster_user_id: broadcasterId,
          moderator_user_id: opts?.moderatorId ?? userId
        }, { userId }), opts?.moderatorId ?? broadcasterId),
    chatMessages: (broadcasterId, opts) =>
      asUser("channel.chat.message", opts, (userId) =>
        subscribe(EventSubTypes.ChannelChatMessageV1, {
          broadcaster_user_id: broadcasterId,
          user_id: opts?.readerId ?? userId
        }, { userId }), opts?.readerId ?? broadcasterId),
    streamOnline: (broadcasterId, opts) => subscribe(EventSubTypes.StreamOnlineV1, broadcaster(broadcasterId), opts),
    streamOffline: (broadcasterId, opts) => subscribe(EventSubTypes.StreamOfflineV1, broadcaster(broadcasterId), opts),
    channelUpdate: (broadcasterId, opts) => subscribe(EventSubTypes.ChannelUpdateV2, broadcaster(broadcasterId), opts),
    newSubscriptions: (broadcasterId, opts) =>
      subscribe(EventSubTypes.ChannelSubscribeV1, broadcaster(broadcasterId), opts),
    subscriptions: (broadcasterId, opts) =>
      subscribe(EventSubTypes.ChannelSubscribeV1, broadcaster(broadcasterId), opts),
    subscriptionGifts: (broadcasterId, opts) =>
      subscribe(EventSubTypes.ChannelSubscriptionGiftV1, broadcaster(broadcasterId), opts),
    resubscriptions: (broadcasterId, opts) =>
      subscribe(EventSubTypes.ChannelSubscriptionMessageV1, broadcaster(broadcasterId), opts),
    cheers: (broadcasterId, opts) => subscribe(EventSubTypes.ChannelCheerV1, broadcaster(broadcasterId), opts),
    raids: (broadcasterId, opts) =>
      subscribe(EventSubTypes.ChannelRaidV1, { to_broadcaster_user_id: broadcasterId }, opts),
    whispers: (opts) =>
      asUser(
        "user.whisper.message",
        opts,
        (userId) => subscribe(EventSubTypes.UserWhisperMessageV1, { user_id: userId }, { userId })
      ),
    channelPointsRedemptions: (broadcasterId, opts) =>
      subscribe(
        EventSubTypes.ChannelChannelPointsCustomRewardRedemptionAddV1,
        opts?.rewardId === undefined
          ? broadcaster(broadcasterId)
          : { broadcaster_user_id: broadcasterId, reward_id: opts.rewardId },
        opts
      ),
    status: transport.status,
    undecodable: transport.undecodable
  }
}

/** `resolveUser` from Helix's acting user and a default. @internal */
export const resolveUserWith = (
  actingUserId: Effect.Effect<Option.Option<string>>,
  defaultUser: string | undefined
): ResolveUser =>
(options) => Effect.map(actingUserId, (acting) => options?.userId ?? Option.getOrUndefined(acting) ?? defaultUser)
