/**
 * The Helix rate limiter on its own, on the TestClock: when it lets a token's requests go, given what the
 * answers' `Ratelimit-*` headers said (the probe before the first answer, the level and refill rate it
 * reads from them, requests the server has not seen yet), the concurrency cap over all tokens, permits
 * given back, stalled queues and the warning about an implausible reset.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, FiberId, Logger, Option, TestClock } from "effect"
import * as RateLimiter from "../src/internal/helixRateLimiter.js"

/** lets forked fibers run until they wait */
const settle = Effect.repeatN(Effect.yieldNow(), 20)

/** What an answer with these `Ratelimit-*` headers tells the limiter (`reset`: epoch seconds). */
const answer = (
  limiter: RateLimiter.RateLimiter,
  limit: number,
  remaining: number,
  reset?: number
): RateLimiter.Outcome => {
  const headers = limiter.read({
    "ratelimit-limit": String(limit),
    "ratelimit-remaining": String(remaining),
    ...(reset === undefined ? {} : { "ratelimit-reset": String(reset) })
  })
  assert.isDefined(headers)
  return headers === undefined ? { _tag: "NoHeaders" } : { _tag: "Headers", headers }
}

const NO_HEADERS: RateLimiter.Outcome = { _tag: "NoHeaders" }
const NO_RESPONSE: RateLimiter.Outcome = { _tag: "NoResponse" }

/** `n` permits of `key` that must be granted at once. */
const grantNow = (limiter: RateLimiter.RateLimiter, key: string, n: number) =>
  Effect.gen(function*() {
    const permits: Array<RateLimiter.Permit> = []
    for (let i = 0; i < n; i++) {
      const fiber = yield* Effect.fork(limiter.acquire(key))
      yield* settle
      const done = yield* Fiber.poll(fiber)
      assert.isTrue(Option.isSome(done), `permit ${i + 1} of ${n} of ${key} waits`)
      permits.push(yield* Fiber.join(fiber))
    }
    return permits
  })

/** Lets forked fibers run until `done` holds. */
const until = (done: Effect.Effect<boolean>) =>
  Effect.repeat(Effect.zipRight(Effect.yieldNow(), done), { until: (ok) => ok, times: 10_000 })

/** Starts waiting for a permit. */
const waitFor = (limiter: RateLimiter.RateLimiter, key: string) =>
  Effect.tap(Effect.fork(limiter.acquire(key)), () => settle)

const granted = <A, E>(fiber: Fiber.RuntimeFiber<A, E>) =>
  Effect.map(Effect.zipRight(settle, Fiber.poll(fiber)), Option.isSome)

const snapshot = (limiter: RateLimiter.RateLimiter, key: string) => Effect.map(limiter.snapshot(key), Option.getOrThrow)

