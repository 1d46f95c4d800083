// The EventSub WebSocket transport: connections per user, sessions, handovers and reconnects.
//
// Data path (one connection): the socket's handler is synchronous: it parses each frame
// (`parseFrame`), routes it (`route`: dedupe, stale check, decode) and applies the action to the
// session's ingress; one dispatcher fiber per session hands the ingress on to the consumers'
// inboxes (`eventsubDispatcher.ts`). When the ingress holds more than `ingressHighWater` events the
// socket is paused (Node `ws`), so memory stays bounded.
//
// Control path: the connection fiber owns the sessions and creates every subscription on each fresh
// one (`eventsubWsSubscriptions.ts`). A session that ends is drained: its sockets are closed and every
// frame they delivered is dispatched before the next session starts.
//
// Failures: a connection is re-opened for as long as it has subscriptions (backoff growing across sessions
// that die young, see `reconnectLoop`). Warnings about bad frames pass a per-kind gate (`WarningGate`) and
// never carry wire values.
import * as Socket from "@effect/platform/Socket"
import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import type * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { Status, Undecodable } from "../EventSub.js"
import type { EventSubError } from "../EventSubError.js"
import { EventSubLimitExceeded, EventSubSubscribeError } from "../EventSubError.js"
import { Dedupe } from "./eventsubDedupe.js"
import { dispatch, Ingress, WarningGate } from "./eventsubDispatcher.js"
import type { Inbox } from "./eventsubInbox.js"
import { addConsumer, type EventDecoder, Registry, stableKey, subscriptionFields } from "./eventsubRegistry.js"
import { type Action, AgeGuard, parseFrame, route, type RouterState } from "./eventsubRouter.js"
import {
  type Conn,
  createAll,
  type CreateDeps,
  endEntry,
  type Entry,
  markClosed,
  recreateLater,
  release,
  sessionOpened,
  type SessionRef,
  type SubscriptionApi,
  type User,
  waitCreated
} from "./eventsubWsSubscriptions.js"

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

type Control = Extract<Action<Entry>, { readonly _tag: "Welcome" | "Reconnect" }>

/** How a session went, for the reconnect decision. */
interface SessionOutcome {
  /** Clock millis of its welcome (-1: never welcomed) */
  welcomedAt: number
}

interface SocketHandle {
  readonly run: Effect.Effect<void, Socket.SocketError>
  readonly resume: () => void
  readonly isPaused: () => boolean
}

type SocketFiber = Fiber.RuntimeFiber<void, Socket.SocketError>

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

