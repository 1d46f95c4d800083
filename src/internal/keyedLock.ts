import * as Effect from "effect/Effect"

/**
 * Runs effects one at a time per key. One semaphore per key with waiters; an entry is removed when
 * its last waiter leaves, so the map is bounded by the keys in use.
 *
 * @internal
 */
export type KeyedLock = <A, E, R>(key: string, effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>

/** @internal */
export const makeKeyedLock = (): KeyedLock => {
  const locks = new Map<string, { readonly semaphore: Effect.Semaphore; refs: number }>()
  const enter = (key: string) =>
    Effect.sync(() => {
      let entry = locks.get(key)
      if (entry === undefined) {
        entry = { semaphore: Effect.unsafeMakeSemaphore(1), refs: 0 }
        locks.set(key, entry)
      }
      entry.refs++
      return entry
    })
  return (key, effect) =>
    Effect.acquireUseRelease(
      enter(key),
      (entry) => entry.semaphore.withPermits(1)(effect),
      (entry) =>
        Effect.sync(() => {
          entry.refs--
          if (entry.refs === 0) locks.delete(key)
        })
    )
}
