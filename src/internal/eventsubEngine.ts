/**
 * The EventSub WebSocket engine: connections per user, sessions, reconnects, dedupe and dispatch.
 *
 * Data path (one connection): the socket's handler is synchronous and only appends the frame text
 * to the connection's ingress mailbox. One dispatcher fiber per connection takes frames in batches,
 * parses and checks each envelope, drops duplicates and stale messages, decodes the event with the
 * subscription's schema and publishes the batch to that subscription's bounded `PubSub`; consumers
 * read from it. A slow consumer makes the dispatcher wait (backpressure); when the ingress holds
 * more than `ingressHighWater` frames the socket is paused (Node `ws`), so memory stays bounded.
 *
 * @internal
 */
import * as Socket from "@effect/platform/Socket"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import type * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { EventSubError } from "./eventsubErrors.js"
import { EventSubLimitExceeded, EventSubRevoked, EventSubSubscribeError } from "./eventsubErrors.js"

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

// ---------------------------------------------------------------------------------------------
// dedupe: a ring of the last N message ids with a Set for lookup (bounded, O(1), no timers)
// ---------------------------------------------------------------------------------------------

/** @internal */
export class Dedupe {
  private readonly ring: Array<string | undefined>
  private readonly seen = new Set<string>()
  private next = 0
  constructor(readonly capacity: number) {
    this.ring = new Array(capacity)
  }
  /** true when the id was seen before (and records it otherwise) */
  check(id: string): boolean {
    if (this.seen.has(id)) return true
    const evicted = this.ring[this.next]
    if (evicted !== undefined) this.seen.delete(evicted)
    this.ring[this.next] = id
    this.seen.add(id)
    this.next = (this.next + 1) % this.capacity
    return false
  }
}

/**
 * Stale-message guard without parsing every timestamp: RFC 3339 UTC timestamps (`…Z`) order as
 * strings, so each message's timestamp is compared with a threshold string recomputed at most once
 * a second. Other offsets fall back to `Date.parse`.
 */
