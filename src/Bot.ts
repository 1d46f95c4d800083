/**
 * An app that many users register their tokens with: one `TokenStore` holds every user's token, and
 * each Helix call or EventSub stream can run as one of the registered users, with that user's token.
 *
 * Where registrations come from: `register`, a Device Code flow (`DeviceAuth` stores into the same
 * `TokenStore`), or the store itself at start — all end up in the one `TokenStore` given, so with a
 * persistent store (`TokenStore.layerFile`) registered users survive a restart.
 *
 * Isolation: tokens are refreshed per user (`AccessTokens`), rate limits are per token (`Helix`),
 * and EventSub opens connections per user. A user whose token expires or is revoked fails only their
 * own calls (with `TokenDead`) and their own streams.
 *
 * @example
 * ```ts
 * import { Bot, EventSub, HelixApi } from "effect-twitch"
 * import { Effect, Stream } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const bot = yield* Bot.Bot
 *   const eventSub = yield* EventSub.EventSub
 *   // greet every user who registers, in their own channel, as themselves
 *   yield* bot.registrations.pipe(
 *     Stream.runForEach((r) =>
 *       HelixApi.Chat.sendChatMessage({ broadcaster_id: r.userId, message: "Hello!" }).pipe(bot.asUser(r.userId))
 *     ),
 *     Effect.forkScoped
 *   )
 *   const alice = yield* bot.register({ accessToken: "<access token>", refreshToken: "<refresh token>" })
 *   // follows of alice's channel, over alice's own EventSub connection
 *   yield* eventSub.follows(alice.userId).pipe(bot.asUser(alice.userId), Stream.runForEach(Effect.log))
 * })
 * ```
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Socket from "@effect/platform/Socket"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as AccessTokens from "./AccessTokens.js"
import { ClientIdMismatch, MissingScopes, TokenRejected, UnknownUser } from "./ClientError.js"
import type * as DeviceAuth from "./DeviceAuth.js"
import type * as EventSub from "./EventSub.js"
import * as Helix from "./Helix.js"
import { requireScopes, validateNew, verifyStored } from "./internal/clientValidate.js"
import { layerApis, layerAuth } from "./internal/layers.js"
import * as OAuth from "./OAuth.js"
import type { Scope } from "./Scopes.js"
import type { TokenInput, UserToken } from "./Token.js"
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
  TokenRejected,
  /**
   * @since 0.1.0
   * @category errors
   */
  UnknownUser
}

/**
 * What `register` can fail with: the token is for another app (`ClientIdMismatch`), lacks required
 * scopes (`MissingScopes`), is not usable (`TokenRejected`), or Twitch / the store could not be reached.
 *
 * @since 0.1.0
 * @category errors
 */
export type RegisterError =
  | ClientIdMismatch
  | MissingScopes
  | TokenRejected
  | OAuth.OAuthError
  | TokenStore.TokenStoreError

/**
 * What `Bot.layer` can fail with at start (only when `defaultUser` is given: its token is checked).
 *
 * @since 0.1.0
 * @category errors
 */
export type BotError =
  | ClientIdMismatch
  | MissingScopes
  | TokenRejected
  | UnknownUser
  | AccessTokens.AccessTokensError

/**
 * A token handed over as text or `Redacted` (it is wrapped in `Redacted` at once).
 *
 * @since 0.1.0
 * @category models
 */
export type Token = TokenInput

/**
 * @since 0.1.0
 * @category models
 */
export interface RegisteredUser {
  readonly userId: string
  readonly login: string
  readonly scopes: ReadonlyArray<string>
}

/**
 * A user was registered (the seeds' `on_user_register`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Registration extends RegisteredUser {
  /** `false` when the user was registered already and `register` replaced their token. */
  readonly isNew: boolean
}

/**
 * `bot.asUser(userId)`: applies to an `Effect` or a `Stream`; fails with `UnknownUser` first when
 * no token is stored for the user.
 *
 * @since 0.1.0
 * @category models
 */
export type AsUser = <
  Self extends Effect.Effect<unknown, unknown, unknown> | Stream.Stream<unknown, unknown, unknown>
>(
  self: Self
) => Self extends Effect.Effect<infer A, infer E, infer R>
  ? Effect.Effect<A, E | UnknownUser | TokenStore.TokenStoreError, R>
  : Self extends Stream.Stream<infer A, infer E, infer R>
    ? Stream.Stream<A, E | UnknownUser | TokenStore.TokenStoreError, R>
  : never

