// The EventSub conduit transport: subscriptions created once with the app token and the conduit transport
// (adopted when Twitch holds them already), and one WebSocket session per shard this process serves, assigned
// to its shard right after each welcome (Twitch closes an unassigned session after 10 s).
//
// Data path: every shard's socket handler is synchronous: it parses the frame, routes it (shared dedupe and
// registry) and applies the action to one shared ingress, read by one dispatcher fiber. Reading pauses when
// the ingress holds `ingressHighWater` events.
//
// Control path: one fiber per served shard (a `FiberMap` keyed by shard id): open, welcome, assign, serve
// `session_reconnect` handovers (the new session is assigned too), watch the keepalive; on any end, reopen
// after a backoff. `serve` changes the set of shards (a lease taken over or lost).
import * as Socket from "@effect/platform/Socket"
import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberMap from "effect/FiberMap"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { Status, Undecodable } from "../EventSub.js"
import type { EventSubError } from "../EventSubError.js"
import { type Adopting, endEntry, ensureCreated, routingOf } from "./eventsubAdopt.js"
import type { AppSubscription } from "./eventsubAppApi.js"
import type { Ingress, WarningGate } from "./eventsubDispatcher.js"
import { dispatch } from "./eventsubDispatcher.js"
import {
  addConsumer,
  type CreateFailure,
  type EventDecoder,
  type Registry,
  stableKey,
  type Subscription,
  subscriptionFields
} from "./eventsubRegistry.js"
import { type Action, parseFrame, route, type RouterState } from "./eventsubRouter.js"

/** What the transport needs from Helix (app token, this conduit). @internal */
export interface ConduitApi {
  readonly create: (request: {
    readonly type: string
    readonly version: string
    readonly condition: Readonly<Record<string, unknown>>
  }) => Effect.Effect<{ readonly id: string }, CreateFailure>
  /** the app's subscriptions of this type on the conduit, every page */
  readonly list: (type: string) => Effect.Effect<ReadonlyArray<AppSubscription>, EventSubError>
  /** assigns the session to the shard; fails with Twitch's reason (e.g. the session is not connected) */
  readonly assign: (shard: number, sessionId: string) => Effect.Effect<void, string>
}

/** @internal */
export interface ConduitEngineOptions {
  readonly url: string
  readonly keepaliveTimeoutSeconds: number | undefined
  readonly keepaliveGrace: Duration.Duration
  readonly openTimeout: Duration.Duration
  readonly welcomeTimeout: Duration.Duration
  /** delays between attempts to reopen a shard's session */
  readonly reconnectSchedule: Schedule.Schedule<unknown, unknown>
  /** retries of a create that failed transiently */
  readonly createSchedule: Schedule.Schedule<unknown, unknown>
  readonly warningInterval: Duration.Duration
  readonly dedupeWindow: number
  readonly maxMessageAge: Duration.Duration
  readonly consumerBuffer: number
  readonly ingressHighWater: number
  /** how long a shard no longer served keeps its session open (its new server assigns its own meanwhile) */
  readonly releaseGrace: Duration.Duration
}

/** @internal */
export interface ConduitEngine {
  readonly subscribe: <A>(
    decoder: EventDecoder<A>,
    condition: Readonly<Record<string, unknown>>
  ) => Stream.Stream<A, EventSubError>
  /** serves exactly these shards from now on (starting new ones, stopping the others) */
  readonly serve: (shards: ReadonlySet<number>) => Effect.Effect<void>
  /** reopens the shard's session if `sessionId` is the one it serves (Twitch disabled it) */
  readonly restart: (shard: number, sessionId: string | undefined) => Effect.Effect<void>
  /** the shards served now */
  readonly served: Effect.Effect<ReadonlySet<number>>
  /** the session each served shard is assigned to (shards between sessions are absent) */
  readonly sessions: Effect.Effect<ReadonlyMap<number, string>>
  readonly status: Stream.Stream<Status>
}

type Entry = Subscription
type Control = Extract<Action<Entry>, { readonly _tag: "Welcome" | "Reconnect" }>

const adopting: Adopting = { liveStatuses: new Set(["enabled"]), label: "EventSub conduit" }
const textDecoder = new TextDecoder()

