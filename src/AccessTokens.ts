/**
 * The one place the rest of the library gets a usable token from.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { TaggedError } from "./internal/errors.js"
import { makeKeyedLock } from "./internal/keyedLock.js"
import type { OAuthError, TokenResponse } from "./OAuth.js"
import { OAuth } from "./OAuth.js"
import type { AppToken } from "./Token.js"
import { UserToken } from "./Token.js"
import type { TokenStoreError } from "./TokenStore.js"
import { TokenStore } from "./TokenStore.js"

/**
 * @since 0.1.0
 * @category tags
 */
export class AccessTokens extends Context.Tag("effect-twitch/AccessTokens")<AccessTokens, AccessTokens.Service>() {}

/**
 * @since 0.1.0
 */
export declare namespace AccessTokens {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    /**
     * A usable token for the user: refreshed ahead of expiry (single-flight per user: N concurrent
     * callers cause one refresh), the new pair saved to the `TokenStore` before it is handed out.
     * When the store cannot write it (disk full, read-only), the store keeps the pair in memory,
     * reports `WriteFailed` on its `changes` and retries the write: the pair is handed out and the
     * next refresh uses its refresh token, never the spent one.
     */
    readonly forUser: (userId: string) => Effect.Effect<UserToken, AccessTokensError>
    /**
     * Twitch answered 401 to a request sent with `rejected`: refresh once (single-flight) unless the
     * stored token already differs from `rejected`, and return the token to retry with.
     */
    readonly refreshAfterUnauthorized: (
      userId: string,
      rejected: Redacted.Redacted<string>
    ) => Effect.Effect<UserToken, AccessTokensError>
    /** The app token (client credentials), cached until shortly before expiry. */
    readonly app: Effect.Effect<AppToken, AccessTokensError>
    /** Twitch answered 401 to an app-token request: fetch a new app token (single-flight). */
    readonly appAfterUnauthorized: (rejected: Redacted.Redacted<string>) => Effect.Effect<AppToken, AccessTokensError>
    /** Every successful user-token refresh (the seeds' `onUserTokenRefresh`). */
    readonly refreshes: Stream.Stream<UserToken>
  }
}

const Tagged = TaggedError("AccessTokens")

/**
 * No token stored for this user.
 *
 * @since 0.1.0
 * @category errors
 */
export class TokenNotFound extends Tagged<TokenNotFound>()("TokenNotFound", { userId: Schema.String }) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `No token stored for user ${this.userId}`
  }
}

/**
 * Twitch rejected the user's token and it cannot be refreshed (refresh token invalid, revoked,
 * or absent): the user must authorize again.
 *
 * @since 0.1.0
 * @category errors
 */
export class TokenDead extends Tagged<TokenDead>()("TokenDead", { userId: Schema.String, reason: Schema.String }) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `Token of user ${this.userId} is no longer usable: ${this.reason}`
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export type AccessTokensError = TokenNotFound | TokenDead | OAuthError | TokenStoreError

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Refresh a user token when it expires within this margin (default 5 minutes). */
  readonly refreshMargin?: Duration.DurationInput | undefined
  /** Fetch a new app token when the cached one expires within this margin (default 5 minutes). */
  readonly appRefreshMargin?: Duration.DurationInput | undefined
  /**
   * Validate every stored token at start and then on this interval (default 1 hour, as Twitch
   * requires of apps keeping OAuth sessions). `false` disables the loop.
   */
  readonly validateInterval?: Duration.DurationInput | false | undefined
  /** How many tokens are validated at once (default 4). */
  readonly validateConcurrency?: number | undefined
  /** Capacity of the `refreshes` PubSub (default 256; back-pressure when a subscriber lags). */
  readonly refreshesCapacity?: number | undefined
}

const sameToken = (a: Redacted.Redacted<string>, b: Redacted.Redacted<string>): boolean =>
  Redacted.value(a) === Redacted.value(b)