describe("Helix rate limiter (unit)", () => {
  it.scoped("before a bucket's first answer one request goes at a time; an answer without headers lifts the limit", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make(10, 5_000)
      assert.isTrue(Option.isNone(yield* limiter.snapshot("a")))
      const [probe] = yield* grantNow(limiter, "a", 1)
      const second = yield* waitFor(limiter, "a")
      assert.isFalse(yield* granted(second))
      // another token has a bucket of its own
      yield* grantNow(limiter, "b", 1)
      assert.deepStrictEqual(yield* snapshot(limiter, "a"), {
        mode: "Unknown",
        limit: 0,
        level: 0,
        rate: 0,
        inFlight: 1,
        waiting: 1
      })

      // no answer: still one at a time
      yield* limiter.release(probe, NO_RESPONSE)
      assert.isTrue(yield* granted(second))
      const third = yield* waitFor(limiter, "a")
      assert.isFalse(yield* granted(third))
      assert.strictEqual((yield* snapshot(limiter, "a")).mode, "Unknown")

      // an answer without Ratelimit-* headers: the server does not limit
      yield* limiter.release(yield* Fiber.join(second), NO_HEADERS)
      assert.isTrue(yield* granted(third))
      yield* grantNow(limiter, "a", 5)
      const a = yield* snapshot(limiter, "a")
      assert.strictEqual(a.mode, "Unlimited")
      assert.strictEqual(a.inFlight, 6)
      assert.strictEqual(a.waiting, 0)
    }))

  it.scoped("at most maxConcurrency requests over all tokens; a release serves the other tokens' queues", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make(2, 5_000)
      const [a] = yield* grantNow(limiter, "a", 1)
      yield* grantNow(limiter, "b", 1)
      const c = yield* waitFor(limiter, "c")
      const d = yield* waitFor(limiter, "d")
      assert.isFalse(yield* granted(c))
      yield* limiter.release(a, NO_HEADERS)
      assert.isTrue(yield* granted(c))
      assert.isFalse(yield* granted(d))
      yield* limiter.release(yield* Fiber.join(c), NO_HEADERS)
      assert.isTrue(yield* granted(d))
    }))

  it.scoped("a slot freed by one token arms the refill timer of another token's queue", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make(1, 60_000)
      const [probe] = yield* grantNow(limiter, "b", 1)
      // b: empty, a point every ~202 ms
      yield* limiter.release(probe, answer(limiter, 10, 0, 1))
      const [a] = yield* grantNow(limiter, "a", 1)
      const w = yield* waitFor(limiter, "b")
      yield* TestClock.adjust(100)
      yield* limiter.release(a, NO_HEADERS)
      assert.isFalse(yield* granted(w))
      yield* TestClock.adjust(Math.ceil(1 / (10 / 2_000 * 0.99)) - 100)
      assert.isTrue(yield* granted(w))
    }))

  it.scoped("the level is what the server said; the queue moves at the rate the reset implies", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make(50, 60_000)
      const [probe] = yield* grantNow(limiter, "a", 1)
      // 6 points used, back within 6 s (rounded: 7 s), and 1 % to spare
      yield* limiter.release(probe, answer(limiter, 10, 4, 6))
      const rate = 6 / 7_000 * 0.99
      assert.deepStrictEqual(yield* snapshot(limiter, "a"), {
        mode: "Known",
        limit: 10,
        level: 4,
        rate: rate * 1000,
        inFlight: 0,
        waiting: 0
      })
      yield* grantNow(limiter, "a", 4)
      const next = yield* waitFor(limiter, "a")
      const nextAt = Math.ceil(1 / rate)
      yield* TestClock.adjust(nextAt - 1)
      assert.isFalse(yield* granted(next))
      yield* TestClock.adjust(1)
      assert.isTrue(yield* granted(next))
      const after = yield* snapshot(limiter, "a")
      assert.strictEqual(after.inFlight, 5)
      assert.closeTo(after.level, (nextAt - 1 / rate) * rate, 1e-9)
      // the point after that, on a timer of its own; meanwhile the level grows at the rate
      const later = yield* waitFor(limiter, "a")
      yield* TestClock.adjust(500)
      assert.closeTo((yield* snapshot(limiter, "a")).level, (nextAt + 500 - 1 / rate) * rate, 1e-9)
      const laterAt = Math.ceil(2 / rate)
      yield* TestClock.adjust(laterAt - nextAt - 501)
      assert.isFalse(yield* granted(later))
      yield* TestClock.adjust(1)
      assert.isTrue(yield* granted(later))
    }))

  it.scoped("timers wait at least 10 ms; a caller arriving meanwhile queues behind the waiting ones", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make(50, 60_000)
      const [probe] = yield* grantNow(limiter, "a", 1)
      // empty, refilled at about half a point per millisecond
      yield* limiter.release(probe, answer(limiter, 1_000, 0, 1))
      const first = yield* waitFor(limiter, "a")
      yield* TestClock.adjust(4)
      assert.isFalse(yield* granted(first))
      yield* TestClock.adjust(1)
      // two points by now: the caller waiting first gets the first
      const second = yield* waitFor(limiter, "a")
      assert.isTrue(yield* granted(first))
      assert.isTrue(yield* granted(second))
      // the next point comes 1 ms later: the pending timer, at 10 ms, serves it
      const third = yield* waitFor(limiter, "a")
      yield* TestClock.adjust(4)
      assert.isFalse(yield* granted(third))
      yield* TestClock.adjust(1)
      assert.isTrue(yield* granted(third))
    }))

  it.scoped("a better estimate brings a pending release forward", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make(50, 60_000)
      const [probe] = yield* grantNow(limiter, "a", 1)
      // full, no refill rate known: the next point is at the reset, 30 s away
      yield* limiter.release(probe, answer(limiter, 3, 3, 30))
      const [p1] = yield* grantNow(limiter, "a", 3)
      const next = yield* waitFor(limiter, "a")
      // an answer: empty, 3 points back within 2 s (rounded: 3 s), two sent after it
      yield* limiter.release(p1, answer(limiter, 3, 0, 2))
      const rate = 3 / 3_000 * 0.99
      const a = yield* snapshot(limiter, "a")
      assert.strictEqual(a.level, -1)
      assert.strictEqual(a.rate, rate * 1000)
      const nextAt = Math.ceil(2 / rate)
      yield* TestClock.adjust(nextAt - 1)
      assert.isFalse(yield* granted(next))
      yield* TestClock.adjust(1)
      assert.isTrue(yield* granted(next))
    }))

  it.scoped("an answer saying fewer points than expected lowers the estimate to what can have refilled since", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make(50, 60_000)
      const [probe] = yield* grantNow(limiter, "a", 1)
      yield* limiter.release(probe, answer(limiter, 10, 9, 1))
      yield* TestClock.adjust(50)
      const [p] = yield* grantNow(limiter, "a", 1)
      yield* TestClock.adjust(50)
      yield* limiter.release(p, answer(limiter, 10, 2, 1))
      // 8 points used, back by the reset 0.9 s away (+1 s); p was sent 50 ms ago
      const rate = 8 / 1_900 * 0.99
      assert.closeTo((yield* snapshot(limiter, "a")).level, 2 + 1 + rate * 50, 1e-9)
    }))

  /**
   * The rate after a measurement window from A's answer (at 1 s) to C's, `window` later, with `remaining`
   * left (B, sent between them, still in flight); then B's stale answer, with 90 left, changes nothing.
   */
  const measured = (remaining: number, window = 1_000) =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make(50, 60_000)
      yield* TestClock.adjust(1_000)
      const [probe] = yield* grantNow(limiter, "a", 1)
      yield* limiter.release(probe, answer(limiter, 100, 50, 61))
      const [a, b, c] = yield* grantNow(limiter, "a", 3)
      yield* limiter.release(a, answer(limiter, 100, 49, 61))
      yield* TestClock.adjust(window)
      yield* limiter.release(c, answer(limiter, 100, remaining, 62))
      const rate = (yield* snapshot(limiter, "a")).rate
      yield* limiter.release(b, answer(limiter, 100, 90, 62))
      assert.strictEqual((yield* snapshot(limiter, "a")).rate, rate)
      return rate
    })

  it.scoped("the refill rate is measured once a window of a second has seen ten points come back", () =>
    Effect.gen(function*() {
      // remaining + processed went from 49 + 2 to 58 + 4 - 1 (B): 10 points, less one, over the second and 10 ms
      assert.strictEqual(yield* measured(58), 9 / 1_010 * 0.99 * 1000)
    }))

  it.scoped("nine points back in a second: the refill rate is the bound the resets give", () =>
    Effect.gen(function*() {
      // A's answer: 51 points back within 60 s (+1 s)
      assert.strictEqual(yield* measured(57), 51 / 61_000 * 0.99 * 1000)
    }))

  it.scoped("ten points back in less than a second: the refill rate is the bound the resets give", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* measured(58, 999), 51 / 61_000 * 0.99 * 1000)
    }))

  it.scoped("an answer of a (nearly) full bucket restarts the measurement: the bucket may have stopped refilling", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make(50, 60_000)
      const [probe] = yield* grantNow(limiter, "a", 1)
      yield* limiter.release(probe, answer(limiter, 100, 50, 60))
      // H stays in flight: the bucket is never idle
      const [a, x, c] = yield* grantNow(limiter, "a", 4)
      yield* limiter.release(a, answer(limiter, 100, 49, 60))
      yield* TestClock.adjust(500)
      yield* limiter.release(x, answer(limiter, 100, 99, 60))
      yield* TestClock.adjust(500)
      // 23 points more than at A's answer, a second later: no measurement, the window started at X's
      yield* limiter.release(c, answer(limiter, 100, 70, 60))
      assert.strictEqual((yield* snapshot(limiter, "a")).rate, 51 / 61_000 * 0.99 * 1000)
    }))

  it.scoped("a queue waiting for points is not idle: the measurement goes on", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make(50, 60_000)
      const [probe] = yield* grantNow(limiter, "a", 1)
      yield* limiter.release(probe, answer(limiter, 100, 2, 60))
      const [a, b] = yield* grantNow(limiter, "a", 2)
      const w = yield* waitFor(limiter, "a")
      yield* limiter.release(a, answer(limiter, 100, 1, 60))
      yield* limiter.release(b, answer(limiter, 100, 0, 60))
      yield* TestClock.adjust(1_000)
      assert.isTrue(yield* granted(w))
      // from A's answer (1 + 2) to W's (10 + 4): 11 points, less one, in a second
      yield* limiter.release(yield* Fiber.join(w), answer(limiter, 100, 10, 61))
      assert.strictEqual((yield* snapshot(limiter, "a")).rate, 10 / 1_010 * 0.99 * 1000)
    }))

  it.scoped("a reset already passed gives no refill rate", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make(50, 60_000)
      yield* TestClock.adjust(10_000)
      const [probe] = yield* grantNow(limiter, "a", 1)
      // Twitch's reset, 2 s ago: the local clock is ahead, or the answer slow
      yield* limiter.release(probe, answer(limiter, 100, 40, 8))
      assert.strictEqual((yield* snapshot(limiter, "a")).rate, 0)
    }))

  it.scoped("after the bucket was idle the refill rate is measured anew", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make(50, 60_000)
      const [probe] = yield* grantNow(limiter, "a", 1)
      yield* limiter.release(probe, answer(limiter, 100, 50, 60))
      yield* TestClock.adjust(1_000)
      const [p] = yield* grantNow(limiter, "a", 1)
      yield* limiter.release(p, answer(limiter, 100, 60, 61))
      // the 10 points back since the first answer are not a measurement: the bound from the resets stands
      assert.strictEqual((yield* snapshot(limiter, "a")).rate, 50 / 61_000 * 0.99 * 1000)
    }))

  it.scoped("a bucket known to be limited stays limited when an answer lacks the headers", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make(50, 60_000)
      const [probe] = yield* grantNow(limiter, "a", 1)
      yield* limiter.release(probe, answer(limiter, 2, 2, 60))
      const [p] = yield* grantNow(limiter, "a", 2)
      yield* limiter.release(p, NO_HEADERS)
      assert.strictEqual((yield* snapshot(limiter, "a")).mode, "Known")
      const next = yield* waitFor(limiter, "a")
      assert.isFalse(yield* granted(next))
    }))

  it.scoped("without a refill rate the bucket is full again at the reset, less the requests in flight", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make(50, 60_000)
      const [probe] = yield* grantNow(limiter, "a", 1)
      // a full bucket says nothing about the refill rate
      yield* limiter.release(probe, answer(limiter, 3, 3, 5))
      const [p1, p2] = yield* grantNow(limiter, "a", 3)
      const next = yield* waitFor(limiter, "a")
      yield* limiter.release(p1, NO_RESPONSE)
      yield* limiter.release(p2, NO_RESPONSE)
      yield* TestClock.adjust(4_999)
      assert.isFalse(yield* granted(next))
      assert.deepStrictEqual(yield* snapshot(limiter, "a"), {
        mode: "Known",
        limit: 3,
        level: 0,
        rate: 0,
        inFlight: 1,
        waiting: 1
      })
      yield* TestClock.adjust(1)
      assert.isTrue(yield* granted(next))
      // 3 points less the one still in flight, less the one just granted
      assert.strictEqual((yield* snapshot(limiter, "a")).level, 1)
      yield* grantNow(limiter, "a", 1)
      const last = yield* waitFor(limiter, "a")
      assert.isFalse(yield* granted(last))
    }))

  it.scoped("without a refill rate a queue is served at the reset itself, whenever the points in flight came back", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make(50, 60_000)
      const [probe] = yield* grantNow(limiter, "a", 1)
      yield* limiter.release(probe, answer(limiter, 3, 3, 5))
      const [p1] = yield* grantNow(limiter, "a", 3)
      const next = yield* waitFor(limiter, "a")
      // every point in flight; one comes back 3 ms later, long before the reset
      yield* TestClock.adjust(3)
      yield* limiter.release(p1, NO_RESPONSE)
      yield* TestClock.adjust(4_996)
      assert.isFalse(yield* granted(next))
      yield* TestClock.adjust(1)
      assert.isTrue(yield* granted(next))
    }))

  it.scoped("an empty bucket whose reset already passed serves its queue when one point of it is not in flight", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make(50, 60_000)
      yield* TestClock.adjust(2_500)
      const [probe] = yield* grantNow(limiter, "a", 1)
      // full again at second 2, already behind: one point left, no refill rate known
      yield* limiter.release(probe, answer(limiter, 2, 1, 2))
      yield* grantNow(limiter, "a", 1)
      const queued = yield* waitFor(limiter, "a")
      yield* TestClock.adjust(10)
      // the bucket is full again, less the request in flight
      assert.isTrue(yield* granted(queued))
      assert.strictEqual((yield* snapshot(limiter, "a")).level, 0)
    }))

  it.scoped("an answer is read net of the requests sent after it, which the server had not seen", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make(50, 60_000)
      const [probe] = yield* grantNow(limiter, "a", 1)
      yield* limiter.release(probe, answer(limiter, 10, 9, 1))
      assert.strictEqual((yield* snapshot(limiter, "a")).level, 9)
      const [p2, p3, p4] = yield* grantNow(limiter, "a", 5)
      assert.strictEqual((yield* snapshot(limiter, "a")).level, 4)
      // p2's answer: 8 left after p2; p3 to p6 came after it
      yield* limiter.release(p2, answer(limiter, 10, 8, 1))
      assert.strictEqual((yield* snapshot(limiter, "a")).level, 4)
      // p4's answer says the server has refilled: 9 left after p4 (p3 still in flight, p5 and p6 after it)
      yield* limiter.release(p4, answer(limiter, 10, 9, 1))
      assert.strictEqual((yield* snapshot(limiter, "a")).level, 9 - 2 - 1)
      // p3's answer is older than p4's: it changes nothing
      yield* limiter.release(p3, answer(limiter, 10, 0, 1))
      assert.strictEqual((yield* snapshot(limiter, "a")).level, 6)
      assert.strictEqual((yield* snapshot(limiter, "a")).inFlight, 2)
    }))

  it.scoped("a new capacity starts the bucket over from what the server says", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make(50, 60_000)
      const [probe] = yield* grantNow(limiter, "a", 1)
      yield* limiter.release(probe, answer(limiter, 10, 9, 1))
      const [p] = yield* grantNow(limiter, "a", 1)
      yield* limiter.release(p, answer(limiter, 30, 25, 10))
      const a = yield* snapshot(limiter, "a")
      assert.strictEqual(a.limit, 30)
      assert.strictEqual(a.level, 25)
      // what the old capacity's headers said about the rate is forgotten
      assert.strictEqual(a.rate, 5 / 11_000 * 0.99 * 1000)
    }))

  it.scoped("a permit given back returns its point and its slot, once; in a new bucket it lets the next probe go", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make(1, 60_000)
      const [probe] = yield* grantNow(limiter, "a", 1)
      const next = yield* waitFor(limiter, "a")
      yield* limiter.cancel(probe)
      assert.isTrue(yield* granted(next))
      yield* limiter.release(yield* Fiber.join(next), answer(limiter, 2, 1, 60))
      const [p] = yield* grantNow(limiter, "a", 1)
      assert.strictEqual((yield* snapshot(limiter, "a")).level, 0)
      yield* limiter.cancel(p)
      yield* limiter.cancel(p)
      const a = yield* snapshot(limiter, "a")
      assert.strictEqual(a.level, 1)
      assert.strictEqual(a.inFlight, 0)
      yield* grantNow(limiter, "a", 1)
      // a permit of a bucket never seen: nothing to give back
      yield* limiter.cancel({ key: "z", seq: 1, sentAt: 0, charged: false })
      assert.isTrue(Option.isNone(yield* limiter.snapshot("z")))
    }))

  it.scoped("a caller that gave up leaves the queue; the next one gets the point", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make(50, 60_000)
      const [probe] = yield* grantNow(limiter, "a", 1)
      const first = yield* waitFor(limiter, "a")
      const second = yield* waitFor(limiter, "a")
      const third = yield* waitFor(limiter, "a")
      assert.isTrue(Cause.isInterruptedOnly(Option.getOrThrow(Exit.causeOption(yield* Fiber.interrupt(first)))))
      yield* limiter.release(probe, NO_RESPONSE)
      assert.isTrue(yield* granted(second))
      assert.isFalse(yield* granted(third))
      assert.strictEqual((yield* snapshot(limiter, "a")).waiting, 1)
    }))

  it.scoped("a caller interrupted as its permit was granted gives the point back", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make(50, 60_000)
      const [probe] = yield* grantNow(limiter, "a", 1)
      yield* limiter.release(probe, answer(limiter, 2, 1, 60))
      const [p] = yield* grantNow(limiter, "a", 1)
      const next = yield* waitFor(limiter, "a")
      // interrupted, and before it could see that, granted: it never runs with the permit
      next.unsafeInterruptAsFork(FiberId.none)
      yield* limiter.release(p, answer(limiter, 2, 2, 60))
      yield* Fiber.await(next)
      const a = yield* snapshot(limiter, "a")
      assert.strictEqual(a.inFlight, 0)
      assert.strictEqual(a.level, 2)
    }))

  it.scoped("an empty bucket whose reset already passed, with no refill rate known, serves its queue at once", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make(50, 60_000)
      yield* TestClock.adjust(2_500)
      const [probe] = yield* grantNow(limiter, "a", 1)
      const queued = yield* waitFor(limiter, "a")
      // empty, and full again at second 2 (whole seconds): the reset is already behind
      yield* limiter.release(probe, answer(limiter, 10, 0, 2))
      assert.isFalse(yield* granted(queued))
      yield* TestClock.adjust(10)
      assert.isTrue(yield* granted(queued))
      // the whole bucket is back, less the point just granted
      assert.strictEqual((yield* snapshot(limiter, "a")).level, 9)
    }))

  it.scoped("a queue that released nothing for the stall timeout fails its callers, each after its own wait", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make(50, 2_000)
      const [probe] = yield* grantNow(limiter, "a", 1)
      const first = yield* waitFor(limiter, "a")
      yield* TestClock.adjust(1_000)
      const second = yield* waitFor(limiter, "a")
      yield* TestClock.adjust(999)
      assert.isFalse(yield* granted(first))
      yield* TestClock.adjust(1)
      assert.deepStrictEqual(yield* Effect.flip(Fiber.join(first)), { _tag: "QueueTimeout" })
      assert.isFalse(yield* granted(second))
      yield* TestClock.adjust(999)
      assert.isFalse(yield* granted(second))
      yield* TestClock.adjust(1)
      assert.deepStrictEqual(yield* Effect.flip(Fiber.join(second)), { _tag: "QueueTimeout" })
      // the bucket still works, and the callers that left got nothing
      yield* limiter.release(probe, NO_HEADERS)
      yield* grantNow(limiter, "a", 2)
      assert.strictEqual((yield* snapshot(limiter, "a")).inFlight, 2)
    }))

  it.scoped("a release restarts the stall timeout of the callers behind it", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make(50, 2_000)
      const [probe] = yield* grantNow(limiter, "a", 1)
      const first = yield* waitFor(limiter, "a")
      const second = yield* waitFor(limiter, "a")
      yield* TestClock.adjust(1_500)
      yield* limiter.release(probe, NO_RESPONSE)
      assert.isTrue(yield* granted(first))
      yield* TestClock.adjust(1_999)
      assert.isFalse(yield* granted(second))
      yield* TestClock.adjust(1)
      assert.deepStrictEqual(yield* Effect.flip(Fiber.join(second)), { _tag: "QueueTimeout" })
    }))

  it.scoped("an implausible reset is logged at most once per refill window", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const logger = Logger.make(({ logLevel, message }) => lines.push(`${logLevel.label} ${String(message)}`))
      yield* Effect.gen(function*() {
        const limiter = yield* RateLimiter.make(50, 60_000)
        yield* TestClock.adjust(30_000)
        const far = () => answer(limiter, 800, 799, 3_630)
        // a plausible one is not
        yield* limiter.release((yield* grantNow(limiter, "a", 1))[0], answer(limiter, 800, 799, 90))
        yield* limiter.release((yield* grantNow(limiter, "a", 1))[0], far())
        yield* limiter.release((yield* grantNow(limiter, "a", 1))[0], far())
        assert.deepStrictEqual(lines, [
          "WARN Helix: ignored an implausible Ratelimit-Reset (3600 s away); assuming the bucket refills within 60 s"
        ])
        yield* TestClock.adjust(59_999)
        yield* limiter.release((yield* grantNow(limiter, "a", 1))[0], far())
        assert.strictEqual(lines.length, 1)
        yield* TestClock.adjust(1)
        yield* limiter.release((yield* grantNow(limiter, "a", 1))[0], far())
        assert.strictEqual(lines.length, 2)
      }).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
    }))

  it.scoped("a long queue is served in order, every caller once", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make(1_100, 60_000)
      const [probe] = yield* grantNow(limiter, "a", 1)
      const order: Array<number> = []
      const fibers: Array<Fiber.RuntimeFiber<RateLimiter.Permit, RateLimiter.QueueTimeout>> = []
      for (let i = 0; i < 1_200; i++) {
        fibers.push(yield* Effect.fork(Effect.tap(limiter.acquire("a"), () => Effect.sync(() => order.push(i)))))
      }
      yield* until(Effect.map(snapshot(limiter, "a"), (a) => a.waiting === 1_200))
      // the first 1,100 fill the concurrency cap, the last 100 wait for them
      yield* limiter.release(probe, NO_HEADERS)
      yield* until(Effect.sync(() => order.length === 1_100))
      assert.strictEqual((yield* snapshot(limiter, "a")).waiting, 100)
      const first = yield* Effect.forEach(fibers.slice(0, 1_100), Fiber.join)
      yield* Effect.forEach(first, (permit) => limiter.release(permit, NO_HEADERS))
      yield* Effect.forEach(fibers.slice(1_100), Fiber.join)
      assert.strictEqual(order.length, 1_200)
      assert.isTrue(order.every((n, i) => n === i))
      const a = yield* snapshot(limiter, "a")
      assert.strictEqual(a.waiting, 0)
      assert.strictEqual(a.inFlight, 100)
    }))
})
