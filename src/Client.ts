/**
 * An app plus its user: one layer that validates the user's token at start and provides `Helix`,
 * `EventSub` (both acting as that user), `AccessTokens`, `OAuth`, `DeviceAuth`, and `Client` with the
 * everyday calls — chat in the user's channel, whispers, users, channel info, and as `Stream`s follows, chat
 * messages, new subscriptions, gifted subscriptions, resubscriptions, cheers, raids and channel points
 * redemptions (`forEachEvent` handles each event without one failure ending the stream).
 *
 * Start-up checks (the layer fails with a typed error whose `message` says what to do):
 * - the token exists (`UnknownUser`; `NoUserToken` when no user was named and the store does not
 *   hold exactly one token);
 * - Twitch accepts it, after a refresh if needed (`TokenRejected`, `TokenDead`);
 * - it was issued for this app's client id (`ClientIdMismatch`);
 * - it carries the `scopes` you ask for (`MissingScopes`, naming the missing ones).
 *
 * @example
 * ```ts
 * import { Client, Scopes } from "effect-twitch"
 * import { Effect } from "effect"
 *
 * // every follow becomes a chat message
 * const program = Effect.gen(function*() {
 *   const client = yield* Client.Client
 *   yield* client.follows().pipe(
 *     // a message Twitch drops (AutoMod, slow mode …) is logged, and the stream goes on
 *     Client.forEachEvent((follow) => client.sendMessage(`Thanks for the follow, ${follow.user_name}!`))
 *   )
 * })
 *
 * // requires TwitchConfig | TokenStore | HttpClient | WebSocketConstructor
 * // (`NodeTwitch.layerClient` provides the last two on Node)
 * const scopes = [Scopes.MODERATOR_READ_FOLLOWERS, Scopes.USER_WRITE_CHAT]
 * program.pipe(Effect.provide(Client.layer({ userId: "1234", scopes })))
 * ```
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Socket from "@effect/platform/Socket"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as AccessTokens from "./AccessTokens.js"
import * as ChatSender from "./ChatSender.js"
import { ClientIdMismatch, MissingScopes, NoUserToken, TokenRejected, UnknownUser } from "./ClientError.js"
import type * as DeviceAuth from "./DeviceAuth.js"
import * as EventSub from "./EventSub.js"
import type * as EventSubTypes from "./EventSubTypes.js"
import * as Helix from "./Helix.js"
import * as Channels from "./Helix/Channels.js"
import type * as Chat from "./Helix/Chat.js"
import * as Users from "./Helix/Users.js"
import * as Whispers from "./Helix/Whispers.js"
import { requireScopes, validateNew, verifyStored } from "./internal/clientValidate.js"
import { layerApis, layerAuth } from "./internal/layers.js"
import type * as OAuth from "./OAuth.js"
import type { Scope as TwitchScope } from "./Scopes.js"
import type { TokenInput, UserInfo, UserToken } from "./Token.js"
import * as TokenStore from "./TokenStore.js"
import type { TwitchConfig } from "./TwitchConfig.js"

export {
  /**
   * @since 0.1.0
   * @category errors
   */
  ClientIdMismatch,
  /**
   * @since 0.1.0
   * @category errors
   */
  MissingScopes,
  /**
   * @since 0.1.0
   * @category errors
   */
  NoUserToken,
  /**
   * @since 0.1.0
   * @category errors
   */
  TokenRejected,
  /**
   * @since 0.1.0
   * @category errors
   */
  UnknownUser
}

/**
 * What `Client.layer` / `Client.make` can fail with at start. (`AccessTokens` errors such as
 * `TokenDead` or an `OAuthError` from a failed network call pass through as they are.)
 *
 * @since 0.1.0
 * @category errors
 */
export type ClientError =
  | ClientIdMismatch
  | MissingScopes
  | UnknownUser
  | NoUserToken
  | TokenRejected
  | AccessTokens.AccessTokensError

/**
 * A token handed over as text or `Redacted` (it is wrapped in `Redacted` at once).
 *
 * @since 0.1.0
 * @category models
 */
export type Token = TokenInput

/**
 * The client's user, as Twitch reported it when the client started.
 *
 * @since 0.1.0
 * @category models
 */
export interface User {
  readonly id: string
  readonly login: string
  /** The scopes the user granted (at start; see `refreshes` for later tokens). */
  readonly scopes: ReadonlyArray<string>
}

/**
 * A follow, as EventSub `channel.follow` v2 delivers it (`user_id`, `user_login`, `user_name`, `followed_at`, …).
 *
 * @since 0.1.0
 * @category models
 */