// --- dead tokens -----------------------------------------------------------------------------
// At most one entry per stored user; cleared when the stored token changes.
interface DeadMarks {
  /** Fails with `TokenDead` when this very token is marked; forgets a mark on an older token. */
  readonly check: (token: UserToken) => Effect.Effect<UserToken, TokenDead>
  /** Marks the token dead, logs it, and fails with `TokenDead`. */
  readonly mark: (token: UserToken, reason: string) => Effect.Effect<never, TokenDead>
  readonly isMarked: (token: UserToken) => boolean
}

const makeDeadMarks = (): DeadMarks => {
  const dead = new Map<string, { readonly accessToken: Redacted.Redacted<string>; readonly reason: string }>()
  const isMarked = (token: UserToken): boolean => {
    const mark = dead.get(token.userId)
    return mark !== undefined && sameToken(mark.accessToken, token.accessToken)
  }
  const check = (token: UserToken): Effect.Effect<UserToken, TokenDead> => {
    const mark = dead.get(token.userId)
    if (mark === undefined) return Effect.succeed(token)
    if (sameToken(mark.accessToken, token.accessToken)) {
      return Effect.fail(new TokenDead({ userId: token.userId, reason: mark.reason }))
    }
    dead.delete(token.userId)
    return Effect.succeed(token)
  }
  const mark = (token: UserToken, reason: string): Effect.Effect<never, TokenDead> =>
    Effect.zipRight(
      Effect.sync(() => dead.set(token.userId, { accessToken: token.accessToken, reason })),
      Effect.logWarning("AccessTokens: token is dead; the user must authorize again").pipe(
        Effect.annotateLogs({ userId: token.userId, reason })
      )
    ).pipe(Effect.zipRight(Effect.fail(new TokenDead({ userId: token.userId, reason }))))
  return { check, mark, isMarked }
}

// --- user tokens -----------------------------------------------------------------------------
/** The token after a refresh: what Twitch omitted (scopes, refresh token, expiry) is kept or dropped. */
const refreshedToken = (token: UserToken, response: TokenResponse, now: DateTime.Utc): UserToken =>
  new UserToken({
    userId: token.userId,
    login: token.login,
    scopes: response.scopes.length > 0 ? response.scopes : token.scopes,
    accessToken: response.accessToken,
    refreshToken: Option.orElse(
      Option.filter(response.refreshToken, (r) => Redacted.value(r).length > 0),
      () => token.refreshToken
    ),
    expiresAt: Option.map(
      Option.filter(response.expiresIn, (s) => s > 0),
      (s) => DateTime.addDuration(now, Duration.seconds(s))
    ),
    obtainedAt: now
  })

interface UserTokens {
  readonly forUser: AccessTokens.Service["forUser"]
  /** Refreshes unless the stored token already differs from `rejected` (no span). */
  readonly refreshIfRejected: AccessTokens.Service["refreshAfterUnauthorized"]
}

