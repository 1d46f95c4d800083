// The WebSocket transport's side of the registry: users, their connections and the Twitch subscriptions on
// each session. Subscriptions are created on a session by `ensureCreated`, serialised per entry and
// idempotent per session generation (a fresh connection is a new generation; a `session_reconnect`
// handover keeps it), so the connection fiber (re-creating everything after a welcome) and a new
// consumer (waiting for the session) never create twice. A create that meets a conflict (409) is
// resolved through Get EventSub Subscriptions (`resolveConflict`), transient failures are retried
// while the session lives (`recreateLater`), and only a fatal one (a 4xx other than 409) ends the
// streams of that subscription.
import type * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type { EventSubError } from "../EventSubError.js"
import type { AppSubscription } from "./eventsubAppApi.js"
import { warn, type WarningGate } from "./eventsubDispatcher.js"
import {
  type CreateFailure,
  failConsumers,
  type Registry,
  sameCondition,
  type Subscription
} from "./eventsubRegistry.js"
import { clip } from "./eventsubRouter.js"

/** A WebSocket subscription as Get EventSub Subscriptions lists it (what resolving a conflict needs). @internal */
export interface ListedSubscription extends AppSubscription {
  readonly sessionId: string | undefined
}

/** What the engine needs to create, list and delete subscriptions (Helix, as the given user). @internal */
export interface SubscriptionApi {
  readonly create: (request: {
    readonly userId: string
    readonly type: string
    readonly version: string
    readonly condition: Readonly<Record<string, unknown>>
    readonly sessionId: string
  }) => Effect.Effect<{ readonly id: string }, CreateFailure>
  /** the user's WebSocket subscriptions of this type, every page */
  readonly list: (userId: string, type: string) => Effect.Effect<ReadonlyArray<ListedSubscription>, EventSubError>
  readonly delete: (userId: string, id: string) => Effect.Effect<void, EventSubError>
}

/** Ids of this many of a user's past sessions are remembered: a conflicting subscription on one of them is ours. */
const knownSessionsPerUser = 64

/** A session as subscriptions see it: its id, and the fresh-connection generation it belongs to. @internal */
export interface SessionRef {
  readonly sessionId: string
  /** incremented for each fresh connection; a `session_reconnect` handover keeps it (subscriptions carry over) */
  readonly generation: number
}

/** @internal */
export interface Entry extends Subscription {
  readonly conn: Conn
  /** the generation the Twitch subscription was created in (-1: none yet) */
  generation: number
}

/** @internal */
export interface Conn {
  readonly id: number
  readonly user: User
  readonly registry: Registry<Entry>
  /** the current session; a new pending one after the session is lost, failed when the connection gives up */
  session: Deferred.Deferred<SessionRef, EventSubError>
  sessionReady: boolean
  /** the id of the session now open (welcomed, not lost) */
  liveSessionId: string | undefined
  generation: number
  /** no longer takes new subscriptions (its fiber ends or has ended) */
  closed: boolean
  fiber: Fiber.RuntimeFiber<void, never> | undefined
}

/** @internal */
export interface User {
  readonly userId: string
  readonly lock: Effect.Semaphore
  readonly entries: Map<string, Entry>
  readonly conns: Array<Conn>
  /** the ids of the user's latest sessions (at most `knownSessionsPerUser`), live or lost */
  readonly knownSessions: Array<string>
}

/** takes the entry out of the registry (its Twitch subscription is left alone) @internal */
export const unregister = (entry: Entry): void => {
  entry.conn.registry.delete(entry)
  if (entry.conn.user.entries.get(entry.key) === entry) entry.conn.user.entries.delete(entry.key)
}

/** the entry's streams fail with `error` once they have delivered what was offered before @internal */
export const endEntry = (entry: Entry, error: EventSubError): Effect.Effect<void> =>
  Effect.sync(() => {
    if (entry.ended) return
    unregister(entry)
    failConsumers(entry, error)
  })

/** the connection takes no new subscriptions from now on @internal */
export const markClosed = (conn: Conn): void => {
  if (conn.closed) return
  conn.closed = true
  const index = conn.user.conns.indexOf(conn)
  if (index >= 0) conn.user.conns.splice(index, 1)
}

