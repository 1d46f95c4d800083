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
import * as Socket from "@effect/platform/Socket"
import * as Cause from "effect/Cause"
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
import { Dedupe } from "./eventsubDedupe.js"

/** What the engine needs to create and delete subscriptions (Helix, as the given user). @internal */
export interface SubscriptionApi {
  readonly create: (request: {
    readonly userId: string
    readonly type: string
    readonly version: string
    readonly condition: Readonly<Record<string, unknown>>
    readonly sessionId: string
  }) => Effect.Effect<{ readonly id: string }, EventSubError>
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
  readonly reconnectSchedule: Schedule.Schedule<unknown, unknown>
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
}

type Control =
  | { readonly _tag: "Welcome"; readonly sessionId: string; readonly keepaliveSeconds: number }
  | { readonly _tag: "Reconnect"; readonly url: string }

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
  problems: Array<string> = []
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
    let connCounter = 0

    const publishStatus = (status: Status) => PubSub.publish(statusHub, status)

    const getUser = (userId: string): User => {
      let user = users.get(userId)
      if (user === undefined) {
        user = { userId, lock: Effect.unsafeMakeSemaphore(1), entries: new Map(), conns: [] }
        users.set(userId, user)
      }
      return user
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

    // -- creating subscriptions ---------------------------------------------------------------

    /** Creates the entry's Twitch subscription on the session unless it exists in that generation already. */
    const ensureCreated = (entry: Entry, ref: SessionRef): Effect.Effect<void, EventSubError> =>
      entry.lock.withPermits(1)(Effect.suspend(() => {
        if (entry.ended || entry.removed || entry.generation === ref.generation) return Effect.void
        return Effect.map(
          api.create({
            userId: entry.conn.user.userId,
            type: entry.decoder.type,
            version: entry.decoder.version,
            condition: entry.condition,
            sessionId: ref.sessionId
          }),
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
    const waitCreated = (entry: Entry): Effect.Effect<void, EventSubError> =>
      Effect.suspend(() => {
        if (entry.ended) return Effect.void // the consumer's mailbox is failed already
        const deferred = entry.conn.session
        return Deferred.await(deferred).pipe(
          Effect.flatMap((ref) => ensureCreated(entry, ref)),
          Effect.catchAll((error) =>
            entry.conn.session !== deferred && !entry.conn.closed ? waitCreated(entry) : Effect.fail(error)
          )
        )
      })

    // -- one socket ---------------------------------------------------------------------------

    const openSocket = (url: string, ingress: Ingress, onFrame: (text: string) => void) =>
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

    // -- one connection: sessions, handover, reconnect ---------------------------------------

    const runConnection = (conn: Conn): Effect.Effect<void, never, Socket.WebSocketConstructor> =>
      Effect.gen(function*() {
        const userId = conn.user.userId
        const backoff = yield* Schedule.driver(options.reconnectSchedule)
        let attempt = 0
        while (!conn.closed && conn.entries.size > 0) {
          const outcome = { generation: -1 }
          const reason = yield* Effect.flip(runSession(conn, outcome))
          // the session is gone: its subscriptions are disabled, waiters wait for the next one
          if (conn.sessionReady) {
            conn.session = yield* Deferred.make<SessionRef, EventSubError>()
            conn.sessionReady = false
          }
          conn.byTwitchId.clear()
          if (conn.closed || conn.entries.size === 0) break
          // healthy: welcomed, and a subscription was created on it (a 4003 "unused" session is not)
          let healthy = false
          for (const entry of conn.entries) {
            if (entry.generation === outcome.generation) healthy = true
          }
          attempt = healthy ? 1 : attempt + 1
          yield* publishStatus({ _tag: "Reconnecting", userId, connection: conn.id, reason, attempt })
          yield* Effect.logWarning(`EventSub connection lost (${reason}); reconnecting`).pipe(
            Effect.annotateLogs({ userId, connection: conn.id, attempt })
          )
          if (healthy) {
            // it was up: reconnect at once, and start the backoff afresh
            yield* backoff.reset
          } else {
            const more = yield* Effect.either(backoff.next(undefined))
            if (Either.isLeft(more)) {
              const description = `gave up reconnecting after ${attempt} attempts: ${reason}`
              markClosed(conn)
              yield* Deferred.fail(
                conn.session,
                new EventSubSubscribeError({ userId, operation: "connect", description })
              )
              yield* Effect.forEach(Array.from(conn.entries), (entry) =>
                endEntry(
                  entry,
                  new EventSubSubscribeError({
                    userId,
                    operation: "connect",
                    type: entry.decoder.type,
                    version: entry.decoder.version,
                    description
                  })
                ), { discard: true })
              break
            }
          }
        }
        // synchronously after the last check: no subscriber can join a connection that is ending
        markClosed(conn)
      }).pipe(
        Effect.ensuring(Effect.suspend(() => {
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
        }))
      )

    /**
     * Runs one fresh session (and any number of `session_reconnect` handovers); fails with the reason it
     * ended, after every frame received until then has been dispatched.
     */
    const runSession = (conn: Conn, outcome: { generation: number }) =>
      Effect.scoped(Effect.gen(function*() {
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
          route(conn, text, now, ingress, control)
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
            const handle = yield* openSocket(socketUrl, ingress, onFrame)
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

        const dispatcher = yield* Effect.forkScoped(dispatch(conn, ingress, () => {
          for (const socket of sockets) socket.resume()
        }))

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
          // a fresh session holds no subscriptions (Twitch does not replay): create every one anew,
          // unless the socket ends meanwhile (e.g. 4003 when creating takes too long)
          const createAll = Effect.forEach(
            Array.from(conn.entries),
            (entry) =>
              Effect.catchAll(
                ensureCreated(entry, ref),
                (error) =>
                  Effect.zipRight(
                    Effect.logWarning(`EventSub: could not re-create a subscription: ${error.message}`).pipe(
                      Effect.annotateLogs({ userId, connection: conn.id })
                    ),
                    endEntry(entry, error)
                  )
              ),
            { concurrency: 10, discard: true }
          )
          yield* Effect.raceFirst(createAll, socketEnded(currentFiber))
          yield* Deferred.succeed(conn.session, ref)
          conn.sessionReady = true
          yield* publishStatus({ _tag: "Connected", userId, connection: conn.id, sessionId: ref.sessionId })

          // keepalive watchdog: silence longer than the keepalive timeout (+ grace) means the connection is dead
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
          return yield* Effect.raceFirst(loop, watchdog)
        })

        const reason = yield* Effect.flip(body)
        // drain: close the sockets, then dispatch what they delivered before the end
        yield* Effect.forEach(Array.from(socketFibers), Fiber.interrupt, { discard: true })
        ingress.end()
        yield* Fiber.join(dispatcher)
        return yield* Effect.fail(reason)
      }))

    // -- dispatch -----------------------------------------------------------------------------

    const dispatch = (conn: Conn, ingress: Ingress, resume: () => void) =>
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
            for (const problem of problems) {
              yield* Effect.logWarning(`EventSub: skipped a frame: ${problem}`).pipe(
                Effect.annotateLogs({ userId: conn.user.userId, connection: conn.id })
              )
            }
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

    /** Routes one frame into the ingress (runs in the socket's message handler: synchronous, never throws). */
    const route = (conn: Conn, text: string, now: number, ingress: Ingress, control: Queue.Queue<Control>): void => {
      const problems = ingress.problems
      let frame: unknown
      try {
        frame = JSON.parse(text)
      } catch {
        problems.push(`not JSON (${text.length} characters)`)
        return
      }
      if (!isRecord(frame) || !isRecord(frame.metadata) || !isRecord(frame.payload)) {
        const id = isRecord(frame) && isRecord(frame.metadata) ? frame.metadata.message_id : undefined
        problems.push(`not an EventSub envelope${typeof id === "string" ? ` (message ${id})` : ""}`)
        return
      }
      const metadata = frame.metadata
      const payload = frame.payload
      const messageId = metadata.message_id
      const messageType = metadata.message_type
      const timestamp = metadata.message_timestamp
      if (typeof messageId !== "string" || typeof messageType !== "string" || typeof timestamp !== "string") {
        problems.push(`envelope metadata incomplete${typeof messageId === "string" ? ` (message ${messageId})` : ""}`)
        return
      }
      switch (messageType) {
        case "notification": {
          if (dedupe.check(messageId)) return
          if (ageGuard.isStale(timestamp, now)) {
            problems.push(`message ${messageId} older than the replay window (${timestamp})`)
            return
          }
          const subscription = payload.subscription
          if (!isRecord(subscription)) {
            problems.push(`message ${messageId}: no subscription`)
            return
          }
          const entry = findEntry(conn, subscription)
          if (entry === undefined) return // a subscription we no longer hold
          let decoded: Either.Either<unknown, string>
          try {
            decoded = entry.decoder.decode(payload.event ?? payload.events, subscription)
          } catch (defect) {
            decoded = Either.left(`decoder defect: ${String(defect)}`)
          }
          if (Either.isLeft(decoded)) {
            problems.push(`message ${messageId} (${entry.decoder.type} v${entry.decoder.version}): ${decoded.left}`)
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
            problems.push(`message ${messageId}: ${messageType} without a session`)
            return
          }
          if (messageType === "session_welcome") {
            const keepalive = typeof session.keepalive_timeout_seconds === "number"
              ? session.keepalive_timeout_seconds
              : 10
            Queue.unsafeOffer(control, { _tag: "Welcome", sessionId: session.id, keepaliveSeconds: keepalive })
          } else if (typeof session.reconnect_url === "string") {
            Queue.unsafeOffer(control, { _tag: "Reconnect", url: session.reconnect_url })
          } else {
            problems.push(`message ${messageId}: session_reconnect without reconnect_url`)
          }
          return
        }
        case "revocation": {
          if (dedupe.check(messageId)) return
          const subscription = payload.subscription
          if (!isRecord(subscription)) {
            problems.push(`message ${messageId}: revocation without subscription`)
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
              status: typeof subscription.status === "string" ? subscription.status : "unknown"
            })
          ])
          return
        }
        default:
          problems.push(`message ${messageId}: unknown message_type ${messageType}`)
      }
    }

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
              return Effect.zipRight(mailbox.shutdown, release(registered))
            })
          )
          return [entry, mailbox] as const
        }))
      )
    }

    /** A consumer is gone: the last one deletes the Twitch subscription, and closes an emptied connection. */
    const release = (entry: Entry): Effect.Effect<void> =>
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
        if (!entry.ended && !shuttingDown) {
          // waits for a creation in flight; a revoked subscription is gone already, and at shutdown the
          // connections close (which disables their subscriptions on Twitch's side)
          yield* entry.lock.withPermits(1)(Effect.suspend(() =>
            entry.twitchId === null ? Effect.void : api.delete(conn.user.userId, entry.twitchId).pipe(
              Effect.catchAll((error) =>
                Effect.logWarning(`EventSub: could not delete subscription ${entry.twitchId}: ${error.message}`)
              )
            )
          ))
        }
        if (toClose !== null && toClose.fiber !== undefined) yield* Fiber.interrupt(toClose.fiber)
      })

    // runs first when the layer's scope closes: consumers released after that do not call Helix
    let shuttingDown = false
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        shuttingDown = true
      })
    )

    const engine: Engine = {
      subscribe: <A>(userId: string, decoder: EventDecoder<A>, condition: Readonly<Record<string, unknown>>) =>
        Stream.unwrapScoped(Effect.gen(function*() {
          const [entry, mailbox] = yield* register(userId, decoder as EventDecoder<unknown>, condition)
          yield* waitCreated(entry)
          return Mailbox.toStream(mailbox as Mailbox.ReadonlyMailbox<A, EventSubError>)
        })),
      status: Stream.fromPubSub(statusHub)
    }
    return engine
  })
