/**
 * A kit for testing a bot against the simulator: one layer with the simulator, its `TwitchConfig` and a
 * `TokenStore` holding tokens for the users your bot runs as, plus the waits a test needs:
 *
 * - `awaitSubscription`: until the bot's EventSub subscription exists (trigger only then: Twitch does not
 *   replay, and neither does the simulator);
 * - `chat`: a viewer writes in chat (a `channel.chat.message` with its own `message_id`), once the bot reads
 *   that chat;
 * - `trigger`: an EventSub event of a given type, once a subscription for it exists;
 * - `nextChatMessage`: the next chat message the bot sent (through Helix `POST /chat/messages`).
 *
 * Every wait has a timeout (default 3 s, under vitest's default test timeout of 5 s) and fails with
 * `BotTestTimeout` saying what it waited for. The waits run on real time, whatever `Clock` the test has. A
 * test under `it.effect` / `it.scoped` runs on a `TestClock` that moves only when the test moves it: the
 * bot's own timers (sleeps, timeouts, send pacing, cooldowns, retries) and the simulator's stand still. When
 * a wait times out and the test's clock did not move meanwhile, the error says so: run such a test with
 * `it.live` / `it.scopedLive`, or move time with `TestClock.adjust`.
 *
 * @example
 * ```ts
 * import { Effect, Layer, Stream } from "effect"
 * import { Client } from "effect-twitch"
 * import * as NodeTwitch from "effect-twitch/NodeTwitch"
 * import { BotTest, Simulator } from "effect-twitch/testing"
 *
 * const { bot, broadcaster } = Simulator.defaultUsers
 * const TestLive = NodeTwitch.layerClient({ userId: bot }).pipe(Layer.provideMerge(BotTest.layer()))
 *
 * // in a test file: it.scopedLive("answers !ping", () => answersPing)
 * const answersPing = Effect.gen(function*() {
 *   const client = yield* Client.Client
 *   yield* client.chatMessages(broadcaster).pipe(
 *     Stream.filter((message) => message.message.text === "!ping"),
 *     Client.forEachEvent((message) =>
 *       client.sendMessage("pong", { channel: broadcaster, replyTo: message.message_id })
 *     ),
 *     Effect.forkScoped
 *   )
 *   const ping = yield* BotTest.chat({ text: "!ping" })
 *   const reply = yield* BotTest.nextChatMessage()
 *   assert.strictEqual(reply.message, "pong")
 *   assert.strictEqual(reply.reply_parent_message_id, ping)
 * }).pipe(Effect.provide(TestLive))
 * ```
 *
 * @since 0.2.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { randomUUID } from "node:crypto"
import { TaggedError } from "../internal/errors.js"
import type * as TokenStore from "../TokenStore.js"
import type * as TwitchConfig from "../TwitchConfig.js"
import { plainChatMessage } from "./internal/state.js"
import * as Simulator from "./Simulator.js"
import type {
  SentChatMessage,
  SimEventSubSubscriptionInfo,
  SimEventSubTriggerOptions,
  SimJsonObject
} from "./SimulatorModels.js"

const Tagged = TaggedError("testing/BotTest")

/**
 * A wait of the kit ran out. `waitingFor` says what for; `testClockStopped` is `true` when the test's `Clock`
 * did not move during the wait (a `TestClock` under `it.effect`): the message then says to use `it.live`.
 *
 * @since 0.2.0
 * @category errors
 */
export class BotTestTimeout extends Tagged<BotTestTimeout>()("BotTestTimeout", {
  waitingFor: Schema.String,
  timeoutMillis: Schema.Number,
  testClockStopped: Schema.Boolean
}) {
  /** @since 0.2.0 */
  override get message(): string {
    const base = `BotTest: no ${this.waitingFor} within ${this.timeoutMillis} ms`
    return this.testClockStopped
      ? `${base}. The test's Clock did not move meanwhile: it is a TestClock (it.effect / it.scoped), which ` +
        `stops every timer of the bot and the simulator (sleeps, timeouts, send pacing, cooldowns, retries). ` +
        `Run this test with it.live / it.scopedLive, or move time with TestClock.adjust`
      : base
  }
}