/** a session of this connection was welcomed: it is live, and remembered as the user's @internal */
export const sessionOpened = (conn: Conn, sessionId: string): void => {
  conn.liveSessionId = sessionId
  const known = conn.user.knownSessions
  known.push(sessionId)
  if (known.length > knownSessionsPerUser) known.shift()
}

/** one of the user's own sessions, and no longer live: its subscriptions are stale */
const isLostSession = (user: User, sessionId: string): boolean =>
  user.knownSessions.includes(sessionId) && !user.conns.some((conn) => conn.liveSessionId === sessionId)

const createRequest = (api: SubscriptionApi, entry: Entry, ref: SessionRef) =>
  api.create({
    userId: entry.conn.user.userId,
    type: entry.decoder.type,
    version: entry.decoder.version,
    condition: entry.condition,
    sessionId: ref.sessionId
  })

/**
 * Twitch holds a subscription of this type + condition already (409), e.g. on a session that went half-open
 * and Twitch has not noticed. The one on this session (a create whose answer was lost) is adopted; those
 * on our own lost sessions are deleted, and the caller creates again. One held by a session that is not
 * ours (another process of this app and user) is left alone: the conflict stays, as a transient failure.
 */
const resolveConflict = (api: SubscriptionApi, entry: Entry, ref: SessionRef, conflict: CreateFailure) =>
  Effect.gen(function*() {
    const user = entry.conn.user
    const transient = (error: EventSubError): CreateFailure => ({ kind: "transient", error })
    const listed = yield* Effect.mapError(api.list(user.userId, entry.decoder.type), transient)
    const same = listed.filter((s) =>
      s.status === "enabled" && s.version === entry.decoder.version && sameCondition(entry.condition, s.condition)
    )
    const adopted = same.find((s) => s.sessionId === ref.sessionId)
    if (adopted !== undefined) return { id: adopted.id }
    const stale = same.filter((s) => s.sessionId !== undefined && isLostSession(user, s.sessionId))
    if (stale.length === 0) return yield* Effect.fail(transient(conflict.error))
    yield* Effect.forEach(stale, (s) => Effect.mapError(api.delete(user.userId, s.id), transient), {
      discard: true
    })
    yield* Effect.logInfo(
      `EventSub: deleted ${stale.length} stale ${entry.decoder.type} subscription(s) of a lost session`
    ).pipe(Effect.annotateLogs({ userId: user.userId, connection: entry.conn.id }))
    return undefined
  })

/** Creates the subscription; a conflict is resolved once (see `resolveConflict`) and the create repeated. */
const createOrAdopt = (
  api: SubscriptionApi,
  entry: Entry,
  ref: SessionRef
): Effect.Effect<{ readonly id: string }, CreateFailure> =>
  Effect.catchIf(createRequest(api, entry, ref), (failure) => failure.kind === "conflict", (conflict) =>
    Effect.flatMap(
      resolveConflict(api, entry, ref, conflict),
      (adopted) => adopted === undefined ? createRequest(api, entry, ref) : Effect.succeed(adopted)
    ))

/** Creates the entry's Twitch subscription on the session unless it exists in that generation already. */
const ensureCreated = (api: SubscriptionApi, entry: Entry, ref: SessionRef): Effect.Effect<void, CreateFailure> =>
  entry.lock.withPermits(1)(Effect.suspend(() => {
    if (entry.ended || entry.removed || entry.generation === ref.generation) return Effect.void
    return Effect.map(createOrAdopt(api, entry, ref), (created) => {
      entry.conn.registry.setTwitchId(entry, created.id)
      entry.generation = ref.generation
    })
  }))

/** Waits for a session and creates the subscription on it; a session lost meanwhile means: try the next. @internal */
export const waitCreated = (api: SubscriptionApi, entry: Entry): Effect.Effect<void, EventSubError> =>
  Effect.suspend(() => {
    if (entry.ended) return Effect.void // the consumer's inbox is failed already
    const deferred = entry.conn.session
    return Deferred.await(deferred).pipe(
      Effect.flatMap((ref) =>
        Effect.catchAll(ensureCreated(api, entry, ref), (failure) =>
          // a subscription that exists already (this is another consumer of it) is being re-created
          // in the background; only a new one fails its stream at once
          failure.kind !== "fatal" && entry.generation >= 0 ? Effect.void : Effect.fail(failure.error))
      ),
      Effect.catchAll((error) =>
        entry.conn.session !== deferred && !entry.conn.closed ? waitCreated(api, entry) : Effect.fail(error)
      )
    )
  })