const makeUserTokens = (deps: {
  readonly oauth: OAuth.Service
  readonly store: TokenStore.Service
  readonly scope: Scope.Scope
  readonly margin: number
  readonly dead: DeadMarks
  readonly refreshes: PubSub.PubSub<UserToken>
}): UserTokens => {
  const { dead, margin, oauth, store } = deps
  const withLocalLock = makeKeyedLock()
  /**
   * One refresh per user: within this process (a keyed lock), and across processes when the store
   * offers a lock (`TokenStore.Service.lock`, e.g. a row lock in PostgreSQL). The effect re-reads the
   * token inside, and a refreshed pair is saved before the lock is released.
   */
  const withUserLock = <A>(userId: string, effect: Effect.Effect<A, AccessTokensError>) =>
    withLocalLock(userId, store.lock === undefined ? effect : store.lock(userId, effect))

  /** Runs in the layer's scope and joins: the caller's interruption does not cut a refresh short. */
  const detached = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
    Effect.flatMap(Effect.forkIn(effect, deps.scope), Fiber.join)

  const load = (userId: string): Effect.Effect<UserToken, AccessTokensError> =>
    store.get(userId).pipe(
      Effect.flatMap((found): Effect.Effect<UserToken, AccessTokensError> =>
        Option.match(found, {
          onNone: () => Effect.fail(new TokenNotFound({ userId })),
          onSome: dead.check
        })
      )
    )

  const save = (token: UserToken, response: TokenResponse): Effect.Effect<UserToken, AccessTokensError> =>
    Effect.gen(function*() {
      const fresh = refreshedToken(token, response, yield* DateTime.now)
      // saved before anyone gets it: a public client's old refresh token is now spent. A store that
      // cannot write keeps the pair in memory and retries (TokenStore.set).
      yield* store.set(fresh)
      yield* PubSub.publish(deps.refreshes, fresh)
      yield* Effect.logDebug("AccessTokens: refreshed user token").pipe(Effect.annotateLogs({ userId: token.userId }))
      return fresh
    })

  /** Must run under the user's lock. */
  const doRefresh = (token: UserToken): Effect.Effect<UserToken, AccessTokensError> =>
    Option.match(token.refreshToken, {
      onNone: () => dead.mark(token, "no refresh token"),
      onSome: (refreshToken) =>
        oauth.refresh(refreshToken).pipe(
          Effect.catchTag("InvalidRefreshToken", () => dead.mark(token, "Twitch rejected the refresh token")),
          Effect.flatMap((response) => save(token, response))
        )
    })

  const forUser = (userId: string): Effect.Effect<UserToken, AccessTokensError> =>
    Effect.gen(function*() {
      const token = yield* load(userId)
      const now = yield* DateTime.now
      if (!token.expiresWithin(now, margin)) return token
      return yield* detached(withUserLock(
        userId,
        Effect.gen(function*() {
          // re-read inside the lock: another fiber may have refreshed already
          const current = yield* load(userId)
          const now = yield* DateTime.now
          return current.expiresWithin(now, margin) ? yield* doRefresh(current) : current
        })
      ))
    }).pipe(Effect.withSpan("AccessTokens.forUser", { attributes: { userId } }))

  const refreshIfRejected = (userId: string, rejected: Redacted.Redacted<string>) =>
    detached(withUserLock(
      userId,
      Effect.flatMap(
        load(userId),
        // only refresh what Twitch rejected; a newer token was refreshed meanwhile
        (current) => sameToken(current.accessToken, rejected) ? doRefresh(current) : Effect.succeed(current)
      )
    ))

  return { forUser, refreshIfRejected }
}

// --- validation at start and on a schedule ----------------------------------------------------
const validateAll = (deps: {
  readonly oauth: OAuth.Service
  readonly store: TokenStore.Service
  readonly dead: DeadMarks
  readonly refreshIfRejected: UserTokens["refreshIfRejected"]
  readonly concurrency: number
}): Effect.Effect<void> => {
  const validateOne = (token: UserToken): Effect.Effect<void> =>
    deps.oauth.validate(token.accessToken).pipe(
      Effect.asVoid,
      Effect.catchTag(
        "InvalidAccessToken",
        () => Effect.asVoid(deps.refreshIfRejected(token.userId, token.accessToken))
      ),
      Effect.catchAll((error) =>
        error._tag === "TokenDead"
          ? Effect.void
          : Effect.logWarning("AccessTokens: validation failed").pipe(
            Effect.annotateLogs({ userId: token.userId, error: error.message })
          )
      )
    )
  return deps.store.list.pipe(
    Effect.flatMap((tokens) =>
      Effect.forEach(tokens.filter((t) => !deps.dead.isMarked(t)), validateOne, {
        concurrency: deps.concurrency,
        discard: true
      })
    ),
    Effect.catchAll((error) =>
      Effect.logWarning("AccessTokens: cannot list tokens to validate").pipe(
        Effect.annotateLogs({ error: error.message })
      )
    ),
    Effect.withSpan("AccessTokens.validateAll")
  )
}

