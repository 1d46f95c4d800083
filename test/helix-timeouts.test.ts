/**
 * Helix request timeouts on their own, on the TestClock: a request fails with the timeout error at its
 * deadline and not before, each request at its own deadline, whatever finished or timed out before it;
 * a request's own interruption stays an interruption; interrupting the caller interrupts the request; and
 * the queue of deadlines is emptied after a burst and stays bounded under a steady load.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Deferred, Effect, Exit, Fiber, Option, Ref, TestClock } from "effect"
import * as Timeouts from "../src/internal/helixTimeouts.js"

/** lets forked fibers run until they wait */
const settle = Effect.repeatN(Effect.yieldNow(), 20)

const TIMEOUT = "timeout" as const

/** Starts a request that never finishes on its own. */
const hang = (timeouts: Timeouts.Timeouts) =>
  Effect.tap(Effect.fork(timeouts.run(Effect.never, () => TIMEOUT)), () => settle)

/** Starts a request that takes `millis`, then answers `value`. */
const takes = (timeouts: Timeouts.Timeouts, millis: number, value = "ok") =>
  Effect.tap(Effect.fork(timeouts.run(Effect.as(Effect.sleep(millis), value), () => TIMEOUT)), () => settle)

const running = <A, E>(fiber: Fiber.RuntimeFiber<A, E>) =>
  Effect.map(Effect.zipRight(settle, Fiber.poll(fiber)), Option.isNone)

const assertTimedOut = <A>(fiber: Fiber.RuntimeFiber<A, typeof TIMEOUT>, label: string) =>
  Effect.gen(function*() {
    yield* settle
    const exit = yield* Fiber.poll(fiber)
    assert.isTrue(Option.isSome(exit), `${label} still running`)
    if (Option.isSome(exit)) assert.deepStrictEqual<Exit.Exit<A, typeof TIMEOUT>>(exit.value, Exit.fail(TIMEOUT), label)
  })