export type Follow = EventSubTypes.Event<typeof EventSubTypes.ChannelFollowV2>

/**
 * A chat message, as EventSub `channel.chat.message` v1 delivers it (`chatter_user_name`, `message.text`, …).
 *
 * @since 0.1.0
 * @category models
 */
export type ChatMessage = EventSubTypes.Event<typeof EventSubTypes.ChannelChatMessageV1>

/**
 * A new subscription to the channel, as EventSub `channel.subscribe` v1 delivers it (`user_name`, `tier`,
 * `is_gift`).
 *
 * @since 0.2.0
 * @category models
 */
export type NewSubscription = EventSubTypes.Event<typeof EventSubTypes.ChannelSubscribeV1>

/**
 * A gift of subscriptions, as EventSub `channel.subscription.gift` v1 delivers it (`total`, `tier`, the gifter's
 * `user_name` unless `is_anonymous`, `cumulative_total`).
 *
 * @since 0.2.0
 * @category models
 */
export type SubscriptionGift = EventSubTypes.Event<typeof EventSubTypes.ChannelSubscriptionGiftV1>

/**
 * A resubscription shared in chat, as EventSub `channel.subscription.message` v1 delivers it
 * (`cumulative_months`, `streak_months`, `message.text`).
 *
 * @since 0.2.0
 * @category models
 */
export type Resubscription = EventSubTypes.Event<typeof EventSubTypes.ChannelSubscriptionMessageV1>

/**
 * Bits cheered in chat, as EventSub `channel.cheer` v1 delivers it (`bits`, `message`, `user_name` unless
 * `is_anonymous`).
 *
 * @since 0.2.0
 * @category models
 */
export type Cheer = EventSubTypes.Event<typeof EventSubTypes.ChannelCheerV1>

/**
 * A raid into the channel, as EventSub `channel.raid` v1 delivers it (`from_broadcaster_user_name`, `viewers`).
 *
 * @since 0.2.0
 * @category models
 */
export type Raid = EventSubTypes.Event<typeof EventSubTypes.ChannelRaidV1>

/**
 * A channel points redemption of a custom reward, as EventSub
 * `channel.channel_points_custom_reward_redemption.add` v1 delivers it (`reward.title`, `user_input`, `status`).
 *
 * @since 0.2.0
 * @category models
 */
export type Redemption = EventSubTypes.Event<typeof EventSubTypes.ChannelChannelPointsCustomRewardRedemptionAddV1>

/**
 * @since 0.1.0
 * @category tags
 */
export class Client extends Context.Tag("effect-twitch/Client")<Client, Client.Service>() {}

/**
 * @since 0.1.0
 */
