// What one Helix answer's `Ratelimit-*` headers say, on the local clock.
//
// `Ratelimit-Reset` is an epoch second of Twitch's clock. Read against the local clock, a client whose
// clock is ahead sees every reset in the past (and hammers the bucket), one that is behind sees it far
// ahead (and stalls). So the reset is read against the server's time, estimated from the answers' `Date`
// headers. A reset that still makes no sense (beyond Twitch's one-minute refill window, or in the past)
// is replaced by that window and reported, so one bad header cannot stall the calls after it.

/** @internal */
export interface RateLimitHeaders {
  readonly limit: number
  readonly remaining: number
  /**
   * When the bucket is full again, on the local clock (epoch millis). Without a plausible
   * `Ratelimit-Reset`: one refill window from now.
   */
  readonly resetAt: number
  /** `resetAt` is the answer's own reset (not the window put in place of a missing or implausible one) */
  readonly resetKnown: boolean
  /** an implausible `Ratelimit-Reset`: how far from the server's time it was (ms), for the log */
  readonly implausibleBy: number | undefined
}

/** Twitch's bucket refills completely within a minute (800 points per minute). @internal */
export const WINDOW = 60_000
/** Reset and `Date` are whole seconds, and the answer took a while to arrive. */
const SLACK = 5_000
/** Samples of the clock offset are kept for one to two periods: a drifting clock is followed. */
const OFFSET_PERIOD = 30_000

/**
 * Local minus server time. A `Date` header is the server's time rounded down to the second and the
 * answer arrives after it was sent, so `now - date` is never below the offset: the least sample of the
 * current and the previous period is the estimate (never above it, so a reset read with it is never
 * earlier than the true one). A sample far above the estimate means a clock was stepped: start over.
 */
const makeOffset = () => {
  let current = Infinity
  let previous = Infinity
  let periodStart = -Infinity
  return (now: number, date: number | undefined): number => {
    if (date !== undefined) {
      const sample = now - date
      if (sample > Math.min(current, previous) + SLACK) {
        current = Infinity
        previous = Infinity
      }
      if (Math.abs(now - periodStart) >= OFFSET_PERIOD) {
        previous = current
        current = Infinity
        periodStart = now
      }
      current = Math.min(current, sample)
    }
    const best = Math.min(current, previous)
    // no `Date` seen yet: trust the local clock
    return Number.isFinite(best) ? best : 0
  }
}

/**
 * A reader of `Ratelimit-*` headers for one server (it learns that server's clock from the answers).
 * `undefined`: the answer carries no usable `Ratelimit-Limit` / `Ratelimit-Remaining`.
 *
 * @internal
 */
export const makeReader = (): (
  headers: Readonly<Record<string, string | undefined>>,
  now: number
) => RateLimitHeaders | undefined => {
  const offset = makeOffset()
  // consecutive answers mostly carry the same `Date` (whole seconds): parse it once
  let dateText: string | undefined
  let dateValue = NaN
  const parseDate = (text: string | undefined): number => {
    if (text !== dateText) {
      dateText = text
      dateValue = text === undefined ? NaN : Date.parse(text)
    }
    return dateValue
  }
  return (headers, now) => {
    const limit = Number(headers["ratelimit-limit"])
    const remaining = Number(headers["ratelimit-remaining"])
    if (
      headers["ratelimit-limit"] === undefined || headers["ratelimit-remaining"] === undefined ||
      !Number.isFinite(limit) || !Number.isFinite(remaining) || limit <= 0
    ) {
      return undefined
    }
    const date = parseDate(headers["date"])
    const serverNow = now - offset(now, Number.isFinite(date) ? date : undefined)
    const reset = headers["ratelimit-reset"] === undefined ? NaN : Number(headers["ratelimit-reset"])
    const resetIn = Number.isFinite(reset) ? reset * 1000 - serverNow : NaN
    const plausible = resetIn >= -SLACK && resetIn <= WINDOW + SLACK
    return {
      limit,
      remaining: Math.max(0, remaining),
      resetAt: now + (plausible ? Math.max(0, resetIn) : WINDOW),
      resetKnown: plausible,
      implausibleBy: plausible || Number.isNaN(resetIn) ? undefined : resetIn
    }
  }
}
