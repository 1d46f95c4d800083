// The subscription registry shared by the EventSub transports: one entry per Twitch subscription
// (type + version + condition), the bounded inboxes of the streams consuming it, and the lookups a
// router needs (by Twitch id, or by type + condition while the create request is in flight).
import * as Effect from "effect/Effect"
import type * as Either from "effect/Either"
import type * as Scope from "effect/Scope"
import type { EventSubError } from "../EventSubError.js"
import { Inbox } from "./eventsubInbox.js"

/** How to turn a notification's `event` into the subscriber's type. @internal */
export interface EventDecoder<A> {
  readonly type: string
  readonly version: string
  /** Left: the failing field paths, never the values */
  readonly decode: (event: unknown, subscription: unknown) => Either.Either<A, string>
}

/**
 * A failed create, classified: `conflict` (Twitch holds such a subscription already, 409, or counts a lost
 * session against the connection limit): look for it, clean up, create again; `transient` (timeouts, 5xx,
 * network): try again later; `fatal` (bad condition, missing scope, a limit): the stream ends.
 *
 * @internal
 */
export interface CreateFailure {
  readonly kind: "conflict" | "transient" | "fatal"
  readonly error: EventSubError
}

/** One Twitch subscription and the streams consuming it. Transports extend it with their own fields. @internal */
export interface Subscription {
  readonly key: string
  readonly decoder: EventDecoder<unknown>
  readonly condition: Readonly<Record<string, unknown>>
  /** one per consumer, each bounded by the consumer buffer */
  readonly inboxes: Set<Inbox<unknown, EventSubError>>
  /** serialises creation and deletion of the Twitch subscription */
  readonly lock: Effect.Semaphore
  refCount: number
  /** the latest Twitch subscription id */
  twitchId: string | null
  /** revoked or failed: its consumers' inboxes were failed and it left the registry */
  ended: boolean
  /** every consumer is gone */
  removed: boolean
}

/** The fields every subscription starts with. @internal */
export const subscriptionFields = (
  decoder: EventDecoder<unknown>,
  condition: Readonly<Record<string, unknown>>
): Subscription => ({
  key: stableKey(decoder.type, decoder.version, condition),
  decoder,
  condition,
  inboxes: new Set(),
  lock: Effect.unsafeMakeSemaphore(1),
  refCount: 0,
  twitchId: null,
  ended: false,
  removed: false
})

/** One key per type + version + condition (condition fields in any order). @internal */
export const stableKey = (type: string, version: string, condition: Readonly<Record<string, unknown>>): string =>
  `${type}\u0000${version}\u0000${JSON.stringify(Object.keys(condition).sort().map((k) => [k, condition[k]]))}`

/** @internal */
export const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null

/** every field we set has the same value in `actual` @internal */
export const conditionMatches = (wanted: Readonly<Record<string, unknown>>, actual: unknown): boolean => {
  if (!isRecord(actual)) return false
  for (const key in wanted) {
    if (actual[key] !== wanted[key]) return false
  }
  return true
}

/** the same condition: every field we set, and no other field set (Twitch lists unset fields as "") @internal */
export const sameCondition = (
  wanted: Readonly<Record<string, unknown>>,
  actual: Readonly<Record<string, unknown>>
): boolean =>
  conditionMatches(wanted, actual) &&
  Object.keys(actual).every((key) => key in wanted || actual[key] === "" || actual[key] === undefined)

/**
 * The subscriptions a transport routes to: by Twitch id, and (for a notification that overtakes the answer
 * to the create request) by type + version + condition among those `isPending` says are being created.
 *
 * @internal
 */
export class Registry<S extends Subscription> {
  readonly entries = new Set<S>()
  private readonly byTwitchId = new Map<string, S>()
  constructor(private readonly isPending: (entry: S) => boolean) {}

  get size(): number {
    return this.entries.size
  }

  add(entry: S): void {
    this.entries.add(entry)
  }

  /** takes the entry out (its Twitch subscription is left alone) */
  delete(entry: S): void {
    this.entries.delete(entry)
    if (entry.twitchId !== null && this.byTwitchId.get(entry.twitchId) === entry) this.byTwitchId.delete(entry.twitchId)
  }

  /** the entry's Twitch subscription is now `id` */
  setTwitchId(entry: S, id: string): void {
    if (entry.twitchId !== null && this.byTwitchId.get(entry.twitchId) === entry) this.byTwitchId.delete(entry.twitchId)
    entry.twitchId = id
    if (!entry.ended) this.byTwitchId.set(id, entry)
  }

  /** forgets every Twitch id (their subscriptions are gone, e.g. with a lost WebSocket session) */
  clearIds(): void {
    this.byTwitchId.clear()
  }

  /** the entry a notification's `subscription` object belongs to */
  find(subscription: Record<string, unknown>): S | undefined {
    const id = subscription.id
    if (typeof id === "string") {
      const byId = this.byTwitchId.get(id)
      if (byId !== undefined) return byId
    }
    for (const entry of this.entries) {
      if (
        this.isPending(entry) && entry.decoder.type === subscription.type &&
        entry.decoder.version === subscription.version && conditionMatches(entry.condition, subscription.condition)
      ) return entry
    }
    return undefined
  }
}

/** The entry's streams fail with `error` once they have delivered what was offered before. @internal */
export const failConsumers = (entry: Subscription, error: EventSubError): void => {
  entry.ended = true
  for (const inbox of entry.inboxes) inbox.fail(error)
}

/**
 * A new consumer of the entry: an inbox of `capacity` events (offers beyond it wait: backpressure). When the
 * scope closes, the inbox leaves the entry (a dispatcher waiting for room in it goes on), then `release` runs.
 *
 * @internal
 */
export const addConsumer = (
  entry: Subscription,
  capacity: number,
  release: Effect.Effect<void>
): Effect.Effect<Inbox<unknown, EventSubError>, never, Scope.Scope> =>
  Effect.suspend(() => {
    entry.refCount++
    const inbox = new Inbox<unknown, EventSubError>(capacity)
    entry.inboxes.add(inbox)
    return Effect.as(
      Effect.addFinalizer(() =>
        Effect.suspend(() => {
          entry.inboxes.delete(inbox)
          return Effect.zipRight(inbox.shutdown, release)
        })
      ),
      inbox
    )
  })