/**
 * Which subscription {@link BotTest.Service.awaitSubscription} waits for: an enabled one of `type` (and
 * `version`), whose condition holds every field of `condition`.
 *
 * @since 0.2.0
 * @category models
 */
export interface SubscriptionMatch {
  readonly type: string
  readonly version?: string | undefined
  readonly condition?: { readonly [key: string]: string } | undefined
  /** default: the layer's `timeout` (3 s) */
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * Which message {@link BotTest.Service.nextChatMessage} waits for (every given field must match).
 *
 * @since 0.2.0
 * @category models
 */
export interface ChatMessageMatch {
  /** the channel it was sent to */
  readonly channel?: string | undefined
  /** who sent it */
  readonly sender?: string | undefined
  /** default: the layer's `timeout` (3 s) */
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * A chat badge a simulated chatter wears (`badges[].set_id`).
 *
 * @since 0.2.0
 * @category models
 */
export type Badge = "broadcaster" | "moderator" | "vip" | "subscriber" | (string & {})

/**
 * A chat message a viewer writes, for {@link BotTest.Service.chat}.
 *
 * @since 0.2.0
 * @category models
 */
export interface ChatInput {
  readonly text: string
  /** who writes it (default: the seeded viewer `simviewer`) */
  readonly from?: string | undefined
  /** in which channel (default: the seeded broadcaster's) */
  readonly channel?: string | undefined
  /** default: `broadcaster` when `from` is the channel's broadcaster, else none */
  readonly badges?: ReadonlyArray<Badge> | undefined
  /** the message it answers (a reply thread) */
  readonly replyTo?: string | undefined
  /** wait this long for the bot's `channel.chat.message` subscription (default: the layer's `timeout`) */
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * @since 0.2.0
 * @category tags
 */
export class BotTest extends Context.Tag("effect-twitch/testing/BotTest")<BotTest, BotTest.Service>() {}

/**
 * @since 0.2.0
 */
export declare namespace BotTest {
  /**
   * @since 0.2.0
   * @category models
   */
  export interface Service {
    readonly simulator: Simulator.Simulator.Service
    /** Waits until a matching enabled subscription exists, and returns it. */
    readonly awaitSubscription: (
      match: SubscriptionMatch
    ) => Effect.Effect<SimEventSubSubscriptionInfo, BotTestTimeout>
    /**
     * Once a subscription of `type` (and `condition`) exists, triggers the event (see the simulator's
     * `eventSub.trigger`); returns the notification message ids sent.
     */
    readonly trigger: (
      options: SimEventSubTriggerOptions & { readonly timeout?: Duration.DurationInput | undefined }
    ) => Effect.Effect<ReadonlyArray<string>, BotTestTimeout | Simulator.SimulatorError>
    /**
     * A viewer writes in chat: once a `channel.chat.message` subscription for the channel exists, delivers a
     * message with a fresh `message_id` (returned: what a reply threads to) to every subscription of that chat.
     */
    readonly chat: (input: ChatInput) => Effect.Effect<string, BotTestTimeout | Simulator.SimulatorError>
    /**
     * The next chat message sent through Helix that this test has not looked at yet: each call takes the first
     * message after the one the previous call returned (so a reply sent before the call is not missed), skipping
     * those that do not match. Messages Twitch would drop (`is_sent: false`) count too.
     */
    readonly nextChatMessage: (match?: ChatMessageMatch) => Effect.Effect<SentChatMessage, BotTestTimeout>
  }
}

/**
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** How long each wait waits unless told otherwise (default 3 s, real time). */
  readonly timeout?: Duration.DurationInput | undefined
}

/** The waits run on this clock, whatever the test's is. */
const liveClock = Clock.make()
const POLL = Duration.millis(5)

/**
 * Polls `check` every few milliseconds of real time until it gives a value; fails with `BotTestTimeout` after
 * `timeout`, noticing whether the test's clock moved meanwhile.
 */
const waitFor = <A>(
  waitingFor: string,
  timeout: Duration.Duration,
  check: Effect.Effect<Option.Option<A>>
): Effect.Effect<A, BotTestTimeout> =>
  Effect.flatMap(Clock.currentTimeMillis, (testStart) => {
    const loop: Effect.Effect<A> = Effect.flatMap(
      check,
      Option.match({ onNone: () => Effect.zipRight(Effect.sleep(POLL), loop), onSome: Effect.succeed })
    )
    // the test's own clock (outside `withClock`): did it move while real time passed?
    const timedOut = Effect.flatMap(Clock.currentTimeMillis, (testNow) =>
      Effect.fail(
        new BotTestTimeout({
          waitingFor,
          timeoutMillis: Duration.toMillis(timeout),
          testClockStopped: testNow === testStart
        })
      ))
    return Effect.withClock(Effect.timeoutOption(loop, timeout), liveClock).pipe(
      Effect.flatMap(Option.match({ onNone: () => timedOut, onSome: Effect.succeed }))
    )
  })

const describeMatch = (type: string, condition: { readonly [key: string]: string } | undefined): string => {
  const fields = Object.entries(condition ?? {}).map(([key, value]) => `${key}=${value}`)
  return `enabled ${type} subscription${fields.length === 0 ? "" : ` with ${fields.join(", ")}`}`
}

const holds = (
  actual: { readonly [key: string]: string },
  wanted: { readonly [key: string]: string } | undefined
): boolean => wanted === undefined || Object.entries(wanted).every(([key, value]) => actual[key] === value)

/**
 * @since 0.2.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<BotTest.Service, never, Simulator.Simulator> =>
  Effect.map(Simulator.Simulator, (sim) => {
    const defaultTimeout = Duration.decode(options.timeout ?? Duration.seconds(3))
    const timeoutOf = (timeout: Duration.DurationInput | undefined) =>
      timeout === undefined ? defaultTimeout : Duration.decode(timeout)
    /** the message_id of the last message `nextChatMessage` returned */
    let lastSeen: string | undefined

