// Request timeouts for Helix, cheap enough for thousands of concurrent calls.
//
// `Effect.timeoutFail` races the request against a sleeping fiber: two forked fibers, a timer and an
// interruption per request, which costs more CPU than the rest of a Helix call together. Every Helix
// request has the same timeout, so deadlines are handed out in increasing order: one watchdog fiber
// per service sleeps (on the `Clock`, so `TestClock` drives it) until the oldest deadline and
// interrupts the requests still running by then. A request runs in one forked fiber, which is what
// makes it interruptible from the outside and lets the caller tell a timeout from its own interruption.
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import type * as Scope from "effect/Scope"

/** @internal */
export interface Timeouts {
  /** Runs `effect`; if it is still running after the timeout, interrupts it and fails with `onTimeout()`. */
  readonly run: <A, E, E2>(effect: Effect.Effect<A, E>, onTimeout: () => E2) => Effect.Effect<A, E | E2>
  /** Entries the queue holds (running, or finished and not dropped yet): what its memory is bounded by. */
  readonly held: () => number
}

interface Entry {
  readonly deadline: number
  /** `undefined` once the request finished (or was interrupted by the watchdog) */
  fiber: Fiber.RuntimeFiber<unknown, unknown> | undefined
  timedOut: boolean
}

/**
 * Requests still running or whose deadline has not passed yet; an entry is dropped at its deadline at
 * the latest, so the queue holds at most (requests per timeout period) small objects.
 */
const COMPACT_AT = 1024

/** @internal */
export const make = (timeout: Duration.DurationInput): Effect.Effect<Timeouts, never, Scope.Scope> =>
  Effect.gen(function*() {
    const millis = Math.max(0, Duration.toMillis(Duration.decode(timeout)))
    const clock = yield* Effect.clock
    const queue: Array<Entry> = []
    let head = 0
    /** completed when the queue stops being empty while the watchdog waits */
    let wake: Deferred.Deferred<void> | undefined

    const dropFinished = (): void => {
      while (head < queue.length && queue[head].fiber === undefined) head++
      if (head === queue.length) {
        queue.length = 0
        head = 0
      } else if (head >= COMPACT_AT && head * 2 >= queue.length) {
        queue.splice(0, head)
        head = 0
      }
    }

    const watchdog: Effect.Effect<void> = Effect.suspend(() => {
      dropFinished()
      if (head === queue.length) {
        const deferred = Deferred.unsafeMake<void>(FiberId.none)
        wake = deferred
        return Deferred.await(deferred)
      }
      const now = clock.unsafeCurrentTimeMillis()
      const entry = queue[head]
      if (entry.deadline > now) return Effect.sleep(Duration.millis(entry.deadline - now))
      while (head < queue.length && queue[head].deadline <= now) {
        const expired = queue[head]
        head++
        const fiber = expired.fiber
        if (fiber !== undefined) {
          expired.fiber = undefined
          expired.timedOut = true
          fiber.unsafeInterruptAsFork(FiberId.none)
        }
      }
      return Effect.void
    })
    yield* Effect.forkScoped(Effect.forever(watchdog))

    const run = <A, E, E2>(effect: Effect.Effect<A, E>, onTimeout: () => E2): Effect.Effect<A, E | E2> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(Effect.fork(restore(effect)), (fiber) => {
          const entry: Entry = { deadline: clock.unsafeCurrentTimeMillis() + millis, fiber, timedOut: false }
          queue.push(entry)
          if (wake !== undefined) {
            const deferred = wake
            wake = undefined
            Deferred.unsafeDone(deferred, Exit.void)
          }
          return restore(Fiber.await(fiber)).pipe(
            Effect.onInterrupt(() => {
              entry.fiber = undefined
              return Fiber.interrupt(fiber)
            }),
            Effect.flatMap((exit): Effect.Effect<A, E | E2> => {
              entry.fiber = undefined
              return entry.timedOut && Exit.isInterrupted(exit) ? Effect.fail(onTimeout()) : exit
            })
          )
        })
      )

    return { run, held: () => queue.length }
  })
