/**
 * The EventSub service over a recording transport: which user each call subscribes as, the type and condition
 * each helper asks for, when the transport's authorization runs, and the decoder and undecodable sink it hands on.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Fiber, Option, Stream } from "effect"
import type { Undecodable } from "../src/EventSub.js"
import { type EventSubError, EventSubSubscribeError } from "../src/EventSubError.js"
import * as EventSubTypes from "../src/EventSubTypes.js"
import {
  decoderFor,
  makeService,
  makeUndecodableSink,
  resolveUserWith,
  type Transport
} from "../src/internal/eventsubService.js"

interface Asked {
  readonly userId: string | undefined
  readonly type: string
  readonly version: string
  readonly condition: Readonly<Record<string, unknown>>
}

const ME = "100000001"
const OTHER = "100000002"

/** A transport whose streams are empty: it records what it is asked to subscribe to, and whom it authorizes. */
const recording = (options: { readonly needsUser: boolean; readonly authorize?: boolean }) => {
  const asked: Array<Asked> = []
  const authorized: Array<string> = []
  const transport: Transport = {
    needsUser: options.needsUser,
    subscribe: (userId, decoder, condition) =>
      Stream.fromEffect(
        Effect.sync(() => asked.push({ userId, type: decoder.type, version: decoder.version, condition }))
      ).pipe(Stream.drain),
    status: Stream.empty,
    undecodable: Stream.empty,
    ...(options.authorize === true
      ? {
        authorize: (userId: string) =>
          Effect.sync(() => {
            authorized.push(userId)
          })
      }
      : {})
  }
  return { asked, authorized, transport }
}

/** the service acting as `defaultUser` (no acting user from Helix) */
const service = (transport: Transport, defaultUser: string | undefined) =>
  makeService(transport, resolveUserWith(Effect.succeed(Option.none()), defaultUser))