    const awaitSubscription: BotTest.Service["awaitSubscription"] = (match) =>
      waitFor(
        describeMatch(match.type, match.condition),
        timeoutOf(match.timeout),
        Effect.map(sim.eventSub.subscriptions, (subs) =>
          Option.fromNullable(
            subs.find((sub) =>
              sub.status === "enabled" && sub.type === match.type &&
              (match.version === undefined || sub.version === match.version) && holds(sub.condition, match.condition)
            )
          ))
      )

    const trigger: BotTest.Service["trigger"] = ({ timeout, ...options }) =>
      Effect.zipRight(
        awaitSubscription({
          type: options.type,
          version: options.version,
          condition: options.condition,
          timeout
        }),
        Effect.mapError(
          sim.eventSub.trigger(options),
          (error) => new Simulator.SimulatorError({ reason: error.message })
        )
      )

    const chat: BotTest.Service["chat"] = (input) =>
      Effect.gen(function*() {
        const channel = input.channel ?? sim.users.broadcaster
        const from = input.from ?? sim.users.viewer
        const [chatter, broadcaster] = yield* Effect.all([userOf(sim, from), userOf(sim, channel)])
        const messageId = randomUUID()
        const badges = input.badges ?? (from === channel ? ["broadcaster"] : [])
        const event: SimJsonObject = {
          broadcaster_user_id: broadcaster.id,
          broadcaster_user_login: broadcaster.login,
          broadcaster_user_name: broadcaster.display_name,
          chatter_user_id: chatter.id,
          chatter_user_login: chatter.login,
          chatter_user_name: chatter.display_name,
          message_id: messageId,
          message: plainChatMessage(input.text),
          message_type: "text",
          badges: badges.map((set_id) => ({ set_id, id: set_id === "subscriber" ? "0" : "1", info: "" })),
          cheer: null,
          reply: input.replyTo === undefined ? null : {
            parent_message_id: input.replyTo,
            parent_message_body: "",
            parent_user_id: broadcaster.id,
            parent_user_name: broadcaster.display_name,
            parent_user_login: broadcaster.login,
            thread_message_id: input.replyTo,
            thread_user_id: broadcaster.id,
            thread_user_name: broadcaster.display_name,
            thread_user_login: broadcaster.login
          },
          channel_points_custom_reward_id: null
        }
        yield* trigger({
          type: "channel.chat.message",
          condition: { broadcaster_user_id: channel },
          event,
          timeout: input.timeout
        })
        return messageId
      })

