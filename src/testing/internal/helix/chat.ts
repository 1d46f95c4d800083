// Chat: messages, announcements, chatters, settings, whispers, pinned messages.
import { isServerResponse } from "@effect/platform/HttpServerResponse"
import { empty, helixError, json } from "../http.js"
import type { SimChatSettings } from "../state.js"
import { plainChatMessage, randomId } from "../state.js"
import type { Answer, Body, Ctx, Handler } from "./context.js"
import { actingId, bad, bool, broadcasterOf, iso, str, sync, userRef } from "./context.js"
import { pageAnswer } from "./paging.js"

const ANNOUNCEMENT_COLORS = new Set(["blue", "green", "orange", "purple", "primary"])

const isBanned = (ctx: Ctx, broadcasterId: string, userId: string): boolean => {
  const ban = ctx.state.bans.get(broadcasterId)?.get(userId)
  return ban !== undefined && (ban.end_time === null || Date.parse(ban.end_time) > ctx.now)
}

const chatMessageProblem = (ctx: Ctx, body: Body): ReturnType<typeof bad> | undefined => {
  const { broadcaster_id, message, sender_id } = body as { broadcaster_id: string; sender_id: string; message: string }
  if (ctx.token.userId !== null && body.for_source_only !== undefined) {
    return bad("Cannot set for_source_only if User Access Token is used")
  }
  if (ctx.state.userById(broadcaster_id) === undefined) return bad("The ID in broadcaster_id is not valid")
  if (ctx.state.userById(sender_id) === undefined) return bad("The ID in sender_id is not valid")
  if (message.length === 0) return bad("The message field is required")
  if (message.length > (ctx.state.chatLimits?.maxLength ?? 500)) return helixError(422, "The message is too large")
  if (isBanned(ctx, broadcaster_id, sender_id)) {
    return helixError(403, "The sender is not permitted to send chat messages to the broadcaster's chat room")
  }
  return undefined
}

/**
 * Twitch's chat limits (docs "Chat & Chatbots", rate limits), counted per sender and channel over a
 * sliding window: at most `perWindow` messages in any `windowMillis` (`perWindowPrivileged` for the
 * broadcaster, a moderator or a VIP), at least `minIntervalMillis` between two messages of anyone
 * else, and a verified bot's `verifiedPerWindow` across channels. A message over a limit is not
 * counted.
 */
const overChatLimits = (ctx: Ctx, broadcasterId: string, senderId: string): boolean => {
  const limits = ctx.state.chatLimits
  if (limits === null) return false
  const privileged = broadcasterId === senderId || ctx.state.isModerator(broadcasterId, senderId) ||
    ctx.store.vips.get(broadcasterId)?.has(senderId) === true
  const since = ctx.now - limits.windowMillis
  const recent = (key: string): Array<number> => {
    const times = (ctx.state.chatSendTimes.get(key) ?? []).filter((at) => at > since)
    ctx.state.chatSendTimes.set(key, times)
    return times
  }
  const inChannel = recent(`${senderId}:${broadcasterId}`)
  const last = inChannel[inChannel.length - 1]
  const verified = ctx.state.verifiedBots.has(senderId)
  const everywhere = verified ? recent(senderId) : []
  const over = inChannel.length >= (privileged ? limits.perWindowPrivileged : limits.perWindow) ||
    (!privileged && last !== undefined && ctx.now - last < limits.minIntervalMillis) ||
    (verified && everywhere.length >= limits.verifiedPerWindow)
  if (over) return true
  inChannel.push(ctx.now)
  if (verified) everywhere.push(ctx.now)
  return false
}

/**
 * What Twitch answers a sender over its chat limits: 200 with `is_sent: false` and the drop reason
 * `msg_ratelimit`, the code Twitch uses for this refusal (its IRC NOTICE `msg_ratelimit`, "Your
 * message was not sent because you are sending messages too quickly."; the Send Chat Message
 * reference documents drops as `is_sent: false` with `drop_reason { code, message }`).
 */
const RATE_LIMIT_DROP = {
  code: "msg_ratelimit",
  message: "Your message was not sent because you are sending messages too quickly."
} as const

