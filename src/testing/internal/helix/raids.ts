// Raids: start (one pending raid per broadcaster; `channel.raid` to subscribers of either side), cancel.
import * as Effect from "effect/Effect"
import { empty, helixError } from "../http.js"
import type { Handler } from "./context.js"
import { bad, data, eventUser, iso, param } from "./context.js"

/** @internal */
export interface Raid {
  readonly from: string
  readonly to: string
  readonly createdAt: number
}

const startRaid: Handler = (ctx) =>
  Effect.suspend(() => {
    const from = param(ctx, "from_broadcaster_id") ?? ctx.token.userId!
    const to = param(ctx, "to_broadcaster_id")
    if (to === undefined) return Effect.succeed(bad("Missing required parameter \"to_broadcaster_id\""))
    if (to === from) return Effect.succeed(bad("The broadcaster may not raid their own channel"))
    if (ctx.state.userById(to) === undefined) {
      return Effect.succeed(helixError(404, "The targeted channel was not found"))
    }
    if (ctx.store.raids.has(from)) {
      return Effect.succeed(helixError(409, "The broadcaster is already in the process of raiding another channel"))
    }
    ctx.store.raids.set(from, { from, to, createdAt: ctx.now })
    const viewers = ctx.state.streams.get(from)?.viewer_count ?? 0
    const event = {
      ...eventUser(ctx.state, from, "from_broadcaster"),
      ...eventUser(ctx.state, to, "to_broadcaster"),
      viewers
    }
    return Effect.as(
      Effect.zipRight(
        ctx.emit("channel.raid", { from_broadcaster_user_id: from }, event),
        ctx.emit("channel.raid", { to_broadcaster_user_id: to }, event)
      ),
      data([{ created_at: iso(ctx.now), is_mature: false }])
    )
  })

const cancelRaid: Handler = (ctx) =>
  Effect.sync(() => {
    const broadcasterId = param(ctx, "broadcaster_id") ?? ctx.token.userId!
    return ctx.store.raids.delete(broadcasterId)
      ? empty(204)
      : helixError(404, "The broadcaster doesn't have a pending raid to cancel")
  })

/** @internal */
export const operations: Readonly<Record<string, Handler>> = {
  "start-a-raid": startRaid,
  "cancel-a-raid": cancelRaid
}
