/**
 * The per-consumer inbox of the EventSub dispatcher: order, backpressure, the end after what came before,
 * shutdown, interruption, and the chunks it delivers (built by hand on Effect 3's Chunk layout, or by
 * `Chunk.unsafeFromArray` when that layout is not the one it knows).
 */
import { assert, describe, it } from "@effect/vitest"
import {
  Chunk,
  Deferred,
  Effect,
  Either,
  Equal,
  Fiber,
  FiberStatus,
  HashMap,
  Logger,
  Option,
  Stream,
  TestClock
} from "effect"
import type { Undecodable } from "../src/EventSub.js"
import { type EventSubError, EventSubRevoked } from "../src/EventSubError.js"
import { dispatch, Ingress, warn, WarningGate } from "../src/internal/eventsubDispatcher.js"
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

  it("only the layout of Effect's array chunk of [1, 2] is trusted: any field off falls back", () => {
    const proto: object = Object.getPrototypeOf(Chunk.make(1, 2))
    const fieldsOf = (overrides: Record<string, unknown>, backing: Record<string, unknown> = {}) =>
      Object.assign(Object.create(proto), {
        backing: { _tag: "IArray", array: [1, 2], ...backing },
        length: 2,
        depth: 0,
        left: Chunk.empty(),
        right: Chunk.empty(),
        ...overrides
      }) as Chunk.Chunk<number>
    assert.isDefined(handChunkConstructor(fieldsOf({})))
    for (
      const sample of [
        fieldsOf({}, { _tag: "IArrays" }),
        fieldsOf({}, { array: { 0: 1, 1: 2, length: 2 } }),
        fieldsOf({ length: 3 }),
        fieldsOf({ depth: 1 }),
        fieldsOf({ left: Chunk.of(0) }),
        fieldsOf({ right: Chunk.of(0) }),
        fieldsOf({ extra: true }),
        fieldsOf({ backing: null }),
        fieldsOf({ backing: "IArray" }),
        Chunk.unsafeFromArray([1, 2, 3]),
        Object.assign({}, Chunk.unsafeFromArray([1, 2])),
        Object.assign(Object.create(null), Chunk.unsafeFromArray([1, 2]))
      ]
    ) assert.isUndefined(handChunkConstructor(sample))
  })

  it("a field Object.keys does not list, or a backing that is not a plain object, is not the layout it knows", () => {
    const proto: object = Object.getPrototypeOf(Chunk.make(1, 2))
    const fields = { backing: { _tag: "IArray", array: [1, 2] }, length: 2, depth: 0, left: Chunk.empty() }
    const hidden = (name: string, value: unknown) => ({ [name]: { value, enumerable: false } })
    // `right` is there (so every field reads right) but not enumerable: the layout differs
    const hiddenRight = Object.create(proto, hidden("right", Chunk.empty()))
    assert.isUndefined(handChunkConstructor(Object.assign(hiddenRight, fields)))
    // as many fields as Effect's, one of them another
    const swapped = Object.create(proto, hidden("right", Chunk.empty()))
    assert.isUndefined(handChunkConstructor(Object.assign(swapped, fields, { stack: 1 })))
    // the backing's `array` not enumerable
    const backing = Object.create(Object.prototype, hidden("array", [1, 2]))
    backing._tag = "IArray"
    const right = { ...fields, right: Chunk.empty() }
    assert.isUndefined(handChunkConstructor(Object.assign(Object.create(proto), right, { backing })))
    // a function with the backing's fields
    const callable = Object.assign(() => {}, { _tag: "IArray", array: [1, 2] })
    assert.isUndefined(handChunkConstructor(Object.assign(Object.create(proto), right, { backing: callable })))
    assert.isDefined(handChunkConstructor(Object.assign(Object.create(proto), right)))
  })

  it("a chunk prototype whose chunks do not iterate as Effect's falls back", () => {
    const effectProto: object = Object.getPrototypeOf(Chunk.make(1, 2))
    const sampleWith = (iterate: (array: ReadonlyArray<number>) => ReadonlyArray<number>) =>
      Object.assign(
        Object.create(
          Object.create(effectProto, {
            [Symbol.iterator]: {
              value(this: Chunk.Chunk<number>) {
                return iterate(Chunk.toReadonlyArray(this))[Symbol.iterator]()
              }
            }
          })
        ),
        { backing: { _tag: "IArray", array: [1, 2] }, length: 2, depth: 0, left: Chunk.empty(), right: Chunk.empty() }
      ) as Chunk.Chunk<number>
    assert.isDefined(handChunkConstructor(sampleWith((array) => array)))
    for (
      const iterate of [
        (array: ReadonlyArray<number>) => array.slice(1),
        (array: ReadonlyArray<number>) => array.slice(0, -1),
        (array: ReadonlyArray<number>) => [...array].reverse(),
        (array: ReadonlyArray<number>) => array.length > 1 ? [array[1], array[0], ...array.slice(2)] : array,
        (array: ReadonlyArray<number>) => [...array, 0]
      ]
    ) assert.isUndefined(handChunkConstructor(sampleWith(iterate)))
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

  it.effect("a consumer waiting on an empty inbox is suspended, not spinning; an offer wakes it", () =>
    Effect.gen(function*() {
      const inbox = new Inbox<number, string>(4)
      const consumer = yield* inbox.stream.pipe(Stream.take(1), Stream.runCollect, Effect.fork)
      yield* settle
      assert.isTrue(FiberStatus.isSuspended(yield* Fiber.status(consumer)))
      yield* inbox.offerAll([1])
      assert.deepStrictEqual(Chunk.toArray(yield* Fiber.join(consumer)), [1])
    }))

  it.effect("a capacity below 1 is 1: offers still go through, one event at a time", () =>
    Effect.gen(function*() {
      for (const capacity of [0, -3]) {
        const inbox = new Inbox<number, string>(capacity)
        assert.strictEqual(inbox.capacity, 1)
        const offer = yield* Effect.fork(inbox.offerAll([1, 2]))
        yield* settle
        assert.strictEqual(inbox.size, 1)
        const chunks = yield* inbox.stream.pipe(Stream.chunks, Stream.take(2), Stream.runCollect)
        yield* Fiber.join(offer)
        assert.deepStrictEqual(Chunk.toArray(chunks).map((c) => Chunk.toArray(c)), [[1], [2]])
      }
    }))

  it.effect("a waiting offer moves in as soon as the consumer takes: the offerer goes on while the chunk is handled", () =>
    Effect.gen(function*() {
      const inbox = new Inbox<number, string>(2)
      const offer = yield* Effect.fork(inbox.offerAll([1, 2, 3, 4]))
      yield* settle
      const handled = yield* Deferred.make<void>()
      const seen: Array<ReadonlyArray<number>> = []
      const consumer = yield* inbox.stream.pipe(
        Stream.runForEachChunk((chunk) => {
          seen.push(Chunk.toArray(chunk))
          return Deferred.await(handled)
        }),
        Effect.fork
      )
      yield* settle
      assert.deepStrictEqual(seen, [[1, 2]])
      assert.isTrue(Option.isSome(yield* Fiber.poll(offer)), "the offerer is not held until the next pull")
      assert.strictEqual(inbox.size, 2)
      yield* Deferred.succeed(handled, void 0)
      yield* settle
      assert.deepStrictEqual(seen, [[1, 2], [3, 4]])
      yield* Fiber.interrupt(consumer)
    }))

  it.effect("shutdown after fail: the consumer is gone, its stream ends without the error", () =>
    Effect.gen(function*() {
      const inbox = new Inbox<number, string>(4)
      yield* inbox.offerAll([1])
      inbox.fail("revoked")
      yield* inbox.shutdown
      assert.deepStrictEqual(Chunk.toArray(yield* Stream.runCollect(inbox.stream)), [])
    }))

  it.effect("backpressure across takes: a long offer is moved in as room frees, the consumer sees each part", () =>
    Effect.gen(function*() {
      const inbox = new Inbox<number, string>(3)
      yield* inbox.offerAll([1])
      const offer = yield* Effect.fork(inbox.offerAll([2, 3, 4, 5, 6, 7, 8]))
      yield* settle
      assert.strictEqual(inbox.size, 3)
      const chunks = yield* inbox.stream.pipe(Stream.chunks, Stream.take(3), Stream.runCollect)
      yield* Fiber.join(offer)
      assert.deepStrictEqual(Chunk.toArray(chunks).map((c) => Chunk.toArray(c)), [[1, 2, 3], [4, 5, 6], [7, 8]])
    }))

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
      const map = ingress.batches
      deliver(1)
      deliver(2)
      const batch = ingress.batches.get(entry)!
      ingress.end()
      yield* dispatch(ingress, deps)
      assert.strictEqual(batch.length, 0)
      assert.notStrictEqual(ingress.batches, map, "the turn took the map; a spare one takes what comes next")
      deliver(3)
      assert.strictEqual(ingress.batches.get(entry), batch)
      yield* dispatch(ingress, deps)
      assert.strictEqual(ingress.batches, map, "two maps, swapped turn after turn")
      for (const inbox of inboxes) {
        assert.deepStrictEqual(Chunk.toArray(yield* inbox.stream.pipe(Stream.take(3), Stream.runCollect)), [1, 2, 3])
      }
    }))
})

