/**
 * The outgoing chat queue: every message goes out only when Twitch's chat limits allow it, so a bot
 * is never refused for sending too fast, and a burst waits in a queue instead of being lost.
 *
 * Twitch's limits (Twitch's docs, "Chat & Chatbots", rate limits), kept per sender and channel:
 * - 20 messages per 30 seconds; 100 where the sender is the broadcaster, a moderator or a VIP;
 * - where the sender is none of these, at most one message per second;
 * - a verified bot: also 7,500 messages per 30 seconds across channels (`verifiedBot: true`);
 * - 500 characters per message: longer text is split at word boundaries into several messages.
 *
 * Each sender and channel has its own lane: a queue of at most `capacity` messages (default 100)
 * drained in order by one fiber. When the lane is full, `send` waits for room (it never drops).
 * `send` answers once Twitch answered every part; a message Twitch drops (AutoMod, a ban, slow mode,
 * …) fails with `Helix.ChatMessageDropped`, whose `code` and `reason` are Twitch's `drop_reason`. A
 * message Twitch refuses for rate all the same (`msg_ratelimit`: another client on the same account,
 * say) is sent once more after a full window; refused again, it fails the same way.
 *
 * The sender does not know by itself whether it is a moderator or VIP in a channel: by default only
 * its own channel counts as privileged; name others in `privileged`, or call `setPrivileged` (the
 * `Commands` runner does, from the badges on the bot's own messages). Guessing low is safe, only slower.
 *
 * Time comes from the `Clock`: under `TestClock` the queue waits for `TestClock.adjust`.
 *
 * @example
 * ```ts
 * import { ChatSender } from "effect-twitch"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const chat = yield* ChatSender.ChatSender
 *   // 200 messages as a viewer: sent one per second, 20 per 30 s, none refused
 *   yield* Effect.forEach(Array.from({ length: 200 }, (_, i) => `line ${i}`), (text) =>
 *     chat.send({ channel: "12826", text }), { concurrency: "unbounded" })
 * })
 * // requires Helix (the sender's token); `Client.layer` provides a ChatSender for its user
 * program.pipe(Effect.provide(ChatSender.layer({ sender: "141981764" })))
 * ```
 *
 * @since 0.3.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Helix from "./Helix.js"
import * as Chat from "./Helix/Chat.js"
import { makeLanes, splitText } from "./internal/chatLanes.js"

/**
 * Twitch's chat limits, as numbers (see {@link twitchLimits}).
 *
 * @since 0.3.0
 * @category models
 */
export interface Limits {
  /** the window the message counts apply to (Twitch: 30,000 ms) */
  readonly windowMillis: number
  /** messages per window where the sender is neither broadcaster, moderator nor VIP (Twitch: 20) */
  readonly perWindow: number
  /** messages per window where the sender is the broadcaster, a moderator or a VIP (Twitch: 100) */
  readonly perWindowPrivileged: number
  /** the least time between two messages of a non-privileged sender in a channel (Twitch: 1,000 ms) */
  readonly minIntervalMillis: number
  /** a verified bot's messages per window across all channels (Twitch: 7,500) */
  readonly verifiedPerWindow: number
  /** characters per message (Twitch: 500) */
  readonly maxLength: number
}

/**
 * Twitch's chat limits.
 *
 * @since 0.3.0
 * @category constants
 */
export const twitchLimits: Limits = {
  windowMillis: 30_000,
  perWindow: 20,
  perWindowPrivileged: 100,
  minIntervalMillis: 1_000,
  verifiedPerWindow: 7_500,
  maxLength: 500
}

/**
 * The same limits on a faster (factor < 1) or slower clock: the window and the interval are
 * multiplied by `factor`, the counts stay. For tests and benchmarks against the simulator, which
 * takes the same `Limits`: the ratio of a run's time to the ideal is the one Twitch's limits give.
 *
 * @since 0.3.0
 * @category constructors
 */
export const scaleTime = (limits: Limits, factor: number): Limits => ({
  ...limits,
  windowMillis: limits.windowMillis * factor,
  minIntervalMillis: limits.minIntervalMillis * factor
})

/**
 * The least time `count` messages take from the first send to the last under `limits` (every
 * message counted the instant it is sent), for a sender that is privileged or not.
 *
 * @since 0.3.0
 * @category utils
 */
export const idealMillis = (limits: Limits, count: number, privileged = false): number => {
  if (count <= 0) return 0
  const perWindow = privileged ? limits.perWindowPrivileged : limits.perWindow
  const interval = privileged ? 0 : limits.minIntervalMillis
  const times: Array<number> = []
  for (let i = 0; i < count; i++) {
    let at = i === 0 ? 0 : times[i - 1]! + interval
    if (i >= perWindow) at = Math.max(at, times[i - perWindow]! + limits.windowMillis)
    times.push(at)
  }
  return times[count - 1]!
}

/**
 * Splits `text` into messages of at most `max` characters (default 500), at whitespace where it can.
 * Blank text gives no message.
 *
 * @since 0.3.0
 * @category utils
 */
export const split = (text: string, max: number = twitchLimits.maxLength): ReadonlyArray<string> => splitText(text, max)

/**
 * One chat message to send.
 *
 * @since 0.3.0
 * @category models
 */
export interface Message {
  /** the broadcaster id of the channel */
  readonly channel: string
  readonly text: string
  /** the id of the message answered (the reply is threaded to it) */
  readonly replyTo?: string | undefined
  /** who sends it (default: the sender's `sender` option); Helix needs this user's token */
  readonly sender?: string | undefined
}

/**
 * @since 0.3.0
 * @category tags
 */
