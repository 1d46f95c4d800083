/**
 * The simulator's polls and predictions over the full stack: `channel.poll.end` when a poll is ended, and when
 * its time runs out (status `completed`); `channel.prediction.lock` when the broadcaster locks a prediction, and
 * when its window closes. Once each, as Twitch sends them.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import * as EventSubTypes from "../src/EventSubTypes.js"
import * as Helix from "../src/Helix.js"
import * as Polls from "../src/Helix/Polls.js"
import * as Predictions from "../src/Helix/Predictions.js"
import * as Simulator from "../src/testing/Simulator.js"
import { eventually, realPause, startStream, withStack } from "./fixtures/eventsub.js"

const B = Simulator.defaultUsers.broadcaster

/** the test clock forward by `seconds`, in 5 s steps (the simulator's keepalives keep the session up) */
const advance = (seconds: number) =>
  Effect.gen(function*() {
    for (let left = seconds; left > 0; left -= 5) {
      yield* TestClock.adjust(`${Math.min(5, left)} seconds`)
      yield* realPause(5)
    }
  })

describe("Simulator polls", () => {
  it.scoped("a poll whose time runs out ends with channel.poll.end (completed); one ended before does not end again", () =>
    Effect.gen(function*() {
      const { items } = yield* startStream((eventSub) =>
        eventSub.subscribe(EventSubTypes.ChannelPollEndV1, { broadcaster_user_id: B })
      )
      const helix = yield* Helix.Helix
      const create = (title: string) =>
        Effect.map(
          helix.request(Polls.createPoll, {
            broadcaster_id: B,
            title,
            choices: [{ title: "yes" }, { title: "no" }],
            duration: 60
          }),
          (answer) => answer.data[0]!
        )
      const first = yield* create("Runs out?")
      yield* advance(55)
      yield* realPause(30)
      assert.deepStrictEqual(items, [], "not before its time")
      yield* advance(5)
      yield* eventually(Effect.sync(() => items.length === 1), "the end on time")
      const ended = items[0]!
      assert.deepStrictEqual([ended.id, ended.status], [first.id, "completed"])
      assert.strictEqual(Date.parse(ended.ended_at) - Date.parse(ended.started_at), 60_000)
      // ended by the broadcaster: one end, terminated, and none when its time would have run out
      const second = yield* create("Ended?")
      yield* helix.request(Polls.endPoll, { broadcaster_id: B, id: second.id, status: "TERMINATED" })
      yield* eventually(Effect.sync(() => items.length === 2), "the end of the second")
      yield* advance(60)
      yield* realPause(30)
      assert.deepStrictEqual(items.map((e) => [e.id, e.status]), [[first.id, "completed"], [second.id, "terminated"]])
    }).pipe(withStack()))

  it.scoped("a prediction whose window closes is locked with channel.prediction.lock; one locked before is not locked again", () =>
    Effect.gen(function*() {
      const { items } = yield* startStream((eventSub) =>
        eventSub.subscribe(EventSubTypes.ChannelPredictionLockV1, { broadcaster_user_id: B })
      )
      const helix = yield* Helix.Helix
      const create = (title: string) =>
        Effect.map(
          helix.request(Predictions.createPrediction, {
            broadcaster_id: B,
            title,
            outcomes: [{ title: "yes" }, { title: "no" }],
            prediction_window: 30
          }),
          (answer) => answer.data[0]!
        )
      const first = yield* create("Window closes?")
      yield* advance(25)
      yield* realPause(30)
      assert.deepStrictEqual(items, [], "not before the window closes")
      yield* advance(5)
      yield* eventually(Effect.sync(() => items.length === 1), "the lock on time")
      assert.strictEqual(items[0]!.id, first.id)
      assert.strictEqual(Date.parse(items[0]!.locked_at) - Date.parse(items[0]!.started_at), 30_000)
      // a prediction runs at a time: the first one ends, then the next is locked by the broadcaster
      yield* helix.request(Predictions.endPrediction, { broadcaster_id: B, id: first.id, status: "CANCELED" })
      const second = yield* create("Locked early?")
      yield* helix.request(Predictions.endPrediction, { broadcaster_id: B, id: second.id, status: "LOCKED" })
      yield* eventually(Effect.sync(() => items.length === 2), "the second lock")
      yield* advance(30)
      yield* realPause(30)
      assert.deepStrictEqual(items.map((e) => e.id), [first.id, second.id])
    }).pipe(withStack()))
})