class AgeGuard {
  private threshold = ""
  private computedAt = -Infinity
  constructor(readonly clock: Clock.Clock, readonly maxAgeMillis: number) {}
  isStale(timestamp: string): boolean {
    const now = this.clock.unsafeCurrentTimeMillis()
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

/** Ends a subscription's stream after everything published before it has been delivered. */
class End {
  constructor(readonly error: EventSubError) {}
}

interface Entry {
  readonly key: string
  readonly decoder: EventDecoder<unknown>
  readonly condition: Readonly<Record<string, unknown>>
  readonly pubsub: PubSub.PubSub<unknown>
  refCount: number
  twitchId: string | null
  conn: Conn
}

interface Conn {
  readonly id: number
  readonly user: User
  readonly entries: Set<Entry>
  readonly byTwitchId: Map<string, Entry>
  /** the current session id; replaced by a new Deferred whenever the session is lost */
  session: Deferred.Deferred<string>
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

const stableKey = (type: string, version: string, condition: Readonly<Record<string, unknown>>): string =>
  `${type}\u0000${version}\u0000${
    JSON.stringify(Object.keys(condition).sort().map((k) => [k, condition[k]]))
  }`

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null

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
export const make = (api: SubscriptionApi, options: EngineOptions) =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const clock = yield* Effect.clock
    const users = new Map<string, User>()
    const dedupe = new Dedupe(options.dedupeWindow)
    const ageGuard = new AgeGuard(clock, Duration.toMillis(options.maxMessageAge))
    // status is a state signal: when a consumer lags, older states are dropped for newer ones.
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

    const endEntry = (entry: Entry, error: EventSubError) =>
      Effect.suspend(() => {
        removeEntry(entry)
        return PubSub.publish(entry.pubsub, new End(error))
      })

    const removeEntry = (entry: Entry) => {
      entry.conn.entries.delete(entry)
      if (entry.twitchId !== null) entry.conn.byTwitchId.delete(entry.twitchId)
      entry.conn.user.entries.delete(entry.key)
    }

    // -- subscription creation on a session -------------------------------------------------

    const createOnSession = (entry: Entry, sessionId: string) =>
      api.create({
        userId: entry.conn.user.userId,
        type: entry.decoder.type,
        version: entry.decoder.version,
        condition: entry.condition,
        sessionId
      }).pipe(
        Effect.tap((created) =>
          Effect.sync(() => {
            entry.twitchId = created.id
            entry.conn.byTwitchId.set(created.id, entry)
          })
        )
      )

    // -- one socket ---------------------------------------------------------------------------

    const openSocket = (conn: Conn, url: string, ingress: Mailbox.Mailbox<string>, touch: () => void) =>
      Effect.gen(function*() {
        let raw: { pause?: () => void; resume?: () => void } | undefined
        const socket = yield* Socket.fromWebSocket(
          Effect.acquireRelease(
            Effect.map(Socket.WebSocketConstructor, (construct) => {
              const ws = construct(url)
              raw = ws as unknown as { pause?: () => void; resume?: () => void }
              return ws
            }),
            (ws) => Effect.sync(() => ws.close(1000))
          ),
          { openTimeout: options.openTimeout, closeCodeIsError: () => true }
        )
        let paused = false
        const pauseIfFull = () => {
          if (!paused && raw?.pause !== undefined) {
            const size = ingress.unsafeSize()
            if (Option.isSome(size) && size.value >= options.ingressHighWater) {
              paused = true
              raw.pause()
            }
          }
        }
        const resume = () => {
          if (paused) {
            paused = false
            raw?.resume?.()
          }
        }
        return {
          run: socket.runRaw((data) => {
            touch()
            ingress.unsafeOffer(typeof data === "string" ? data : new TextDecoder().decode(data))
            pauseIfFull()
          }),
          resume,
          isPaused: () => paused,
          connId: conn.id
        }
      })

    // -- one connection: sessions, handover, reconnect ---------------------------------------

    const runConnection = (conn: Conn): Effect.Effect<void, never, Socket.WebSocketConstructor> =>
      Effect.gen(function*() {
        const userId = conn.user.userId
        const backoff = yield* Schedule.driver(options.reconnectSchedule)
        let attempt = 0
        while (conn.entries.size > 0) {
          const session = { connected: false }
          const reason = yield* Effect.flip(runSession(conn, session))
          if (conn.entries.size === 0) break
          conn.session = yield* Deferred.make<string>()
          attempt = session.connected ? 1 : attempt + 1
          yield* publishStatus({ _tag: "Reconnecting", userId, connection: conn.id, reason, attempt })
          yield* Effect.logWarning(`EventSub connection lost (${reason}); reconnecting`).pipe(
            Effect.annotateLogs({ userId, connection: conn.id, attempt })
          )
          if (session.connected) {
            // it was up: try again at once, and start the backoff afresh
            yield* backoff.reset
          } else {
            const more = yield* Effect.either(backoff.next(undefined))
            if (Either.isLeft(more)) {
              yield* failAll(conn, `gave up reconnecting after ${attempt} attempts: ${reason}`)
              break
            }
          }
        }
        yield* publishStatus({ _tag: "Disconnected", userId, connection: conn.id, reason: "no subscriptions" })
      })

    const failAll = (conn: Conn, description: string) =>
      Effect.forEach(Array.from(conn.entries), (entry) =>
        endEntry(
          entry,
          new EventSubSubscribeError({
            userId: conn.user.userId,
            type: entry.decoder.type,
            version: entry.decoder.version,
            description
          })
        ), { discard: true })

    /** Runs one fresh session (and any number of reconnect handovers); fails with the reason it ended. */
    const runSession = (conn: Conn, session: { connected: boolean }) =>
      Effect.scoped(Effect.gen(function*() {
        const userId = conn.user.userId
        const ingress = yield* Mailbox.make<string>()
        const control = yield* Queue.bounded<Control>(8)
        let lastSeen = clock.unsafeCurrentTimeMillis()
        const touch = () => {
          lastSeen = clock.unsafeCurrentTimeMillis()
        }
        let keepaliveMillis = 10_000
        yield* publishStatus({ _tag: "Connecting", userId, connection: conn.id })

        const url = options.keepaliveTimeoutSeconds === undefined
          ? options.url
          : `${options.url}${options.url.includes("?") ? "&" : "?"}keepalive_timeout_seconds=${options.keepaliveTimeoutSeconds}`

        let current = yield* openSocket(conn, url, ingress, touch)
        let currentFiber = yield* Effect.forkScoped(current.run)

        // dispatcher: one fiber, batches
        yield* Effect.forkScoped(dispatch(conn, ingress, control, () => current.resume()))

        const awaitWelcome = (socketFiber: Fiber.RuntimeFiber<void, Socket.SocketError>) =>
          Effect.raceFirst(
            Queue.take(control).pipe(
              Effect.flatMap((msg) =>
                msg._tag === "Welcome" ? Effect.succeed(msg) : Effect.fail("reconnect before welcome")
              )
            ),
            Fiber.join(socketFiber).pipe(
              Effect.matchCauseEffect({
                onFailure: (cause) => Effect.fail(describeEnd(cause)),
                onSuccess: () => Effect.fail("socket closed before welcome")
              })
            )
          ).pipe(
            Effect.timeoutFail({ duration: options.welcomeTimeout, onTimeout: () => "no welcome in time" })
          )

        const welcome = yield* awaitWelcome(currentFiber)
        keepaliveMillis = welcome.keepaliveSeconds * 1000
        session.connected = true
        {
          // a fresh session holds no subscriptions (Twitch does not replay): create every one anew
          const failed = yield* Effect.forEach(
            Array.from(conn.entries),
            (entry) => Effect.either(createOnSession(entry, welcome.sessionId)).pipe(
              Effect.flatMap((r) => Either.isLeft(r) ? Effect.as(endEntry(entry, r.left), entry) : Effect.succeed(null))
            ),
            { concurrency: 10 }
          )
          if (failed.some((e) => e !== null)) {
            yield* Effect.logWarning("EventSub: some subscriptions could not be re-created").pipe(
              Effect.annotateLogs({ userId })
            )
          }
        }
        yield* Deferred.succeed(conn.session, welcome.sessionId)
        yield* publishStatus({ _tag: "Connected", userId, connection: conn.id, sessionId: welcome.sessionId })

        // keepalive watchdog: silence longer than the keepalive timeout (+ grace) means the connection is dead
        const graceMillis = Duration.toMillis(options.keepaliveGrace)
        const watchdog = Effect.gen(function*() {
          while (true) {
            const silentFor = clock.unsafeCurrentTimeMillis() - lastSeen
            const limit = keepaliveMillis + graceMillis
            if (silentFor > limit && !current.isPaused()) return yield* Effect.fail("keepalive timeout")
            yield* Effect.sleep(Duration.millis(Math.max(limit - silentFor, 100)))
          }
        })

        const loop: Effect.Effect<never, string, Socket.WebSocketConstructor | Scope.Scope> = Effect.gen(
          function*() {
            while (true) {
              const next = yield* Effect.raceFirst(
                Queue.take(control),
                Fiber.join(currentFiber).pipe(
                  Effect.matchCauseEffect({
                    onFailure: (cause) => Effect.fail(describeEnd(cause)),
                    onSuccess: () => Effect.fail("socket closed")
                  })
                )
              )
              if (next._tag === "Reconnect") {
                // open reconnect_url as given; the old socket keeps delivering until the new welcome
                const incoming = yield* openSocket(conn, next.url, ingress, touch)
                const incomingFiber = yield* Effect.forkScoped(incoming.run)
                const handed = yield* Effect.either(awaitWelcome(incomingFiber))
                if (Either.isLeft(handed)) {
                  yield* Fiber.interrupt(incomingFiber)
                  return yield* Effect.fail(`reconnect failed: ${handed.left}`)
                }
                keepaliveMillis = handed.right.keepaliveSeconds * 1000
                const old = currentFiber
                current = incoming
                currentFiber = incomingFiber
                yield* Fiber.interrupt(old)
                yield* publishStatus({
                  _tag: "Connected",
                  userId,
                  connection: conn.id,
                  sessionId: handed.right.sessionId
                })
              }
              // a Welcome outside a handover carries nothing new
            }
          }
        )
        return yield* Effect.raceFirst(loop, watchdog)
      }))

    const describeEnd = (cause: Cause.Cause<Socket.SocketError>): string => {
      const failure = Cause.failureOption(cause)
      if (Option.isSome(failure)) {
        const error = failure.value
        return error.reason === "Close" ? `closed with ${error.code}` : `socket ${error.reason.toLowerCase()} error`
      }
      return Cause.isInterruptedOnly(cause) ? "interrupted" : "socket defect"
    }

    // -- dispatch -----------------------------------------------------------------------------

    const dispatch = (
      conn: Conn,
      ingress: Mailbox.Mailbox<string>,
      control: Queue.Queue<Control>,
      resume: () => void
    ) =>
      Effect.gen(function*() {
        const batches = new Map<Entry, Array<unknown>>()
        const problems: Array<string> = []
        while (true) {
          const [frames] = yield* ingress.takeAll
          resume()
          for (const text of frames) {
            route(conn, text, batches, problems, control)
          }
          if (problems.length > 0) {
            for (const problem of problems) {
              yield* Effect.logWarning(`EventSub: skipped a frame: ${problem}`).pipe(
                Effect.annotateLogs({ userId: conn.user.userId, connection: conn.id })
              )
            }
            problems.length = 0
          }
          if (batches.size > 0) {
            for (const [entry, events] of batches) {
              if (events.length === 1) yield* PubSub.publish(entry.pubsub, events[0])
              else yield* PubSub.publishAll(entry.pubsub, events)
            }
            batches.clear()
          }
          for (const [entry, error] of revoked.splice(0)) {
            yield* endEntry(entry, error)
          }
        }
      })

    const revoked: Array<readonly [Entry, EventSubError]> = []

    const findEntry = (conn: Conn, subscription: Record<string, unknown>): Entry | undefined => {
      const id = subscription.id
      if (typeof id === "string") {
        const byId = conn.byTwitchId.get(id)
        if (byId !== undefined) return byId
      }
      // a notification may overtake the answer to the create request: match a pending entry
      for (const entry of conn.entries) {
        if (
          entry.twitchId === null && entry.decoder.type === subscription.type &&
          entry.decoder.version === subscription.version
        ) return entry
      }
      return undefined
    }

    const route = (
      conn: Conn,
      text: string,
      batches: Map<Entry, Array<unknown>>,
      problems: Array<string>,
      control: Queue.Queue<Control>
    ): void => {
      let frame: unknown
      try {
        frame = JSON.parse(text)
      } catch {
        problems.push(`not JSON (${text.length} bytes)`)
        return
      }
      if (!isRecord(frame) || !isRecord(frame.metadata) || !isRecord(frame.payload)) {
        problems.push("not an EventSub envelope")
        return
      }
      const metadata = frame.metadata
      const payload = frame.payload
      const messageId = metadata.message_id
      const messageType = metadata.message_type
      const timestamp = metadata.message_timestamp
      if (typeof messageId !== "string" || typeof messageType !== "string" || typeof timestamp !== "string") {
        problems.push("envelope metadata incomplete")
        return
      }
      switch (messageType) {
        case "notification": {
          if (dedupe.check(messageId)) return
          if (ageGuard.isStale(timestamp)) {
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
          const decoded = entry.decoder.decode(payload.event ?? payload.events, subscription)
          if (Either.isLeft(decoded)) {
            problems.push(`message ${messageId} (${entry.decoder.type}): ${decoded.left}`)
            return
          }
          const batch = batches.get(entry)
          if (batch === undefined) batches.set(entry, [decoded.right])
          else batch.push(decoded.right)
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
          revoked.push([
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

    const startConnection = (user: User) =>
      Effect.gen(function*() {
        const conn: Conn = {
          id: ++connCounter,
          user,
          entries: new Set(),
          byTwitchId: new Map(),
          session: yield* Deferred.make<string>(),
          fiber: undefined
        }
        user.conns.push(conn)
        return conn
      })

    const launch = (conn: Conn) =>
      Effect.gen(function*() {
        conn.fiber = yield* runConnection(conn).pipe(
          Effect.ensuring(Effect.sync(() => {
            const index = conn.user.conns.indexOf(conn)
            if (index >= 0) conn.user.conns.splice(index, 1)
          })),
          Effect.forkIn(scope)
        )
      })

    const acquire = <A>(
      userId: string,
      decoder: EventDecoder<A>,
      condition: Readonly<Record<string, unknown>>
    ): Effect.Effect<Queue.Dequeue<unknown>, EventSubError, Socket.WebSocketConstructor | Scope.Scope> =>
      Effect.gen(function*() {
        const user = getUser(userId)
        const key = stableKey(decoder.type, decoder.version, condition)
        return yield* user.lock.withPermits(1)(Effect.gen(function*() {
          const existing = user.entries.get(key)
          if (existing !== undefined) {
            existing.refCount++
            yield* Effect.addFinalizer(() => release(existing))
            return yield* PubSub.subscribe(existing.pubsub)
          }
          let conn = user.conns.find((c) => c.entries.size < options.maxSubscriptionsPerConnection)
          let isNew = false
          if (conn === undefined) {
            if (user.conns.length >= options.maxConnectionsPerUser) {
              return yield* new EventSubLimitExceeded({
                userId,
                limit: "connections",
                description:
                  `${options.maxConnectionsPerUser} connections of ${options.maxSubscriptionsPerConnection} subscriptions are in use`
              })
            }
            conn = yield* startConnection(user)
            isNew = true
          }
          const entry: Entry = {
            key,
            decoder: decoder as EventDecoder<unknown>,
            condition,
            pubsub: yield* PubSub.bounded<unknown>(options.consumerBuffer),
            refCount: 1,
            twitchId: null,
            conn
          }
          const dequeue = yield* PubSub.subscribe(entry.pubsub)
          conn.entries.add(entry)
          user.entries.set(key, entry)
          yield* Effect.addFinalizer(() => release(entry))
          if (isNew) yield* launch(conn)
          const sessionId = yield* Deferred.await(conn.session)
          yield* createOnSession(entry, sessionId).pipe(
            Effect.tapError(() => Effect.sync(() => removeEntry(entry)))
          )
          return dequeue
        }))
      })

    const release = (entry: Entry): Effect.Effect<void> =>
      entry.conn.user.lock.withPermits(1)(Effect.gen(function*() {
        entry.refCount--
        if (entry.refCount > 0) return
        const wasActive = entry.conn.user.entries.get(entry.key) === entry
        removeEntry(entry)
        if (wasActive && entry.twitchId !== null) {
          yield* api.delete(entry.conn.user.userId, entry.twitchId).pipe(
            Effect.catchAll((error) =>
              Effect.logWarning(`EventSub: could not delete subscription ${entry.twitchId}: ${error.message}`)
            )
          )
        }
        const conn = entry.conn
        if (conn.entries.size === 0 && conn.fiber !== undefined) {
          const fiber = conn.fiber
          conn.fiber = undefined
          yield* Fiber.interrupt(fiber)
          const index = conn.user.conns.indexOf(conn)
          if (index >= 0) conn.user.conns.splice(index, 1)
        }
      }))

    const fromDequeue = <A>(dequeue: Queue.Dequeue<unknown>): Stream.Stream<A, EventSubError> => {
      let ended: EventSubError | undefined
      return Stream.repeatEffectChunkOption(
        Effect.suspend(() => {
          if (ended !== undefined) return Effect.fail(Option.some(ended))
          return Effect.map(Queue.takeBetween(dequeue, 1, 4096), (chunk) => {
            const index = Chunk.findFirstIndex(chunk, (item) => item instanceof End)
            if (Option.isNone(index)) return chunk as Chunk.Chunk<A>
            ended = (Chunk.unsafeGet(chunk, index.value) as End).error
            return Chunk.take(chunk, index.value) as Chunk.Chunk<A>
          })
        })
      )
    }

    const socketContext = yield* Effect.context<Socket.WebSocketConstructor>()
    const engine: Engine = {
      subscribe: <A>(userId: string, decoder: EventDecoder<A>, condition: Readonly<Record<string, unknown>>) =>
        Stream.unwrapScoped(
          Effect.map(acquire(userId, decoder, condition), (dequeue) => fromDequeue<A>(dequeue))
        ).pipe(Stream.provideSomeContext(socketContext)),
      status: Stream.fromPubSub(statusHub)
    }
    yield* Effect.addFinalizer(() => Effect.sync(() => users.clear()))
    return engine
  })