// --- app token -------------------------------------------------------------------------------
const makeAppTokens = (
  oauth: OAuth.Service,
  appMargin: number
): Effect.Effect<Pick<AccessTokens.Service, "app" | "appAfterUnauthorized">> =>
  Effect.gen(function*() {
    const appCache = yield* Ref.make(Option.none<AppToken>())
    const appLock = yield* Effect.makeSemaphore(1)
    const appUsable = (token: AppToken, now: DateTime.Utc): boolean =>
      Option.match(token.expiresAt, {
        onNone: () => true,
        onSome: (at) => DateTime.toEpochMillis(at) - DateTime.toEpochMillis(now) > appMargin
      })
    const fetchApp = Effect.tap(oauth.appToken, (token) => Ref.set(appCache, Option.some(token)))
    const cachedApp = Effect.flatMap(
      Effect.zip(Ref.get(appCache), DateTime.now),
      ([cached, now]) => Effect.succeed(Option.filter(cached, (t) => appUsable(t, now)))
    )
    const orFetch = Option.match({ onSome: Effect.succeed<AppToken>, onNone: () => fetchApp })

    const app: Effect.Effect<AppToken, AccessTokensError> = Effect.flatMap(cachedApp, (cached) =>
      Option.match(cached, {
        onSome: Effect.succeed,
        onNone: () => appLock.withPermits(1)(Effect.flatMap(cachedApp, orFetch))
      })).pipe(Effect.withSpan("AccessTokens.app"))

    const appAfterUnauthorized = (rejected: Redacted.Redacted<string>): Effect.Effect<AppToken, AccessTokensError> =>
      appLock.withPermits(1)(
        Effect.flatMap(Ref.get(appCache), (cached) =>
          orFetch(Option.filter(cached, (t) => !sameToken(t.accessToken, rejected))))
      ).pipe(Effect.withSpan("AccessTokens.appAfterUnauthorized"))

    return { app, appAfterUnauthorized }
  })

/**
 * Builds the service. Refreshes run in fibers owned by the layer's scope, so a caller that is
 * interrupted mid-refresh cannot lose a rotated (single-use) refresh token: the refresh still
 * completes and is saved.
 *
 * Dead tokens: when Twitch rejects the refresh token (or there is none), the token stays in the
 * `TokenStore` (so you can see who must re-authorize) and is marked dead in memory; `forUser` then
 * fails fast with `TokenDead` without contacting Twitch, until a different token is stored for the
 * user (e.g. after a new Device Code authorization). The mark is not persisted: after a restart the
 * start-up validation finds the token dead again.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<AccessTokens.Service, never, OAuth | TokenStore | Scope.Scope> =>
  Effect.gen(function*() {
    const oauth = yield* OAuth
    const store = yield* TokenStore
    const scope = yield* Effect.scope
    const margin = Duration.toMillis(Duration.decode(options.refreshMargin ?? Duration.minutes(5)))
    const appMargin = Duration.toMillis(Duration.decode(options.appRefreshMargin ?? Duration.minutes(5)))
    const refreshes = yield* PubSub.bounded<UserToken>(options.refreshesCapacity ?? 256)
    const dead = makeDeadMarks()
    const { forUser, refreshIfRejected } = makeUserTokens({ oauth, store, scope, margin, dead, refreshes })

    if (options.validateInterval !== false) {
      const interval = Duration.decode(options.validateInterval ?? Duration.hours(1))
      const concurrency = options.validateConcurrency ?? 4
      yield* validateAll({ oauth, store, dead, refreshIfRejected, concurrency }).pipe(
        Effect.repeat(Schedule.spaced(interval)),
        Effect.interruptible,
        Effect.forkScoped
      )
    }

    return AccessTokens.of({
      forUser,
      refreshAfterUnauthorized: (userId, rejected) =>
        refreshIfRejected(userId, rejected).pipe(
          Effect.withSpan("AccessTokens.refreshAfterUnauthorized", { attributes: { userId } })
        ),
      ...(yield* makeAppTokens(oauth, appMargin)),
      refreshes: Stream.fromPubSub(refreshes)
    })
  })

/**
 * Fresh tokens for the rest of the library. The validation loop lives in the layer's scope.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<AccessTokens, never, OAuth | TokenStore> =>
  Layer.scoped(AccessTokens, make(options))