/**
 * @since 0.1.0
 * @category tags
 */
export class Bot extends Context.Tag("effect-twitch/Bot")<Bot, Bot.Service>() {}

/**
 * @since 0.1.0
 */
export declare namespace Bot {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    /**
     * Validates the token with Twitch (refreshing it first when the access token is no longer
     * accepted and a refresh token is given): it must be a user token of this app's client id with
     * the required scopes (the layer's `scopes`, plus `options.scopes`). Then stores it (replacing
     * the user's previous token) and announces it on `registrations`.
     */
    readonly register: (
      token: Token,
      options?: { readonly scopes?: ReadonlyArray<Scope> | undefined }
    ) => Effect.Effect<Registration, RegisterError>
    /**
     * Removes the user's token. With `revoke: true` the token is first revoked at Twitch (when the
     * access token is no longer accepted, it is refreshed and the new one revoked), so nobody holding
     * a copy can use it; a failure to revoke leaves the user registered.
     */
    readonly unregister: (
      userId: string,
      options?: { readonly revoke?: boolean | undefined }
    ) => Effect.Effect<void, UnknownUser | OAuth.OAuthError | TokenStore.TokenStoreError>
    /** Every registered user (the tokens in the `TokenStore`). */
    readonly users: Effect.Effect<ReadonlyArray<RegisteredUser>, TokenStore.TokenStoreError>
    readonly user: (userId: string) => Effect.Effect<RegisteredUser, UnknownUser | TokenStore.TokenStoreError>
    /**
     * Users added to the `TokenStore` after you subscribe — by `register`, a Device Code flow or any
     * other writer — and every `register` of an already registered user (`isNew: false`). Token
     * refreshes are not registrations.
     *
     * Read from the store's `changes`: bounded with back-pressure (`TokenStore.changesCapacity`), so
     * a subscriber that stops reading eventually makes token writes (registrations, refreshes) wait.
     * Consume it promptly, or buffer on your side.
     */
    readonly registrations: Stream.Stream<Registration>
    /**
     * Runs an effect or stream as the user: Helix calls with their token, EventSub streams over their
     * own connection. `Helix.withUser(userId)`, after checking that the user is registered.
     */
    readonly asUser: (userId: string) => AsUser
    /** Fails with `MissingScopes` (naming them) unless the user granted every scope in `scopes`. */
    readonly requireScopes: (
      userId: string,
      scopes: ReadonlyArray<Scope>,
      operation?: string
    ) => Effect.Effect<RegisteredUser, UnknownUser | MissingScopes | TokenStore.TokenStoreError>
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The bot's own account (a registered user): Helix and EventSub act as it by default; checked at start. */
  readonly defaultUser?: string | undefined
  /** Scopes every registration must carry (`register` fails with `MissingScopes` otherwise). */
  readonly scopes?: ReadonlyArray<Scope> | undefined
  readonly oauth?: OAuth.Options | undefined
  /** Tip: with many users, consider a longer `validateInterval` (each stored token is validated). */
  readonly accessTokens?: AccessTokens.Options | undefined
  readonly helix?: Omit<Helix.Options, "defaultUser"> | undefined
  readonly eventSub?: Omit<EventSub.Options, "defaultUser"> | undefined
}