/** Opens one socket; frames go to `onFrame`, and reading pauses at `options.ingressHighWater` pending events. */
const openSocket = (
  options: EngineOptions,
  url: string,
  ingress: Ingress<Entry>,
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

const socketEnded = (fiber: SocketFiber): Effect.Effect<never, string> =>
  Fiber.join(fiber).pipe(
    Effect.matchCauseEffect({
      onFailure: (cause) => Effect.fail(describeEnd(cause)),
      onSuccess: () => Effect.fail("socket closed")
    })
  )

/** What a session needs from the engine. */
interface SessionDeps extends CreateDeps {
  readonly options: EngineOptions
  readonly publishStatus: (status: Status) => Effect.Effect<boolean>
  readonly dedupe: Dedupe
  readonly ageGuard: AgeGuard
  readonly undecodable: (event: Undecodable) => Effect.Effect<void>
}

/** One session's state: its sockets (at most two, during a handover), its ingress and its control queue. */
interface Session {
  readonly deps: SessionDeps
  readonly conn: Conn
  readonly ingress: Ingress<Entry>
  readonly router: RouterState<Entry>
  /** at most a welcome and a reconnect per socket, and at most two sockets */
  readonly control: Queue.Queue<Control>
  readonly sockets: Map<SocketHandle, SocketFiber>
  lastSeen: number
  keepaliveMillis: number
  current: SocketHandle | undefined
  currentFiber: SocketFiber | undefined
}

/** The socket handler: routes one frame into the session (synchronous, never throws). */
const onFrame = (session: Session, text: string): void => {
  const now = session.deps.clock.unsafeCurrentTimeMillis()
  session.lastSeen = now
  const message = parseFrame(text)
  if ("kind" in message) {
    session.ingress.problems.push(message)
  } else {
    session.router.now = now
    const action = route(message, session.router)
    if (action._tag === "Welcome" || action._tag === "Reconnect") Queue.unsafeOffer(session.control, action)
    else session.ingress.apply(action)
  }
  session.ingress.wake()
}

/** A session's state and its dispatcher fiber (in the session's scope). */
const makeSession = (deps: SessionDeps, conn: Conn) =>
  Effect.gen(function*() {
    const session: Session = {
      deps,
      conn,
      ingress: new Ingress<Entry>(),
      router: { now: 0, dedupe: deps.dedupe, ageGuard: deps.ageGuard, find: (s) => conn.registry.find(s) },
      control: yield* Queue.sliding<Control>(16),
      sockets: new Map(),
      lastSeen: deps.clock.unsafeCurrentTimeMillis(),
      keepaliveMillis: 0,
      current: undefined,
      currentFiber: undefined
    }
    const dispatcher = yield* Effect.forkScoped(dispatch(session.ingress, {
      warnings: deps.warnings,
      clock: deps.clock,
      annotations: { userId: conn.user.userId, connection: conn.id },
      resume: () => {
        for (const socket of session.sockets.keys()) socket.resume()
      },
      end: endEntry,
      undecodable: deps.undecodable
    }))
    return [session, dispatcher] as const
  })

const startSocket = (session: Session, url: string) =>
  Effect.gen(function*() {
    const handle = yield* openSocket(session.deps.options, url, session.ingress, (text) => onFrame(session, text))
    const fiber = yield* Effect.forkScoped(handle.run)
    session.sockets.set(handle, fiber)
    return [handle, fiber] as const
  })

const stopSocket = (session: Session, handle: SocketHandle, fiber: SocketFiber) =>
  Effect.suspend(() => {
    session.sockets.delete(handle)
    handle.resume() // let it read up to the server's close frame
    return Fiber.interrupt(fiber)
  })

const awaitWelcome = (session: Session, socketFiber: SocketFiber) =>
  Effect.raceFirst(
    Effect.flatMap(
      Queue.take(session.control),
      (msg) => msg._tag === "Welcome" ? Effect.succeed(msg) : Effect.fail("reconnect before welcome")
    ),
    socketEnded(socketFiber)
  ).pipe(
    Effect.timeoutFail({ duration: session.deps.options.welcomeTimeout, onTimeout: () => "no welcome in time" })
  )

/** the URL of a fresh connection, asking for the configured keepalive */
const connectUrl = (options: EngineOptions): string =>
  options.keepaliveTimeoutSeconds === undefined
    ? options.url
    : `${options.url}${
      options.url.includes("?") ? "&" : "?"
    }keepalive_timeout_seconds=${options.keepaliveTimeoutSeconds}`

/** Opens the session's first socket and waits for its welcome: the session is live, in a new generation. */
const openSession = (session: Session, outcome: SessionOutcome) =>
  Effect.gen(function*() {
    const { clock, options } = session.deps
    const conn = session.conn
    const [handle, fiber] = yield* startSocket(session, connectUrl(options))
    session.current = handle
    session.currentFiber = fiber
    const welcome = yield* awaitWelcome(session, fiber)
    session.keepaliveMillis = welcome.keepaliveSeconds * 1000
    const ref: SessionRef = { sessionId: welcome.sessionId, generation: ++conn.generation }
    outcome.welcomedAt = clock.unsafeCurrentTimeMillis()
    sessionOpened(conn, ref.sessionId)
    return [ref, fiber] as const
  })

/**
 * A fresh session holds no subscriptions (Twitch does not replay): create every one anew, unless the
 * socket ends meanwhile (e.g. 4003 when creating takes too long); transient failures are retried in
 * the background, for as long as the session lives.
 */
const setupSession = (session: Session, ref: SessionRef, socketFiber: SocketFiber) =>
  Effect.gen(function*() {
    const { conn, deps } = session
    const later = yield* Effect.raceFirst(createAll(deps, conn, ref), socketEnded(socketFiber))
    if (later.length > 0) yield* Effect.forkScoped(recreateLater(deps, conn, later))
    yield* Deferred.succeed(conn.session, ref)
    conn.sessionReady = true
    yield* deps.publishStatus({
      _tag: "Connected",
      userId: conn.user.userId,
      connection: conn.id,
      sessionId: ref.sessionId
    })
  })

/**
 * Keepalive watchdog, from the welcome on: silence longer than the keepalive timeout (+ grace) means the
 * connection is dead (a half-open one included: the server still holds it, we hear nothing).
 */
const watchdog = (session: Session): Effect.Effect<never, string> =>
  Effect.gen(function*() {
    const { clock, options } = session.deps
    const graceMillis = Duration.toMillis(options.keepaliveGrace)
    while (true) {
      const silentFor = clock.unsafeCurrentTimeMillis() - session.lastSeen
      const limit = session.keepaliveMillis + graceMillis
      if (silentFor > limit && session.current?.isPaused() !== true) return yield* Effect.fail("keepalive timeout")
      yield* Effect.sleep(Duration.millis(Math.max(limit - silentFor + 1, 100)))
    }
  })

/** One `session_reconnect`: the new socket at the given URL; the old one keeps delivering until the new welcome. */
const handover = (session: Session, url: string, generation: number) =>
  Effect.gen(function*() {
    const conn = session.conn
    const [incoming, incomingFiber] = yield* startSocket(session, url)
    const handed = yield* Effect.either(awaitWelcome(session, incomingFiber))
    if (Either.isLeft(handed)) {
      yield* stopSocket(session, incoming, incomingFiber)
      return yield* Effect.fail(`reconnect failed: ${handed.left}`)
    }
    session.keepaliveMillis = handed.right.keepaliveSeconds * 1000
    sessionOpened(conn, handed.right.sessionId)
    yield* stopSocket(session, session.current!, session.currentFiber!)
    session.current = incoming
    session.currentFiber = incomingFiber
    // subscriptions carried over: same generation, new session id
    const sessionId = handed.right.sessionId
    conn.session = yield* Deferred.make<SessionRef, EventSubError>()
    yield* Deferred.succeed(conn.session, { sessionId, generation })
    yield* session.deps.publishStatus({ _tag: "Connected", userId: conn.user.userId, connection: conn.id, sessionId })
  })

/** Serves the control queue until the current socket ends (a welcome outside a handover carries nothing new). */
const controlLoop = (
  session: Session,
  ref: SessionRef
): Effect.Effect<never, string, Scope.Scope | Socket.WebSocketConstructor> =>
  Effect.gen(function*() {
    while (true) {
      const next = yield* Effect.raceFirst(Queue.take(session.control), socketEnded(session.currentFiber!))
      if (next._tag === "Reconnect") yield* handover(session, next.url, ref.generation)
    }
  })

/**
 * Runs one fresh session (and any number of `session_reconnect` handovers); fails with the reason it
 * ended, after every frame received until then has been dispatched.
 */
const runSession = (deps: SessionDeps, conn: Conn, outcome: SessionOutcome) =>
  Effect.scoped(Effect.gen(function*() {
    const [session, dispatcher] = yield* makeSession(deps, conn)
    yield* deps.publishStatus({ _tag: "Connecting", userId: conn.user.userId, connection: conn.id })
    const body = Effect.gen(function*() {
      const [ref, fiber] = yield* openSession(session, outcome)
      return yield* Effect.raceFirst(
        Effect.zipRight(setupSession(session, ref, fiber), controlLoop(session, ref)),
        watchdog(session)
      )
    })
    const reason = yield* Effect.flip(body)
    // drain: close the sockets, then dispatch what they delivered before the end
    yield* Effect.forEach(Array.from(session.sockets.values()), Fiber.interrupt, { discard: true })
    session.ingress.end()
    yield* Fiber.join(dispatcher)
    return yield* Effect.fail(reason)
  }))

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

/** the session is gone: its subscriptions are disabled, waiters wait for the next one */
const sessionLost = (conn: Conn) =>
  Effect.gen(function*() {
    conn.liveSessionId = undefined
    if (conn.sessionReady) {
      conn.session = yield* Deferred.make<SessionRef, EventSubError>()
      conn.sessionReady = false
    }
    conn.registry.clearIds()
  })

/**
 * The reconnect loop of one connection: a fresh session after each one lost, until the connection is closed
 * or has no subscriptions. Sessions that die before `stableMillis` do not reset the backoff.
 */
const reconnectLoop = (conn: Conn, deps: ReconnectDeps): Effect.Effect<void, never, Socket.WebSocketConstructor> =>
  Effect.gen(function*() {
    const userId = conn.user.userId
    const backoff = yield* Schedule.driver(deps.retrySchedule)
    let attempt = 0
    while (!conn.closed && conn.registry.size > 0) {
      const outcome: SessionOutcome = { welcomedAt: -1 }
      const reason = yield* Effect.flip(deps.runSession(conn, outcome))
      yield* sessionLost(conn)
      if (conn.closed || conn.registry.size === 0) break
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
      reason: conn.registry.size === 0 ? "no subscriptions" : "stopped"
    })
  })

