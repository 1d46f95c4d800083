// The bounded inbox of one EventSub consumer: the dispatcher offers each turn's events as one array
// (waiting while the inbox is full: backpressure), the consumer's stream takes everything waiting as one
// chunk. It replaces Effect's `Mailbox` on this path for one reason, measured in `bench/eventsub.ts`: with
// `Stream.runForEach` (an Effect per event, the README's consumer) the short-lived containers between a
// chunk and its events outlive a few young-generation GCs, V8's allocation-site pretenuring then allocates
// them straight into the old generation, and the events they point to survive until the next full GC
// (~2.5 µs per event more, and a third more memory). Pretenuring is decided per allocation site of object
// and array literals; what took `runForEach` to `runFold`'s cost was all three of:
// - the chunk's backing `{ _tag: "IArray", array }` made by a class constructor (`new`), not a literal;
// - the chunk's array a `slice()` copy of the buffer;
// - the buffer one long-lived array, emptied in place (`length = 0`).
// Building a Chunk by hand depends on Effect 3's internal Chunk layout (`effect/src/Chunk.ts`: `backing`,
// `length`, `depth`, `left`, `right` on an object whose prototype holds the methods): it is checked once at
// load against a chunk Effect made, and on any difference chunks come from `Chunk.unsafeFromArray`.
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Equal from "effect/Equal"
import * as Exit from "effect/Exit"
import * as Stream from "effect/Stream"

/** The backing of an array chunk, as Effect 3's `Chunk` lays it out; a class so that V8 does not pretenure it. */
class ArrayBacking<A> {
  readonly _tag: "IArray"
  readonly array: ReadonlyArray<A>
  constructor(array: ReadonlyArray<A>) {
    this._tag = "IArray"
    this.array = array
  }
}

const sameKeys = (value: object, keys: ReadonlyArray<string>): boolean => {
  const own = Object.keys(value).sort()
  return own.length === keys.length && own.every((key, i) => key === keys[i])
}

const chunkKeys = ["backing", "depth", "left", "length", "right"]
const backingKeys = ["_tag", "array"]

const sameElements = <A>(chunk: Chunk.Chunk<A>, expected: ReadonlyArray<A>): boolean => {
  const array = Chunk.toReadonlyArray(chunk)
  return array.length === expected.length && array.every((a, i) => a === expected[i])
}

/**
 * A constructor of array chunks that makes no literal, when `sample` (an array chunk Effect made of
 * `[1, 2]`) has the layout it relies on and the chunks it makes behave as Effect's own; `undefined`
 * otherwise.
 *
 * @internal
 */
export const handChunkConstructor = (
  sample: Chunk.Chunk<number>
): (<A>(array: ReadonlyArray<A>) => Chunk.Chunk<A>) | undefined => {
  try {
    const fields = sample as unknown as Record<string, unknown>
    const backing = fields.backing
    const empty = Chunk.empty<never>()
    if (
      !sameKeys(sample, chunkKeys) || typeof backing !== "object" || backing === null ||
      !sameKeys(backing, backingKeys) || (backing as Record<string, unknown>)._tag !== "IArray" ||
      !Array.isArray((backing as Record<string, unknown>).array) || fields.length !== 2 || fields.depth !== 0 ||
      fields.left !== empty || fields.right !== empty
    ) return undefined
    const proto: object | null = Object.getPrototypeOf(sample)
    if (proto === null || proto === Object.prototype) return undefined
    class ArrayChunk<A> {
      readonly backing: ArrayBacking<A>
      readonly length: number
      readonly depth: number
      readonly left: Chunk.Chunk<A>
      readonly right: Chunk.Chunk<A>
      constructor(array: ReadonlyArray<A>) {
        this.backing = new ArrayBacking(array)
        this.length = array.length
        this.depth = 0
        this.left = empty
        this.right = empty
      }
    }
    Object.setPrototypeOf(ArrayChunk.prototype, proto)
    const make = <A>(array: ReadonlyArray<A>): Chunk.Chunk<A> => new ArrayChunk(array) as unknown as Chunk.Chunk<A>
    // the chunks it makes behave as Effect's own
    const values = [1, 2, 3]
    const made = make(values)
    const ok = Chunk.isChunk(made) && Chunk.toReadonlyArray(made) === values && Chunk.size(made) === 3 &&
      Chunk.unsafeGet(made, 2) === 3 && sameElements(Chunk.unsafeFromArray([...made]), values) &&
      Equal.equals(made, Chunk.make(1, 2, 3)) && Equal.equals(Chunk.make(1, 2, 3), made) &&
      sameElements(Chunk.appendAll(made, Chunk.of(4)), [1, 2, 3, 4]) &&
      sameElements(Chunk.appendAll(Chunk.of(0), made), [0, 1, 2, 3]) &&
      sameElements(Chunk.drop(made, 1), [2, 3]) && sameElements(Chunk.take(made, 2), [1, 2]) &&
      sameElements(Chunk.map(made, (n) => n * 2), [2, 4, 6]) && sameElements(Chunk.reverse(made), [3, 2, 1]) &&
      sameElements(Chunk.filter(made, (n) => n !== 2), [1, 3]) && Chunk.toArray(made).length === 3 &&
      sameElements(make([7]), [7]) && Chunk.unsafeHead(make([7])) === 7
    return ok ? make : undefined
  } catch {
    return undefined
  }
}

const handChunk = handChunkConstructor(Chunk.unsafeFromArray([1, 2]))

/** Chunks are built by hand (no literal): Effect's Chunk layout is the one this module knows. @internal */
export const handBuiltChunks: boolean = handChunk !== undefined

