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
// a server whose successful answers carry no `Ratelimit-*` headers is not limited (only the concurrency cap
// applies); a failed answer without them (a proxy's 502) tells nothing.
//
// Resets are read on the server's clock and never trusted beyond Twitch's refill window (see
// `helixRateLimitHeaders.ts`), and a caller whose bucket released nothing for the stall timeout (the
// request timeout) leaves the queue with a `QueueTimeout`: a long queue that moves at the refill rate
// is served, a stuck one fails.
import type * as Clock from "effect/Clock"
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
  if (bucket.resetAt > bucket.at) return bucket.resetAt
  // the reset has passed: the next advance fills the bucket, less what is in flight (whose releases pump)
  return bucket.limit - bucket.inFlight.size >= 1 ? bucket.at + 1 : undefined
}

/** The limiter's state: the buckets, the slots in use over all of them, and what they run under. */
interface Limiter {
  readonly buckets: Map<string, Bucket>
  /** requests in flight over all buckets */
  active: number
  /** when an implausible header was last logged */
  warnedAt: number
  readonly maxConcurrency: number
  readonly stallTimeout: number
  readonly readHeaders: ReturnType<typeof makeReader>
  /** timers are forked in it */
  readonly scope: Scope.Scope
  /**
   * read synchronously on every acquire and release; the layer is built under the callers' clock
   * (the TestClock in tests)
   */
  readonly clock: Clock.Clock
}

const bucketFor = (limiter: Limiter, key: string): Bucket => {
  let bucket = limiter.buckets.get(key)
  if (bucket === undefined) {
    bucket = newBucket(key)
    limiter.buckets.set(key, bucket)
  }
  return bucket
}

// --- granting and giving back -------------------------------------------------------------------

const grant = (limiter: Limiter, bucket: Bucket, now: number): Permit => {
  limiter.active += 1
  bucket.progressAt = now
  bucket.seq += 1
  bucket.inFlight.add(bucket.seq)
  const charged = bucket.mode === "Known"
  if (charged) bucket.level -= 1
  return { key: bucket.key, seq: bucket.seq, sentAt: now, charged }
}

/** A permit that was granted but not used: the point goes back, the slot is free again. */
const giveBack = (limiter: Limiter, permit: Permit): Effect.Effect<void> => {
  const bucket = limiter.buckets.get(permit.key)
  if (bucket === undefined || !bucket.inFlight.delete(permit.seq)) return Effect.void
  limiter.active -= 1
  if (permit.charged && bucket.mode === "Known") bucket.level = Math.min(bucket.limit, bucket.level + 1)
  return pumpAll(limiter, bucket, limiter.clock.unsafeCurrentTimeMillis())
}

// --- the waiter queue -----------------------------------------------------------------------------

/** Grants permits to the waiters at the head of the queue while the bucket and the concurrency cap allow. */
const releaseWaiters = (limiter: Limiter, bucket: Bucket, now: number): void => {
  while (bucket.head < bucket.waiters.length) {
    const waiter = bucket.waiters[bucket.head]
    if (waiter.cancelled) {
      bucket.head += 1
      continue
    }
    if (limiter.active >= limiter.maxConcurrency || !canSend(bucket)) break
    bucket.head += 1
    waiter.permit = grant(limiter, bucket, now)
    Deferred.unsafeDone(waiter.deferred, Effect.succeed(waiter.permit))
  }
}

/** Drops the served head of the queue; returns whether the queue is now empty. */
const compactQueue = (bucket: Bucket): boolean => {
  if (bucket.head === bucket.waiters.length) {
    bucket.waiters.length = 0
    bucket.head = 0
    return true
  } else if (bucket.head > 1024 && bucket.head * 2 > bucket.waiters.length) {
    bucket.waiters.splice(0, bucket.head)
    bucket.head = 0
  }
  return false
}

// --- pumping and the refill timer ---------------------------------------------------------------