/** @internal */
export interface Engine {
  readonly subscribe: <A>(
    userId: string,
    decoder: EventDecoder<A>,
    condition: Readonly<Record<string, unknown>>
  ) => Stream.Stream<A, EventSubError>
  readonly status: Stream.Stream<Status>
}

/** The engine's shared state: users, their connections, and what every session shares. */
interface EngineContext {
  readonly api: SubscriptionApi
  readonly options: EngineOptions
  readonly scope: Scope.Scope
  readonly socketContext: Context.Context<Socket.WebSocketConstructor>
  readonly users: Map<string, User>
  readonly statusHub: PubSub.PubSub<Status>
  readonly sessionDeps: SessionDeps
  readonly reconnectDeps: ReconnectDeps
  connCounter: number
  /** set first when the layer's scope closes: consumers released after that do not call Helix */
  shuttingDown: boolean
}

const makeContext = (
  api: SubscriptionApi,
  options: EngineOptions,
  undecodable: (event: Undecodable) => Effect.Effect<void>
) =>
  Effect.gen(function*() {
    const clock = yield* Effect.clock
    // status is a state signal: when a reader lags, older states are dropped for newer ones.
    const statusHub = yield* PubSub.sliding<Status>(256)
    const publishStatus = (status: Status) => PubSub.publish(statusHub, status)
    // when the user's schedule ends, attempts go on at the cap: only a revocation or the user ends a stream
    const retrySchedule = options.reconnectSchedule.pipe(Schedule.andThen(Schedule.spaced(options.maxRetryDelay)))
    const sessionDeps: SessionDeps = {
      api,
      warnings: new WarningGate(Duration.toMillis(options.warningInterval)),
      clock,
      retrySchedule,
      options,
      publishStatus,
      dedupe: new Dedupe(options.dedupeWindow),
      ageGuard: new AgeGuard(Duration.toMillis(options.maxMessageAge)),
      undecodable
    }
    const context: EngineContext = {
      api,
      options,
      scope: yield* Effect.scope,
      socketContext: yield* Effect.context<Socket.WebSocketConstructor>(),
      users: new Map(),
      statusHub,
      sessionDeps,
      reconnectDeps: {
        runSession: (conn, outcome) => runSession(sessionDeps, conn, outcome),
        publishStatus,
        retrySchedule,
        stableMillis: Duration.toMillis(options.stableAfter),
        clock
      },
      connCounter: 0,
      shuttingDown: false
    }
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        context.shuttingDown = true
      })
    )
    return context
  })