interface Ctx {
  readonly api: ConduitApi
  readonly options: ConduitEngineOptions
  readonly clock: Clock.Clock
  readonly registry: Registry<Entry>
  readonly byKey: Map<string, Entry>
  readonly lock: Effect.Semaphore
  readonly ingress: Ingress<Entry>
  readonly router: RouterState<Entry>
  readonly warnings: WarningGate
  readonly statusHub: PubSub.PubSub<Status>
  /** sockets that may be paused (resumed when the dispatcher catches up) */
  readonly sockets: Set<SocketHandle>
  /** the session of each shard, once assigned */
  readonly assigned: Map<number, string>
}

interface SocketHandle {
  readonly run: Effect.Effect<void, Socket.SocketError>
  readonly resume: () => void
}

// ------------------------------------------------------------------------------------------------ subscriptions

/**
 * A consumer is gone: the last one leaves the registry. The Twitch subscription stays: peers on the same
 * conduit may consume it, and a restart adopts it.
 */
const release = (ctx: Ctx, entry: Entry): Effect.Effect<void> =>
  ctx.lock.withPermits(1)(Effect.sync(() => {
    entry.refCount--
    if (entry.refCount > 0) return
    entry.removed = true
    ctx.registry.delete(entry)
    if (ctx.byKey.get(entry.key) === entry) ctx.byKey.delete(entry.key)
  }))

const register = (ctx: Ctx, decoder: EventDecoder<unknown>, condition: Readonly<Record<string, unknown>>) =>
  Effect.uninterruptible(
    ctx.lock.withPermits(1)(Effect.gen(function*() {
      const key = stableKey(decoder.type, decoder.version, condition)
      let entry = ctx.byKey.get(key)
      if (entry === undefined) {
        entry = subscriptionFields(decoder, condition)
        ctx.registry.add(entry)
        ctx.byKey.set(key, entry)
      }
      const mailbox = yield* addConsumer(entry, ctx.options.consumerBuffer, release(ctx, entry))
      return [entry, mailbox] as const
    }))
  )

// ------------------------------------------------------------------------------------------------ shard sessions

/** One socket of a shard: frames routed into the shared ingress, welcomes and reconnects to `control`. */
const openSocket = (ctx: Ctx, url: string, control: Queue.Queue<Control>, seen: { at: number }) =>
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
      { openTimeout: ctx.options.openTimeout, closeCodeIsError: () => true }
    )
    let paused = false
    const handle: SocketHandle = {
      run: socket.runRaw((data) => {
        const now = ctx.clock.unsafeCurrentTimeMillis()
        seen.at = now
        const message = parseFrame(typeof data === "string" ? data : textDecoder.decode(data))
        if ("kind" in message) ctx.ingress.problems.push(message)
        else {
          ctx.router.now = now
          const action = route(message, ctx.router)
          if (action._tag === "Welcome" || action._tag === "Reconnect") Queue.unsafeOffer(control, action)
          else ctx.ingress.apply(action)
        }
        ctx.ingress.wake()
        if (!paused && ctx.ingress.pending >= ctx.options.ingressHighWater && raw?.pause !== undefined) {
          paused = true
          raw.pause()
        }
      }),
      resume: () => {
        if (paused) {
          paused = false
          raw?.resume?.()
        }
      }
    }
    ctx.sockets.add(handle)
    yield* Effect.addFinalizer(() => Effect.sync(() => ctx.sockets.delete(handle)))
    return handle
  })

const describeEnd = (cause: Cause.Cause<Socket.SocketError>): string => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) {
    const error = failure.value
    return error.reason === "Close" ? `closed with ${error.code}` : `socket ${error.reason} error`
  }
  return Cause.isInterruptedOnly(cause) ? "interrupted" : "socket defect"
}

const ended = (fiber: Fiber.RuntimeFiber<void, Socket.SocketError>): Effect.Effect<never, string> =>
  Fiber.join(fiber).pipe(
    Effect.matchCauseEffect({
      onFailure: (cause) => Effect.fail(describeEnd(cause)),
      onSuccess: () => Effect.fail("socket closed")
    })
  )