const toUser = (token: UserToken): RegisteredUser => ({
  userId: token.userId,
  login: token.login,
  scopes: token.scopes
})

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Pick<Options, "scopes"> = {}
): Effect.Effect<Bot.Service, never, OAuth.OAuth | AccessTokens.AccessTokens | TokenStore.TokenStore | TwitchConfig> =>
  Effect.gen(function*() {
    const context = yield* Effect.context<OAuth.OAuth | TwitchConfig>()
    const oauth = yield* OAuth.OAuth
    const tokens = yield* AccessTokens.AccessTokens
    const store = yield* TokenStore.TokenStore
    const required = options.scopes ?? []
    // tokens stored by `register`: a `Refreshed` change carrying one is a re-registration, not a refresh
    const registered = new WeakSet<UserToken>()

    const lookup = (userId: string, operation: string) =>
      Effect.flatMap(
        store.get(userId),
        Option.match({
          onNone: () => Effect.fail(new UnknownUser({ userId, operation })),
          onSome: Effect.succeed
        })
      )

    const register: Bot.Service["register"] = (input, registerOptions) =>
      Effect.gen(function*() {
        const token = yield* validateNew(input, "Bot.register").pipe(Effect.provide(context))
        yield* requireScopes(toUser(token), [...required, ...(registerOptions?.scopes ?? [])], "Bot.register")
        const before = yield* store.get(token.userId)
        registered.add(token)
        yield* store.set(token)
        return { ...toUser(token), isNew: Option.isNone(before) }
      }).pipe(Effect.withSpan("Bot.register"))

    const revokeAll = (token: UserToken) =>
      oauth.revoke(token.accessToken).pipe(
        Effect.catchTag("InvalidToken", () =>
          // the access token is dead already; a working refresh token may remain: refresh, revoke that
          tokens.refreshAfterUnauthorized(token.userId, token.accessToken).pipe(
            Effect.flatMap((fresh) => oauth.revoke(fresh.accessToken)),
            Effect.catchTags({
              InvalidToken: () => Effect.void,
              TokenDead: () => Effect.void,
              TokenNotFound: () => Effect.void
            })
          ))
      )

    const unregister: Bot.Service["unregister"] = (userId, unregisterOptions) =>
      Effect.gen(function*() {
        const token = yield* lookup(userId, "Bot.unregister")
        if (unregisterOptions?.revoke === true) yield* revokeAll(token)
        yield* store.remove(userId)
      }).pipe(Effect.withSpan("Bot.unregister", { attributes: { userId } }))

    const asUser = (userId: string): AsUser => {
      const check = lookup(userId, "Bot.asUser")
      const withUser = Helix.withUser(userId)
      return ((self: Effect.Effect<unknown, unknown, unknown> | Stream.Stream<unknown, unknown, unknown>) =>
        // effects are streams too: test for an effect first
        Effect.isEffect(self)
          ? Effect.zipRight(check, withUser(self))
          : Stream.unwrap(Effect.as(check, withUser(self)))) as AsUser
    }

    return Bot.of({
      register,
      unregister,
      users: Effect.map(store.list, (all) => all.map(toUser)),
      user: (userId) => Effect.map(lookup(userId, "Bot.user"), toUser),
      registrations: Stream.filterMap(store.changes, (change): Option.Option<Registration> =>
        change._tag === "Added"
          ? Option.some({ ...toUser(change.token), isNew: true })
          : change._tag === "Refreshed" && registered.has(change.token)
          ? Option.some({ ...toUser(change.token), isNew: false })
          : Option.none()),
      asUser,
      requireScopes: (userId, scopes, operation = "Bot.requireScopes") =>
        Effect.flatMap(
          lookup(userId, operation),
          (token) => Effect.as(requireScopes(toUser(token), scopes, operation), toUser(token))
        )
    })
  })

/**
 * The bot and everything it runs on: `Helix` and `EventSub` (acting as `defaultUser` when given,
 * else with the app token / no default user), `AccessTokens`, `OAuth` and `DeviceAuth` (which
 * stores new users into the same `TokenStore`).
 *
 * Provide `TwitchConfig`, a `TokenStore`, an `HttpClient` and a `WebSocketConstructor`
 * (`NodeTwitch.layerBot` provides the last two on Node).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<
  Bot | Helix.Helix | EventSub.EventSub | AccessTokens.AccessTokens | OAuth.OAuth | DeviceAuth.DeviceAuth,
  BotError,
  TwitchConfig | TokenStore.TokenStore | HttpClient.HttpClient | Socket.WebSocketConstructor
> => {
  const checkDefaultUser = options.defaultUser === undefined
    ? Effect.void
    : Effect.asVoid(verifyStored(options.defaultUser, "Bot"))
  const bot = Layer.unwrapEffect(Effect.as(
    checkDefaultUser,
    Layer.effect(Bot, make(options)).pipe(
      Layer.provideMerge(layerApis(options, options.defaultUser))
    )
  ))
  return bot.pipe(Layer.provideMerge(layerAuth(options)))
}

/**
 * Accessor: runs `f` with the `Bot` service.
 *
 * @since 0.1.0
 * @category accessors
 */
export const use = <A, E, R>(f: (bot: Bot.Service) => Effect.Effect<A, E, R>): Effect.Effect<A, E, R | Bot> =>
  Effect.flatMap(Bot, f)
