/**
 * The reader of Helix's `Ratelimit-*` headers on its own: `Ratelimit-Reset` is an epoch second of
 * Twitch's clock, so it is read against the server's time learned from the answers' `Date` headers: a
 * local clock that is ahead or behind, answers that arrive late, a clock that is stepped or drifts.
 */
import { assert, describe, it } from "@effect/vitest"
import { makeReader } from "../src/internal/helixRateLimitHeaders.js"

/** the server's time at some whole second */
const T = Date.parse("2026-11-26T12:00:00Z")

type Reader = ReturnType<typeof makeReader>

/**
 * An answer read at local time `now`, sent at server time `date` (ms, a whole second; none: no `Date`
 * header) with the bucket full again `resetIn` ms after `date`; returns in how many ms the reader says
 * the bucket is full again, on the local clock.
 */
const resetIn = (read: Reader, now: number, date: number | undefined, resetIn: number): number => {
  const headers = read({
    "ratelimit-limit": "800",
    "ratelimit-remaining": "0",
    "ratelimit-reset": String(((date ?? T) + resetIn) / 1000),
    ...(date === undefined ? {} : { date: new Date(date).toUTCString() })
  }, now)
  assert.isDefined(headers)
  assert.isTrue(headers!.resetKnown, "the reset was judged implausible")
  assert.isUndefined(headers!.implausibleBy)
  return headers!.resetAt - now
}

describe("Helix Ratelimit-* headers (unit)", () => {
  it("a reset is read on the server's clock when the local clock is two minutes ahead", () => {
    const read = makeReader()
    assert.strictEqual(resetIn(read, T + 120_000, T, 30_000), 30_000)
  })

  it("a reset is read on the server's clock when the local clock is two minutes behind", () => {
    const read = makeReader()
    assert.strictEqual(resetIn(read, T - 120_000, T, 30_000), 30_000)
    // later answers without a `Date` header are read with what was learned
    assert.strictEqual(resetIn(read, T - 110_000, undefined, 40_000), 30_000)
  })

  it("without a Date header the local clock is trusted", () => {
    const read = makeReader()
    assert.strictEqual(resetIn(read, T, undefined, 30_000), 30_000)
  })

  it("the fastest answer sets the estimate: answers that arrived late do not make resets earlier", () => {
    const read = makeReader()
    // the clocks agree; the first answer took 200 ms, the next ones 3.2 s
    assert.strictEqual(resetIn(read, T + 200, T, 30_000), 30_000)
    // each reset is read 200 ms late (the first answer's delay), never early
    assert.strictEqual(resetIn(read, T + 1_000 + 3_200, T + 1_000, 30_000), 27_000)
    assert.strictEqual(resetIn(read, T + 2_000 + 3_200, T + 2_000, 30_000), 27_000)
  })

  it("an answer 5 s late (Date's rounding plus the way) is not taken for a stepped clock", () => {
    const read = makeReader()
    assert.strictEqual(resetIn(read, T + 200, T, 30_000), 30_000)
    assert.strictEqual(resetIn(read, T + 1_000 + 5_200, T + 1_000, 30_000), 25_000)
  })

  it("a local clock stepped two minutes ahead is followed at once", () => {
    const read = makeReader()
    assert.strictEqual(resetIn(read, T + 200, T, 30_000), 30_000)
    assert.strictEqual(resetIn(read, T + 10_000 + 120_000 + 200, T + 10_000, 30_000), 30_000)
  })

  it("a drifting local clock is followed, one 30 s period behind", () => {
    const read = makeReader()
    // answers exactly 30 s apart on the local clock, which gains a second per answer
    const at = (k: number) => T + 5_000 + k * 30_000
    assert.strictEqual(resetIn(read, at(0), at(0), 30_000), 30_000)
    assert.strictEqual(resetIn(read, at(1), at(1) - 1_000, 30_000), 29_000)
    assert.strictEqual(resetIn(read, at(2), at(2) - 2_000, 30_000), 29_000)
    // the estimate is the least sample of this period and the last one: 2 s (the true offset is 3 s)
    assert.strictEqual(resetIn(read, at(3), at(3) - 3_000, 30_000), 29_000)
  })

  it("no usable limit or remaining: nothing; a reset is believed from 5 s past to the window plus 5 s ahead", () => {
    const read = makeReader()
    const base = { "ratelimit-limit": "800", "ratelimit-remaining": "5" }
    assert.isUndefined(read({ ...base, "ratelimit-limit": "0" }, T))
    assert.isUndefined(read({ "ratelimit-remaining": "5" }, T))
    assert.isUndefined(read({ ...base, "ratelimit-remaining": "many" }, T))
    // without a Date header the local clock is the server's
    const at = (resetIn: number) => read({ ...base, "ratelimit-reset": String((T + resetIn) / 1000) }, T)!
    const window = { limit: 800, remaining: 5, resetAt: T + 60_000, resetKnown: false }
    assert.deepStrictEqual(at(-5_000), { ...window, resetAt: T, resetKnown: true, implausibleBy: undefined })
    assert.deepStrictEqual(at(65_000), { ...window, resetAt: T + 65_000, resetKnown: true, implausibleBy: undefined })
    assert.deepStrictEqual(at(-6_000), { ...window, implausibleBy: -6_000 })
    assert.deepStrictEqual(at(66_000), { ...window, implausibleBy: 66_000 })
    // no reset at all: the window, and nothing to report
    assert.deepStrictEqual(read(base, T), { ...window, implausibleBy: undefined })
  })
})