describe("EventSub dispatcher", () => {
  const entryOf = (broadcaster: string) => {
    const entry = subscriptionFields({
      type: "channel.follow",
      version: "2",
      decode: (event) => Either.right(event)
    }, { broadcaster_user_id: broadcaster })
    const inbox = new Inbox<unknown, EventSubError>(16)
    entry.inboxes.add(inbox)
    return { entry, inbox }
  }
  const revoked = new EventSubRevoked({
    subscriptionId: "sub-1",
    type: "channel.follow",
    version: "2",
    status: "authorization_revoked"
  })
  const undecodable: Undecodable = {
    type: "channel.follow",
    version: "2",
    subscriptionId: "sub-1",
    messageId: "m-bad",
    raw: { user_name: 42 },
    error: "does not match its schema at user_name"
  }
  /** runs `f` with a logger recording "LEVEL message {annotations}" */
  const captureLogs = <A, E, R>(f: (lines: Array<string>) => Effect.Effect<A, E, R>) =>
    Effect.suspend(() => {
      const lines: Array<string> = []
      const logger = Logger.make(({ annotations, logLevel, message }) => {
        const text = Array.isArray(message) ? message.join(" ") : String(message)
        lines.push(`${logLevel.label} ${text} ${JSON.stringify(Object.fromEntries(HashMap.toEntries(annotations)))}`)
      })
      return f(lines).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
    })
  const depsOf = (calls: Array<string>) =>
    Effect.map(Effect.clock, (clock) => ({
      warnings: new WarningGate(10_000),
      clock,
      annotations: { connection: "c-1" },
      resume: () => {
        calls.push("resume")
      },
      end: (entry: Subscription, error: EventSubError) =>
        Effect.sync(() => {
          calls.push(`end ${entry.condition.broadcaster_user_id} ${error._tag}`)
        }),
      undecodable: (event: Undecodable) =>
        Effect.sync(() => {
          calls.push(`undecodable ${event.messageId}`)
        })
    }))

  it("WarningGate: the first of a kind, then one per interval noting how many were suppressed; kinds apart", () => {
    const gate = new WarningGate(1000)
    assert.strictEqual(gate.admit("json", 0), 0)
    assert.strictEqual(gate.admit("json", 1), -1)
    assert.strictEqual(gate.admit("json", 999), -1)
    assert.strictEqual(gate.admit("stale", 500), 0)
    assert.strictEqual(gate.admit("json", 1000), 2)
    assert.strictEqual(gate.admit("json", 1500), -1)
    assert.strictEqual(gate.admit("json", 1999), -1)
    assert.strictEqual(gate.admit("json", 2000), 2)
    assert.strictEqual(gate.admit("json", 5000), 0)
    assert.strictEqual(gate.admit("stale", 1499), -1)
    assert.strictEqual(gate.admit("stale", 1500), 1)
  })

  it.effect("warn: a warning with the transport's annotations, then the count of those suppressed", () =>
    captureLogs((lines) =>
      Effect.gen(function*() {
        const clock = yield* Effect.clock
        const gate = new WarningGate(1000)
        for (let i = 0; i < 3; i++) yield* warn(gate, clock, "json", "EventSub: not JSON", { connection: "c-1" })
        yield* TestClock.adjust("1 second")
        yield* warn(gate, clock, "json", "EventSub: not JSON", { connection: "c-1" })
        assert.deepStrictEqual(lines, [
          `WARN EventSub: not JSON {"connection":"c-1"}`,
          `WARN EventSub: not JSON (2 more like it since the last warning) {"connection":"c-1"}`
        ])
      })
    ))

  it("Ingress: what each action leaves for the dispatcher", () => {
    const { entry } = entryOf("1")
    const ingress = new Ingress<Subscription>()
    assert.isTrue(ingress.isEmpty)
    ingress.apply({ _tag: "Welcome", sessionId: "s-1", keepaliveSeconds: 10 })
    ingress.apply({ _tag: "Reconnect", url: "wss://x" })
    ingress.apply({ _tag: "Ignore", reason: "duplicate" })
    assert.isTrue(ingress.isEmpty)
    assert.strictEqual(ingress.pending, 0)

    ingress.apply({ _tag: "Deliver", entry, event: 1, problem: undefined })
    ingress.apply({ _tag: "Deliver", entry, event: 2, problem: { kind: "id", text: "long id" } })
    assert.isFalse(ingress.isEmpty)
    assert.deepStrictEqual(ingress.batches.get(entry), [1, 2])
    assert.deepStrictEqual(ingress.problems, [{ kind: "id", text: "long id" }])
    assert.strictEqual(ingress.pending, 2)

    const others = [
      (i: Ingress<Subscription>) => i.apply({ _tag: "Undecodable", entry, undecodable }),
      (i: Ingress<Subscription>) => i.apply({ _tag: "Revoke", entry, error: revoked }),
      (i: Ingress<Subscription>) => i.apply({ _tag: "Problem", problem: { kind: "json", text: "not JSON" } })
    ]
    for (const apply of others) {
      const alone = new Ingress<Subscription>()
      apply(alone)
      assert.isFalse(alone.isEmpty)
      assert.strictEqual(alone.batches.size, 0)
    }
    const all = new Ingress<Subscription>()
    for (const apply of others) apply(all)
    assert.deepStrictEqual(all.undecodable, [undecodable])
    assert.deepStrictEqual(all.revoked, [[entry, revoked]])
    assert.deepStrictEqual(all.problems, [{ kind: "json", text: "not JSON" }])
    // undecodable events count against the ingress bound, revocations and problems do not
    assert.strictEqual(all.pending, 1)
  })

  it.effect("Ingress.await: at once when something waits or the ingress is done; else until woken", () =>
    Effect.gen(function*() {
      const { entry } = entryOf("1")
      const ingress = new Ingress<Subscription>()
      const waiting = yield* Effect.fork(ingress.await)
      yield* settle
      assert.isTrue(Option.isNone(yield* Fiber.poll(waiting)))
      ingress.wake() // woken with nothing routed: a spurious wake is harmless
      yield* Fiber.join(waiting)
      ingress.wake() // nobody waits: nothing happens
      ingress.apply({ _tag: "Deliver", entry, event: 1, problem: undefined })
      yield* ingress.await
      const ended = new Ingress<Subscription>()
      const done = yield* Effect.fork(ended.await)
      yield* settle
      ended.end()
      yield* Fiber.join(done)
      assert.isTrue(ended.done)
      yield* ended.await
      // an interrupted wait is forgotten: a later wake resumes only the new waiter
      const idle = new Ingress<Subscription>()
      const interrupted = yield* Effect.fork(idle.await)
      yield* settle
      yield* Fiber.interrupt(interrupted)
      const next = yield* Effect.fork(idle.await)
      yield* settle
      idle.wake()
      yield* Fiber.join(next)
    }))

  it.effect("Ingress.wakeSoon: one wake after this turn's I/O callbacks, however many ask", () =>
    Effect.gen(function*() {
      const ingress = new Ingress<Subscription>()
      const first = yield* Effect.fork(ingress.await)
      yield* settle
      ingress.wakeSoon()
      ingress.wakeSoon()
      assert.isTrue(Option.isNone(yield* Fiber.poll(first)), "not woken synchronously")
      yield* Fiber.join(first)
      // and again on a later turn
      const second = yield* Effect.fork(ingress.await)
      yield* settle
      ingress.wakeSoon()
      yield* Fiber.join(second)
    }))

  it.effect("a turn: problems logged, events to every inbox, undecodable warned and handed on, then revocations", () =>
    captureLogs((lines) =>
      Effect.gen(function*() {
        const calls: Array<string> = []
        const deps = yield* depsOf(calls)
        const one = entryOf("1")
        const two = entryOf("2")
        const second = new Inbox<unknown, EventSubError>(16)
        one.entry.inboxes.add(second)
        const ingress = new Ingress<Subscription>()
        ingress.apply({ _tag: "Problem", problem: { kind: "json", text: "skipped a frame: not JSON" } })
        ingress.apply({ _tag: "Deliver", entry: one.entry, event: "a", problem: undefined })
        ingress.apply({ _tag: "Deliver", entry: two.entry, event: "b", problem: undefined })
        ingress.apply({ _tag: "Deliver", entry: one.entry, event: "c", problem: undefined })
        ingress.apply({ _tag: "Undecodable", entry: one.entry, undecodable })
        ingress.apply({ _tag: "Revoke", entry: one.entry, error: revoked })
        const dispatcher = yield* Effect.fork(dispatch(ingress, deps))
        yield* settle
        assert.deepStrictEqual(calls, ["resume", "undecodable m-bad", "end 1 EventSubRevoked"])
        assert.strictEqual(ingress.pending, 0)
        assert.isTrue(ingress.isEmpty)
        assert.deepStrictEqual(lines, [
          `WARN EventSub: skipped a frame: not JSON {"connection":"c-1"}`,
          "WARN EventSub: message m-bad (channel.follow v2) does not match its schema at user_name; " +
          `delivered to the undecodable stream {"connection":"c-1"}`
        ])
        for (const inbox of [one.inbox, second]) {
          assert.deepStrictEqual(Chunk.toArray(yield* inbox.stream.pipe(Stream.take(2), Stream.runCollect)), ["a", "c"])
        }
        assert.deepStrictEqual(Chunk.toArray(yield* two.inbox.stream.pipe(Stream.take(1), Stream.runCollect)), ["b"])

        // the next turn hands on only what was routed since: nothing is logged or ended twice
        assert.isTrue(Option.isNone(yield* Fiber.poll(dispatcher)), "the dispatcher waits for more")
        ingress.apply({ _tag: "Deliver", entry: two.entry, event: "d", problem: undefined })
        ingress.wake()
        yield* settle
        assert.deepStrictEqual(calls, ["resume", "undecodable m-bad", "end 1 EventSubRevoked", "resume"])
        assert.strictEqual(lines.length, 2)
        assert.deepStrictEqual(Chunk.toArray(yield* two.inbox.stream.pipe(Stream.take(1), Stream.runCollect)), ["d"])
        assert.strictEqual(one.inbox.size, 0)

        // ended: the dispatcher hands on what is left, then returns
        ingress.apply({ _tag: "Deliver", entry: two.entry, event: "e", problem: undefined })
        ingress.end()
        yield* Fiber.join(dispatcher)
        assert.deepStrictEqual(Chunk.toArray(yield* two.inbox.stream.pipe(Stream.take(1), Stream.runCollect)), ["e"])
      })
    ))

  it.effect("a slow inbox holds the turn (backpressure): the next entry's events wait behind it", () =>
    Effect.gen(function*() {
      const calls: Array<string> = []
      const deps = yield* depsOf(calls)
      const slow = subscriptionFields({ type: "t", version: "1", decode: Either.right }, { id: "slow" })
      const small = new Inbox<unknown, EventSubError>(1)
      slow.inboxes.add(small)
      const other = entryOf("2")
      const ingress = new Ingress<Subscription>()
      ingress.apply({ _tag: "Deliver", entry: slow, event: 1, problem: undefined })
      ingress.apply({ _tag: "Deliver", entry: slow, event: 2, problem: undefined })
      ingress.apply({ _tag: "Deliver", entry: other.entry, event: "x", problem: undefined })
      ingress.end()
      const dispatcher = yield* Effect.fork(dispatch(ingress, deps))
      yield* settle
      assert.isTrue(Option.isNone(yield* Fiber.poll(dispatcher)))
      assert.strictEqual(other.inbox.size, 0)
      assert.deepStrictEqual(Chunk.toArray(yield* small.stream.pipe(Stream.take(2), Stream.runCollect)), [1, 2])
      yield* Fiber.join(dispatcher)
      assert.strictEqual(other.inbox.size, 1)
    }))

  it.effect("what is routed while a turn waits on a slow inbox is handed on once, by the next turn", () =>
    captureLogs((lines) =>
      Effect.gen(function*() {
        const calls: Array<string> = []
        const deps = yield* depsOf(calls)
        const slow = entryOf("1")
        const small = new Inbox<unknown, EventSubError>(1)
        slow.entry.inboxes.add(small)
        const ingress = new Ingress<Subscription>()
        ingress.apply({ _tag: "Deliver", entry: slow.entry, event: 1, problem: undefined })
        ingress.apply({ _tag: "Deliver", entry: slow.entry, event: 2, problem: undefined })
        const dispatcher = yield* Effect.fork(dispatch(ingress, deps))
        yield* settle
        assert.isTrue(Option.isNone(yield* Fiber.poll(dispatcher)), "the turn waits on the full inbox")
        // routed while the turn waits: nothing of this turn had an undecodable event or a revocation
        ingress.apply({ _tag: "Undecodable", entry: slow.entry, undecodable })
        ingress.apply({ _tag: "Revoke", entry: slow.entry, error: revoked })
        ingress.end()
        assert.deepStrictEqual(Chunk.toArray(yield* small.stream.pipe(Stream.take(2), Stream.runCollect)), [1, 2])
        yield* Fiber.join(dispatcher)
        assert.deepStrictEqual(calls, ["resume", "resume", "undecodable m-bad", "end 1 EventSubRevoked"])
        assert.strictEqual(lines.length, 1, "warned once")
        assert.isTrue(ingress.isEmpty)
      })
    ))

  it.effect("memory stays bounded: at most 16 emptied arrays are kept for reuse, however many subscriptions a turn had", () =>
    Effect.gen(function*() {
      const deps = yield* depsOf([])
      const ingress = new Ingress<Subscription>()
      const entries = Array.from({ length: 20 }, (_, i) => entryOf(String(i)).entry)
      for (const entry of entries) ingress.apply({ _tag: "Deliver", entry, event: 1, problem: undefined })
      const delivered = new Set(entries.map((entry) => ingress.batches.get(entry)!))
      ingress.end()
      yield* dispatch(ingress, deps)
      const next = Array.from({ length: 20 }, (_, i) => entryOf(`n${i}`).entry)
      for (const entry of next) ingress.apply({ _tag: "Deliver", entry, event: 2, problem: undefined })
      const reused = next.filter((entry) => delivered.has(ingress.batches.get(entry)!))
      assert.strictEqual(reused.length, 16)
      for (const entry of next) assert.deepStrictEqual(ingress.batches.get(entry), [2])
    }))

  it.effect("Ingress.wakeSoon: however many ask in one event-loop turn, the dispatcher takes one turn for all", () =>
    Effect.gen(function*() {
      const calls: Array<string> = []
      const deps = yield* depsOf(calls)
      const { entry, inbox } = entryOf("1")
      const ingress = new Ingress<Subscription>()
      const dispatcher = yield* Effect.fork(dispatch(ingress, deps))
      yield* settle
      for (const event of ["a", "b", "c"]) {
        ingress.apply({ _tag: "Deliver", entry, event, problem: undefined })
        ingress.wakeSoon()
      }
      for (let i = 0; i < 4; i++) {
        yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
        yield* settle
      }
      assert.deepStrictEqual(calls, ["resume"], "one turn")
      const chunks = yield* inbox.stream.pipe(Stream.chunks, Stream.take(1), Stream.runCollect)
      assert.deepStrictEqual(Chunk.toArray(chunks).map((c) => Chunk.toArray(c)), [["a", "b", "c"]])
      yield* Fiber.interrupt(dispatcher)
    }))
})
