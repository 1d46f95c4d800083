// The outgoing chat queue: one lane (a bounded queue drained by one fiber) per sender and channel, each
// message sent only once Twitch's limits allow it. Time comes from the `Clock`, so `TestClock` drives it.
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"

/** @internal */
export interface LaneLimits {
  readonly windowMillis: number
  readonly perWindow: number
  readonly perWindowPrivileged: number
  readonly minIntervalMillis: number
  /** the sender's own limit across channels (a verified bot), `null` for none */
  readonly senderPerWindow: number | null
}

/** One message counted in a window: `at` is the send time until Twitch answers, then the answer's time. @internal */
interface Mark {
  at: number
  pending: boolean
}

/** @internal */
export interface LaneRequest {
  readonly sender: string
  readonly channel: string
  readonly text: string
  readonly replyTo: string | undefined
}

interface Item<A, E> {
  readonly request: LaneRequest
  readonly done: Deferred.Deferred<A, E>
  cancelled: boolean
}

interface Lane<A, E> {
  readonly queue: Queue.Queue<Item<A, E>>
  readonly marks: Array<Mark>
  readonly sender: Array<Mark>
  privileged: boolean
  last: Mark | undefined
}

/** The earliest time at which one more message fits in `marks` (at most `limit` in any `window` ms). */
const windowOpensAt = (marks: Array<Mark>, limit: number, windowMillis: number, now: number): number => {
  // forget what no longer counts (a pending mark's time still moves forward)
  let stale = 0
  while (stale < marks.length && !marks[stale]!.pending && marks[stale]!.at <= now - windowMillis) stale++
  if (stale > 0) marks.splice(0, stale)
  const counted = marks.filter((mark) => mark.pending || mark.at > now - windowMillis)
  if (counted.length < limit) return now
  const times = counted.map((mark) => (mark.pending ? Infinity : mark.at)).sort((a, b) => a - b)
  return times[counted.length - limit]! + windowMillis
}

/**
 * When the lane may send next. Conservative where the client cannot know when Twitch counted a
 * message: a message counts from the moment Twitch answered it (at the latest), and the next one
 * of a non-privileged sender leaves a full interval after that answer.
 */
const readyAt = (lane: Lane<unknown, unknown>, limits: LaneLimits, now: number): number => {
  const limit = lane.privileged ? limits.perWindowPrivileged : limits.perWindow
  let ready = windowOpensAt(lane.marks, limit, limits.windowMillis, now)
  if (!lane.privileged && lane.last !== undefined) {
    ready = Math.max(ready, lane.last.pending ? Infinity : lane.last.at + limits.minIntervalMillis)
  }
  if (limits.senderPerWindow !== null) {
    ready = Math.max(ready, windowOpensAt(lane.sender, limits.senderPerWindow, limits.windowMillis, now))
  }
  return ready
}

/** Waits until the limits allow one more message, then counts it (check and count in one step). */
const reserve = (lane: Lane<unknown, unknown>, limits: LaneLimits): Effect.Effect<Mark> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => {
    const ready = readyAt(lane, limits, now)
    if (ready > now) {
      // Infinity: an answer is still outstanding in another lane of the sender; look again shortly
      const wait = Number.isFinite(ready) ? ready - now : Math.min(limits.minIntervalMillis, 50)
      return Effect.zipRight(Effect.sleep(Math.max(1, wait)), reserve(lane, limits))
    }
    const mark: Mark = { at: now, pending: true }
    lane.marks.push(mark)
    if (limits.senderPerWindow !== null) lane.sender.push(mark)
    lane.last = mark
    return Effect.succeed(mark)
  })

/** @internal */
export interface Lanes<A, E> {
  /** Queues the parts in order (waiting while the lane is full) and waits for each answer. */
  readonly send: (parts: ReadonlyArray<LaneRequest>) => Effect.Effect<ReadonlyArray<A>, E>
  readonly setPrivileged: (sender: string, channel: string, privileged: boolean) => Effect.Effect<void>
  /** messages waiting in the sender's lane for `channel` (with those waiting for room) */
  readonly queued: (sender: string, channel: string) => Effect.Effect<number>
}