/** A socket, its reader fiber (in the session's scope) and its welcome. */
const connect = (ctx: Ctx, url: string, seen: { at: number }) =>
  Effect.gen(function*() {
    const control = yield* Queue.sliding<Control>(8)
    const handle = yield* openSocket(ctx, url, control, seen)
    const fiber = yield* Effect.forkScoped(handle.run)
    const welcome = yield* Effect.raceFirst(
      Effect.flatMap(
        Queue.take(control),
        (msg) => msg._tag === "Welcome" ? Effect.succeed(msg) : Effect.fail("reconnect before welcome")
      ),
      ended(fiber)
    ).pipe(Effect.timeoutFail({ duration: ctx.options.welcomeTimeout, onTimeout: () => "no welcome in time" }))
    return { control, fiber, welcome, handle }
  })

const connectUrl = (options: ConduitEngineOptions): string =>
  options.keepaliveTimeoutSeconds === undefined
    ? options.url
    : `${options.url}${
      options.url.includes("?") ? "&" : "?"
    }keepalive_timeout_seconds=${options.keepaliveTimeoutSeconds}`

/** Assigns the session to the shard, retrying briefly (Twitch gives 10 s from the welcome). */
const assign = (ctx: Ctx, shard: number, sessionId: string) =>
  ctx.api.assign(shard, sessionId).pipe(
    Effect.retry(Schedule.spaced("500 millis").pipe(Schedule.intersect(Schedule.recurs(10)))),
    Effect.mapError((reason) => `assigning shard ${shard} failed: ${reason}`),
    Effect.tap(() =>
      Effect.sync(() => {
        ctx.assigned.set(shard, sessionId)
      })
    )
  )

const watchdog = (ctx: Ctx, seen: { at: number }, keepalive: { ms: number }): Effect.Effect<never, string> =>
  Effect.gen(function*() {
    const grace = Duration.toMillis(ctx.options.keepaliveGrace)
    while (true) {
      const silent = ctx.clock.unsafeCurrentTimeMillis() - seen.at
      const limit = keepalive.ms + grace
      if (silent > limit && ctx.ingress.pending < ctx.options.ingressHighWater) {
        return yield* Effect.fail("keepalive timeout")
      }
      yield* Effect.sleep(Duration.millis(Math.max(limit - silent + 1, 100)))
    }
  })

/** One session of the shard and its handovers; fails with the reason it ended. */
const runSession = (ctx: Ctx, shard: number) =>
  Effect.scoped(Effect.gen(function*() {
    const publish = (status: Status) => PubSub.publish(ctx.statusHub, status)
    yield* publish({ _tag: "Connecting", userId: "conduit", connection: shard })
    const seen = { at: ctx.clock.unsafeCurrentTimeMillis() }
    let current = yield* Effect.mapError(connect(ctx, connectUrl(ctx.options), seen), String)
    const keepalive = { ms: current.welcome.keepaliveSeconds * 1000 }
    yield* assign(ctx, shard, current.welcome.sessionId)
    yield* publish({ _tag: "Connected", userId: "conduit", connection: shard, sessionId: current.welcome.sessionId })
    const serve = Effect.gen(function*() {
      while (true) {
        const next = yield* Effect.raceFirst(Queue.take(current.control), ended(current.fiber))
        if (next._tag !== "Reconnect") continue
        // the old socket delivers until the new welcome; interrupting its reader closes it
        const incoming = yield* Effect.mapError(connect(ctx, next.url, seen), (e) => `reconnect failed: ${e}`)
        current.handle.resume()
        ctx.sockets.delete(current.handle)
        yield* Fiber.interrupt(current.fiber)
        current = incoming
        keepalive.ms = incoming.welcome.keepaliveSeconds * 1000
        // Twitch carries the shard over to the new session; assigning again makes sure of it
        yield* assign(ctx, shard, incoming.welcome.sessionId)
        yield* publish({
          _tag: "Connected",
          userId: "conduit",
          connection: shard,
          sessionId: incoming.welcome.sessionId
        })
      }
    })
    return yield* Effect.raceFirst(serve, watchdog(ctx, seen, keepalive))
  }))

