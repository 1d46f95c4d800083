// The EventSub dispatcher: what a transport routed (events per subscription, undecodable events,
// revocations, problems) waits in an `Ingress`; one dispatcher fiber per ingress takes everything
// routed since its last turn and offers each subscription's events, as one array, to the bounded
// inbox of each of its consumers (`eventsubInbox.ts`). A slow consumer makes the dispatcher wait
// (backpressure); the transport bounds the ingress (a WebSocket pauses reading, a webhook answers 503).
//
// Why per-consumer inboxes and not a `PubSub`: with the same consumer, a `PubSub` subscription read with
// `takeBetween` cost ~8 µs more per event at 60k events/s (delivered events survived young-generation
// GCs and were promoted); an inbox keeps plain arrays, and no literal V8 would pretenure.
import type * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type { Undecodable } from "../EventSub.js"
import type { EventSubError } from "../EventSubError.js"
import type { Subscription } from "./eventsubRegistry.js"
import { type Action, clip, type Problem } from "./eventsubRouter.js"

/**
 * Warnings from a hostile or broken peer come in floods (10,000 bad frames, 10,000 lines): per kind, the
 * first is logged, then at most one per interval, carrying the number suppressed since the last one.
 * Kinds are a small fixed set, so the map stays small.
 *
 * @internal
 */
