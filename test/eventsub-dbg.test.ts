import { it } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import * as EventSub from "../src/EventSub.js"
import * as Simulator from "../src/testing/Simulator.js"
import * as Stack from "./fixtures/stack.js"

it.live("dbg", () =>
  Effect.gen(function*() {
    const sim = yield* Simulator.Simulator
    const es = yield* EventSub.EventSub
    const fiber = yield* es.follows(Simulator.defaultUsers.broadcaster).pipe(Stream.take(1), Stream.runCollect, Effect.fork)
    yield* Effect.sleep("500 millis")
    console.log(JSON.stringify(yield* sim.eventSub.sessions), JSON.stringify((yield* sim.requestLog).slice(-3)))
    console.log(yield* Fiber.poll(fiber))
  }).pipe(Effect.provide(Stack.layer())), 5000)
