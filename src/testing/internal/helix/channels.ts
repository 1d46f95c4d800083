// Channels: information (get / modify) and followers.
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import { empty, json } from "../http.js"
import type { SimChannel } from "../state.js"
import type { Body, Ctx, Handler } from "./context.js"
import { bad, broadcasterOf, int, str, sync } from "./context.js"
import { pageAnswer, pagination, paging } from "./paging.js"

const getChannels = sync((ctx) => {
  const ids = ctx.params.getAll("broadcaster_id")
  return json({ data: ids.map((id) => ctx.state.channel(id)).filter((c) => c !== undefined) })
})

const applyLabels = (channel: SimChannel, labels: ReadonlyArray<{ id: string; is_enabled: boolean }>): void => {
  const enabled = new Set(channel.content_classification_labels)
  for (const label of labels) {
    if (label.is_enabled) enabled.add(label.id)
    else enabled.delete(label.id)
  }
  channel.content_classification_labels = [...enabled]
}

const applyPatch = (channel: SimChannel, body: Body): void => {
  const gameId = str(body, "game_id")
  if (gameId !== undefined) {
    channel.game_id = gameId
    channel.game_name = gameId === "" ? "" : `Game ${gameId}`
  }
  channel.broadcaster_language = str(body, "broadcaster_language") ?? channel.broadcaster_language
  channel.title = str(body, "title") ?? channel.title
  channel.delay = int(body, "delay") ?? channel.delay
  if (Array.isArray(body.tags)) channel.tags = body.tags.filter((t): t is string => typeof t === "string")
  if (Array.isArray(body.content_classification_labels)) {
    applyLabels(channel, body.content_classification_labels as ReadonlyArray<{ id: string; is_enabled: boolean }>)
  }
  if (typeof body.is_branded_content === "boolean") channel.is_branded_content = body.is_branded_content
}

const modifyChannel = sync((ctx) => {
  const body = ctx.body
  if (Object.keys(body).length === 0) return bad("The request must update at least one property")
  if (body.title === "") return bad("The title field may not be empty")
  if (Array.isArray(body.tags) && body.tags.length > 10) return bad("Too many tags")
  const channel = ctx.state.channel(broadcasterOf(ctx))
  if (channel === undefined) return bad("The broadcaster_id is not valid")
  applyPatch(channel, body)
  return empty(204)
})

/** Twitch answers only `total` when the token's user lacks the scope or is not a moderator of the channel. */
const getFollowers: Handler = (ctx: Ctx) =>
  Effect.sync(() => {
    const broadcasterId = ctx.params.get("broadcaster_id")!
    const userId = ctx.token.userId!
    const total = ctx.state.followerTotal(broadcasterId)
    const allowed = ctx.token.scopes.includes("moderator:read:followers") &&
      ctx.state.isModerator(broadcasterId, userId)
    const filterUser = ctx.params.get("user_id")
    if (!allowed) return pageAnswer(ctx, [], { total })
    if (filterUser !== undefined) {
      const follower = ctx.state.findFollower(broadcasterId, filterUser)
      return json({ data: follower === undefined ? [] : [follower], pagination: {}, total })
    }
    return followerPage(ctx, broadcasterId, total)
  })

const followerPage = (ctx: Ctx, broadcasterId: string, total: number) => {
  const window = paging(ctx.params, 20, ctx.route.pagination?.pageSize ?? 100)
  if (HttpServerResponse.isServerResponse(window)) return window
  const data = ctx.state.followerSlice(broadcasterId, window.offset, window.count)
  return json({ data, pagination: pagination(window.offset, data.length, total), total })
}

/** @internal */
export const operations: Readonly<Record<string, Handler>> = {
  "get-channel-information": getChannels,
  "modify-channel-information": modifyChannel,
  "get-channel-followers": getFollowers
}