describe("EventSub service", () => {
  it.effect("each helper subscribes to its type with its condition, as the subscribing user", () =>
    Effect.gen(function*() {
      const { asked, transport } = recording({ needsUser: true })
      const eventSub = service(transport, ME)
      const B = "200"
      const helpers: ReadonlyArray<Stream.Stream<unknown, EventSubError>> = [
        eventSub.follows(B),
        eventSub.follows(B, { moderatorId: OTHER }),
        eventSub.chatMessages(B),
        eventSub.chatMessages(B, { readerId: OTHER }),
        eventSub.streamOnline(B),
        eventSub.streamOffline(B),
        eventSub.channelUpdate(B),
        eventSub.newSubscriptions(B),
        eventSub.subscriptions(B),
        eventSub.subscriptionGifts(B),
        eventSub.resubscriptions(B),
        eventSub.cheers(B),
        eventSub.raids(B),
        eventSub.whispers(),
        eventSub.whispers({ userId: OTHER }),
        eventSub.channelPointsRedemptions(B),
        eventSub.channelPointsRedemptions(B, { rewardId: "r-1" })
      ]
      for (const stream of helpers) yield* Stream.runDrain(stream)
      assert.deepStrictEqual(asked.map((a) => [a.userId, `${a.type} v${a.version}`, a.condition]), [
        [ME, "channel.follow v2", { broadcaster_user_id: B, moderator_user_id: ME }],
        [ME, "channel.follow v2", { broadcaster_user_id: B, moderator_user_id: OTHER }],
        [ME, "channel.chat.message v1", { broadcaster_user_id: B, user_id: ME }],
        [ME, "channel.chat.message v1", { broadcaster_user_id: B, user_id: OTHER }],
        [ME, "stream.online v1", { broadcaster_user_id: B }],
        [ME, "stream.offline v1", { broadcaster_user_id: B }],
        [ME, "channel.update v2", { broadcaster_user_id: B }],
        [ME, "channel.subscribe v1", { broadcaster_user_id: B }],
        [ME, "channel.subscribe v1", { broadcaster_user_id: B }],
        [ME, "channel.subscription.gift v1", { broadcaster_user_id: B }],
        [ME, "channel.subscription.message v1", { broadcaster_user_id: B }],
        [ME, "channel.cheer v1", { broadcaster_user_id: B }],
        [ME, "channel.raid v1", { to_broadcaster_user_id: B }],
        [ME, "user.whisper.message v1", { user_id: ME }],
        [OTHER, "user.whisper.message v1", { user_id: OTHER }],
        [ME, "channel.channel_points_custom_reward_redemption.add v1", { broadcaster_user_id: B }],
        [ME, "channel.channel_points_custom_reward_redemption.add v1", { broadcaster_user_id: B, reward_id: "r-1" }]
      ])
    }))

  it.effect("the call's user comes before the acting user, which comes before the layer's default", () =>
    Effect.gen(function*() {
      const { asked, transport } = recording({ needsUser: true })
      const acting = (id: string | undefined) =>
        makeService(transport, resolveUserWith(Effect.succeed(Option.fromNullable(id)), "default"))
      yield* Stream.runDrain(acting(OTHER).streamOnline("1", { userId: ME }))
      yield* Stream.runDrain(acting(OTHER).streamOnline("1"))
      yield* Stream.runDrain(acting(undefined).streamOnline("1"))
      assert.deepStrictEqual(asked.map((a) => a.userId), [ME, OTHER, "default"])
    }))

  it.effect("without any user: a transport that needs one fails each helper with EventSubNoUser naming the type", () =>
    Effect.gen(function*() {
      const { asked, transport } = recording({ needsUser: true })
      const eventSub = service(transport, undefined)
      const failures: ReadonlyArray<Stream.Stream<unknown, EventSubError>> = [
        eventSub.streamOnline("1"),
        eventSub.follows("1"),
        eventSub.chatMessages("1"),
        eventSub.whispers()
      ]
      const errors = []
      for (const stream of failures) errors.push(yield* Effect.flip(Stream.runDrain(stream)))
      assert.deepStrictEqual(errors.map((e) => e._tag === "EventSubNoUser" && e.type), [
        "stream.online",
        "channel.follow",
        "channel.chat.message",
        "user.whisper.message"
      ])
      assert.deepStrictEqual(asked, [])
    }))

  it.effect("webhooks (no user needed): a helper's user field falls back to the broadcaster; subscribe has no user", () =>
    Effect.gen(function*() {
      const { asked, transport } = recording({ needsUser: false })
      const eventSub = service(transport, undefined)
      yield* Stream.runDrain(eventSub.follows("200"))
      yield* Stream.runDrain(eventSub.follows("200", { moderatorId: OTHER }))
      yield* Stream.runDrain(eventSub.chatMessages("200"))
      yield* Stream.runDrain(eventSub.chatMessages("200", { readerId: OTHER }))
      yield* Stream.runDrain(eventSub.streamOnline("200"))
      assert.deepStrictEqual(asked.map((a) => [a.userId, a.condition]), [
        ["200", { broadcaster_user_id: "200", moderator_user_id: "200" }],
        [OTHER, { broadcaster_user_id: "200", moderator_user_id: OTHER }],
        ["200", { broadcaster_user_id: "200", user_id: "200" }],
        [OTHER, { broadcaster_user_id: "200", user_id: OTHER }],
        [undefined, { broadcaster_user_id: "200" }]
      ])
      // a whisper names its user: none to fall back to
      const error = yield* Effect.flip(Stream.runDrain(eventSub.whispers()))
      assert.strictEqual(error._tag, "EventSubNoUser")
    }))

  it.effect("the transport's authorization runs for a known user only, after the condition check", () =>
    Effect.gen(function*() {
      const withUser = recording({ needsUser: true, authorize: true })
      yield* Stream.runDrain(service(withUser.transport, ME).streamOnline("1"))
      assert.deepStrictEqual(withUser.authorized, [ME])
      // a condition that does not fit its type: refused before authorization or any request
      const bad = yield* Effect.flip(
        Stream.runDrain(service(withUser.transport, ME).subscribe(EventSubTypes.StreamOnlineV1, {} as never))
      )
      assert.strictEqual(bad._tag, "EventSubSubscribeError")
      assert.deepStrictEqual(withUser.authorized, [ME])
      // webhooks without a user: nobody to authorize, the subscription goes ahead
      const noUser = recording({ needsUser: false, authorize: true })
      yield* Stream.runDrain(service(noUser.transport, undefined).streamOnline("1"))
      assert.deepStrictEqual(noUser.authorized, [])
      assert.strictEqual(noUser.asked.length, 1)
      // and a refusal fails the stream before the transport is asked
      const refusing: Transport = {
        ...noUser.transport,
        needsUser: true,
        authorize: (userId) =>
          Effect.fail(new EventSubSubscribeError({ userId, operation: "subscribe", description: "no scope" }))
      }
      const refused = yield* Effect.flip(Stream.runDrain(service(refusing, ME).streamOnline("1")))
      assert.include(refused.message, "no scope")
      assert.strictEqual(noUser.asked.length, 1)
    }))

  it("a definition's decoder is compiled once; a mismatch names the field path, never its value", () => {
    const decoder = decoderFor(EventSubTypes.StreamOnlineV1)
    assert.strictEqual(decoderFor(EventSubTypes.StreamOnlineV1), decoder)
    assert.deepStrictEqual([decoder.type, decoder.version], ["stream.online", "1"])
    const result = decoder.decode({ broadcaster_user_id: "secret-value-123" }, {})
    assert.isTrue(Either.isLeft(result))
    if (Either.isLeft(result)) {
      assert.match(result.left, /^does not match its schema/)
      assert.notInclude(result.left, "secret-value-123")
    }
  })

  it.scoped("the undecodable sink holds up to its capacity for a reader that lags, then delivery waits", () =>
    Effect.gen(function*() {
      const sink = yield* makeUndecodableSink(3)
      const event = (n: number): Undecodable => ({
        type: "stream.online",
        version: "1",
        subscriptionId: "s",
        messageId: `m${n}`,
        raw: {},
        error: "does not match its schema"
      })
      // a reader that takes one event, then lags
      const reader = yield* Stream.toPull(sink.stream)
      const firstPull = yield* Effect.fork(reader)
      const settle = Effect.repeatN(Effect.yieldNow(), 20)
      yield* settle
      yield* sink.publish(event(0))
      assert.deepStrictEqual(Array.from(yield* Fiber.join(firstPull)).map((e) => e.messageId), ["m0"])
      const published = yield* Effect.fork(Effect.forEach([1, 2, 3, 4], (n) => sink.publish(event(n))))
      yield* settle
      assert.isTrue(Option.isNone(yield* Fiber.poll(published)), "the fourth waits for the reader")
      assert.deepStrictEqual(Array.from(yield* reader).map((e) => e.messageId), ["m1", "m2", "m3"])
      yield* Fiber.join(published)
      assert.deepStrictEqual(Array.from(yield* reader).map((e) => e.messageId), ["m4"])
    }))
})