/** What creating subscriptions (and retrying them) needs from the engine. @internal */
export interface CreateDeps {
  readonly api: SubscriptionApi
  readonly warnings: WarningGate
  readonly clock: Clock.Clock
  /** the user's schedule, then attempts every `maxRetryDelay` (it never ends) */
  readonly retrySchedule: Schedule.Schedule<unknown, unknown>
}

const annotations = (conn: Conn) => ({ userId: conn.user.userId, connection: conn.id })

/** a subscription that cannot be re-created (bad condition, scope removed, a limit): its streams end */
const giveUp = (conn: Conn, entry: Entry, failure: CreateFailure) =>
  Effect.zipRight(
    Effect.logWarning(`EventSub: could not re-create a subscription: ${clip(failure.error.message, 300)}`).pipe(
      Effect.annotateLogs(annotations(conn))
    ),
    endEntry(entry, failure.error)
  )

const retrying = (deps: CreateDeps, conn: Conn, entry: Entry, failure: CreateFailure) =>
  warn(
    deps.warnings,
    deps.clock,
    "resubscribe",
    `EventSub: could not re-create ${entry.decoder.type} v${entry.decoder.version} ` +
      `(${clip(failure.error.message, 300)}); retrying`,
    annotations(conn)
  )

/** Creates every subscription on a fresh session; returns those that failed transiently (to retry). @internal */
export const createAll = (deps: CreateDeps, conn: Conn, ref: SessionRef) =>
  Effect.gen(function*() {
    const later: Array<Entry> = []
    yield* Effect.forEach(
      Array.from(conn.registry.entries),
      (entry) =>
        Effect.catchAll(ensureCreated(deps.api, entry, ref), (failure) =>
          failure.kind === "fatal"
            ? giveUp(conn, entry, failure)
            : Effect.zipRight(retrying(deps, conn, entry, failure), Effect.sync(() => later.push(entry)))),
      { concurrency: 10, discard: true }
    )
    return later
  })

/** Retries creates that failed transiently, on `retrySchedule`; runs in the session's scope (ends with it). @internal */
export const recreateLater = (deps: CreateDeps, conn: Conn, entries: ReadonlyArray<Entry>) =>
  Effect.forEach(entries, (entry) =>
    Effect.gen(function*() {
      const backoff = yield* Schedule.driver(deps.retrySchedule)
      while (true) {
        yield* Effect.ignore(backoff.next(undefined)) // never ends (see retrySchedule)
        // on the session now open: a `session_reconnect` handover changes its id (same generation)
        const ref = yield* Effect.option(Deferred.await(conn.session))
        if (Option.isNone(ref)) return // the connection closed
        const result = yield* Effect.either(ensureCreated(deps.api, entry, ref.value))
        if (Either.isRight(result)) return
        if (result.left.kind === "fatal") return yield* giveUp(conn, entry, result.left)
        yield* retrying(deps, conn, entry, result.left)
      }
    }), { concurrency: 10, discard: true })

/** A consumer is gone: the last one deletes the Twitch subscription, and closes an emptied connection. @internal */
export const release = (api: SubscriptionApi, shuttingDown: () => boolean, entry: Entry): Effect.Effect<void> =>
  Effect.gen(function*() {
    const conn = entry.conn
    const toClose = yield* conn.user.lock.withPermits(1)(Effect.sync(() => {
      entry.refCount--
      if (entry.refCount > 0) return null
      entry.removed = true
      unregister(entry)
      if (conn.registry.size > 0) return null
      markClosed(conn)
      return conn
    }))
    if (!entry.removed || entry.refCount > 0) return
    if (!entry.ended && !shuttingDown()) {
      // waits for a creation in flight; a revoked subscription is gone already, and at shutdown the
      // connections close (which disables their subscriptions on Twitch's side)
      yield* entry.lock.withPermits(1)(
        Effect.suspend(() =>
          entry.twitchId === null ? Effect.void : api.delete(conn.user.userId, entry.twitchId).pipe(
            Effect.catchAll((error) =>
              Effect.logWarning(`EventSub: could not delete subscription ${entry.twitchId}: ${error.message}`)
            )
          )
        )
      )
    }
    if (toClose !== null && toClose.fiber !== undefined) yield* Fiber.interrupt(toClose.fiber)
  })