/** @internal */
export const makeLanes = <A, E>(options: {
  readonly limits: LaneLimits
  readonly capacity: number
  readonly isPrivileged: (sender: string, channel: string) => boolean
  readonly send: (request: LaneRequest) => Effect.Effect<A, E>
  /**
   * Twitch refused the message for rate all the same (another client on the account, a limit lower
   * than modelled): the lane counts its window as full and sends it once more when the window passed.
   */
  readonly isRateLimited: (error: E) => boolean
}): Effect.Effect<Lanes<A, E>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const lanes = new Map<string, Lane<A, E>>()
    const senders = new Map<string, Array<Mark>>()
    const creating = yield* Effect.makeSemaphore(1)
    const privilegedOverrides = new Map<string, boolean>()
    const keyOf = (sender: string, channel: string) => `${sender}\u0000${channel}`

    const attempt = (lane: Lane<A, E>, item: Item<A, E>) =>
      Effect.gen(function*() {
        const mark = yield* reserve(lane as Lane<unknown, unknown>, options.limits)
        const exit = yield* Effect.exit(options.send(item.request))
        mark.at = yield* Clock.currentTimeMillis
        mark.pending = false
        return exit
      })

    const sendOne = (lane: Lane<A, E>, item: Item<A, E>) =>
      Effect.gen(function*() {
        let exit = yield* attempt(lane, item)
        if (Exit.isFailure(exit) && Option.exists(Cause.failureOption(exit.cause), options.isRateLimited)) {
          yield* Effect.logWarning(`chat: Twitch refused a message in ${item.request.channel} for rate; resending once`)
          yield* Effect.sleep(options.limits.windowMillis)
          if (!item.cancelled) exit = yield* attempt(lane, item)
        }
        yield* Deferred.done(item.done, exit)
      })

    const drain = (lane: Lane<A, E>) =>
      Queue.take(lane.queue).pipe(
        Effect.flatMap((item) => item.cancelled ? Effect.void : sendOne(lane, item)),
        Effect.forever
      )

    const laneFor = (sender: string, channel: string): Effect.Effect<Lane<A, E>> =>
      Effect.suspend(() => {
        const existing = lanes.get(keyOf(sender, channel))
        if (existing !== undefined) return Effect.succeed(existing)
        return creating.withPermits(1)(Effect.suspend(() => {
          const again = lanes.get(keyOf(sender, channel))
          if (again !== undefined) return Effect.succeed(again)
          return Effect.gen(function*() {
            let senderMarks = senders.get(sender)
            if (senderMarks === undefined) {
              senderMarks = []
              senders.set(sender, senderMarks)
            }
            const lane: Lane<A, E> = {
              queue: yield* Queue.bounded<Item<A, E>>(options.capacity),
              marks: [],
              sender: senderMarks,
              privileged: privilegedOverrides.get(keyOf(sender, channel)) ?? options.isPrivileged(sender, channel),
              last: undefined
            }
            yield* Effect.forkIn(drain(lane), scope)
            lanes.set(keyOf(sender, channel), lane)
            return lane
          })
        }))
      })

    const send = (parts: ReadonlyArray<LaneRequest>): Effect.Effect<ReadonlyArray<A>, E> =>
      parts.length === 0 ? Effect.succeed([]) : Effect.gen(function*() {
        const lane = yield* laneFor(parts[0]!.sender, parts[0]!.channel)
        const items: Array<Item<A, E>> = []
        for (const request of parts) items.push({ request, done: yield* Deferred.make<A, E>(), cancelled: false })
        return yield* Queue.offerAll(lane.queue, items).pipe(
          Effect.zipRight(Effect.forEach(items, (item) => Deferred.await(item.done))),
          // an interrupted caller's parts that are still queued are not sent
          Effect.onInterrupt(() =>
            Effect.sync(() => {
              for (const item of items) item.cancelled = true
            })
          )
        )
      })

    return {
      send,
      setPrivileged: (sender, channel, privileged) =>
        Effect.sync(() => {
          privilegedOverrides.set(keyOf(sender, channel), privileged)
          const lane = lanes.get(keyOf(sender, channel))
          if (lane !== undefined) lane.privileged = privileged
        }),
      queued: (sender, channel) =>
        Effect.suspend(() => {
          const lane = lanes.get(keyOf(sender, channel))
          return lane === undefined ? Effect.succeed(0) : Queue.size(lane.queue).pipe(Effect.map((n) => Math.max(0, n)))
        })
    }
  })

/**
 * Splits `text` into parts of at most `max` UTF-16 code units, at whitespace where it can (a word
 * longer than `max` is cut, never inside a surrogate pair). Blank text gives no parts.
 *
 * @internal
 */
export const splitText = (text: string, max: number): ReadonlyArray<string> => {
  const parts: Array<string> = []
  let rest = text.trim()
  while (rest.length > max) {
    let cut = -1
    for (let i = max; i > 0; i--) {
      if (/\s/.test(rest[i]!)) {
        cut = i
        break
      }
    }
    if (cut <= 0) {
      cut = max
      const code = rest.charCodeAt(cut - 1)
      if (code >= 0xd800 && code <= 0xdbff) cut-- // keep a surrogate pair whole
    }
    parts.push(rest.slice(0, cut).trimEnd())
    rest = rest.slice(cut).trimStart()
  }
  if (rest.length > 0) parts.push(rest)
  return parts
}
