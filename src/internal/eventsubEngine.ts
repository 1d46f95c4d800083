// The EventSub WebSocket engine: connections per user, sessions, reconnects, dedupe and dispatch.
//
// Data path (one connection): the socket's handler is synchronous: it parses and checks each frame's
// envelope, drops duplicates and stale messages, decodes the event with the subscription's schema and
// appends it to the session's ingress (per subscription, in order). One dispatcher fiber per session
// takes everything routed since its last turn (typically one socket read: tens of frames) and offers
// each subscription's events, as one array, to the bounded `Mailbox` of each of its consumers; a consumer
// takes everything waiting as one chunk. A slow consumer makes the dispatcher wait (backpressure); when
// the ingress holds more than `ingressHighWater` events the socket is paused (Node `ws`), so memory
// stays bounded.
//
// Why `Mailbox` and not `PubSub`: with the same consumer, a `PubSub` subscription read with
// `takeBetween` cost ~8 µs more per event at 60k events/s (delivered events survived young-generation
// GCs and were promoted); `Mailbox` keeps plain arrays. (Offering straight from the socket handler into a
// sole consumer's mailbox, skipping the dispatcher fiber, was tried: no measurable gain.)
//
// Control path: the connection fiber owns the sessions. Subscriptions are created on a session by
// `ensureCreated`, serialised per entry and idempotent per session generation (a fresh connection is
// a new generation; a `session_reconnect` handover keeps it), so the connection fiber (re-creating
// everything after a welcome) and a new consumer (waiting for the session) never create twice.
// A session that ends is drained: its sockets are closed and every frame they delivered is dispatched
// before the next session starts.
//
// Failures: a connection is re-opened for as long as it has subscriptions (backoff growing across sessions
// that die young, see `runConnection`); a create that meets a conflict (409) is resolved through
// Get EventSub Subscriptions (`resolveConflict`), transient failures are retried while the session lives
// (`recreateLater`), and only a fatal one (a 4xx other than 409) ends the streams of that subscription.
// Warnings about bad frames pass a per-kind gate (`WarningGate`) and never carry wire values.
import * as Socket from "@effect/platform/Socket"
import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { Status } from "../EventSub.js"
import type { EventSubError } from "../EventSubError.js"
import { EventSubLimitExceeded, EventSubRevoked, EventSubSubscribeError } from "../EventSubError.js"
import { Dedupe, maxMessageIdLength } from "./eventsubDedupe.js"

/**
 * A failed create, classified: `conflict` (Twitch holds such a subscription already, 409, or counts a lost
 * session against the connection limit): look for it, clean up, create again; `transient` (timeouts, 5xx,
 * network): try again later; `fatal` (bad condition, missing scope, a limit): the stream ends.
 *
 * @internal
 */
export interface CreateFailure {
  readonly kind: "conflict" | "transient" | "fatal"
  readonly error: EventSubError
}