export class WarningGate {
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

/** Logs a warning unless one of the same kind was logged less than the gate's interval ago. @internal */
export const warn = (
  warnings: WarningGate,
  clock: Clock.Clock,
  kind: string,
  message: string,
  annotations: Readonly<Record<string, unknown>>
): Effect.Effect<void> =>
  Effect.suspend(() => {
    const suppressed = warnings.admit(kind, clock.unsafeCurrentTimeMillis())
    if (suppressed < 0) return Effect.void
    return Effect.logWarning(
      suppressed === 0 ? message : `${message} (${suppressed} more like it since the last warning)`
    ).pipe(Effect.annotateLogs(annotations))
  })

/**
 * What a transport has routed and its dispatcher has not taken yet. The transport applies actions
 * synchronously; the dispatcher swaps the containers out and hands them on.
 *
 * @internal
 */
export class Ingress<S extends Subscription> {
  /**
   * Events per subscription. The maps and arrays are long-lived, emptied in place and reused turn after
   * turn (`takeBatches`, `recycle`): a fresh array per turn would be an allocation site V8 pretenures, and a
   * dead array in the old generation keeps the events it held alive until the next full GC.
   */
  batches = new Map<S, Array<unknown>>()
  private spareMap: Map<S, Array<unknown>> | undefined = new Map()
  private readonly spareBatches: Array<Array<unknown>> = []
  problems: Array<Problem> = []
  revoked: Array<readonly [S, EventSubError]> = []
  undecodable: Array<Undecodable> = []
  /** events and undecodable events not taken yet */
  pending = 0
  /** no more will come (the transport has stopped) */
  done = false
  /** resumes the dispatcher when it waits */
  private waiter: ((effect: Effect.Effect<void>) => void) | undefined = undefined
  get isEmpty(): boolean {
    return this.batches.size === 0 && this.problems.length === 0 && this.revoked.length === 0 &&
      this.undecodable.length === 0
  }
  /** Takes what an action asks the dispatcher to do; `Welcome`, `Reconnect` and `Ignore` are the transport's. */
  apply(action: Action<S>): void {
    switch (action._tag) {
      case "Deliver": {
        let batch = this.batches.get(action.entry)
        if (batch === undefined) {
          batch = this.spareBatches.pop() ?? []
          this.batches.set(action.entry, batch)
        }
        batch.push(action.event)
        this.pending++
        if (action.problem !== undefined) this.problems.push(action.problem)
        return
      }
      case "Undecodable":
        this.undecodable.push(action.undecodable)
        this.pending++
        return
      case "Revoke":
        this.revoked.push([action.entry, action.error])
        return
      case "Problem":
        this.problems.push(action.problem)
        return
    }
  }
  /** takes the batches routed so far; the dispatcher hands them back to `recycle` once delivered */
  takeBatches(): Map<S, Array<unknown>> {
    const taken = this.batches
    this.batches = this.spareMap ?? new Map()
    this.spareMap = undefined
    return taken
  }
  /** empties delivered batches in place, for reuse */
  recycle(taken: Map<S, Array<unknown>>): void {
    for (const events of taken.values()) {
      events.length = 0
      if (this.spareBatches.length < 16) this.spareBatches.push(events)
    }
    taken.clear()
    this.spareMap = taken
  }
  private wakeScheduled = false
  /**
   * Wakes the dispatcher once the I/O callbacks of this event-loop turn have run (`setImmediate`): the
   * webhook transport accepts one event per request, and this makes one dispatcher turn (one chunk per
   * stream) of every request answered in the same turn, not one each.
   */
  wakeSoon(): void {
    if (this.wakeScheduled) return
    this.wakeScheduled = true
    setImmediate(() => {
      this.wakeScheduled = false
      this.wake()
    })
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

/** What the dispatcher needs from its transport. @internal */
export interface DispatchDeps<S extends Subscription> {
  readonly warnings: WarningGate
  readonly clock: Clock.Clock
  /** log annotations of the transport (user and connection, or the webhook) */
  readonly annotations: Readonly<Record<string, unknown>>
  /** the ingress has room again (a paused socket may read on) */
  readonly resume: () => void
  /** ends a revoked entry: its streams fail with the error after what was offered before */
  readonly end: (entry: S, error: EventSubError) => Effect.Effect<void>
  /** counts an undecodable event and hands it to the `undecodable` streams */
  readonly undecodable: (event: Undecodable) => Effect.Effect<void>
}

const describeUndecodable = (event: Undecodable): string =>
  `EventSub: message ${clip(event.messageId)} (${event.type} v${event.version}) ${event.error}; ` +
  "delivered to the undecodable stream"

const nothing: ReadonlyArray<never> = []

/** One turn: hands on what was routed since the last one. */
const dispatchTurn = <S extends Subscription>(
  ingress: Ingress<S>,
  deps: DispatchDeps<S>
): Effect.Effect<void> =>
  Effect.gen(function*() {
    // an empty array stays the ingress's (no allocation): what is routed into it while this turn waits on a
    // full inbox is the next turn's, so this turn hands on `nothing` in its place
    let problems: ReadonlyArray<Problem> = nothing
    let revoked: ReadonlyArray<readonly [S, EventSubError]> = nothing
    let undecodable: ReadonlyArray<Undecodable> = nothing
    if (ingress.problems.length > 0) {
      problems = ingress.problems
      ingress.problems = []
    }
    if (ingress.revoked.length > 0) {
      revoked = ingress.revoked
      ingress.revoked = []
    }
    if (ingress.undecodable.length > 0) {
      undecodable = ingress.undecodable
      ingress.undecodable = []
    }
    const batches = ingress.takeBatches()
    ingress.pending = 0
    deps.resume()
    for (const problem of problems) {
      yield* warn(deps.warnings, deps.clock, problem.kind, `EventSub: ${problem.text}`, deps.annotations)
    }
    for (const [entry, events] of batches) {
      for (const inbox of entry.inboxes) yield* inbox.offerAll(events)
    }
    ingress.recycle(batches)
    for (const event of undecodable) {
      yield* warn(deps.warnings, deps.clock, "schema", describeUndecodable(event), deps.annotations)
      yield* deps.undecodable(event)
    }
    for (const [entry, error] of revoked) yield* deps.end(entry, error)
  })

/** The dispatcher: turns until the ingress is done and empty. @internal */
export const dispatch = <S extends Subscription>(ingress: Ingress<S>, deps: DispatchDeps<S>): Effect.Effect<void> =>
  Effect.gen(function*() {
    while (true) {
      yield* ingress.await
      const done = ingress.done
      yield* dispatchTurn(ingress, deps)
      if (done && ingress.isEmpty) return
    }
  })