/** The shard's loop: a session after each one lost, with backoff for sessions that end early. */
const runShard = (ctx: Ctx, shard: number): Effect.Effect<never, never, Socket.WebSocketConstructor> =>
  Effect.gen(function*() {
    const backoff = yield* Schedule.driver(
      ctx.options.reconnectSchedule.pipe(Schedule.andThen(Schedule.spaced("30 seconds")))
    )
    let attempt = 0
    while (true) {
      const started = ctx.clock.unsafeCurrentTimeMillis()
      const reason = yield* Effect.flip(runSession(ctx, shard))
      ctx.assigned.delete(shard)
      const stable = ctx.clock.unsafeCurrentTimeMillis() - started > 60_000
      attempt = stable ? 1 : attempt + 1
      yield* PubSub.publish(ctx.statusHub, {
        _tag: "Reconnecting",
        userId: "conduit",
        connection: shard,
        reason,
        attempt
      })
      yield* Effect.logWarning(`EventSub conduit shard ${shard}: session lost (${reason}); reconnecting`)
      if (stable) yield* backoff.reset
      if (attempt > 1) yield* Effect.ignore(backoff.next(undefined))
    }
  }).pipe(Effect.ensuring(Effect.sync(() => ctx.assigned.delete(shard))))

// ------------------------------------------------------------------------------------------------ make

/** @internal */
export const make = (
  api: ConduitApi,
  options: ConduitEngineOptions,
  undecodable: (event: Undecodable) => Effect.Effect<void>
): Effect.Effect<ConduitEngine, never, Socket.WebSocketConstructor | Scope.Scope> =>
  Effect.gen(function*() {
    const ctx: Ctx = {
      api,
      options,
      clock: yield* Effect.clock,
      ...routingOf<Entry>(options),
      lock: yield* Effect.makeSemaphore(1),
      statusHub: yield* Effect.acquireRelease(PubSub.sliding<Status>(256), PubSub.shutdown),
      sockets: new Set(),
      assigned: new Map()
    }
    yield* Effect.forkScoped(dispatch(ctx.ingress, {
      warnings: ctx.warnings,
      clock: ctx.clock,
      annotations: { transport: "conduit" },
      resume: () => {
        for (const socket of ctx.sockets) socket.resume()
      },
      end: (entry, error) => endEntry(ctx, entry, error),
      undecodable
    }))
    const shards = yield* FiberMap.make<number>()
    const served = new Set<number>()
    const sockets = yield* Effect.context<Socket.WebSocketConstructor>()
    const start = (shard: number) => FiberMap.run(shards, shard, Effect.provide(runShard(ctx, shard), sockets))
    const scope = yield* Effect.scope
    const stop = (shard: number) =>
      Effect.zipRight(
        FiberMap.remove(shards, shard),
        PubSub.publish(ctx.statusHub, {
          _tag: "Disconnected",
          userId: "conduit",
          connection: shard,
          reason: "no longer served"
        })
      )
    return {
      subscribe: <A>(decoder: EventDecoder<A>, condition: Readonly<Record<string, unknown>>) =>
        Stream.unwrapScoped(Effect.gen(function*() {
          const [entry, inbox] = yield* register(ctx, decoder as EventDecoder<unknown>, condition)
          yield* Effect.tapError(ensureCreated(ctx, adopting, entry), (error) => endEntry(ctx, entry, error))
          return inbox.stream as Stream.Stream<A, EventSubError>
        })),
      serve: (wanted) =>
        Effect.gen(function*() {
          for (const shard of [...served]) {
            if (wanted.has(shard)) continue
            served.delete(shard)
            // the session stays open a while: the shard's new server assigns its own session first, so
            // Twitch never sees the shard disabled (closing a session no longer assigned disables nothing)
            yield* Effect.forkIn(
              Effect.delay(
                Effect.suspend(() => served.has(shard) ? Effect.void : stop(shard)),
                options.releaseGrace
              ),
              scope
            )
          }
          for (const shard of wanted) {
            if (served.has(shard)) continue
            served.add(shard)
            // a fresh session (one still open from before may have been replaced at Twitch meanwhile)
            yield* start(shard)
          }
        }),
      restart: (shard, sessionId) =>
        Effect.suspend(() =>
          served.has(shard) && (sessionId === undefined || ctx.assigned.get(shard) === sessionId)
            ? Effect.zipRight(
              Effect.logWarning(`EventSub conduit shard ${shard}: disabled by Twitch; reconnecting`),
              Effect.asVoid(start(shard))
            )
            : Effect.void
        ),
      served: Effect.sync(() => new Set(served) as ReadonlySet<number>),
      sessions: Effect.sync(() => new Map(ctx.assigned) as ReadonlyMap<number, string>),
      status: Stream.fromPubSub(ctx.statusHub)
    }
  })
