import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Stream } from "effect"
import * as EventSub from "../src/EventSub.js"
import * as EventSubTypes from "../src/EventSubTypes.js"
import * as Simulator from "../src/testing/Simulator.js"
import * as Stack from "./fixtures/stack.js"

const B = Simulator.defaultUsers.broadcaster
const realPause = (millis = 10) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, millis)))

/** One chat-message subscription per broadcaster id: distinct type + condition, cost 0 (scoped type). */
const chatIn = (eventSub: EventSub.EventSub.Service, broadcaster: number) =>
  eventSub.subscribe(EventSubTypes.ChannelChatMessageV1, { broadcaster_user_id: String(broadcaster), user_id: B })

const enabledCount = Effect.flatMap(
  Simulator.Simulator,
  (sim) => Effect.map(sim.eventSub.subscriptions, (subs) => subs.filter((s) => s.status === "enabled").length)
)

const waitFor = (target: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < 2_000; i++) {
      if ((yield* enabledCount) >= target) return
      yield* realPause()
    }
    return yield* Effect.fail(`timed out waiting for ${target} subscriptions`)
  })

describe("EventSub limits", () => {
  it.scopedLive("past 300 subscriptions a second connection opens; past 3 × 300 a typed EventSubLimitExceeded", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const eventSub = yield* EventSub.EventSub
      for (let i = 0; i < 900; i++) yield* Effect.forkScoped(Stream.runDrain(chatIn(eventSub, 1_000 + i)))
      yield* waitFor(900)
      const open = (yield* sim.eventSub.sessions).filter((s) => s.status !== "closed")
      assert.strictEqual(open.length, 3)
      assert.deepStrictEqual(open.map((s) => s.subscriptions.length), [300, 300, 300])
      const overflow = yield* chatIn(eventSub, 5_000).pipe(Stream.runDrain, Effect.fork)
      const exit = yield* Fiber.await(overflow)
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) {
        const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
        assert.strictEqual(error?._tag, "EventSubLimitExceeded")
        if (error?._tag === "EventSubLimitExceeded") assert.strictEqual(error.limit, "connections")
      }
    }).pipe(Effect.provide(Stack.layer({ simulator: { rateLimit: { capacity: 10_000, refillPerSecond: 10_000 } } }))))

  it.scopedLive("past Twitch's max_total_cost a typed EventSubLimitExceeded(cost) at once; the others stay enabled", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const eventSub = yield* EventSub.EventSub
      // stream.online of a broadcaster who has not authorized this client costs 1; max_total_cost is 10
      const online = (broadcaster: number) =>
        eventSub.streamOnline(String(broadcaster)).pipe(Stream.runDrain, Effect.forkScoped)
      for (let i = 0; i < 10; i++) yield* online(7_000 + i)
      yield* waitFor(10)
      const exit = yield* eventSub.streamOnline("7999").pipe(Stream.runDrain, Effect.exit)
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) {
        const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
        assert.strictEqual(error?._tag, "EventSubLimitExceeded")
        if (error?._tag === "EventSubLimitExceeded") assert.strictEqual(error.limit, "cost")
      }
      assert.strictEqual(yield* enabledCount, 10)
      // that 429 is a subscription limit, not the rate limiter's: asked once, not retried after a wait
      const creates = (yield* sim.requestLog).filter((e) =>
        e.method === "POST" && e.path.endsWith("/eventsub/subscriptions")
      )
      assert.strictEqual(creates.length, 11)
    }).pipe(Effect.provide(Stack.layer())))

  it.scoped("a stream with no user to subscribe as fails with EventSubNoUser", () =>
    Effect.gen(function*() {
      const eventSub = yield* EventSub.EventSub
      const exit = yield* eventSub.follows(B).pipe(Stream.runDrain, Effect.exit)
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
        assert.strictEqual(exit.cause.error._tag, "EventSubNoUser")
      }
    }).pipe(Effect.provide(Stack.layer({ users: [] }))))
})
