/**
 * The per-consumer inbox of the EventSub dispatcher: order, backpressure, the end after what came before,
 * shutdown, interruption, and the chunks it delivers (built by hand on Effect 3's Chunk layout, or by
 * `Chunk.unsafeFromArray` when that layout is not the one it knows).
 */
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Either, Equal, Fiber, Stream } from "effect"
import type { EventSubError } from "../src/EventSubError.js"
import { dispatch, Ingress, WarningGate } from "../src/internal/eventsubDispatcher.js"
import { chunkFromArray, handBuiltChunks, handChunkConstructor, Inbox } from "../src/internal/eventsubInbox.js"
import { type Subscription, subscriptionFields } from "../src/internal/eventsubRegistry.js"

const builders = [
  ["hand-built chunks", chunkFromArray],
  ["Chunk.unsafeFromArray", Chunk.unsafeFromArray]
] as const

/** lets forked fibers run until they wait */
const settle = Effect.repeatN(Effect.yieldNow(), 20)

describe("EventSub inbox", () => {
  it("Effect's Chunk layout is the one the inbox knows: chunks are built by hand", () => {
    assert.isTrue(handBuiltChunks)
    const array = [1, 2, 3]
    const chunk = chunkFromArray(array)
    assert.isTrue(Chunk.isChunk(chunk))
    assert.strictEqual(Chunk.toReadonlyArray(chunk), array)
    assert.deepStrictEqual([...chunk], array)
    assert.isTrue(Equal.equals(chunk, Chunk.make(1, 2, 3)))
    assert.deepStrictEqual(Chunk.toArray(Chunk.appendAll(chunk, chunkFromArray([4]))), [1, 2, 3, 4])
    assert.deepStrictEqual(Chunk.toArray(Chunk.flatMap(chunk, (n) => Chunk.make(n, n))), [1, 1, 2, 2, 3, 3])
    assert.deepStrictEqual(
      Chunk.toArray(Chunk.sort(chunkFromArray([3, 1, 2]), (a: number, b: number) => a < b ? -1 : a > b ? 1 : 0)),
      [1, 2, 3]
    )
    assert.strictEqual(String(chunk), String(Chunk.make(1, 2, 3)))
  })

  it("a layout it does not know (or a chunk that is not an array chunk) falls back", () => {
    assert.isUndefined(handChunkConstructor(Chunk.of(1) as Chunk.Chunk<number>))
    assert.isUndefined(handChunkConstructor(Chunk.empty()))
    const wrong = { backing: { _tag: "IArray", array: [1, 2] }, length: 2, depth: 0 }
    assert.isUndefined(handChunkConstructor(wrong as unknown as Chunk.Chunk<number>))
    const renamed = Object.assign(Object.create(Object.getPrototypeOf(Chunk.make(1, 2))), {
      backing: { _tag: "IArray", values: [1, 2] },
      length: 2,
      depth: 0,
      left: Chunk.empty(),
      right: Chunk.empty()
    })
    assert.isUndefined(handChunkConstructor(renamed))
    assert.isDefined(handChunkConstructor(Chunk.unsafeFromArray([1, 2])))
  })

  for (const [name, chunkOf] of builders) {
    describe(name, () => {
      it.effect("delivers in order, everything waiting as one chunk, chunks users may keep", () =>
        Effect.gen(function*() {
          const inbox = new Inbox<number, string>(16, chunkOf)
          yield* inbox.offerAll([1, 2, 3])
          yield* inbox.offerAll([4, 5])
          const chunks: Array<Chunk.Chunk<number>> = []
          const fiber = yield* inbox.stream.pipe(
            Stream.take(8),
            Stream.runForEachChunk((chunk) => Effect.sync(() => chunks.push(chunk))),
            Effect.fork
          )
          yield* settle
          yield* inbox.offerAll([6])
          yield* settle
          yield* inbox.offerAll([7, 8])
          yield* Fiber.join(fiber)
          assert.deepStrictEqual(chunks.map((c) => Chunk.toArray(c)), [[1, 2, 3, 4, 5], [6], [7, 8]])
          for (const chunk of chunks) assert.isTrue(Chunk.isChunk(chunk))
          // a chunk is a copy: later deliveries do not change a chunk kept by the user
          assert.isTrue(Equal.equals(chunks[0], Chunk.make(1, 2, 3, 4, 5)))
          assert.strictEqual(inbox.size, 0)
        }))

      it.effect("Stream.runForEach sees every event once, in order", () =>
        Effect.gen(function*() {
          const inbox = new Inbox<number, string>(64, chunkOf)
          const seen: Array<number> = []
          const fiber = yield* inbox.stream.pipe(
            Stream.take(1000),
            Stream.runForEach((n) => Effect.sync(() => seen.push(n))),
            Effect.fork
          )
          for (let i = 0; i < 1000; i += 50) {
            yield* inbox.offerAll(Array.from({ length: 50 }, (_, j) => i + j))
          }
          yield* Fiber.join(fiber)
          assert.deepStrictEqual(seen, Array.from({ length: 1000 }, (_, i) => i))
        }))

      it.effect("backpressure: an offer beyond the capacity waits until the consumer takes", () =>
        Effect.gen(function*() {
          const inbox = new Inbox<number, string>(2, chunkOf)
          const offer = yield* Effect.fork(inbox.offerAll([1, 2, 3, 4, 5]))
          yield* settle
          assert.isTrue((yield* Fiber.poll(offer))._tag === "None")
          assert.strictEqual(inbox.size, 2)
          const chunks = yield* inbox.stream.pipe(
            Stream.chunks,
            Stream.take(3),
            Stream.runCollect
          )
          yield* Fiber.join(offer)
          assert.deepStrictEqual(Chunk.toArray(chunks).map((c) => Chunk.toArray(c)), [[1, 2], [3, 4], [5]])
          // a second offerer waits behind the first, in order
          const first = yield* Effect.fork(inbox.offerAll([6, 7, 8]))
          yield* settle
          const second = yield* Effect.fork(inbox.offerAll([9]))
          yield* settle
          const rest = yield* inbox.stream.pipe(Stream.take(4), Stream.runCollect)
          yield* Fiber.join(first)
          yield* Fiber.join(second)
          assert.deepStrictEqual(Chunk.toArray(rest), [6, 7, 8, 9])
        }))

      it.effect("fail: the stream fails after delivering what was offered before, waiting offers included", () =>
        Effect.gen(function*() {
          const inbox = new Inbox<number, string>(2, chunkOf)
          const offer = yield* Effect.fork(inbox.offerAll([1, 2, 3]))
          yield* settle
          inbox.fail("revoked")
          inbox.fail("twice") // the first end wins
          yield* inbox.offerAll([4]) // after the end: dropped
          const out = yield* inbox.stream.pipe(Stream.either, Stream.runCollect)
          yield* Fiber.join(offer)
          assert.deepStrictEqual(Chunk.toArray(out), [
            Either.right(1),
            Either.right(2),
            Either.right(3),
            Either.left("revoked")
          ])
        }))

      it.effect("fail wakes a waiting consumer", () =>
        Effect.gen(function*() {
          const inbox = new Inbox<number, string>(4, chunkOf)
          const consumer = yield* inbox.stream.pipe(Stream.runCollect, Effect.either, Effect.fork)
          yield* settle
          inbox.fail("revoked")
          assert.deepStrictEqual(yield* Fiber.join(consumer), Either.left("revoked"))
        }))

      it.effect("shutdown: waiting offers go on, later offers are dropped, a waiting consumer ends", () =>
        Effect.gen(function*() {
          const inbox = new Inbox<number, string>(1, chunkOf)
          const offer = yield* Effect.fork(inbox.offerAll([1, 2, 3]))
          yield* settle
          yield* inbox.shutdown
          yield* Fiber.join(offer)
          yield* inbox.offerAll([4, 5])
          assert.strictEqual(inbox.size, 0)
          assert.deepStrictEqual(Chunk.toArray(yield* Stream.runCollect(inbox.stream)), [])

          const other = new Inbox<number, string>(1, chunkOf)
          const consumer = yield* Effect.fork(Stream.runCollect(other.stream))
          yield* settle
          yield* other.shutdown
          assert.deepStrictEqual(Chunk.toArray(yield* Fiber.join(consumer)), [])
        }))

      it.effect("interruption: an interrupted offer leaves nothing behind, an interrupted consumer is forgotten", () =>
        Effect.gen(function*() {
          const inbox = new Inbox<number, string>(2, chunkOf)
          const offer = yield* Effect.fork(inbox.offerAll([1, 2, 3, 4]))
          yield* settle
          yield* Fiber.interrupt(offer)
          // what fitted was offered; the rest of the interrupted offer never arrives
          const first = yield* inbox.stream.pipe(Stream.take(2), Stream.runCollect)
          assert.deepStrictEqual(Chunk.toArray(first), [1, 2])
          yield* inbox.offerAll([5])
          yield* inbox.offerAll([6])
          const consumer = yield* inbox.stream.pipe(Stream.take(5), Stream.runCollect, Effect.fork)
          yield* settle
          yield* Fiber.interrupt(consumer)
          yield* inbox.offerAll([7])
          const rest = yield* inbox.stream.pipe(Stream.take(1), Stream.runCollect)
          assert.deepStrictEqual(Chunk.toArray(rest), [7])
        }))
    })
  }

  it.effect("dispatcher: each turn's batches reach every inbox, then are emptied in place and reused", () =>
    Effect.gen(function*() {
      const entry = subscriptionFields({
        type: "channel.follow",
        version: "2",
        decode: (event) => Either.right(event)
      }, { broadcaster_user_id: "1" })
      const inboxes = [new Inbox<unknown, EventSubError>(16), new Inbox<unknown, EventSubError>(16)]
      for (const inbox of inboxes) entry.inboxes.add(inbox)
      const ingress = new Ingress<Subscription>()
      const deliver = (event: number) => ingress.apply({ _tag: "Deliver", entry, event, problem: undefined })
      const deps = {
        warnings: new WarningGate(10_000),
        clock: yield* Effect.clock,
        annotations: {},
        resume: () => {},
        end: () => Effect.void,
        undecodable: () => Effect.void
      }
      deliver(1)
      deliver(2)
      const batch = ingress.batches.get(entry)!
      ingress.end()
      yield* dispatch(ingress, deps)
      assert.strictEqual(batch.length, 0)
      deliver(3)
      assert.strictEqual(ingress.batches.get(entry), batch)
      for (const inbox of inboxes) {
        assert.deepStrictEqual(Chunk.toArray(yield* inbox.stream.pipe(Stream.take(2), Stream.runCollect)), [1, 2])
      }
    }))
})
