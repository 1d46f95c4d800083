// Subscriptions from seeded state (the simulator's `addSubscription`): a broadcaster's subscribers, and whether a
// user subscribes to a broadcaster.
import { helixError } from "../http.js"
import type { SimState } from "../state.js"
import type { Handler } from "./context.js"
import { broadcasterOf, data, sync, userRef } from "./context.js"
import { pageAnswer } from "./paging.js"

/** @internal */
export interface Subscription {
  readonly broadcasterId: string
  readonly userId: string
  readonly tier: "1000" | "2000" | "3000"
  readonly gifterId: string | null
}

const POINTS: Readonly<Record<Subscription["tier"], number>> = { "1000": 1, "2000": 2, "3000": 6 }

const gifter = (state: SimState, s: Subscription) =>
  s.gifterId === null
    ? { gifter_id: "", gifter_login: "", gifter_name: "" }
    : userRef(state, s.gifterId, "gifter")

const getSubscriptions = sync((ctx) => {
  const all = [...(ctx.store.subscriptions.get(broadcasterOf(ctx))?.values() ?? [])]
  const wanted = ctx.params.getAll("user_id")
  const listed = all
    .filter((s) => wanted.length === 0 || wanted.includes(s.userId))
    .map((s) => ({
      ...userRef(ctx.state, s.broadcasterId, "broadcaster"),
      ...gifter(ctx.state, s),
      is_gift: s.gifterId !== null,
      plan_name: `Channel Subscription (${ctx.state.userById(s.broadcasterId)?.login ?? s.broadcasterId})`,
      tier: s.tier,
      ...userRef(ctx.state, s.userId, "user")
    }))
  const points = all.reduce((sum, s) => sum + POINTS[s.tier], 0)
  return pageAnswer(ctx, listed, { points, total: all.length })
})

const checkSubscription = sync((ctx) => {
  const broadcasterId = ctx.params.get("broadcaster_id")!
  const userId = ctx.params.get("user_id") ?? ctx.token.userId!
  const s = ctx.store.subscriptions.get(broadcasterId)?.get(userId)
  if (s === undefined) {
    return helixError(404, "The user in user_id does not subscribe to the broadcaster in broadcaster_id")
  }
  return data([{
    ...userRef(ctx.state, broadcasterId, "broadcaster"),
    is_gift: s.gifterId !== null,
    ...(s.gifterId === null ? {} : userRef(ctx.state, s.gifterId, "gifter")),
    tier: s.tier
  }])
})

/** @internal */
export const operations: Readonly<Record<string, Handler>> = {
  "get-broadcaster-subscriptions": getSubscriptions,
  "check-user-subscription": checkSubscription
}
