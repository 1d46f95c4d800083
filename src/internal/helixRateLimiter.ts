// Client-side model of Twitch's Helix token bucket, one per token (user id or "app").
//
// Every answer carries `Ratelimit-Limit` (capacity), `Ratelimit-Remaining` (points left after the
// request) and `Ratelimit-Reset` (epoch seconds when the bucket is full again). Points refill
// continuously, so instead of waiting for the reset and sending the next batch, the limiter keeps an
// estimate of the bucket level that:
//
// - counts requests in flight (a request is charged when it is released, not when it is answered);
// - refills at an estimated rate: a lower bound from the headers (`(limit - remaining)` points are
//   refilled by the reset), refined by measuring how fast `remaining + requests processed` grows while
//   the bucket is not full;
// - is re-synchronised on every answer with what the server said (minus the requests sent after the
//   answered one, which the server had not seen yet);
// - releases queued requests one by one as the estimate reaches one point (a timer per bucket).
//
// Before the first answer of a bucket only one request is in flight (a probe that tells the capacity);
// a server that sends no `Ratelimit-*` headers is not limited (only the concurrency cap applies).
//
// Resets are read on the server's clock and never trusted beyond Twitch's refill window (see
// `helixRateLimitHeaders.ts`), and a caller whose bucket released nothing for the stall timeout (the
// request timeout) leaves the queue with a `QueueTimeout`: a long queue that moves at the refill rate
// is served, a stuck one fails.
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import { makeReader, type RateLimitHeaders, WINDOW } from "./helixRateLimitHeaders.js"

/** @internal */
export interface Permit {
  readonly key: string
  readonly seq: number
  readonly sentAt: number
  /** a point was taken from the bucket's estimate for it */
  readonly charged: boolean
}

/** What the limiter learnt from one answer. */
/** @internal */
export type Outcome =
  | { readonly _tag: "Headers"; readonly headers: RateLimitHeaders }
  | { readonly _tag: "NoHeaders" }
  | { readonly _tag: "NoResponse" }

/**
 * A caller waited the stall timeout in a bucket's queue while the bucket released nothing.
 *
 * @internal
 */
export interface QueueTimeout {
  readonly _tag: "QueueTimeout"
}
const QUEUE_TIMEOUT: QueueTimeout = { _tag: "QueueTimeout" }

/** @internal */
export interface RateLimiter {
  /** Waits until the bucket of `key` has a point for one more request (interruptible). */
  readonly acquire: (key: string) => Effect.Effect<Permit, QueueTimeout>
  /** Reads an answer's `Ratelimit-*` headers on the local clock (learning the server's clock from `Date`). */
  readonly read: (headers: Readonly<Record<string, string | undefined>>) => RateLimitHeaders | undefined
  /** Marks the request done and feeds what its answer said into the bucket. */
  readonly release: (permit: Permit, outcome: Outcome) => Effect.Effect<void>
  /** The permit was not used (nothing was sent): gives its point back. */
  readonly cancel: (permit: Permit) => Effect.Effect<void>
  /** Snapshot for tests and diagnostics. */
  readonly snapshot: (key: string) => Effect.Effect<Option.Option<BucketSnapshot>>
}

/** @internal */
export interface BucketSnapshot {
  readonly mode: Mode
  readonly limit: number
  readonly level: number
  /** points per second */
  readonly rate: number
  readonly inFlight: number
  readonly waiting: number
}

type Mode = "Unknown" | "Known" | "Unlimited"

interface Waiter {
  readonly deferred: Deferred.Deferred<Permit, QueueTimeout>
  /** when it joined the queue */
  readonly since: number
  permit: Permit | undefined
  /** interrupted or timed out: skipped */
  cancelled: boolean
}

interface Bucket {
  readonly key: string
  mode: Mode
  limit: number
  /** estimated points available at `at` (net of every request released so far) */
  level: number
  at: number
  /** points per millisecond; 0 = unknown */
  rate: number
  /** best lower bound of the rate seen in the headers (points per millisecond) */
  headerRate: number
  /** rate measured over the current window (points per millisecond); 0 = not yet */
  measuredRate: number
  resetAt: number
  seq: number
  lastAppliedSeq: number
  readonly inFlight: Set<number>
  readonly waiters: Array<Waiter>
  head: number
  /** first sample of the current measurement window: time and remaining + processed */
  anchor: { readonly at: number; readonly q: number } | undefined
  timerAt: number | undefined
  /** when the bucket last released a request */
  progressAt: number
  /** when the pending stall check fires */
  stallAt: number | undefined
}

/** Measured rates are used only over a window at least this long (ms). */
const MIN_WINDOW = 1000
/** Allowance for the answer's transit time when measuring the rate (ms). */
const JITTER = 10
/** Margin against a slightly optimistic rate estimate. */
const SAFETY = 0.99
/**
 * Shortest timer (ms). A timer costs a fiber; waking a little later than the next point releases the
 * points gathered meanwhile together, so the average rate does not change.
 */