const sendChatMessage = sync((ctx) => {
  const problem = chatMessageProblem(ctx, ctx.body)
  if (problem !== undefined) return problem
  const messageId = randomId()
  const rateLimited = overChatLimits(ctx, str(ctx.body, "broadcaster_id")!, str(ctx.body, "sender_id")!)
  if (rateLimited) ctx.state.counters.chatRateLimited++
  const drop = rateLimited ? RATE_LIMIT_DROP : ctx.state.chatDrop
  ctx.state.recordChatMessage({
    message_id: messageId,
    broadcaster_id: str(ctx.body, "broadcaster_id")!,
    sender_id: str(ctx.body, "sender_id")!,
    message: str(ctx.body, "message")!,
    reply_parent_message_id: str(ctx.body, "reply_parent_message_id") ?? null,
    is_sent: drop === null
  })
  return json({
    data: [
      drop === null
        ? { message_id: messageId, is_sent: true, drop_reason: null }
        : { message_id: "", is_sent: false, drop_reason: { code: drop.code, message: drop.message } }
    ]
  })
})

const sendAnnouncement = sync((ctx) => {
  const message = str(ctx.body, "message")!
  if (message === "") return bad("The message field may not contain an empty string")
  const color = (str(ctx.body, "color") ?? "primary").toLowerCase()
  if (!ANNOUNCEMENT_COLORS.has(color)) return bad("The specified color is not valid")
  ctx.state.recordAnnouncement({
    broadcaster_id: broadcasterOf(ctx),
    moderator_id: ctx.params.get("moderator_id")!,
    message,
    color
  })
  return empty(204)
})

const getChatters = sync((ctx) => {
  const all = ctx.state.chatters.get(broadcasterOf(ctx)) ?? []
  return pageAnswer(ctx, all, { total: all.length }, 100)
})

/** `moderator_id` other than the token's user is not an error here: the moderator-only fields are left out. */
const getChatSettings = sync((ctx) => {
  const { moderator_id: _m, non_moderator_chat_delay, non_moderator_chat_delay_duration, ...rest } = ctx.state
    .chatSettingsFor(broadcasterOf(ctx))
  const moderatorId = ctx.params.get("moderator_id")
  const data = moderatorId !== undefined && ctx.token.userId === moderatorId
    ? { ...rest, moderator_id: moderatorId, non_moderator_chat_delay, non_moderator_chat_delay_duration }
    : rest
  return json({ data: [data] })
})

const SETTINGS = [
  "emote_mode",
  "follower_mode",
  "follower_mode_duration",
  "non_moderator_chat_delay",
  "non_moderator_chat_delay_duration",
  "slow_mode",
  "slow_mode_wait_time",
  "subscriber_mode",
  "unique_chat_mode"
] as const

const applySettings = (settings: SimChatSettings, body: Body): void => {
  const target = settings as unknown as Record<string, unknown>
  for (const key of SETTINGS) if (body[key] !== undefined) target[key] = body[key]
  // Twitch defaults to 30 s when slow mode is enabled without a wait time
  if (bool(body, "slow_mode") === true && settings.slow_mode_wait_time === null) settings.slow_mode_wait_time = 30
  if (bool(body, "slow_mode") === false) settings.slow_mode_wait_time = null
  if (bool(body, "follower_mode") === true && settings.follower_mode_duration === null) {
    settings.follower_mode_duration = 0
  }
  if (bool(body, "follower_mode") === false) settings.follower_mode_duration = null
}

const updateChatSettings = sync((ctx) => {
  const settings = ctx.state.chatSettingsFor(broadcasterOf(ctx))
  applySettings(settings, ctx.body)
  settings.moderator_id = ctx.params.get("moderator_id")!
  return json({ data: [settings] })
})

const sendWhisper = sync((ctx) => {
  const from = ctx.params.get("from_user_id") ?? ctx.token.userId!
  const to = ctx.params.get("to_user_id")!
  if (from === to) return bad("The from_user_id and to_user_id must be different")
  const message = str(ctx.body, "message")!
  if (message === "") return bad("The message field must not contain an empty string")
  if (message.length > 10_000) return bad("The message field is too long")
  if (ctx.state.userById(to) === undefined) return helixError(404, "The ID in to_user_id was not found")
  ctx.state.recordWhisper({ from_user_id: from, to_user_id: to, message })
  return empty(204)
})

/** A broadcaster's pinned message (at most one per chat room). @internal */
export interface Pin {
  readonly message_id: string
  readonly sender_id: string
  readonly text: string
  readonly pinned_by: string
  readonly starts_at: number
  /** `null`: pinned until the stream ends */
  ends_at: number | null
  updated_at: number
}