export class ChatSender extends Context.Tag("effect-twitch/ChatSender")<ChatSender, ChatSender.Service>() {}

/**
 * @since 0.3.0
 */
export declare namespace ChatSender {
  /**
   * @since 0.3.0
   * @category models
   */
  export interface Service {
    /** the default sender's user id */
    readonly sender: string
    readonly limits: Limits
    /**
     * Queues the message (split when longer than `maxLength`) and waits until Twitch answered every
     * part; one `SendChatMessageItem` per part. Waits while the lane is full. Interrupting the caller
     * takes its parts that are still queued out of the queue.
     */
    readonly send: (message: Message) => Effect.Effect<ReadonlyArray<Chat.SendChatMessageItem>, Helix.HelixFailure>
    /** The sender is (or is no longer) the broadcaster, a moderator or a VIP in `channel`: its limits there. */
    readonly setPrivileged: (
      channel: string,
      privileged: boolean,
      sender?: string | undefined
    ) => Effect.Effect<void>
    /** messages waiting in the lane of `channel` (default sender), with those waiting for room in it */
    readonly queued: (channel: string, sender?: string | undefined) => Effect.Effect<number>
  }
}

/**
 * @since 0.3.0
 * @category models
 */
export interface Options {
  /** the user who sends (their token must be in the `TokenStore` Helix uses) */
  readonly sender: string
  /** default {@link twitchLimits} */
  readonly limits?: Partial<Limits> | undefined
  /** the sender is a verified bot (Twitch's 7,500 messages per 30 s across channels) */
  readonly verifiedBot?: boolean | undefined
  /** channels (broadcaster ids) where the sender is a moderator or VIP; its own channel always counts */
  readonly privileged?: ReadonlyArray<string> | undefined
  /** messages waiting per sender and channel before `send` waits for room (default 100) */
  readonly capacity?: number | undefined
}

/** Twitch answers 200 with `is_sent: false` when it drops a message (AutoMod, a ban, a slow mode …). */
const sentOrDropped = (
  sent: Chat.SendChatMessageItem | undefined,
  broadcasterId: string
): Effect.Effect<Chat.SendChatMessageItem, Helix.HelixFailure> =>
  sent === undefined
    ? Effect.fail(
      new Helix.HelixDecodeError({
        method: "sendChatMessage",
        endpoint: "POST /chat/messages",
        status: 200,
        path: "data[0]",
        description: "is missing"
      })
    )
    : sent.is_sent
    ? Effect.succeed(sent)
    : Effect.fail(
      new Helix.ChatMessageDropped({
        method: "sendChatMessage",
        endpoint: "POST /chat/messages",
        broadcasterId,
        messageId: sent.message_id,
        code: sent.drop_reason?.code ?? "",
        reason: sent.drop_reason?.message ?? ""
      })
    )

/**
 * Sends one message (no queue, no split) through Helix as `sender`; a drop fails with `ChatMessageDropped`.
 *
 * @since 0.3.0
 * @category constructors
 */
export const sendNow = (
  helix: Helix.Helix.Service,
  message: {
    readonly sender: string
    readonly channel: string
    readonly text: string
    readonly replyTo?: string | undefined
  }
): Effect.Effect<Chat.SendChatMessageItem, Helix.HelixFailure> =>
  helix.request(Chat.sendChatMessage, {
    broadcaster_id: message.channel,
    sender_id: message.sender,
    message: message.text,
    reply_parent_message_id: message.replyTo
  }).pipe(
    Effect.flatMap((answer) => sentOrDropped(answer.data[0], message.channel)),
    Helix.withUser(message.sender)
  )

/**
 * The queue over `Helix`; its lanes' fibers live in the `Scope`.
 *
 * @since 0.3.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<ChatSender.Service, never, Helix.Helix | Scope.Scope> =>
  Effect.gen(function*() {
    const helix = yield* Helix.Helix
    const limits: Limits = { ...twitchLimits, ...options.limits }
    const privileged = new Set(options.privileged ?? [])
    const lanes = yield* makeLanes({
      limits: {
        windowMillis: limits.windowMillis,
        perWindow: limits.perWindow,
        perWindowPrivileged: limits.perWindowPrivileged,
        minIntervalMillis: limits.minIntervalMillis,
        senderPerWindow: options.verifiedBot === true ? limits.verifiedPerWindow : null
      },
      capacity: options.capacity ?? 100,
      isPrivileged: (sender, channel) => sender === channel || (sender === options.sender && privileged.has(channel)),
      send: (request) => sendNow(helix, request),
      isRateLimited: (error) => error._tag === "ChatMessageDropped" && error.code === "msg_ratelimit"
    })
    return ChatSender.of({
      sender: options.sender,
      limits,
      send: (message) => {
        const sender = message.sender ?? options.sender
        const texts = splitText(message.text, limits.maxLength)
        // blank text goes as it is: Twitch answers 400, as without the queue
        const parts = (texts.length === 0 ? [message.text] : texts).map((text) => ({
          sender,
          channel: message.channel,
          text,
          replyTo: message.replyTo
        }))
        return lanes.send(parts).pipe(Effect.withSpan("ChatSender.send", { attributes: { parts: parts.length } }))
      },
      setPrivileged: (channel, isPrivileged, sender) =>
        lanes.setPrivileged(sender ?? options.sender, channel, isPrivileged),
      queued: (channel, sender) => lanes.queued(sender ?? options.sender, channel)
    })
  })

/**
 * @since 0.3.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<ChatSender, never, Helix.Helix> =>
  Layer.scoped(ChatSender, make(options))