const MIN_TIMER = 10

const newBucket = (key: string): Bucket => ({
  key,
  mode: "Unknown",
  limit: 0,
  level: 0,
  at: 0,
  rate: 0,
  headerRate: 0,
  measuredRate: 0,
  resetAt: 0,
  seq: 0,
  lastAppliedSeq: 0,
  inFlight: new Set(),
  waiters: [],
  head: 0,
  anchor: undefined,
  timerAt: undefined,
  progressAt: 0,
  stallAt: undefined
})

const advance = (bucket: Bucket, now: number): void => {
  if (bucket.mode !== "Known") return
  if (now > bucket.at) {
    if (bucket.rate > 0) {
      bucket.level = Math.min(bucket.limit, bucket.level + bucket.rate * (now - bucket.at))
    } else if (now >= bucket.resetAt) {
      // no rate known: the bucket is full at the reset, less what is still in flight
      bucket.level = Math.max(bucket.level, bucket.limit - bucket.inFlight.size)
    }
    bucket.at = now
  }
}

const canSend = (bucket: Bucket): boolean => {
  switch (bucket.mode) {
    case "Unlimited":
      return true
    case "Unknown":
      return bucket.inFlight.size === 0
    case "Known":
      return bucket.level >= 1 - 1e-9
  }
}

/** When the next point will be there (epoch millis), if the limiter can tell. */
const nextPointAt = (bucket: Bucket): number | undefined => {
  if (bucket.mode !== "Known") return undefined
  if (bucket.rate > 0) return bucket.at + (1 - bucket.level) / bucket.rate
  return bucket.resetAt > bucket.at ? bucket.resetAt : undefined
}

/**
 * `maxConcurrency` caps the requests in flight over all buckets. It lives here rather than in a
 * `Semaphore` because a semaphore wakes every waiter on each release: with thousands of queued
 * callers that is quadratic. `stallTimeout` (ms) is how long a caller waits in a queue that does not move.
 *
 * @internal
 */