export declare namespace Client {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    readonly user: User
    /**
     * Sends a chat message as the user, to the user's own channel unless `channel` (a broadcaster id)
     * is given; `replyTo` is the id of the message answered. Needs `user:write:chat`.
     *
     * It goes through the client's `ChatSender` queue: it waits until Twitch's chat limits allow it,
     * and text over 500 characters is sent as several messages (the answer is the first one's).
     *
     * A message Twitch refuses to post (held by AutoMod, the user banned or timed out, slow mode, a duplicate)
     * fails with `ChatMessageDropped` (its `code` and `reason` are Twitch's): an answer about that one
     * message, not about the bot. Run handlers with `Client.forEachEvent` (or catch it per message) so that a
     * dropped message does not end the stream that sent it.
     */
    readonly sendMessage: (
      text: string,
      options?: { readonly replyTo?: string | undefined; readonly channel?: string | undefined }
    ) => Effect.Effect<Chat.SendChatMessageItem, Helix.HelixFailure | MissingScopes>
    /** Whispers `text` from the user to `toUserId`. Needs `user:manage:whispers`. */
    readonly whisper: (toUserId: string, text: string) => Effect.Effect<void, Helix.HelixFailure | MissingScopes>
    readonly getUserById: (id: string) => Effect.Effect<Option.Option<Users.User>, Helix.HelixFailure>
    readonly getUserByLogin: (login: string) => Effect.Effect<Option.Option<Users.User>, Helix.HelixFailure>
    /** The channel's information (default: the user's own channel). */
    readonly channelInfo: (
      broadcasterId?: string
    ) => Effect.Effect<Option.Option<Channels.ChannelInformation>, Helix.HelixFailure>
    /**
     * Every follow of the channel (default: the user's own) from now on. The user must be the
     * broadcaster or a moderator there, with `moderator:read:followers`.
     */
    readonly follows: (broadcasterId?: string) => Stream.Stream<Follow, EventSub.EventSubError | MissingScopes>
    /** Every chat message in the channel (default: the user's own) from now on. Needs `user:read:chat`. */
    readonly chatMessages: (
      broadcasterId?: string
    ) => Stream.Stream<ChatMessage, EventSub.EventSubError | MissingScopes>
    /**
     * New subscriptions to the channel (default: the user's own; `channel.subscribe`): first subscriptions and
     * gifted ones (`is_gift`); resubscriptions are `resubscriptions`. Needs `channel:read:subscriptions`, as
     * the broadcaster.
     */
    readonly newSubscriptions: (
      broadcasterId?: string
    ) => Stream.Stream<NewSubscription, EventSub.EventSubError>
    /** Gifts of subscriptions (`channel.subscription.gift`). Needs `channel:read:subscriptions`, as the broadcaster. */
    readonly subscriptionGifts: (
      broadcasterId?: string
    ) => Stream.Stream<SubscriptionGift, EventSub.EventSubError>
    /**
     * Resubscriptions a subscriber shared in chat (`channel.subscription.message`). Needs
     * `channel:read:subscriptions`, as the broadcaster.
     */
    readonly resubscriptions: (
      broadcasterId?: string
    ) => Stream.Stream<Resubscription, EventSub.EventSubError>
    /** Bits cheered in the channel (`channel.cheer`). Needs `bits:read`, as the broadcaster. */
    readonly cheers: (broadcasterId?: string) => Stream.Stream<Cheer, EventSub.EventSubError>
    /** Raids into the channel (`channel.raid` with `to_broadcaster_user_id`). Needs no scope. */
    readonly raids: (broadcasterId?: string) => Stream.Stream<Raid, EventSub.EventSubError>
    /**
     * Channel points redemptions of custom rewards (of one reward with `rewardId`). Needs
     * `channel:read:redemptions` or `channel:manage:redemptions`, as the broadcaster.
     */
    readonly redemptions: (
      options?: { readonly broadcasterId?: string | undefined; readonly rewardId?: string | undefined }
    ) => Stream.Stream<Redemption, EventSub.EventSubError>
    /** Every refresh of the user's token (the seeds' token-refresh callback): persist it elsewhere, log it, … */
    readonly refreshes: Stream.Stream<UserToken>
  }
}

/**
 * Which user: `userId` (a token already in the `TokenStore`), or `token` (validated and stored at
 * start), or neither (the store's only token).
 *
 * @since 0.1.0
 * @category models
 */