const getUser = (ctx: EngineContext, userId: string): User => {
  let user = ctx.users.get(userId)
  if (user === undefined) {
    user = { userId, lock: Effect.unsafeMakeSemaphore(1), entries: new Map(), conns: [], knownSessions: [] }
    ctx.users.set(userId, user)
  }
  return user
}

const newConn = (ctx: EngineContext, user: User): Effect.Effect<Conn> =>
  Effect.gen(function*() {
    const conn: Conn = {
      id: ++ctx.connCounter,
      user,
      registry: new Registry<Entry>((entry) => entry.generation !== conn.generation),
      session: yield* Deferred.make<SessionRef, EventSubError>(),
      sessionReady: false,
      liveSessionId: undefined,
      generation: 0,
      closed: false,
      fiber: undefined
    }
    user.conns.push(conn)
    const publishStatus = ctx.reconnectDeps.publishStatus
    // forked from an uninterruptible region (register): the connection itself must be interruptible
    conn.fiber = yield* reconnectLoop(conn, ctx.reconnectDeps).pipe(
      Effect.ensuring(connectionEnded(conn, publishStatus)),
      Effect.provide(ctx.socketContext),
      Effect.interruptible,
      Effect.forkIn(ctx.scope)
    )
    return conn
  })

/** The user's entry of this type + condition, or a new one on a connection with room (opened when needed). */
const findOrAddEntry = (
  ctx: EngineContext,
  user: User,
  decoder: EventDecoder<unknown>,
  condition: Readonly<Record<string, unknown>>
): Effect.Effect<Entry, EventSubError> =>
  Effect.gen(function*() {
    const existing = user.entries.get(stableKey(decoder.type, decoder.version, condition))
    if (existing !== undefined) return existing
    const { maxConnectionsPerUser: maxConns, maxSubscriptionsPerConnection: maxSubs } = ctx.options
    let conn = user.conns.find((c) => !c.closed && c.registry.size < maxSubs)
    if (conn === undefined) {
      if (user.conns.length >= maxConns) {
        return yield* new EventSubLimitExceeded({
          userId: user.userId,
          limit: "connections",
          description: `${maxConns} connections of ${maxSubs} subscriptions are in use`
        })
      }
      conn = yield* newConn(ctx, user)
    }
    const entry: Entry = { ...subscriptionFields(decoder, condition), conn, generation: -1 }
    conn.registry.add(entry)
    user.entries.set(entry.key, entry)
    return entry
  })