/** A WebSocket subscription as Get EventSub Subscriptions lists it (what resolving a conflict needs). @internal */
export interface ListedSubscription {
  readonly id: string
  readonly status: string
  readonly version: string
  readonly condition: Readonly<Record<string, unknown>>
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

/** How to turn a notification's `event` into the subscriber's type. @internal */
export interface EventDecoder<A> {
  readonly type: string
  readonly version: string
  readonly decode: (event: unknown, subscription: unknown) => Either.Either<A, string>
}

/** @internal */
export interface EngineOptions {
  readonly url: string
  readonly keepaliveTimeoutSeconds: number | undefined
  /** Extra silence tolerated on top of the keepalive timeout before the connection is declared dead. */
  readonly keepaliveGrace: Duration.Duration
  readonly openTimeout: Duration.Duration
  readonly welcomeTimeout: Duration.Duration
  /**
   * Delays between connection attempts that fail or end early, and between attempts to re-create a
   * subscription that failed transiently. When it ends, attempts go on every `maxRetryDelay`.
   */
  readonly reconnectSchedule: Schedule.Schedule<unknown, unknown>
  readonly maxRetryDelay: Duration.Duration
  /** a session that lived this long was healthy: the next reconnect is at once and the backoff starts afresh */
  readonly stableAfter: Duration.Duration
  /** repeated warnings of one kind: the first is logged, then at most one per interval (with the count skipped) */
  readonly warningInterval: Duration.Duration
  readonly maxSubscriptionsPerConnection: number
  readonly maxConnectionsPerUser: number
  readonly dedupeWindow: number
  readonly maxMessageAge: Duration.Duration
  readonly consumerBuffer: number
  readonly ingressHighWater: number
}

/**
 * Stale-message guard without parsing every timestamp: RFC 3339 UTC timestamps (`…Z`) order as
 * strings, so each message's timestamp is compared with a threshold string recomputed at most once
 * a second. Other offsets fall back to `Date.parse`.
 */
class AgeGuard {
  private threshold = ""
  private computedAt = -Infinity
  constructor(readonly maxAgeMillis: number) {}
  isStale(timestamp: string, now: number): boolean {
    if (now - this.computedAt > 1000) {
      this.computedAt = now
      this.threshold = new Date(now - this.maxAgeMillis).toISOString()
    }
    if (timestamp.charCodeAt(timestamp.length - 1) === 90 /* Z */) return timestamp < this.threshold
    const parsed = Date.parse(timestamp)
    return Number.isNaN(parsed) || parsed < now - this.maxAgeMillis
  }
}

/**
 * Warnings from a hostile or broken server come in floods (10,000 bad frames, 10,000 lines): per kind, the
 * first is logged, then at most one per interval, carrying the number suppressed since the last one.
 * Kinds are a small fixed set, so the map stays small.
 */
class WarningGate {
  private readonly kinds = new Map<string, { at: number; suppressed: number }>()
  constructor(readonly intervalMillis: number) {}
  /** -1: suppress this one; otherwise log it, noting this many suppressed before it */
  admit(kind: string, now: number): number {
    const state = this.kinds.get(kind)
    if (state === undefined) {
      this.kinds.set(kind, { at: now, suppressed: 0 })
      return 0
    }
    if (now - state.at < this.intervalMillis) {
      state.suppressed++
      return -1
    }
    const suppressed = state.suppressed
    state.at = now
    state.suppressed = 0
    return suppressed
  }
}

/** A wire string as it may appear in a log line: cut to `max` characters, with its length when cut. */
const clip = (text: string, max = 64): string =>
  text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`

/** Twitch's keepalive range (10–600 s); anything else in a welcome (0, negative, not a number) is clamped or 10. */
const keepaliveSecondsOf = (value: unknown): number =>
  typeof value === "number" && Number.isFinite(value) ? Math.min(600, Math.max(10, value)) : 10

/** Ids of this many of a user's past sessions are remembered: a conflicting subscription on one of them is ours. */
const knownSessionsPerUser = 64

/** What went wrong with a frame; logged by the dispatcher, rate-limited per kind. Never carries wire values. */
interface Problem {
  readonly kind: "json" | "envelope" | "stale" | "schema" | "type" | "session" | "id"
  readonly text: string
}

// ---------------------------------------------------------------------------------------------
// registry
// ---------------------------------------------------------------------------------------------

/** A session as subscriptions see it: its id, and the fresh-connection generation it belongs to. */
interface SessionRef {
  readonly sessionId: string
  /** incremented for each fresh connection; a `session_reconnect` handover keeps it (subscriptions carry over) */
  readonly generation: number
}

interface Entry {
  readonly key: string
  readonly decoder: EventDecoder<unknown>
  readonly condition: Readonly<Record<string, unknown>>
  /** one per consumer, each bounded by `consumerBuffer` events */
  readonly mailboxes: Set<Mailbox.Mailbox<unknown, EventSubError>>
  /** serialises creation and deletion of the Twitch subscription */
  readonly lock: Effect.Semaphore
  readonly conn: Conn
  refCount: number
  /** the latest Twitch subscription id (may belong to an older, disabled session) */
  twitchId: string | null
  /** the generation the Twitch subscription was created in (-1: none yet) */
  generation: number
  /** revoked or failed: its consumers' mailboxes were failed and it left the registry */
  ended: boolean
  /** every consumer is gone */
  removed: boolean
}

interface Conn {
  readonly id: number
  readonly user: User
  readonly entries: Set<Entry>
  readonly byTwitchId: Map<string, Entry>
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

interface User {
  readonly userId: string
  readonly lock: Effect.Semaphore
  readonly entries: Map<string, Entry>
  readonly conns: Array<Conn>
  /** the ids of the user's latest sessions (at most `knownSessionsPerUser`), live or lost */
  readonly knownSessions: Array<string>
}

type Control =
  | { readonly _tag: "Welcome"; readonly sessionId: string; readonly keepaliveSeconds: number }
  | { readonly _tag: "Reconnect"; readonly url: string }

/** How a session went, for the reconnect decision. */
interface SessionOutcome {
  /** the generation it created subscriptions in (-1: never welcomed) */
  generation: number
  /** Clock millis of its welcome (-1: never welcomed) */
  welcomedAt: number
}

interface SocketHandle {
  readonly run: Effect.Effect<void, Socket.SocketError>
  readonly resume: () => void
  readonly isPaused: () => boolean
}

/**
 * What a session's sockets have routed and its dispatcher has not taken yet. The socket handlers route
 * each frame synchronously (parse, checks, dedupe, decode) into `batches`; the dispatcher fiber swaps the
 * containers out and publishes them. Bounded: the sockets pause at `ingressHighWater` pending events.
 */
class Ingress {
  batches = new Map<Entry, Array<unknown>>()
  problems: Array<Problem> = []
  revoked: Array<readonly [Entry, EventSubError]> = []
  /** events in `batches` */
  pending = 0
  /** no more frames will come (the session's sockets are closed) */
  done = false
  /** resumes the dispatcher when it waits for frames */
  private waiter: ((effect: Effect.Effect<void>) => void) | undefined = undefined
  get isEmpty(): boolean {
    return this.batches.size === 0 && this.problems.length === 0 && this.revoked.length === 0
  }
  wake(): void {
    const waiter = this.waiter
    if (waiter !== undefined) {
      this.waiter = undefined
      waiter(Effect.void)
    }
  }
  /** waits until something was routed or the ingress is done */
  readonly await: Effect.Effect<void> = Effect.async<void>((resume) => {
    if (!this.isEmpty || this.done) return resume(Effect.void)
    this.waiter = resume
    return Effect.sync(() => {
      this.waiter = undefined
    })
  })
  end(): void {
    this.done = true
    this.wake()
  }
}

const stableKey = (type: string, version: string, condition: Readonly<Record<string, unknown>>): string =>
  `${type}\u0000${version}\u0000${JSON.stringify(Object.keys(condition).sort().map((k) => [k, condition[k]]))}`

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null

const conditionMatches = (wanted: Readonly<Record<string, unknown>>, actual: unknown): boolean => {
  if (!isRecord(actual)) return false
  for (const key in wanted) {
    if (actual[key] !== wanted[key]) return false
  }
  return true
}

/** the same condition: every field we set, and no other field set (Twitch lists unset fields as "") */
const sameCondition = (wanted: Readonly<Record<string, unknown>>, actual: Readonly<Record<string, unknown>>): boolean =>
  conditionMatches(wanted, actual) &&
  Object.keys(actual).every((key) => key in wanted || actual[key] === "" || actual[key] === undefined)

/** Twitch's close codes (REFERENCE §1); every one of them means: open a fresh connection and resubscribe. */
const closeReasons: Record<number, string> = {
  4000: "internal server error",
  4001: "client sent inbound traffic",
  4002: "client failed ping-pong",
  4003: "connection unused",
  4004: "reconnect grace time expired",
  4005: "network timeout",
  4006: "network error",
  4007: "invalid reconnect"
}

const textDecoder = new TextDecoder()

const findEntry = (conn: Conn, subscription: Record<string, unknown>): Entry | undefined => {
  const id = subscription.id
  if (typeof id === "string") {
    const byId = conn.byTwitchId.get(id)
    if (byId !== undefined) return byId
  }
  // a notification may overtake the answer to the create request: match an entry being created
  for (const entry of conn.entries) {
    if (
      entry.generation !== conn.generation && entry.decoder.type === subscription.type &&
      entry.decoder.version === subscription.version && conditionMatches(entry.condition, subscription.condition)
    ) return entry
  }
  return undefined
}

/** takes the entry out of the registry (its Twitch subscription is left alone) */
const unregister = (entry: Entry): void => {
  const conn = entry.conn
  conn.entries.delete(entry)
  if (entry.twitchId !== null && conn.byTwitchId.get(entry.twitchId) === entry) {
    conn.byTwitchId.delete(entry.twitchId)
  }
  if (conn.user.entries.get(entry.key) === entry) conn.user.entries.delete(entry.key)
}

/** the entry's streams fail with `error` once they have delivered what was offered before */
const endEntry = (entry: Entry, error: EventSubError): Effect.Effect<void> =>
  Effect.sync(() => {
    if (entry.ended) return
    entry.ended = true
    unregister(entry)
    const exit = Exit.fail(error)
    for (const mailbox of entry.mailboxes) mailbox.unsafeDone(exit)
  })

/** the connection takes no new subscriptions from now on */
const markClosed = (conn: Conn): void => {
  if (conn.closed) return
  conn.closed = true
  const index = conn.user.conns.indexOf(conn)
  if (index >= 0) conn.user.conns.splice(index, 1)
}

/** a session of this connection was welcomed: it is live, and remembered as the user's */
const sessionOpened = (conn: Conn, sessionId: string): void => {
  conn.liveSessionId = sessionId
  const known = conn.user.knownSessions
  known.push(sessionId)
  if (known.length > knownSessionsPerUser) known.shift()
}

/** logs a warning unless one of the same kind was logged less than `warningInterval` ago */
const warn = (
  warnings: WarningGate,
  clock: Clock.Clock,
  kind: string,
  message: string,
  conn: Conn
): Effect.Effect<void> =>
  Effect.suspend(() => {
    const suppressed = warnings.admit(kind, clock.unsafeCurrentTimeMillis())
    if (suppressed < 0) return Effect.void
    return Effect.logWarning(
      suppressed === 0 ? message : `${message} (${suppressed} more like it since the last warning)`
    ).pipe(Effect.annotateLogs({ userId: conn.user.userId, connection: conn.id }))
  })

/** The dispatcher: hands what the sockets routed to the mailboxes, logs problems, ends revoked entries. */
const dispatch = (
  conn: Conn,
  ingress: Ingress,
  resume: () => void,
  warnings: WarningGate,
  clock: Clock.Clock
) =>
  Effect.gen(function*() {
    while (true) {
      yield* ingress.await
      const done = ingress.done
      // take what was routed; the sockets route into fresh containers meanwhile
      const { batches, problems, revoked } = ingress
      if (batches.size > 0) ingress.batches = new Map()
      if (problems.length > 0) ingress.problems = []
      if (revoked.length > 0) ingress.revoked = []
      ingress.pending = 0
      resume()
      if (problems.length > 0) {
        for (const problem of problems) yield* warn(warnings, clock, problem.kind, `EventSub: ${problem.text}`, conn)
      }
      if (batches.size > 0) {
        for (const [entry, events] of batches) {
          for (const mailbox of entry.mailboxes) yield* mailbox.offerAll(events)
        }
      }
      if (revoked.length > 0) {
        for (const [entry, error] of revoked) yield* endEntry(entry, error)
      }
      if (done && ingress.isEmpty) return
    }
  })

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

/** Opens one socket; frames go to `onFrame`, and reading pauses at `options.ingressHighWater` pending events. */
const openSocket = (
  options: EngineOptions,
  url: string,
  ingress: Ingress,
  onFrame: (text: string) => void
) =>
  Effect.gen(function*() {
    let raw: { pause?: () => void; resume?: () => void } | undefined
    const socket = yield* Socket.fromWebSocket(
      Effect.acquireRelease(
        Effect.map(Socket.WebSocketConstructor, (construct) => {
          const ws = construct(url)
          // Node's `ws` can pause reading; other implementations cannot (no ingress bound then)
          raw = ws as unknown as { pause?: () => void; resume?: () => void }
          return ws
        }),
        // a clean close: frames the server sent before its close frame are still delivered
        (ws) => Effect.sync(() => ws.close(1000))
      ),
      { openTimeout: options.openTimeout, closeCodeIsError: () => true }
    )
    let paused = false
    const handle: SocketHandle = {
      run: socket.runRaw((data) => {
        onFrame(typeof data === "string" ? data : textDecoder.decode(data))
        if (!paused && ingress.pending >= options.ingressHighWater && raw?.pause !== undefined) {
          paused = true
          raw.pause()
        }
      }),
      resume: () => {
        if (paused) {
          paused = false
          raw?.resume?.()
        }
      },
      isPaused: () => paused
    }
    return handle
  })

const describeEnd = (cause: Cause.Cause<Socket.SocketError>): string => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) {
    const error = failure.value
    if (error.reason === "Close") {
      const known = closeReasons[error.code]
      return known === undefined ? `closed with ${error.code}` : `closed with ${error.code} (${known})`
    }
    return `socket ${error.reason} error`
  }
  return Cause.isInterruptedOnly(cause) ? "interrupted" : "socket defect"
}

const socketEnded = (fiber: Fiber.RuntimeFiber<void, Socket.SocketError>): Effect.Effect<never, string> =>
  Fiber.join(fiber).pipe(
    Effect.matchCauseEffect({
      onFailure: (cause) => Effect.fail(describeEnd(cause)),
      onSuccess: () => Effect.fail("socket closed")
    })
  )

/** Creates the entry's Twitch subscription on the session unless it exists in that generation already. */
const ensureCreated = (api: SubscriptionApi, entry: Entry, ref: SessionRef): Effect.Effect<void, CreateFailure> =>
  entry.lock.withPermits(1)(Effect.suspend(() => {
    if (entry.ended || entry.removed || entry.generation === ref.generation) return Effect.void
    return Effect.map(
      createOrAdopt(api, entry, ref),
      (created) => {
        const conn = entry.conn
        if (entry.twitchId !== null && conn.byTwitchId.get(entry.twitchId) === entry) {
          conn.byTwitchId.delete(entry.twitchId)
        }
        entry.twitchId = created.id
        entry.generation = ref.generation
        if (!entry.ended) conn.byTwitchId.set(created.id, entry)
      }
    )
  }))

/** Waits for a session and creates the subscription on it; a session lost meanwhile means: try the next. */
const waitCreated = (api: SubscriptionApi, entry: Entry): Effect.Effect<void, EventSubError> =>
  Effect.suspend(() => {
    if (entry.ended) return Effect.void // the consumer's mailbox is failed already
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

/** What creating subscriptions (and retrying them) needs from the engine. */
interface CreateDeps {
  readonly api: SubscriptionApi
  readonly warnings: WarningGate
  readonly clock: Clock.Clock
  /** the user's schedule, then attempts every `maxRetryDelay` (it never ends) */
  readonly retrySchedule: Schedule.Schedule<unknown, unknown>
}

/** a subscription that cannot be re-created (bad condition, scope removed, a limit): its streams end */
const giveUp = (conn: Conn, entry: Entry, failure: CreateFailure) =>
  Effect.zipRight(
    Effect.logWarning(`EventSub: could not re-create a subscription: ${clip(failure.error.message, 300)}`).pipe(
      Effect.annotateLogs({ userId: conn.user.userId, connection: conn.id })
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
    conn
  )

/** Creates every subscription on a fresh session; returns those that failed transiently (to retry). */
const createAll = (deps: CreateDeps, conn: Conn, ref: SessionRef) =>
  Effect.gen(function*() {
    const later: Array<Entry> = []
    yield* Effect.forEach(
      Array.from(conn.entries),
      (entry) =>
        Effect.catchAll(ensureCreated(deps.api, entry, ref), (failure) =>
          failure.kind === "fatal"
            ? giveUp(conn, entry, failure)
            : Effect.zipRight(retrying(deps, conn, entry, failure), Effect.sync(() => later.push(entry)))),
      { concurrency: 10, discard: true }
    )
    return later
  })

/** Retries creates that failed transiently, on `retrySchedule`; runs in the session's scope (ends with it). */
const recreateLater = (deps: CreateDeps, conn: Conn, entries: ReadonlyArray<Entry>) =>
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

/** What a session needs from the engine. */
interface SessionDeps extends CreateDeps {
  readonly options: EngineOptions
  readonly publishStatus: (status: Status) => Effect.Effect<boolean>
  readonly dedupe: Dedupe
  readonly ageGuard: AgeGuard
}

/**
 * Runs one fresh session (and any number of `session_reconnect` handovers); fails with the reason it
 * ended, after every frame received until then has been dispatched.
 */
const runSession = (deps: SessionDeps, conn: Conn, outcome: SessionOutcome) =>
  Effect.scoped(Effect.gen(function*() {
    const { ageGuard, clock, dedupe, options, publishStatus, warnings } = deps
    const userId = conn.user.userId
    // the sockets pause at `ingressHighWater` pending events (see openSocket)
    const ingress = new Ingress()
    // at most a welcome and a reconnect per socket, and at most two sockets
    const control = yield* Queue.sliding<Control>(16)
    const sockets = new Set<SocketHandle>()
    const socketFibers = new Set<Fiber.RuntimeFiber<void, Socket.SocketError>>()
    let lastSeen = clock.unsafeCurrentTimeMillis()
    const onFrame = (text: string): void => {
      const now = clock.unsafeCurrentTimeMillis()
      lastSeen = now
      route(conn, text, now, ingress, control, dedupe, ageGuard)
      ingress.wake()
    }
    yield* publishStatus({ _tag: "Connecting", userId, connection: conn.id })

    const url = options.keepaliveTimeoutSeconds === undefined
      ? options.url
      : `${options.url}${
        options.url.includes("?") ? "&" : "?"
      }keepalive_timeout_seconds=${options.keepaliveTimeoutSeconds}`

    const start = (socketUrl: string) =>
      Effect.gen(function*() {
        const handle = yield* openSocket(options, socketUrl, ingress, onFrame)
        const fiber = yield* Effect.forkScoped(handle.run)
        sockets.add(handle)
        socketFibers.add(fiber)
        return [handle, fiber] as const
      })
    const stop = (handle: SocketHandle, fiber: Fiber.RuntimeFiber<void, Socket.SocketError>) =>
      Effect.suspend(() => {
        sockets.delete(handle)
        socketFibers.delete(fiber)
        handle.resume() // let it read up to the server's close frame
        return Fiber.interrupt(fiber)
      })

    const dispatcher = yield* Effect.forkScoped(dispatch(
      conn,
      ingress,
      () => {
        for (const socket of sockets) socket.resume()
      },
      warnings,
      clock
    ))

    const awaitWelcome = (socketFiber: Fiber.RuntimeFiber<void, Socket.SocketError>) =>
      Effect.raceFirst(
        Effect.flatMap(
          Queue.take(control),
          (msg) => msg._tag === "Welcome" ? Effect.succeed(msg) : Effect.fail("reconnect before welcome")
        ),
        socketEnded(socketFiber)
      ).pipe(
        Effect.timeoutFail({ duration: options.welcomeTimeout, onTimeout: () => "no welcome in time" })
      )

    const body = Effect.gen(function*() {
      let [current, currentFiber] = yield* start(url)
      const welcome = yield* awaitWelcome(currentFiber)
      let keepaliveMillis = welcome.keepaliveSeconds * 1000
      const ref: SessionRef = { sessionId: welcome.sessionId, generation: ++conn.generation }
      outcome.generation = ref.generation
      outcome.welcomedAt = clock.unsafeCurrentTimeMillis()
      sessionOpened(conn, ref.sessionId)

      // a fresh session holds no subscriptions (Twitch does not replay): create every one anew, unless the
      // socket ends meanwhile (e.g. 4003 when creating takes too long); transient failures are retried in
      // the background, for as long as the session lives
      const setup = Effect.gen(function*() {
        const later = yield* Effect.raceFirst(createAll(deps, conn, ref), socketEnded(currentFiber))
        if (later.length > 0) yield* Effect.forkScoped(recreateLater(deps, conn, later))
        yield* Deferred.succeed(conn.session, ref)
        conn.sessionReady = true
        yield* publishStatus({ _tag: "Connected", userId, connection: conn.id, sessionId: ref.sessionId })
      })

      // keepalive watchdog, from the welcome on: silence longer than the keepalive timeout (+ grace) means
      // the connection is dead (a half-open one included: the server still holds it, we hear nothing)
      const graceMillis = Duration.toMillis(options.keepaliveGrace)
      const watchdog = Effect.gen(function*() {
        while (true) {
          const silentFor = clock.unsafeCurrentTimeMillis() - lastSeen
          const limit = keepaliveMillis + graceMillis
          if (silentFor > limit && !current.isPaused()) return yield* Effect.fail("keepalive timeout")
          yield* Effect.sleep(Duration.millis(Math.max(limit - silentFor + 1, 100)))
        }
      })

      const loop = Effect.gen(function*() {
        while (true) {
          const next = yield* Effect.raceFirst(Queue.take(control), socketEnded(currentFiber))
          if (next._tag !== "Reconnect") continue // a welcome outside a handover carries nothing new
          // open reconnect_url as given; the old socket keeps delivering until the new welcome
          const [incoming, incomingFiber] = yield* start(next.url)
          const handed = yield* Effect.either(awaitWelcome(incomingFiber))
          if (Either.isLeft(handed)) {
            yield* stop(incoming, incomingFiber)
            return yield* Effect.fail(`reconnect failed: ${handed.left}`)
          }
          keepaliveMillis = handed.right.keepaliveSeconds * 1000
          sessionOpened(conn, handed.right.sessionId)
          yield* stop(current, currentFiber)
          current = incoming
          currentFiber = incomingFiber
          // subscriptions carried over: same generation, new session id
          conn.session = yield* Deferred.make<SessionRef, EventSubError>()
          yield* Deferred.succeed(conn.session, {
            sessionId: handed.right.sessionId,
            generation: ref.generation
          })
          yield* publishStatus({
            _tag: "Connected",
            userId,
            connection: conn.id,
            sessionId: handed.right.sessionId
          })
        }
      })
      return yield* Effect.raceFirst(Effect.zipRight(setup, loop), watchdog)
    })

    const reason = yield* Effect.flip(body)
    // drain: close the sockets, then dispatch what they delivered before the end
    yield* Effect.forEach(Array.from(socketFibers), Fiber.interrupt, { discard: true })
    ingress.end()
    yield* Fiber.join(dispatcher)
    return yield* Effect.fail(reason)
  }))

/** A consumer is gone: the last one deletes the Twitch subscription, and closes an emptied connection. */
const release = (api: SubscriptionApi, shuttingDown: () => boolean, entry: Entry): Effect.Effect<void> =>
  Effect.gen(function*() {
    const conn = entry.conn
    const toClose = yield* conn.user.lock.withPermits(1)(Effect.sync(() => {
      entry.refCount--
      if (entry.refCount > 0) return null
      entry.removed = true
      unregister(entry)
      if (conn.entries.size > 0) return null
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

/** What the reconnect loop needs from the engine. */
interface ReconnectDeps {
  readonly runSession: (
    conn: Conn,
    outcome: SessionOutcome
  ) => Effect.Effect<never, string, Socket.WebSocketConstructor>
  readonly publishStatus: (status: Status) => Effect.Effect<boolean>
  /** the user's schedule, then attempts every `maxRetryDelay` (it never ends) */
  readonly retrySchedule: Schedule.Schedule<unknown, unknown>
  readonly stableMillis: number
  readonly clock: Clock.Clock
}

/**
 * The reconnect loop of one connection: a fresh session after each one lost, until the connection is closed
 * or has no subscriptions. Sessions that die before `stableMillis` do not reset the backoff.
 */
const reconnectLoop = (conn: Conn, deps: ReconnectDeps): Effect.Effect<void, never, Socket.WebSocketConstructor> =>
  Effect.gen(function*() {
    const userId = conn.user.userId
    const backoff = yield* Schedule.driver(deps.retrySchedule)
    let attempt = 0
    while (!conn.closed && conn.entries.size > 0) {
      const outcome: SessionOutcome = { generation: -1, welcomedAt: -1 }
      const reason = yield* Effect.flip(deps.runSession(conn, outcome))
      // the session is gone: its subscriptions are disabled, waiters wait for the next one
      conn.liveSessionId = undefined
      if (conn.sessionReady) {
        conn.session = yield* Deferred.make<SessionRef, EventSubError>()
        conn.sessionReady = false
      }
      conn.byTwitchId.clear()
      if (conn.closed || conn.entries.size === 0) break
      // stable: welcomed and up for `stableAfter`. A session that dies sooner (at once after subscribing,
      // or on a bogus keepalive) does not reset the backoff, so a hostile server cannot make us loop.
      const stable = outcome.welcomedAt >= 0 &&
        deps.clock.unsafeCurrentTimeMillis() - outcome.welcomedAt >= deps.stableMillis
      attempt = stable ? 1 : attempt + 1
      yield* deps.publishStatus({ _tag: "Reconnecting", userId, connection: conn.id, reason, attempt })
      yield* Effect.logWarning(`EventSub connection lost (${reason}); reconnecting`).pipe(
        Effect.annotateLogs({ userId, connection: conn.id, attempt })
      )
      // the first attempt goes at once (after a stable session: with the backoff started afresh); later
      // ones wait on the schedule (which never ends: see retrySchedule)
      if (stable) yield* backoff.reset
      if (attempt > 1) yield* Effect.ignore(backoff.next(undefined))
    }
    // synchronously after the last check: no subscriber can join a connection that is ending
    markClosed(conn)
  })

/** The connection ended: it takes no subscriptions, waiters for a session fail, and its status says so. */
const connectionEnded = (conn: Conn, publishStatus: (status: Status) => Effect.Effect<boolean>): Effect.Effect<void> =>
  Effect.suspend(() => {
    markClosed(conn)
    // nobody waits forever for a session that will not come
    if (!conn.sessionReady) {
      Deferred.unsafeDone(
        conn.session,
        Effect.fail(
          new EventSubSubscribeError({
            userId: conn.user.userId,
            operation: "connect",
            description: "the connection was closed"
          })
        )
      )
    }
    return publishStatus({
      _tag: "Disconnected",
      userId: conn.user.userId,
      connection: conn.id,
      reason: conn.entries.size === 0 ? "no subscriptions" : "stopped"
    })
  })

/**
 * The frame router: routes one frame into the ingress (`dedupe` and `ageGuard` are the engine's). Runs in the
 * socket's message handler: synchronous, never throws.
 */
const route = (
  conn: Conn,
  text: string,
  now: number,
  ingress: Ingress,
  control: Queue.Queue<Control>,
  dedupe: Dedupe,
  ageGuard: AgeGuard
): void => {
  const problems = ingress.problems
  let frame: unknown
  try {
    frame = JSON.parse(text)
  } catch {
    problems.push({ kind: "json", text: `skipped a frame: not JSON (${text.length} characters)` })
    return
  }
  if (!isRecord(frame) || !isRecord(frame.metadata) || !isRecord(frame.payload)) {
    const id = isRecord(frame) && isRecord(frame.metadata) ? frame.metadata.message_id : undefined
    const named = typeof id === "string" ? ` (message ${clip(id)})` : ""
    problems.push({ kind: "envelope", text: `skipped a frame: not an EventSub envelope${named}` })
    return
  }
  const metadata = frame.metadata
  const payload = frame.payload
  const messageId = metadata.message_id
  const messageType = metadata.message_type
  const timestamp = metadata.message_timestamp
  if (typeof messageId !== "string" || typeof messageType !== "string" || typeof timestamp !== "string") {
    const named = typeof messageId === "string" ? ` (message ${clip(messageId)})` : ""
    problems.push({ kind: "envelope", text: `skipped a frame: envelope metadata incomplete${named}` })
    return
  }
  switch (messageType) {
    case "notification": {
      if (messageId.length > maxMessageIdLength) {
        // not kept for dedupe (bounded memory), and not dropped either: the event itself may be fine
        problems.push({
          kind: "id",
          text: `message ${clip(messageId)}: id longer than ${maxMessageIdLength} characters, ` +
            "delivered without dedupe"
        })
      } else if (dedupe.check(messageId)) return
      if (ageGuard.isStale(timestamp, now)) {
        problems.push({
          kind: "stale",
          text: `skipped a frame: message ${clip(messageId)} older than the replay window (${clip(timestamp, 40)})`
        })
        return
      }
      const subscription = payload.subscription
      if (!isRecord(subscription)) {
        problems.push({ kind: "envelope", text: `skipped a frame: message ${clip(messageId)}: no subscription` })
        return
      }
      const entry = findEntry(conn, subscription)
      if (entry === undefined) return // a subscription we no longer hold
      let decoded: Either.Either<unknown, string>
      try {
        decoded = entry.decoder.decode(payload.event ?? payload.events, subscription)
      } catch (defect) {
        decoded = Either.left(`decoder defect: ${clip(String(defect), 200)}`)
      }
      if (Either.isLeft(decoded)) {
        problems.push({
          kind: "schema",
          text: `skipped a frame: message ${clip(messageId)} (${entry.decoder.type} v${entry.decoder.version}): ` +
            clip(decoded.left, 500)
        })
        return
      }
      const batch = ingress.batches.get(entry)
      if (batch === undefined) ingress.batches.set(entry, [decoded.right])
      else batch.push(decoded.right)
      ingress.pending++
      return
    }
    case "session_keepalive":
      return
    case "session_welcome":
    case "session_reconnect": {
      const session = payload.session
      if (!isRecord(session) || typeof session.id !== "string") {
        problems.push({
          kind: "session",
          text: `skipped a frame: message ${clip(messageId)}: ${messageType} without a session`
        })
        return
      }
      if (messageType === "session_welcome") {
        const keepaliveSeconds = keepaliveSecondsOf(session.keepalive_timeout_seconds)
        Queue.unsafeOffer(control, { _tag: "Welcome", sessionId: session.id, keepaliveSeconds })
      } else if (typeof session.reconnect_url === "string") {
        Queue.unsafeOffer(control, { _tag: "Reconnect", url: session.reconnect_url })
      } else {
        problems.push({
          kind: "session",
          text: `skipped a frame: message ${clip(messageId)}: session_reconnect without reconnect_url`
        })
      }
      return
    }
    case "revocation": {
      if (dedupe.check(messageId)) return
      const subscription = payload.subscription
      if (!isRecord(subscription)) {
        problems.push({
          kind: "envelope",
          text: `skipped a frame: message ${clip(messageId)}: revocation without subscription`
        })
        return
      }
      const entry = findEntry(conn, subscription)
      if (entry === undefined) return
      ingress.revoked.push([
        entry,
        new EventSubRevoked({
          subscriptionId: String(subscription.id),
          type: entry.decoder.type,
          version: entry.decoder.version,
          status: typeof subscription.status === "string" ? clip(subscription.status) : "unknown"
        })
      ])
      return
    }
    default:
      problems.push({
        kind: "type",
        text: `skipped a frame: message ${clip(messageId)}: unknown message_type ${clip(messageType)}`
      })
  }
}

/** @internal */
export interface Engine {
  readonly subscribe: <A>(
    userId: string,
    decoder: EventDecoder<A>,
    condition: Readonly<Record<string, unknown>>
  ) => Stream.Stream<A, EventSubError>
  readonly status: Stream.Stream<Status>
}

/** @internal */
export const make = (
  api: SubscriptionApi,
  options: EngineOptions
): Effect.Effect<Engine, never, Socket.WebSocketConstructor | Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const clock = yield* Effect.clock
    const socketContext = yield* Effect.context<Socket.WebSocketConstructor>()
    const users = new Map<string, User>()
    const dedupe = new Dedupe(options.dedupeWindow)
    const ageGuard = new AgeGuard(Duration.toMillis(options.maxMessageAge))
    // status is a state signal: when a reader lags, older states are dropped for newer ones.
    const statusHub = yield* PubSub.sliding<Status>(256)
    const warnings = new WarningGate(Duration.toMillis(options.warningInterval))
    // when the user's schedule ends, attempts go on at the cap: only a revocation or the user ends a stream
    const retrySchedule = options.reconnectSchedule.pipe(Schedule.andThen(Schedule.spaced(options.maxRetryDelay)))
    let connCounter = 0

    const publishStatus = (status: Status) => PubSub.publish(statusHub, status)

    const getUser = (userId: string): User => {
      let user = users.get(userId)
      if (user === undefined) {
        user = { userId, lock: Effect.unsafeMakeSemaphore(1), entries: new Map(), conns: [], knownSessions: [] }
        users.set(userId, user)
      }
      return user
    }

    // -- one connection: sessions, handover, reconnect ---------------------------------------

    const sessionDeps: SessionDeps = { api, warnings, clock, retrySchedule, options, publishStatus, dedupe, ageGuard }
    const reconnectDeps: ReconnectDeps = {
      runSession: (conn, outcome) => runSession(sessionDeps, conn, outcome),
      publishStatus,
      retrySchedule,
      stableMillis: Duration.toMillis(options.stableAfter),
      clock
    }
    const runConnection = (conn: Conn): Effect.Effect<void, never, Socket.WebSocketConstructor> =>
      reconnectLoop(conn, reconnectDeps).pipe(Effect.ensuring(connectionEnded(conn, publishStatus)))

    // -- subscribe ----------------------------------------------------------------------------

    const newConn = (user: User): Effect.Effect<Conn> =>
      Effect.gen(function*() {
        const conn: Conn = {
          id: ++connCounter,
          user,
          entries: new Set(),
          byTwitchId: new Map(),
          session: yield* Deferred.make<SessionRef, EventSubError>(),
          sessionReady: false,
          liveSessionId: undefined,
          generation: 0,
          closed: false,
          fiber: undefined
        }
        user.conns.push(conn)
        // forked from an uninterruptible region (register): the connection itself must be interruptible
        conn.fiber = yield* runConnection(conn).pipe(
          Effect.provide(socketContext),
          Effect.interruptible,
          Effect.forkIn(scope)
        )
        return conn
      })

    /** Registers a consumer (sharing the entry of the same type + condition) and returns its mailbox. */
    const register = (
      userId: string,
      decoder: EventDecoder<unknown>,
      condition: Readonly<Record<string, unknown>>
    ): Effect.Effect<readonly [Entry, Mailbox.ReadonlyMailbox<unknown, EventSubError>], EventSubError, Scope.Scope> => {
      const user = getUser(userId)
      const key = stableKey(decoder.type, decoder.version, condition)
      return Effect.uninterruptible(
        user.lock.withPermits(1)(Effect.gen(function*() {
          let entry = user.entries.get(key)
          if (entry === undefined) {
            let conn = user.conns.find((c) => !c.closed && c.entries.size < options.maxSubscriptionsPerConnection)
            if (conn === undefined) {
              if (user.conns.length >= options.maxConnectionsPerUser) {
                return yield* new EventSubLimitExceeded({
                  userId,
                  limit: "connections",
                  description:
                    `${options.maxConnectionsPerUser} connections of ${options.maxSubscriptionsPerConnection} ` +
                    "subscriptions are in use"
                })
              }
              conn = yield* newConn(user)
            }
            entry = {
              key,
              decoder,
              condition,
              mailboxes: new Set(),
              lock: Effect.unsafeMakeSemaphore(1),
              conn,
              refCount: 0,
              twitchId: null,
              generation: -1,
              ended: false,
              removed: false
            }
            conn.entries.add(entry)
            user.entries.set(key, entry)
          }
          entry.refCount++
          const registered = entry
          // waits (backpressure) when full; `Mailbox` suspends offers beyond its capacity
          const mailbox = yield* Mailbox.make<unknown, EventSubError>(Math.max(1, options.consumerBuffer))
          entry.mailboxes.add(mailbox)
          yield* Effect.addFinalizer(() =>
            Effect.suspend(() => {
              // a dispatcher waiting for room in this mailbox goes on
              entry.mailboxes.delete(mailbox)
              return Effect.zipRight(mailbox.shutdown, release(api, isShuttingDown, registered))
            })
          )
          return [entry, mailbox] as const
        }))
      )
    }

    // runs first when the layer's scope closes: consumers released after that do not call Helix
    let shuttingDown = false
    const isShuttingDown = () => shuttingDown
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        shuttingDown = true
      })
    )

    const engine: Engine = {
      subscribe: <A>(userId: string, decoder: EventDecoder<A>, condition: Readonly<Record<string, unknown>>) =>
        Stream.unwrapScoped(Effect.gen(function*() {
          const [entry, mailbox] = yield* register(userId, decoder as EventDecoder<unknown>, condition)
          yield* waitCreated(api, entry)
          return Mailbox.toStream(mailbox as Mailbox.ReadonlyMailbox<A, EventSubError>)
        })),
      status: Stream.fromPubSub(statusHub)
    }
    return engine
  })
