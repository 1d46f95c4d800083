import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Stream } from "effect"
import * as EventSub from "../src/EventSub.js"
import * as Simulator from "../src/testing/Simulator.js"
import * as Stack from "./fixtures/stack.js"

const B = Simulator.defaultUsers.broadcaster

describe("EventSub", () => {
  it.live("smoke", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const es = yield* EventSub.EventSub
      const fiber = yield* es.follows(B).pipe(Stream.take(1), Stream.runCollect, Effect.fork)
      yield* Effect.sleep("300 millis")
      console.log(yield* sim.eventSub.subscriptions)
      yield* sim.eventSub.trigger({ type: "channel.follow", event: { user_name: "X" } })
      const got = yield* Fiber.join(fiber)
      assert.strictEqual(Chunk.unsafeHead(got).user_name, "X")
    }).pipe(Effect.provide(Stack.layer())))
})