    const nextChatMessage: BotTest.Service["nextChatMessage"] = (match = {}) => {
      const wanted = [
        "chat message",
        match.sender === undefined ? "" : ` from ${match.sender}`,
        match.channel === undefined ? "" : ` in ${match.channel}`
      ].join("")
      return waitFor(
        wanted,
        timeoutOf(match.timeout),
        Effect.map(sim.chatMessages, (messages) => {
          // after the last one returned (from the start when it is no longer held: the log keeps 10,000)
          const start = lastSeen === undefined ? 0 : messages.findIndex((m) => m.message_id === lastSeen) + 1
          const found = messages.slice(start).find((m) =>
            (match.channel === undefined || m.broadcaster_id === match.channel) &&
            (match.sender === undefined || m.sender_id === match.sender)
          )
          if (found !== undefined) lastSeen = found.message_id
          return Option.fromNullable(found)
        })
      )
    }

    return BotTest.of({ simulator: sim, awaitSubscription, trigger, chat, nextChatMessage })
  })

const userOf = (sim: Simulator.Simulator.Service, id: string) =>
  Effect.flatMap(
    sim.getUser(id),
    Option.match({
      onNone: () => Effect.fail(new Simulator.SimulatorError({ reason: `BotTest.chat: unknown user ${id}` })),
      onSome: Effect.succeed
    })
  )

/**
 * The kit over a simulator you provide.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerKit = (options: Options = {}): Layer.Layer<BotTest, never, Simulator.Simulator> =>
  Layer.effect(BotTest, make(options))

/**
 * Everything a bot's test needs but the bot: the simulator, its `TwitchConfig` (the confidential app), a memory
 * `TokenStore` holding a token with every scope for each of `users` (default: the seeded broadcaster and bot),
 * and the kit. Put your bot's layer on top, e.g. `NodeTwitch.layerClient({ userId })`.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = (
  options: Options & {
    readonly users?: ReadonlyArray<string> | undefined
    readonly simulator?: Simulator.Options | undefined
  } = {}
): Layer.Layer<
  BotTest | Simulator.Simulator | TwitchConfig.TwitchConfig | TokenStore.TokenStore,
  Simulator.SimulatorError
> =>
  Layer.mergeAll(
    layerKit(options),
    Simulator.layerTwitchConfig,
    Simulator.layerTokenStore(options.users ?? [Simulator.defaultUsers.broadcaster, Simulator.defaultUsers.bot])
  ).pipe(Layer.provideMerge(Simulator.layer(options.simulator)))

/**
 * @since 0.2.0
 * @category accessors
 */
export const awaitSubscription = (
  match: SubscriptionMatch
): Effect.Effect<SimEventSubSubscriptionInfo, BotTestTimeout, BotTest> =>
  Effect.flatMap(BotTest, (kit) => kit.awaitSubscription(match))

/**
 * @since 0.2.0
 * @category accessors
 */
export const trigger = (
  options: SimEventSubTriggerOptions & { readonly timeout?: Duration.DurationInput | undefined }
): Effect.Effect<ReadonlyArray<string>, BotTestTimeout | Simulator.SimulatorError, BotTest> =>
  Effect.flatMap(BotTest, (kit) => kit.trigger(options))

/**
 * @since 0.2.0
 * @category accessors
 */
export const chat = (input: ChatInput): Effect.Effect<string, BotTestTimeout | Simulator.SimulatorError, BotTest> =>
  Effect.flatMap(BotTest, (kit) => kit.chat(input))

/**
 * @since 0.2.0
 * @category accessors
 */
export const nextChatMessage = (
  match?: ChatMessageMatch
): Effect.Effect<SentChatMessage, BotTestTimeout, BotTest> =>
  Effect.flatMap(BotTest, (kit) => kit.nextChatMessage(match))