describe("Helix request timeouts (unit)", () => {
  it.scoped("a request fails with the timeout error at its deadline, not before", () =>
    Effect.gen(function*() {
      const timeouts = yield* Timeouts.make("1 second")
      const request = yield* hang(timeouts)
      yield* TestClock.adjust("999 millis")
      assert.isTrue(yield* running(request), "timed out before its deadline")
      yield* TestClock.adjust("1 millis")
      yield* assertTimedOut(request, "the request")
    }))

  it.scoped("a request that answers in time answers", () =>
    Effect.gen(function*() {
      const timeouts = yield* Timeouts.make("1 second")
      const request = yield* takes(timeouts, 999)
      yield* TestClock.adjust("999 millis")
      assert.deepStrictEqual(yield* Fiber.await(request), Exit.succeed("ok"))
    }))

  it.scoped("each request times out at its own deadline, also after the queue ran empty", () =>
    Effect.gen(function*() {
      const timeouts = yield* Timeouts.make("1 second")
      const first = yield* hang(timeouts)
      yield* TestClock.adjust("500 millis")
      const second = yield* hang(timeouts)
      yield* TestClock.adjust("500 millis")
      yield* assertTimedOut(first, "the first request")
      assert.isTrue(yield* running(second), "the second request timed out at the first one's deadline")
      yield* TestClock.adjust("499 millis")
      assert.isTrue(yield* running(second), "the second request timed out before its deadline")
      yield* TestClock.adjust("1 millis")
      yield* assertTimedOut(second, "the second request")
      // every deadline passed: the next request still gets its timeout
      yield* TestClock.adjust("500 millis")
      const third = yield* hang(timeouts)
      yield* TestClock.adjust("999 millis")
      assert.isTrue(yield* running(third), "the third request timed out before its deadline")
      yield* TestClock.adjust("1 millis")
      yield* assertTimedOut(third, "the third request")
    }))

  it.scoped("requests that answered do not stop the timeouts of the others", () =>
    Effect.gen(function*() {
      const timeouts = yield* Timeouts.make("1 second")
      // answered before the watchdog wakes at its deadline
      const quick = yield* takes(timeouts, 100, "quick")
      const hung = yield* hang(timeouts)
      // answered between two hung requests of the same deadline
      const between = yield* takes(timeouts, 100, "between")
      const alsoHung = yield* hang(timeouts)
      yield* TestClock.adjust("500 millis")
      const later = yield* hang(timeouts)
      yield* TestClock.adjust("500 millis")
      assert.deepStrictEqual(yield* Fiber.await(quick), Exit.succeed("quick"))
      assert.deepStrictEqual(yield* Fiber.await(between), Exit.succeed("between"))
      yield* assertTimedOut(hung, "the first hung request")
      yield* assertTimedOut(alsoHung, "the second hung request")
      assert.isTrue(yield* running(later), "the later request timed out early")
      yield* TestClock.adjust("500 millis")
      yield* assertTimedOut(later, "the later request")
    }))

  it.scoped("a request's own failure or interruption is not reported as a timeout", () =>
    Effect.gen(function*() {
      const timeouts = yield* Timeouts.make("1 second")
      const failed = yield* Effect.exit(timeouts.run(Effect.fail("boom"), () => TIMEOUT))
      assert.deepStrictEqual(failed, Exit.fail("boom"))
      const interrupted = yield* Effect.exit(timeouts.run(Effect.interrupt, () => TIMEOUT))
      assert.isTrue(Exit.isFailure(interrupted) && Cause.isInterruptedOnly(interrupted.cause), String(interrupted))
      const late = yield* Effect.fork(
        timeouts.run(Effect.zipRight(Effect.sleep("500 millis"), Effect.interrupt), () => TIMEOUT)
      )
      yield* TestClock.adjust("500 millis")
      const lateExit = yield* Fiber.await(late)
      assert.isTrue(Exit.isFailure(lateExit) && Cause.isInterruptedOnly(lateExit.cause), String(lateExit))
    }))

  it.scoped("interrupting the caller interrupts its request", () =>
    Effect.gen(function*() {
      const timeouts = yield* Timeouts.make("1 second")
      const stopped = yield* Ref.make(false)
      const caller = yield* Effect.fork(
        timeouts.run(Effect.onInterrupt(Effect.never, () => Ref.set(stopped, true)), () => TIMEOUT)
      )
      yield* settle
      const exit = yield* Fiber.interrupt(caller)
      assert.isTrue(Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause), String(exit))
      assert.isTrue(yield* Ref.get(stopped), "the request still runs")
      // its deadline passes without a trace
      yield* TestClock.adjust("1 second")
      yield* settle
      assert.strictEqual(timeouts.held(), 0)
    }))

  it.scoped("after a burst, the queue is emptied when the watchdog next wakes", () =>
    Effect.gen(function*() {
      const timeouts = yield* Timeouts.make("1 second")
      const requests: Array<Fiber.RuntimeFiber<string, "timeout">> = []
      for (let i = 0; i < 10; i++) requests.push(yield* takes(timeouts, 100))
      yield* TestClock.adjust("500 millis")
      for (let i = 0; i < 10; i++) requests.push(yield* takes(timeouts, 100))
      assert.strictEqual(timeouts.held(), 20)
      // the watchdog wakes at the first deadline: every request has answered, none is kept
      yield* TestClock.adjust("500 millis")
      yield* settle
      for (const request of requests) assert.deepStrictEqual(yield* Fiber.await(request), Exit.succeed("ok"))
      assert.strictEqual(timeouts.held(), 0)
    }))

  it.scoped("under a steady load that never lets the queue run empty, it stays bounded", () =>
    Effect.gen(function*() {
      const timeouts = yield* Timeouts.make("1 second")
      const batches: Array<Array<Deferred.Deferred<void>>> = []
      let most = 0
      let answered = 0
      // 300 requests every 100 ms, each answering 500 ms later: 7,500 requests, 1,500 running at a time
      for (let step = 0; step < 25; step++) {
        const batch: Array<Deferred.Deferred<void>> = []
        for (let i = 0; i < 300; i++) {
          const answer = yield* Deferred.make<void>()
          batch.push(answer)
          yield* Effect.fork(Effect.tap(timeouts.run(Deferred.await(answer), () => TIMEOUT), () =>
            Effect.sync(() => {
              answered++
            })))
        }
        batches.push(batch)
        if (batches.length > 5) { for (const answer of batches.shift()!) yield* Deferred.succeed(answer, undefined) }
        yield* settle
        yield* TestClock.adjust("100 millis")
        yield* settle
        most = Math.max(most, timeouts.held())
      }
      assert.strictEqual(answered, 6_000)
      // 1,500 to 3,000 deadlines not passed yet, some dropped entries before they are cut off
      assert.isAtMost(most, 4_000)
    }))
})