/** Releases as many waiters as the bucket allows; returns when a timer must fire, if one must be armed. */
const pump = (limiter: Limiter, bucket: Bucket, now: number): number | undefined => {
  advance(bucket, now)
  releaseWaiters(limiter, bucket, now)
  if (compactQueue(bucket)) return undefined
  // blocked by the concurrency cap, not by the bucket: the next release pumps again
  if (limiter.active >= limiter.maxConcurrency) return undefined
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

const pumpAndArm = (limiter: Limiter, bucket: Bucket, now: number): Effect.Effect<void> => {
  const wakeAt = pump(limiter, bucket, now)
  return wakeAt === undefined ? Effect.void : arm(limiter, bucket, wakeAt, now)
}

/** A slot was freed: this bucket first, then any other bucket with waiters (few: one per token). */
const pumpAll = (limiter: Limiter, first: Bucket, now: number): Effect.Effect<void> => {
  let arms = pumpAndArm(limiter, first, now)
  if (limiter.buckets.size > 1) {
    for (const bucket of limiter.buckets.values()) {
      if (bucket !== first && bucket.head < bucket.waiters.length) {
        const other = pumpAndArm(limiter, bucket, now)
        if (other !== Effect.void) arms = arms === Effect.void ? other : Effect.zipRight(arms, other)
      }
    }
  }
  return arms
}

const arm = (limiter: Limiter, bucket: Bucket, fireAt: number, now: number): Effect.Effect<void> =>
  Effect.sleep(Duration.millis(fireAt - now)).pipe(
    Effect.zipRight(Effect.suspend(() => {
      if (bucket.timerAt === fireAt) bucket.timerAt = undefined
      return pumpAndArm(limiter, bucket, limiter.clock.unsafeCurrentTimeMillis())
    })),
    Effect.forkIn(limiter.scope),
    Effect.asVoid
  )

// --- the stall timer ------------------------------------------------------------------------------

/** Fails the waiters that waited `stallTimeout` with nothing released from the bucket; arms the next check. */
const checkStalled = (limiter: Limiter, bucket: Bucket, now: number): Effect.Effect<void> => {
  bucket.stallAt = undefined
  // deadlines grow along the queue: each is the later of its arrival and the bucket's last release
  for (let i = bucket.head; i < bucket.waiters.length; i++) {
    const waiter = bucket.waiters[i]
    if (waiter.cancelled) continue
    const deadline = Math.max(waiter.since, bucket.progressAt) + limiter.stallTimeout
    if (deadline > now) return armStall(limiter, bucket, deadline, now)
    waiter.cancelled = true
    Deferred.unsafeDone(waiter.deferred, Effect.fail(QUEUE_TIMEOUT))
  }
  return Effect.void
}

/** One stall check per bucket: a pending one that fires by then re-arms itself for the next deadline. */
const armStall = (limiter: Limiter, bucket: Bucket, fireAt: number, now: number): Effect.Effect<void> => {
  if (bucket.stallAt !== undefined && bucket.stallAt <= fireAt) return Effect.void
  bucket.stallAt = fireAt
  return Effect.sleep(Duration.millis(Math.max(0, fireAt - now))).pipe(
    Effect.zipRight(
      Effect.suspend(() =>
        bucket.stallAt === fireAt
          ? checkStalled(limiter, bucket, limiter.clock.unsafeCurrentTimeMillis())
          : Effect.void
      )
    ),
    Effect.forkIn(limiter.scope),
    Effect.asVoid
  )
}

// --- acquire --------------------------------------------------------------------------------------

/** Queues a caller the bucket cannot serve now: pumps, arms the timers it needs, then waits. */
const enqueue = (limiter: Limiter, bucket: Bucket, now: number): Effect.Effect<Permit, QueueTimeout> => {
  const waiter: Waiter = {
    deferred: Deferred.unsafeMake<Permit, QueueTimeout>(FiberId.none),
    since: now,
    permit: undefined,
    cancelled: false
  }
  bucket.waiters.push(waiter)
  const wakeAt = pump(limiter, bucket, now)
  const stall = waiter.permit === undefined
    ? armStall(limiter, bucket, Math.max(now, bucket.progressAt) + limiter.stallTimeout, now)
    : Effect.void
  return Effect.zipRight(
    wakeAt === undefined ? stall : Effect.zipRight(arm(limiter, bucket, wakeAt, now), stall),
    Deferred.await(waiter.deferred).pipe(
      Effect.onInterrupt(() =>
        Effect.suspend(() => {
          waiter.cancelled = true
          // released but never sent: give the point back
          return waiter.permit !== undefined ? giveBack(limiter, waiter.permit) : Effect.void
        })
      )
    )
  )
}

const acquire = (limiter: Limiter, key: string): Effect.Effect<Permit, QueueTimeout> => {
  const now = limiter.clock.unsafeCurrentTimeMillis()
  const bucket = bucketFor(limiter, key)
  advance(bucket, now)
  if (bucket.head === bucket.waiters.length && limiter.active < limiter.maxConcurrency && canSend(bucket)) {
    return Effect.succeed(grant(limiter, bucket, now))
  }
  return enqueue(limiter, bucket, now)
}

// --- observing an answer's headers ----------------------------------------------------------------

/** First answer, or the capacity changed: start over from what the server says. */
const restart = (bucket: Bucket, limit: number, now: number): void => {
  bucket.mode = "Known"
  bucket.limit = limit
  bucket.rate = 0
  bucket.headerRate = 0
  bucket.measuredRate = 0
  bucket.anchor = undefined
  bucket.level = 0
  bucket.at = now
}

/**
 * Lower bound of the rate from the reset: (limit - remaining) points are back by the reset, which
 * is rounded to a whole second (either way, hence the extra second).
 */
const boundRate = (bucket: Bucket, headers: RateLimitHeaders, now: number): void => {
  if (headers.remaining < headers.limit && headers.resetAt > now) {
    const bound = (headers.limit - headers.remaining) / (headers.resetAt + 1000 - now)
    if (bound > bucket.headerRate) bucket.headerRate = bound
  }
}

/** Requests sent before `seq` and still in flight. */
const inFlightBefore = (bucket: Bucket, seq: number): number => {
  let count = 0
  for (const other of bucket.inFlight) if (other < seq) count += 1
  return count
}

/** Measured rate: remaining + requests processed grows at the refill rate while the bucket is not full. */
const measureRate = (bucket: Bucket, headers: RateLimitHeaders, seq: number, now: number): void => {
  // processed so far: this request and those before it, less those still in flight
  const q = headers.remaining + seq - inFlightBefore(bucket, seq)
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

/**
 * Re-synchronises with the server: it had not yet seen the requests sent after this one, nor (most
 * likely) those still in flight.
 */
const resync = (bucket: Bucket, headers: RateLimitHeaders, permit: Permit, first: boolean, now: number): void => {
  const lower = headers.remaining - (bucket.seq - permit.seq) - inFlightBefore(bucket, permit.seq)
  const upper = lower + 1 + bucket.rate * Math.max(0, now - permit.sentAt)
  bucket.level = first
    ? Math.min(lower, bucket.limit)
    : Math.min(Math.max(bucket.level, lower), upper, bucket.limit)
  bucket.lastAppliedSeq = permit.seq
}

const observe = (bucket: Bucket, permit: Permit, headers: RateLimitHeaders, now: number): void => {
  const first = bucket.mode !== "Known" || headers.limit !== bucket.limit
  if (first) restart(bucket, headers.limit, now)
  advance(bucket, now)
  bucket.resetAt = headers.resetAt
  boundRate(bucket, headers, now)
  // an answer older than one already applied is stale: it neither measures nor re-synchronises
  const latest = permit.seq >= bucket.lastAppliedSeq
  if (latest) measureRate(bucket, headers, permit.seq, now)
  bucket.rate = Math.max(bucket.headerRate, bucket.measuredRate) * SAFETY
  if (latest) resync(bucket, headers, permit, first, now)
}

// --- release ----------------------------------------------------------------------------------------

/** At most one line per refill window: a server sending bad headers would otherwise flood the log. */
const warnImplausible = (limiter: Limiter, headers: RateLimitHeaders, now: number): Effect.Effect<void> => {
  if (headers.implausibleBy === undefined || Math.abs(now - limiter.warnedAt) < WINDOW) return Effect.void
  limiter.warnedAt = now
  const away = Math.round(headers.implausibleBy / 1000)
  return Effect.logWarning(
    `Helix: ignored an implausible Ratelimit-Reset (${away} s away); assuming the bucket refills within ${
      WINDOW / 1000
    } s`
  )
}

const release = (limiter: Limiter, permit: Permit, outcome: Outcome): Effect.Effect<void> => {
  const now = limiter.clock.unsafeCurrentTimeMillis()
  const bucket = bucketFor(limiter, permit.key)
  let warning: Effect.Effect<void> = Effect.void
  if (outcome._tag === "Headers") {
    observe(bucket, permit, outcome.headers, now)
    warning = warnImplausible(limiter, outcome.headers, now)
  } else if (outcome._tag === "NoHeaders" && bucket.mode === "Unknown") {
    bucket.mode = "Unlimited"
  }
  bucket.inFlight.delete(permit.seq)
  limiter.active -= 1
  if (bucket.inFlight.size === 0 && bucket.head === bucket.waiters.length) {
    // idle: the bucket may fill up (and stop refilling) before the next request
    bucket.anchor = undefined
  }
  return warning === Effect.void
    ? pumpAll(limiter, bucket, now)
    : Effect.zipRight(warning, pumpAll(limiter, bucket, now))
}

const snapshot = (limiter: Limiter, key: string): Option.Option<BucketSnapshot> =>
  Option.map(Option.fromNullable(limiter.buckets.get(key)), (bucket) => {
    advance(bucket, limiter.clock.unsafeCurrentTimeMillis())
    return {
      mode: bucket.mode,
      limit: bucket.limit,
      level: bucket.level,
      rate: bucket.rate * 1000,
      inFlight: bucket.inFlight.size,
      waiting: bucket.waiters.length - bucket.head
    }
  })

/**
 * `maxConcurrency` caps the requests in flight over all buckets. It lives here rather than in a
 * `Semaphore` because a semaphore wakes every waiter on each release: with thousands of queued
 * callers that is quadratic. `stallTimeout` (ms) is how long a caller waits in a queue that does not move.
 *
 * @internal
 */
export const make = (maxConcurrency: number, stallTimeout: number): Effect.Effect<RateLimiter, never, Scope.Scope> =>
  Effect.gen(function*() {
    const limiter: Limiter = {
      buckets: new Map(),
      active: 0,
      warnedAt: -Infinity,
      maxConcurrency,
      stallTimeout,
      readHeaders: makeReader(),
      scope: yield* Effect.scope,
      clock: yield* Effect.clock
    }
    return {
      acquire: (key) => Effect.suspend(() => acquire(limiter, key)),
      read: (headers) => limiter.readHeaders(headers, limiter.clock.unsafeCurrentTimeMillis()),
      release: (permit, outcome) => Effect.suspend(() => release(limiter, permit, outcome)),
      cancel: (permit) => Effect.suspend(() => giveBack(limiter, permit)),
      snapshot: (key) => Effect.sync(() => snapshot(limiter, key))
    }
  })
