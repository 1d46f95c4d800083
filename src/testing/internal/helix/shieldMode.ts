// Shield mode: status per channel, activated / deactivated by a moderator;
// `channel.shield_mode.begin` / `.end` to subscribers.
import * as Effect from "effect/Effect"
import type { Ctx, Handler } from "./context.js"
import { broadcasterOf, data, eventUser, iso, sync, userRef } from "./context.js"

/** @internal */
export interface ShieldMode {
  isActive: boolean
  moderatorId: string
  lastActivatedAt: number | null
}

const view = (ctx: Ctx, s: ShieldMode | undefined) =>
  s === undefined
    ? { is_active: false, moderator_id: "", moderator_login: "", moderator_name: "", last_activated_at: "" }
    : {
      is_active: s.isActive,
      ...userRef(ctx.state, s.moderatorId, "moderator"),
      last_activated_at: s.lastActivatedAt === null ? "" : iso(s.lastActivatedAt)
    }

const getStatus = sync((ctx) => data([view(ctx, ctx.store.shieldMode.get(broadcasterOf(ctx)))]))

const updateStatus: Handler = (ctx) =>
  Effect.suspend(() => {
    const broadcasterId = broadcasterOf(ctx)
    const moderatorId = ctx.params.get("moderator_id")!
    const active = ctx.body.is_active === true
    const previous = ctx.store.shieldMode.get(broadcasterId)
    const next: ShieldMode = {
      isActive: active,
      moderatorId,
      lastActivatedAt: active ? ctx.now : previous?.lastActivatedAt ?? null
    }
    ctx.store.shieldMode.set(broadcasterId, next)
    const changed = (previous?.isActive ?? false) !== active
    const event = {
      ...eventUser(ctx.state, broadcasterId, "broadcaster"),
      ...eventUser(ctx.state, moderatorId, "moderator"),
      ...(active ? { started_at: iso(ctx.now) } : { ended_at: iso(ctx.now) })
    }
    const type = active ? "channel.shield_mode.begin" : "channel.shield_mode.end"
    const condition = { broadcaster_user_id: broadcasterId }
    return Effect.as(changed ? ctx.emit(type, condition, event) : Effect.void, data([view(ctx, next)]))
  })

/** @internal */
export const operations: Readonly<Record<string, Handler>> = {
  "get-shield-mode-status": getStatus,
  "update-shield-mode-status": updateStatus
}
