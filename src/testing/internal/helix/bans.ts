// Bans and timeouts: ban (with duration: a timeout), unban, list; `channel.ban` / `channel.unban` to subscribers.
import * as Effect from "effect/Effect"
import type { BanRecord } from "../../SimulatorModels.js"
import { empty, json } from "../http.js"
import type { Answer, Ctx, Handler } from "./context.js"
import { bad, broadcasterOf, eventUser, iso, sync, userRef } from "./context.js"
import { pageAnswer } from "./paging.js"
import { nested } from "./store.js"

const MAX_TIMEOUT_SECONDS = 1_209_600

interface BanInput {
  readonly user_id: string
  readonly duration?: number
  readonly reason?: string
}

const banProblem = (ctx: Ctx, broadcasterId: string, input: BanInput): Answer | undefined => {
  if (ctx.state.userById(input.user_id) === undefined) return bad("The user_id is not valid")
  if (input.user_id === broadcasterId) return bad("The user specified in the user_id field may not be banned")
  const d = input.duration
  if (d !== undefined && (d < 1 || d > MAX_TIMEOUT_SECONDS)) return bad("The value in the duration field is not valid")
  if (input.reason !== undefined && input.reason.length > 500) return bad("The text in the reason field is too long")
  const existing = ctx.state.bans.get(broadcasterId)?.get(input.user_id)
  if (existing !== undefined && existing.end_time === null) {
    return bad("The user specified in the user_id field is already banned")
  }
  return undefined
}

const banEvent = (ctx: Ctx, record: BanRecord) => ({
  ...eventUser(ctx.state, record.user_id, "user"),
  ...eventUser(ctx.state, record.broadcaster_id, "broadcaster"),
  ...eventUser(ctx.state, record.moderator_id, "moderator"),
  reason: record.reason,
  banned_at: record.created_at,
  ends_at: record.end_time,
  is_permanent: record.end_time === null
})

const banUser: Handler = (ctx) =>
  Effect.suspend(() => {
    const broadcasterId = broadcasterOf(ctx)
    const input = ctx.body.data as BanInput
    const problem = banProblem(ctx, broadcasterId, input)
    if (problem !== undefined) return Effect.succeed(problem)
    const record: BanRecord = {
      broadcaster_id: broadcasterId,
      moderator_id: ctx.params.get("moderator_id")!,
      user_id: input.user_id,
      reason: input.reason ?? "",
      created_at: iso(ctx.now),
      end_time: input.duration === undefined ? null : iso(ctx.now + input.duration * 1000)
    }
    nested(ctx.state.bans, broadcasterId).set(input.user_id, record)
    const { reason: _reason, ...data } = record
    return Effect.as(
      ctx.emit("channel.ban", { broadcaster_user_id: broadcasterId }, banEvent(ctx, record)),
      json({ data: [data] })
    )
  })

const unbanUser: Handler = (ctx) =>
  Effect.suspend(() => {
    const broadcasterId = broadcasterOf(ctx)
    const userId = ctx.params.get("user_id")!
    const record = ctx.state.bans.get(broadcasterId)?.get(userId)
    if (record === undefined) {
      return Effect.succeed(bad("The user specified in the user_id query parameter is not banned"))
    }
    ctx.state.bans.get(broadcasterId)!.delete(userId)
    const event = {
      ...eventUser(ctx.state, userId, "user"),
      ...eventUser(ctx.state, broadcasterId, "broadcaster"),
      ...eventUser(ctx.state, ctx.params.get("moderator_id")!, "moderator")
    }
    return Effect.as(ctx.emit("channel.unban", { broadcaster_user_id: broadcasterId }, event), empty(204))
  })

const active = (ctx: Ctx, ban: BanRecord): boolean => ban.end_time === null || Date.parse(ban.end_time) > ctx.now

const getBannedUsers = sync((ctx) => {
  const wanted = ctx.params.getAll("user_id")
  const bans = [...(ctx.state.bans.get(broadcasterOf(ctx))?.values() ?? [])]
    .filter((ban) => active(ctx, ban) && (wanted.length === 0 || wanted.includes(ban.user_id)))
    .map((ban) => ({
      ...userRef(ctx.state, ban.user_id, "user"),
      expires_at: ban.end_time ?? "",
      created_at: ban.created_at,
      reason: ban.reason,
      ...userRef(ctx.state, ban.moderator_id, "moderator")
    }))
  return pageAnswer(ctx, bans)
})

/** @internal */
export const operations: Readonly<Record<string, Handler>> = {
  "ban-user": banUser,
  "unban-user": unbanUser,
  "get-banned-users": getBannedUsers
}