/** An array chunk of `array` (taken over, not copied), built by hand when the layout allows. @internal */
export const chunkFromArray: <A>(array: ReadonlyArray<A>) => Chunk.Chunk<A> = handChunk ?? Chunk.unsafeFromArray

/** An offer waiting for room: `events` from `offset` on. */
class PendingOffer<A> {
  constructor(
    readonly events: ReadonlyArray<A>,
    public offset: number,
    readonly resume: (effect: Effect.Effect<void>) => void
  ) {}
}

const OPEN = 0
const CLOSING = 1
const DONE = 2

/**
 * A bounded inbox read by one stream. `offerAll` waits while it is full (backpressure); `fail` ends the
 * stream with the error once what was offered before has been delivered; `shutdown` (the consumer is
 * gone) drops what waits and lets waiting offers go on. Offers after `fail` or `shutdown` are dropped.
 *
 * @internal
 */
export class Inbox<A, E> {
  /** one long-lived array, emptied in place */
  private readonly buffer: Array<A> = []
  private readonly offers = new Set<PendingOffer<A>>()
  private readonly takers = new Set<(effect: Effect.Effect<void>) => void>()
  private state = OPEN
  /** how the stream ends once drained: succeeds with `null` (end), or fails */
  private end: Exit.Exit<Chunk.Chunk<A> | null, E> = Exit.succeed(null)
  readonly capacity: number
  private readonly chunkOf: <X>(array: ReadonlyArray<X>) => Chunk.Chunk<X>
  /** everything waiting as one chunk (waits for an offer when empty); `null` when the stream ends */
  private readonly take: Effect.Effect<Chunk.Chunk<A> | null, E>
  private readonly awaitOffer: Effect.Effect<void>
  private readonly awaitThenTake: Effect.Effect<Chunk.Chunk<A> | null, E>
  /** the consumer's stream: every event waiting, one chunk per pull */
  readonly stream: Stream.Stream<A, E>

  constructor(capacity: number, chunkOf: <X>(array: ReadonlyArray<X>) => Chunk.Chunk<X> = chunkFromArray) {
    this.capacity = Math.max(1, capacity)
    this.chunkOf = chunkOf
    this.take = Effect.suspend(() => this.takeNow())
    this.awaitOffer = Effect.async<void>((resume) => {
      if (this.buffer.length > 0 || this.state !== OPEN) return resume(Effect.void)
      this.takers.add(resume)
      return Effect.sync(() => {
        this.takers.delete(resume)
      })
    })
    this.awaitThenTake = Effect.zipRight(this.awaitOffer, this.take)
    const take = Channel.fromEffect(this.take)
    const loop: Channel.Channel<Chunk.Chunk<A>, unknown, E> = Channel.flatMap(
      take,
      (chunk) => chunk === null ? Channel.void : Channel.zipRight(Channel.write(chunk), loop)
    )
    this.stream = Stream.fromChannel(loop)
  }

  /** events waiting, not taken yet */
  get size(): number {
    return this.buffer.length
  }

  /** Offers `events` in order; waits while the inbox is full. */
  offerAll(events: ReadonlyArray<A>): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (this.state !== OPEN || events.length === 0) return Effect.void
      const offset = this.fill(events, 0)
      this.wake()
      if (offset === events.length) return Effect.void
      return Effect.async<void>((resume) => {
        if (this.state === DONE) return resume(Effect.void)
        // the fiber may have yielded since the fill above, and a take emptied the buffer meanwhile: an offer
        // queued behind room nobody refills would wait for ever, so fill again first
        const rest = this.fill(events, offset)
        this.wake()
        if (rest === events.length) return resume(Effect.void)
        const offer = new PendingOffer(events, rest, resume)
        this.offers.add(offer)
        return Effect.sync(() => {
          this.offers.delete(offer)
        })
      })
    })
  }

  /** The stream fails with `error` after delivering what was offered before. */
  fail(error: E): void {
    if (this.state !== OPEN) return
    this.end = Exit.fail(error)
    this.state = CLOSING
    this.wake()
  }

  /** The consumer is gone: what waits is dropped, waiting offers go on, later offers are dropped. */
  readonly shutdown: Effect.Effect<void> = Effect.sync(() => {
    this.state = DONE
    this.end = Exit.succeed(null)
    this.buffer.length = 0
    for (const offer of this.offers) offer.resume(Effect.void)
    this.offers.clear()
    this.wake()
  })

  private takeNow(): Effect.Effect<Chunk.Chunk<A> | null, E> {
    const buffer = this.buffer
    if (buffer.length > 0) {
      const chunk = this.chunkOf(buffer.slice())
      buffer.length = 0
      if (this.offers.size > 0) this.refill()
      return Exit.succeed(chunk)
    }
    if (this.state !== OPEN) {
      this.state = DONE
      return this.end
    }
    return this.awaitThenTake
  }

  /** copies events into the buffer up to capacity; returns the offset of the first one left out */
  private fill(events: ReadonlyArray<A>, offset: number): number {
    const buffer = this.buffer
    const end = Math.min(events.length, offset + this.capacity - buffer.length)
    for (let i = offset; i < end; i++) buffer.push(events[i]!)
    return Math.max(offset, end)
  }

  /** moves waiting offers in, in order, while there is room */
  private refill(): void {
    for (const offer of this.offers) {
      offer.offset = this.fill(offer.events, offer.offset)
      if (offer.offset < offer.events.length) return
      this.offers.delete(offer)
      offer.resume(Effect.void)
    }
  }

  private wake(): void {
    if (this.takers.size === 0) return
    for (const taker of this.takers) taker(Effect.void)
    this.takers.clear()
  }
}
