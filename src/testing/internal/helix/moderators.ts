// Moderators and VIPs of a channel (a user is one or the other), and the channels a user moderates.
import * as Effect from "effect/Effect"
import { empty, helixError } from "../http.js"
import type { Ctx, Handler } from "./context.js"
import { broadcasterOf, eventUser, sync, userRef } from "./context.js"
import { pageAnswer } from "./paging.js"
import { nested } from "./store.js"

const moderatorIds = (ctx: Ctx, broadcasterId: string): ReadonlyArray<string> => [
  ...(ctx.state.moderators.get(broadcasterId) ?? [])
]

const vipIds = (ctx: Ctx, broadcasterId: string): ReadonlyArray<string> => [
  ...(ctx.store.vips.get(broadcasterId)?.keys() ?? [])
]

const listed = (ctx: Ctx, ids: ReadonlyArray<string>) => {
  const wanted = ctx.params.getAll("user_id")
  return ids.filter((id) => wanted.length === 0 || wanted.includes(id)).map((id) => userRef(ctx.state, id, "user"))
}

const roleEvent = (ctx: Ctx, broadcasterId: string, userId: string) => ({
  ...eventUser(ctx.state, broadcasterId, "broadcaster"),
  ...eventUser(ctx.state, userId, "user")
})

const getModerators = sync((ctx) => pageAnswer(ctx, listed(ctx, moderatorIds(ctx, broadcasterOf(ctx)))))
const getVips = sync((ctx) => pageAnswer(ctx, listed(ctx, vipIds(ctx, broadcasterOf(ctx)))))

const addModerator: Handler = (ctx) =>
  Effect.suspend(() => {
    const broadcasterId = broadcasterOf(ctx)
    const userId = ctx.params.get("user_id")!
    if (ctx.state.userById(userId) === undefined) {
      return Effect.succeed(helixError(400, "The ID in user_id was not found"))
    }
    if (ctx.store.vips.get(broadcasterId)?.has(userId) === true) {
      return Effect.succeed(
        helixError(422, "The user in user_id is a VIP. To make them a moderator, you must first remove them as a VIP")
      )
    }
    if (ctx.state.moderators.get(broadcasterId)?.has(userId) === true) {
      return Effect.succeed(
        helixError(400, "The user in user_id is already a moderator in the broadcaster's chat room")
      )
    }
    ctx.state.addModerator(broadcasterId, userId)
    const event = roleEvent(ctx, broadcasterId, userId)
    return Effect.as(ctx.emit("channel.moderator.add", { broadcaster_user_id: broadcasterId }, event), empty(204))
  })

const removeModerator: Handler = (ctx) =>
  Effect.suspend(() => {
    const broadcasterId = broadcasterOf(ctx)
    const userId = ctx.params.get("user_id")!
    if (ctx.state.moderators.get(broadcasterId)?.delete(userId) !== true) {
      return Effect.succeed(helixError(400, "The user in user_id is not a moderator in the broadcaster's chat room"))
    }
    const event = roleEvent(ctx, broadcasterId, userId)
    return Effect.as(ctx.emit("channel.moderator.remove", { broadcaster_user_id: broadcasterId }, event), empty(204))
  })

const addVip: Handler = (ctx) =>
  Effect.suspend(() => {
    const broadcasterId = broadcasterOf(ctx)
    const userId = ctx.params.get("user_id")!
    if (ctx.state.userById(userId) === undefined) {
      return Effect.succeed(helixError(400, "The ID in user_id was not found"))
    }
    if (ctx.state.moderators.get(broadcasterId)?.has(userId) === true) {
      return Effect.succeed(
        helixError(
          422,
          "The user in user_id is a moderator. To make them a VIP, you must first remove them as a moderator"
        )
      )
    }
    if (ctx.store.vips.get(broadcasterId)?.has(userId) === true) {
      return Effect.succeed(helixError(422, "The user in user_id is already a VIP"))
    }
    nested(ctx.store.vips, broadcasterId).set(userId, userId)
    const event = roleEvent(ctx, broadcasterId, userId)
    return Effect.as(ctx.emit("channel.vip.add", { broadcaster_user_id: broadcasterId }, event), empty(204))
  })

const removeVip: Handler = (ctx) =>
  Effect.suspend(() => {
    const broadcasterId = broadcasterOf(ctx)
    const userId = ctx.params.get("user_id")!
    if (ctx.token.userId !== broadcasterId && ctx.token.userId !== userId) {
      return Effect.succeed(
        helixError(403, "The user in broadcaster_id doesn't have permission to remove the user's VIP status")
      )
    }
    if (ctx.store.vips.get(broadcasterId)?.delete(userId) !== true) {
      return Effect.succeed(helixError(422, "The user in user_id is not a VIP in the broadcaster's channel"))
    }
    const event = roleEvent(ctx, broadcasterId, userId)
    return Effect.as(ctx.emit("channel.vip.remove", { broadcaster_user_id: broadcasterId }, event), empty(204))
  })

const getModeratedChannels = sync((ctx) => {
  const userId = ctx.params.get("user_id") ?? ctx.token.userId!
  const channels = [...ctx.state.moderators.entries()]
    .filter(([, mods]) => mods.has(userId))
    .map(([broadcasterId]) => userRef(ctx.state, broadcasterId, "broadcaster"))
  return pageAnswer(ctx, channels)
})

/** @internal */
export const operations: Readonly<Record<string, Handler>> = {
  "get-moderators": getModerators,
  "add-channel-moderator": addModerator,
  "remove-channel-moderator": removeModerator,
  "get-vips": getVips,
  "add-channel-vip": addVip,
  "remove-channel-vip": removeVip,
  "get-moderated-channels": getModeratedChannels
}