export interface UserOptions {
  readonly userId?: string | undefined
  readonly token?: Token | undefined
  /**
   * Scopes the program needs; checked at start (`MissingScopes` names the missing ones). Typed: a misspelt
   * scope (`"user:read:chats"`) does not compile; `Scopes.USER_READ_CHAT` and friends name them.
   */
  readonly scopes?: ReadonlyArray<TwitchScope> | undefined
  /** The chat queue's options (limits, privileged channels, verified bot, capacity); the sender is the user. */
  readonly chat?: Omit<ChatSender.Options, "sender"> | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options extends UserOptions {
  readonly oauth?: OAuth.Options | undefined
  readonly accessTokens?: AccessTokens.Options | undefined
  /** `defaultUser` is the client's user. */
  readonly helix?: Omit<Helix.Options, "defaultUser"> | undefined
  /** `defaultUser` is the client's user. */
  readonly eventSub?: Omit<EventSub.Options, "defaultUser"> | undefined
}

const firstOf = <A, E>(
  answer: Effect.Effect<{ readonly data: ReadonlyArray<A> }, E>
): Effect.Effect<Option.Option<A>, E> => Effect.map(answer, (body) => Option.fromNullable(body.data[0]))

const SCOPES = {
  sendMessage: ["user:write:chat"],
  whisper: ["user:manage:whispers"],
  follows: ["moderator:read:followers"],
  chatMessages: ["user:read:chat"]
} as const

/**
 * Finds, validates and (for `token`) stores the client's user.
 */
const resolveUser = (
  options: UserOptions
): Effect.Effect<
  UserInfo,
  ClientError,
  OAuth.OAuth | AccessTokens.AccessTokens | TokenStore.TokenStore | TwitchConfig
> =>
  Effect.gen(function*() {
    const store = yield* TokenStore.TokenStore
    let userId: string
    if (options.token !== undefined) {
      const token = yield* validateNew(options.token, "Client")
      if (options.userId !== undefined && options.userId !== token.userId) {
        return yield* new TokenRejected({
          operation: "Client",
          userId: options.userId,
          reason: `the token given belongs to ${token.login} (${token.userId})`
        })
      }
      yield* store.set(token)
      userId = token.userId
    } else if (options.userId !== undefined) {
      userId = options.userId
    } else {
      const stored = yield* store.list
      if (stored.length !== 1) return yield* new NoUserToken({ stored: stored.length })
      userId = stored[0]!.userId
    }
    const user = yield* verifyStored(userId, "Client")
    yield* requireScopes(user, options.scopes ?? [], "Client")
    return user
  }).pipe(Effect.withSpan("Client.start"))

const makeService = (
  info: UserInfo
): Effect.Effect<
  Client.Service,
  never,
  Helix.Helix | EventSub.EventSub | AccessTokens.AccessTokens | TokenStore.TokenStore | ChatSender.ChatSender
> =>
  Effect.gen(function*() {
    const helix = yield* Helix.Helix
    const eventSub = yield* EventSub.EventSub
    const tokens = yield* AccessTokens.AccessTokens
    const store = yield* TokenStore.TokenStore
    const chat = yield* ChatSender.ChatSender
    const user: User = { id: info.userId, login: info.login, scopes: info.scopes }
    const asUser = Helix.withUser(user.id)

    /** The scopes of the stored token (it may have been re-authorized since start), else those at start. */
    const currentScopes = store.get(user.id).pipe(
      Effect.map(Option.match({ onNone: () => info.scopes, onSome: (token) => token.scopes })),
      Effect.orElseSucceed(() => info.scopes)
    )
    const needs = (operation: string, scopes: ReadonlyArray<string>) =>
      Effect.flatMap(currentScopes, (granted) =>
        requireScopes({ userId: user.id, login: user.login, scopes: granted }, scopes, `Client.${operation}`))

    return Client.of({
      user,
      sendMessage: (text, options) =>
        Effect.zipRight(
          needs("sendMessage", SCOPES.sendMessage),
          Effect.flatMap(
            chat.send({ channel: options?.channel ?? user.id, text, replyTo: options?.replyTo }),
            (sent) =>
              Effect.succeed(sent[0]!)
          )
        ).pipe(Effect.withSpan("Client.sendMessage")),
      whisper: (toUserId, text) =>
        Effect.zipRight(
          needs("whisper", SCOPES.whisper),
          helix.request(Whispers.sendWhisper, { from_user_id: user.id, to_user_id: toUserId, message: text }).pipe(
            asUser
          )
        ).pipe(Effect.withSpan("Client.whisper")),
      getUserById: (id) => firstOf(helix.request(Users.getUsers, { id: [id] })).pipe(asUser),
      getUserByLogin: (login) => firstOf(helix.request(Users.getUsers, { login: [login] })).pipe(asUser),
      channelInfo: (broadcasterId) =>
        firstOf(helix.request(Channels.getChannelInformation, { broadcaster_id: [broadcasterId ?? user.id] })).pipe(
          asUser
        ),
      follows: (broadcasterId) =>
        Stream.unwrap(Effect.as(
          needs("follows", SCOPES.follows),
          eventSub.follows(broadcasterId ?? user.id, { userId: user.id }).pipe(asUser)
        )),
      chatMessages: (broadcasterId) =>
        Stream.unwrap(Effect.as(
          needs("chatMessages", SCOPES.chatMessages),
          eventSub.chatMessages(broadcasterId ?? user.id, { userId: user.id }).pipe(asUser)
        )),
      newSubscriptions: (broadcasterId) =>
        eventSub.newSubscriptions(broadcasterId ?? user.id, { userId: user.id }).pipe(asUser),
      subscriptionGifts: (broadcasterId) =>
        eventSub.subscriptionGifts(broadcasterId ?? user.id, { userId: user.id }).pipe(asUser),
      resubscriptions: (broadcasterId) =>
        eventSub.resubscriptions(broadcasterId ?? user.id, { userId: user.id }).pipe(asUser),
      cheers: (broadcasterId) => eventSub.cheers(broadcasterId ?? user.id, { userId: user.id }).pipe(asUser),
      raids: (broadcasterId) => eventSub.raids(broadcasterId ?? user.id, { userId: user.id }).pipe(asUser),
      redemptions: (options) =>
        eventSub.channelPointsRedemptions(options?.broadcasterId ?? user.id, {
          userId: user.id,
          ...(options?.rewardId === undefined ? {} : { rewardId: options.rewardId })
        }).pipe(asUser),
      refreshes: Stream.filter(tokens.refreshes, (token) => token.userId === user.id)
    })
  })

/**
 * Builds the service over existing `Helix` / `EventSub` / `AccessTokens` services, after the start-up
 * checks; its chat queue (`ChatSender`) lives in the `Scope`. (`layer` also makes the client's user the `defaultUser` of `Helix` and `EventSub`.)
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: UserOptions = {}
): Effect.Effect<
  Client.Service,
  ClientError,
  | Helix.Helix
  | EventSub.EventSub
  | AccessTokens.AccessTokens
  | OAuth.OAuth
  | TokenStore.TokenStore
  | TwitchConfig
  | Scope.Scope
> =>
  Effect.flatMap(resolveUser(options), (user) =>
    Effect.flatMap(
      ChatSender.make({ ...options.chat, sender: user.userId }),
      (chat) => Effect.provideService(makeService(user), ChatSender.ChatSender, chat)
    ))

/**
 * Everything a single-user program needs. `Helix` and `EventSub` act as the client's user by default
 * (`Helix.withUser` / `Helix.withApp` still switch), and `DeviceAuth` stores into the same `TokenStore`.
 * `ChatSender` is the user's chat queue (`sendMessage` and `Commands` replies go through it).
 *
 * Provide `TwitchConfig`, a `TokenStore`, an `HttpClient` and a `WebSocketConstructor`
 * (`NodeTwitch.layerClient` provides the last two on Node).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<
  | Client
  | ChatSender.ChatSender
  | Helix.Helix
  | EventSub.EventSub
  | AccessTokens.AccessTokens
  | OAuth.OAuth
  | DeviceAuth.DeviceAuth,
  ClientError,
  TwitchConfig | TokenStore.TokenStore | HttpClient.HttpClient | Socket.WebSocketConstructor
> => {
  const client = Layer.unwrapScoped(
    Effect.map(resolveUser(options), (user) =>
      Layer.effect(Client, makeService(user)).pipe(
        Layer.provideMerge(ChatSender.layer({ ...options.chat, sender: user.userId })),
        Layer.provideMerge(layerApis(options, user.userId))
      ))
  )
  return client.pipe(Layer.provideMerge(layerAuth(options)))
}

/**
 * Accessor: runs `f` with the `Client` service.
 *
 * @since 0.1.0
 * @category accessors
 */
export const use = <A, E, R>(f: (client: Client.Service) => Effect.Effect<A, E, R>): Effect.Effect<A, E, R | Client> =>
  Effect.flatMap(Client, f)

const messageOf = (error: unknown): string =>
  typeof error === "object" && error !== null && "message" in error && typeof error.message === "string"
    ? error.message
    : String(error)

/**
 * Runs `f` for every event of the stream, one at a time, as `Stream.runForEach` does, except that a failure of
 * `f` for one event (a message AutoMod held, a user who blocks whispers, a Helix error) is logged as a warning
 * with its message and the stream goes on. The stream's own failures (a revoked subscription, a missing scope)
 * still end it, and so do defects and interruption.
 *
 * @example
 * ```ts
 * import { Client } from "effect-twitch"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const client = yield* Client.Client
 *   yield* client.follows().pipe(
 *     Client.forEachEvent((follow) => client.sendMessage(`Thanks for the follow, ${follow.user_name}!`))
 *   )
 * })
 * ```
 *
 * @since 0.2.0
 * @category combinators
 */
export const forEachEvent: {
  <A, E2, R2>(
    f: (event: A) => Effect.Effect<unknown, E2, R2>
  ): <E, R>(self: Stream.Stream<A, E, R>) => Effect.Effect<void, E, R | R2>
  <A, E, R, E2, R2>(
    self: Stream.Stream<A, E, R>,
    f: (event: A) => Effect.Effect<unknown, E2, R2>
  ): Effect.Effect<void, E, R | R2>
} = dual(2, <A, E, R, E2, R2>(
  self: Stream.Stream<A, E, R>,
  f: (event: A) => Effect.Effect<unknown, E2, R2>
): Effect.Effect<void, E, R | R2> =>
  Stream.runForEach(self, (event) =>
    Effect.catchAll(
      Effect.asVoid(f(event)),
      (error) =>
        Effect.logWarning(`Client.forEachEvent: handling an event failed, the stream goes on: ${messageOf(error)}`)
    )))