export const make = (maxConcurrency: number, stallTimeout: number): Effect.Effect<RateLimiter, never, Scope.Scope> =>
  Effect.gen(function*() {
    const buckets = new Map<string, Bucket>()
    let active = 0
    const readHeaders = makeReader()
    /** when an implausible header was last logged */
    let warnedAt = -Infinity
    const scope = yield* Effect.scope
    // read synchronously on every acquire and release; the layer is built under the callers' clock
    // (the TestClock in tests)
    const clock = yield* Effect.clock

    const bucketFor = (key: string): Bucket => {
      let bucket = buckets.get(key)
      if (bucket === undefined) {
        bucket = newBucket(key)
        buckets.set(key, bucket)
      }
      return bucket
    }

    const grant = (bucket: Bucket, now: number): Permit => {
      active += 1
      bucket.progressAt = now
      bucket.seq += 1
      bucket.inFlight.add(bucket.seq)
      const charged = bucket.mode === "Known"
      if (charged) bucket.level -= 1
      return { key: bucket.key, seq: bucket.seq, sentAt: now, charged }
    }

    /** A permit that was granted but not used: the point goes back, the slot is free again. */
    const giveBack = (permit: Permit): Effect.Effect<void> => {
      const bucket = buckets.get(permit.key)
      if (bucket === undefined || !bucket.inFlight.delete(permit.seq)) return Effect.void
      active -= 1
      if (permit.charged && bucket.mode === "Known") bucket.level = Math.min(bucket.limit, bucket.level + 1)
      return pumpAll(bucket, clock.unsafeCurrentTimeMillis())
    }

    /** Releases as many waiters as the bucket allows; returns when a timer must fire, if one must be armed. */
    const pump = (bucket: Bucket, now: number): number | undefined => {
      advance(bucket, now)
      while (bucket.head < bucket.waiters.length) {
        const waiter = bucket.waiters[bucket.head]
        if (waiter.cancelled) {
          bucket.head += 1
          continue
        }
        if (active >= maxConcurrency || !canSend(bucket)) break
        bucket.head += 1
        waiter.permit = grant(bucket, now)
        Deferred.unsafeDone(waiter.deferred, Effect.succeed(waiter.permit))
      }
      if (bucket.head === bucket.waiters.length) {
        bucket.waiters.length = 0
        bucket.head = 0
        return undefined
      } else if (bucket.head > 1024 && bucket.head * 2 > bucket.waiters.length) {
        bucket.waiters.splice(0, bucket.head)
        bucket.head = 0
      }
      // blocked by the concurrency cap, not by the bucket: the next release pumps again
      if (active >= maxConcurrency) return undefined
      const wakeAt = nextPointAt(bucket)
      if (wakeAt === undefined || wakeAt <= now) return undefined
      const fireAt = Math.max(now + MIN_TIMER, Math.ceil(wakeAt))
      // One timer per bucket: a pending one that fires by then (even one running late) will do. `timerAt`
      // is when the timer was set to fire, so a release arriving between the point and the (late) timer
      // does not arm one more.
      if (bucket.timerAt !== undefined && bucket.timerAt <= fireAt) return undefined
      bucket.timerAt = fireAt
      return fireAt
    }

    const pumpAndArm = (bucket: Bucket, now: number): Effect.Effect<void> => {
      const wakeAt = pump(bucket, now)
      return wakeAt === undefined ? Effect.void : arm(bucket, wakeAt, now)
    }

    /** A slot was freed: this bucket first, then any other bucket with waiters (few: one per token). */
    const pumpAll = (first: Bucket, now: number): Effect.Effect<void> => {
      let arms = pumpAndArm(first, now)
      if (buckets.size > 1) {
        for (const bucket of buckets.values()) {
          if (bucket !== first && bucket.head < bucket.waiters.length) {
            const other = pumpAndArm(bucket, now)
            if (other !== Effect.void) arms = arms === Effect.void ? other : Effect.zipRight(arms, other)
          }
        }
      }
      return arms
    }

    const arm = (bucket: Bucket, fireAt: number, now: number): Effect.Effect<void> =>
      Effect.sleep(Duration.millis(fireAt - now)).pipe(
        Effect.zipRight(Effect.suspend(() => {
          if (bucket.timerAt === fireAt) bucket.timerAt = undefined
          return pumpAndArm(bucket, clock.unsafeCurrentTimeMillis())
        })),
        Effect.forkIn(scope),
        Effect.asVoid
      )

    const acquire = (key: string): Effect.Effect<Permit, QueueTimeout> =>
      Effect.suspend(() => {
        const now = clock.unsafeCurrentTimeMillis()
        const bucket = bucketFor(key)
        advance(bucket, now)
        if (bucket.head === bucket.waiters.length && active < maxConcurrency && canSend(bucket)) {
          return Effect.succeed(grant(bucket, now))
        }
        const waiter: Waiter = {
          deferred: Deferred.unsafeMake<Permit, QueueTimeout>(FiberId.none),
          since: now,
          permit: undefined,
          cancelled: false
        }
        bucket.waiters.push(waiter)
        const wakeAt = pump(bucket, now)
        const stall = waiter.permit === undefined
          ? armStall(bucket, Math.max(now, bucket.progressAt) + stallTimeout, now)
          : Effect.void
        return Effect.zipRight(
          wakeAt === undefined ? stall : Effect.zipRight(arm(bucket, wakeAt, now), stall),
          Deferred.await(waiter.deferred).pipe(
            Effect.onInterrupt(() =>
              Effect.suspend(() => {
                waiter.cancelled = true
                // released but never sent: give the point back
                return waiter.permit !== undefined ? giveBack(waiter.permit) : Effect.void
              })
            )
          )
        )
      })

    /** Fails the waiters that waited `stallTimeout` with nothing released from the bucket; arms the next check. */
    const checkStalled = (bucket: Bucket, now: number): Effect.Effect<void> => {
      bucket.stallAt = undefined
      // deadlines grow along the queue: each is the later of its arrival and the bucket's last release
      for (let i = bucket.head; i < bucket.waiters.length; i++) {
        const waiter = bucket.waiters[i]
        if (waiter.cancelled) continue
        const deadline = Math.max(waiter.since, bucket.progressAt) + stallTimeout
        if (deadline > now) return armStall(bucket, deadline, now)
        waiter.cancelled = true
        Deferred.unsafeDone(waiter.deferred, Effect.fail(QUEUE_TIMEOUT))
      }
      return Effect.void
    }

    /** One stall check per bucket: a pending one that fires by then re-arms itself for the next deadline. */
    const armStall = (bucket: Bucket, fireAt: number, now: number): Effect.Effect<void> => {
      if (bucket.stallAt !== undefined && bucket.stallAt <= fireAt) return Effect.void
      bucket.stallAt = fireAt
      return Effect.sleep(Duration.millis(Math.max(0, fireAt - now))).pipe(
        Effect.zipRight(
          Effect.suspend(() =>
            bucket.stallAt === fireAt ? checkStalled(bucket, clock.unsafeCurrentTimeMillis()) : Effect.void
          )
        ),
        Effect.forkIn(scope),
        Effect.asVoid
      )
    }

    const observe = (bucket: Bucket, permit: Permit, headers: RateLimitHeaders, now: number): void => {
      const first = bucket.mode !== "Known" || headers.limit !== bucket.limit
      if (first) {
        // first answer, or the capacity changed: start over from what the server says
        bucket.mode = "Known"
        bucket.limit = headers.limit
        bucket.rate = 0
        bucket.headerRate = 0
        bucket.measuredRate = 0
        bucket.anchor = undefined
        bucket.level = 0
        bucket.at = now
      }
      advance(bucket, now)
      bucket.resetAt = headers.resetAt
      // Lower bound of the rate from the reset: (limit - remaining) points are back by the reset, which
      // is rounded to a whole second (either way, hence the extra second).
      if (headers.remaining < headers.limit && headers.resetAt > now) {
        const bound = (headers.limit - headers.remaining) / (headers.resetAt + 1000 - now)
        if (bound > bucket.headerRate) bucket.headerRate = bound
      }
      // Measured rate: remaining + requests processed grows at the refill rate while the bucket is not full.
      if (permit.seq >= bucket.lastAppliedSeq) {
        // processed so far: this request and those before it, less those still in flight
        let inFlightBefore = 0
        for (const seq of bucket.inFlight) if (seq < permit.seq) inFlightBefore += 1
        const q = headers.remaining + permit.seq - inFlightBefore
        if (headers.remaining >= headers.limit - 1) {
          bucket.anchor = undefined
        } else if (bucket.anchor === undefined) {
          bucket.anchor = { at: now, q }
        } else {
          const window = now - bucket.anchor.at
          const gained = q - bucket.anchor.q
          if (window >= MIN_WINDOW && gained >= 10) {
            bucket.measuredRate = (gained - 1) / (window + JITTER)
          }
        }
      }
      bucket.rate = Math.max(bucket.headerRate, bucket.measuredRate) * SAFETY
      // Re-synchronise with the server: it had not yet seen the requests sent after this one, nor
      // (most likely) those still in flight.
      if (permit.seq >= bucket.lastAppliedSeq) {
        let inFlightBefore = 0
        for (const seq of bucket.inFlight) if (seq < permit.seq) inFlightBefore += 1
        const lower = headers.remaining - (bucket.seq - permit.seq) - inFlightBefore
        const upper = lower + 1 + bucket.rate * Math.max(0, now - permit.sentAt)
        bucket.level = first
          ? Math.min(lower, bucket.limit)
          : Math.min(Math.max(bucket.level, lower), upper, bucket.limit)
        bucket.lastAppliedSeq = permit.seq
      }
    }

    const release = (permit: Permit, outcome: Outcome): Effect.Effect<void> =>
      Effect.suspend(() => {
        const now = clock.unsafeCurrentTimeMillis()
        const bucket = bucketFor(permit.key)
        let warning: Effect.Effect<void> = Effect.void
        if (outcome._tag === "Headers") {
          observe(bucket, permit, outcome.headers, now)
          warning = warnImplausible(outcome.headers, now)
        } else if (outcome._tag === "NoHeaders" && bucket.mode === "Unknown") {
          bucket.mode = "Unlimited"
        }
        bucket.inFlight.delete(permit.seq)
        active -= 1
        if (bucket.inFlight.size === 0 && bucket.head === bucket.waiters.length) {
          // idle: the bucket may fill up (and stop refilling) before the next request
          bucket.anchor = undefined
        }
        return warning === Effect.void ? pumpAll(bucket, now) : Effect.zipRight(warning, pumpAll(bucket, now))
      })

    /** At most one line per refill window: a server sending bad headers would otherwise flood the log. */
    const warnImplausible = (headers: RateLimitHeaders, now: number): Effect.Effect<void> => {
      if (headers.implausibleBy === undefined || Math.abs(now - warnedAt) < WINDOW) return Effect.void
      warnedAt = now
      const away = Math.round(headers.implausibleBy / 1000)
      return Effect.logWarning(
        `Helix: ignored an implausible Ratelimit-Reset (${away} s away); assuming the bucket refills within ${
          WINDOW / 1000
        } s`
      )
    }

    const read = (headers: Readonly<Record<string, string | undefined>>): RateLimitHeaders | undefined =>
      readHeaders(headers, clock.unsafeCurrentTimeMillis())

    const snapshot = (key: string): Effect.Effect<Option.Option<BucketSnapshot>> =>
      Effect.sync(() =>
        Option.map(Option.fromNullable(buckets.get(key)), (bucket) => {
          advance(bucket, clock.unsafeCurrentTimeMillis())
          return {
            mode: bucket.mode,
            limit: bucket.limit,
            level: bucket.level,
            rate: bucket.rate * 1000,
            inFlight: bucket.inFlight.size,
            waiting: bucket.waiters.length - bucket.head
          }
        })
      )

    const cancel = (permit: Permit): Effect.Effect<void> => Effect.suspend(() => giveBack(permit))

    return { acquire, read, release, cancel, snapshot }
  })