/** `duration_seconds`, when given, is 30 to 1800 (Twitch's reference, as captured by twitch_api). */
const pinDuration = (ctx: Ctx): number | null | Answer => {
  const raw = ctx.params.get("duration_seconds")
  if (raw === undefined) return null
  const seconds = Number(raw)
  return Number.isInteger(seconds) && seconds >= 30 && seconds <= 1800
    ? seconds
    : bad("The duration_seconds parameter must be between 30 and 1800")
}

/** The broadcaster's pin, unless it has run out (then it is gone). */
const currentPin = (ctx: Ctx, broadcasterId: string): Pin | undefined => {
  const pin = ctx.store.pins.get(broadcasterId)
  if (pin !== undefined && pin.ends_at !== null && pin.ends_at <= ctx.now) ctx.store.pins.delete(broadcasterId)
  return ctx.store.pins.get(broadcasterId)
}

/** A message the simulator saw sent to this chat room (Send Chat Message), and that Twitch delivered. */
const sentMessage = (ctx: Ctx, broadcasterId: string, messageId: string) =>
  ctx.state.chatMessages.find((m) => m.message_id === messageId && m.broadcaster_id === broadcasterId && m.is_sent)

const getPinnedChatMessage = sync((ctx) => {
  const broadcasterId = broadcasterOf(ctx)
  const pin = currentPin(ctx, broadcasterId)
  if (pin === undefined) return json({ data: [] })
  const sender = userRef(ctx.state, pin.sender_id, "sender_user")
  const by = userRef(ctx.state, pin.pinned_by, "pinned_by_user")
  return json({
    data: [{
      message_id: pin.message_id,
      broadcaster_id: broadcasterId,
      ...sender,
      ...by,
      message: plainChatMessage(pin.text),
      starts_at: iso(pin.starts_at),
      ends_at: pin.ends_at === null ? null : iso(pin.ends_at),
      updated_at: iso(pin.updated_at)
    }]
  })
})

/** Pinning replaces the message pinned before (a chat room has one pin). */
const pinChatMessage = sync((ctx) => {
  const duration = pinDuration(ctx)
  if (isServerResponse(duration)) return duration
  const broadcasterId = broadcasterOf(ctx)
  const messageId = ctx.params.get("message_id")!
  const message = sentMessage(ctx, broadcasterId, messageId)
  if (message === undefined) return helixError(404, "The message in message_id was not found in the chat room")
  ctx.store.pins.set(broadcasterId, {
    message_id: messageId,
    sender_id: message.sender_id,
    text: message.message,
    pinned_by: actingId(ctx),
    starts_at: ctx.now,
    ends_at: duration === null ? null : ctx.now + duration * 1000,
    updated_at: ctx.now
  })
  return empty(204)
})

/** The pinned message `message_id` names, or the 404 answer when it is not the one pinned. */
const pinNamed = (ctx: Ctx): Pin | Answer => {
  const pin = currentPin(ctx, broadcasterOf(ctx))
  return pin !== undefined && pin.message_id === ctx.params.get("message_id")
    ? pin
    : helixError(404, "The message in message_id is not pinned in the chat room")
}

/** The new duration counts from now; without one the message stays pinned until the stream ends. */
const updatePinnedChatMessage = sync((ctx) => {
  const duration = pinDuration(ctx)
  if (isServerResponse(duration)) return duration
  const pin = pinNamed(ctx)
  if (isServerResponse(pin)) return pin
  pin.ends_at = duration === null ? null : ctx.now + duration * 1000
  pin.updated_at = ctx.now
  return empty(204)
})

const unpinChatMessage = sync((ctx) => {
  const pin = pinNamed(ctx)
  if (isServerResponse(pin)) return pin
  ctx.store.pins.delete(broadcasterOf(ctx))
  return empty(204)
})

/** @internal */
export const operations: Readonly<Record<string, Handler>> = {
  "send-chat-message": sendChatMessage,
  "send-chat-announcement": sendAnnouncement,
  "get-chatters": getChatters,
  "get-chat-settings": getChatSettings,
  "update-chat-settings": updateChatSettings,
  "send-whisper": sendWhisper,
  "get-pinned-chat-message": getPinnedChatMessage,
  "pin-chat-message": pinChatMessage,
  "update-pinned-chat-message": updatePinnedChatMessage,
  "unpin-chat-message": unpinChatMessage
}