/** Registers a consumer (sharing the entry of the same type + condition) and returns its inbox. */
const register = (
  ctx: EngineContext,
  userId: string,
  decoder: EventDecoder<unknown>,
  condition: Readonly<Record<string, unknown>>
): Effect.Effect<readonly [Entry, Inbox<unknown, EventSubError>], EventSubError, Scope.Scope> => {
  const user = getUser(ctx, userId)
  return Effect.uninterruptible(
    user.lock.withPermits(1)(Effect.gen(function*() {
      const entry = yield* findOrAddEntry(ctx, user, decoder, condition)
      const inbox = yield* addConsumer(
        entry,
        ctx.options.consumerBuffer,
        release(ctx.api, () => ctx.shuttingDown, entry)
      )
      return [entry, inbox] as const
    }))
  )
}

/** @internal */
export const make = (
  api: SubscriptionApi,
  options: EngineOptions,
  undecodable: (event: Undecodable) => Effect.Effect<void>
): Effect.Effect<Engine, never, Socket.WebSocketConstructor | Scope.Scope> =>
  Effect.map(makeContext(api, options, undecodable), (ctx): Engine => ({
    subscribe: <A>(userId: string, decoder: EventDecoder<A>, condition: Readonly<Record<string, unknown>>) =>
      Stream.unwrapScoped(Effect.gen(function*() {
        const [entry, inbox] = yield* register(ctx, userId, decoder as EventDecoder<unknown>, condition)
        yield* waitCreated(api, entry)
        return inbox.stream as Stream.Stream<A, EventSubError>
      })),
    status: Stream.fromPubSub(ctx.statusHub)
  }))
