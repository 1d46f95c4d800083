// Channel Points: custom rewards (create / get / update / delete; only the app that created a reward may change
// it) and their redemptions (a viewer redeems through the simulator's control API; the app fulfills or cancels).
import * as Effect from "effect/Effect"
import type { SimJsonObject } from "../../SimulatorModels.js"
import { empty, helixError } from "../http.js"
import type { SimState } from "../state.js"
import type { Answer, Body, Ctx, Emit, Handler } from "./context.js"
import { bad, bool, broadcasterOf, data, eventUser, int, iso, str, sync, userRef } from "./context.js"
import { pageAnswer } from "./paging.js"
import type { HelixStore } from "./store.js"
import { nested } from "./store.js"

const MAX_REWARDS = 50

/** @internal */
export interface Reward {
  readonly id: string
  readonly broadcasterId: string
  readonly clientId: string
  fields: Record<string, unknown>
}

/** @internal */
export interface Redemption {
  readonly id: string
  readonly broadcasterId: string
  readonly rewardId: string
  readonly userId: string
  readonly userInput: string
  readonly redeemedAt: number
  status: "UNFULFILLED" | "FULFILLED" | "CANCELED"
}

const DEFAULTS: Readonly<Record<string, unknown>> = {
  prompt: "",
  is_enabled: true,
  background_color: "#9147FF",
  is_user_input_required: false,
  is_max_per_stream_enabled: false,
  max_per_stream: 0,
  is_max_per_user_per_stream_enabled: false,
  max_per_user_per_stream: 0,
  is_global_cooldown_enabled: false,
  global_cooldown_seconds: 0,
  is_paused: false,
  should_redemptions_skip_request_queue: false
}

const image = (id: string, size: number) =>
  `https://static-cdn.jtvnw.net/custom-reward-images/default-${id}-${size}.png`

const view = (state: SimState, r: Reward) => {
  const f = r.fields
  return {
    ...(userRef(state, r.broadcasterId, "broadcaster") as {
      broadcaster_id: string
      broadcaster_login: string
      broadcaster_name: string
    }),
    id: r.id,
    title: f.title,
    prompt: f.prompt,
    cost: f.cost,
    image: null,
    default_image: { url_1x: image("1", 1), url_2x: image("1", 2), url_4x: image("1", 4) },
    background_color: f.background_color,
    is_enabled: f.is_enabled,
    is_user_input_required: f.is_user_input_required,
    max_per_stream_setting: { is_enabled: f.is_max_per_stream_enabled, max_per_stream: f.max_per_stream },
    max_per_user_per_stream_setting: {
      is_enabled: f.is_max_per_user_per_stream_enabled,
      max_per_user_per_stream: f.max_per_user_per_stream
    },
    global_cooldown_setting: {
      is_enabled: f.is_global_cooldown_enabled,
      global_cooldown_seconds: f.global_cooldown_seconds
    },
    is_paused: f.is_paused,
    is_in_stock: true,
    should_redemptions_skip_request_queue: f.should_redemptions_skip_request_queue,
    redemptions_redeemed_current_stream: null,
    cooldown_expires_at: null
  }
}

const rewardEvent = (state: SimState, r: Reward): SimJsonObject => {
  const { broadcaster_id: _id, broadcaster_login: _login, broadcaster_name: _name, ...rest } = view(state, r)
  return { ...rest, ...eventUser(state, r.broadcasterId, "broadcaster") }
}

const rewardsOf = (ctx: Ctx) => nested(ctx.store.rewards, broadcasterOf(ctx))

const fieldsProblem = (body: Body): string | undefined => {
  const title = str(body, "title")
  const cost = int(body, "cost")
  if (title !== undefined && (title === "" || title.length > 45)) {
    return "The title field must contain 1 to 45 characters"
  }
  if (cost !== undefined && cost < 1) return "The cost field must be at least 1"
  if ((str(body, "prompt") ?? "").length > 200) return "The prompt field may contain at most 200 characters"
  return undefined
}

const createProblem = (ctx: Ctx): Answer | undefined => {
  const broadcaster = ctx.state.userById(broadcasterOf(ctx))
  if (broadcaster === undefined || broadcaster.broadcaster_type === "") {
    return helixError(403, "The broadcaster is not a partner or affiliate")
  }
  const problem = fieldsProblem(ctx.body)
  if (problem !== undefined) return bad(problem)
  const rewards = [...rewardsOf(ctx).values()]
  if (rewards.length >= MAX_REWARDS) return bad("The channel has reached the maximum number of rewards")
  if (rewards.some((r) => r.fields.title === ctx.body.title)) return bad("CREATE_CUSTOM_REWARD_DUPLICATE_REWARD")
  return undefined
}

const createReward: Handler = (ctx) =>
  Effect.suspend(() => {
    const problem = createProblem(ctx)
    if (problem !== undefined) return Effect.succeed(problem)
    const reward: Reward = {
      id: ctx.store.nextId(),
      broadcasterId: broadcasterOf(ctx),
      clientId: ctx.token.clientId,
      fields: { ...DEFAULTS, ...ctx.body }
    }
    rewardsOf(ctx).set(reward.id, reward)
    const condition = { broadcaster_user_id: reward.broadcasterId }
    return Effect.as(
      ctx.emit("channel.channel_points_custom_reward.add", condition, rewardEvent(ctx.state, reward)),
      data([view(ctx.state, reward)])
    )
  })

const getRewards = sync((ctx) => {
  const ids = ctx.params.getAll("id")
  const manageable = ctx.params.get("only_manageable_rewards") === "true"
  const rewards = [...rewardsOf(ctx).values()].filter((r) =>
    (ids.length === 0 || ids.includes(r.id)) && (!manageable || r.clientId === ctx.token.clientId)
  )
  if (ids.length > 0 && rewards.length === 0) return helixError(404, "The custom reward was not found")
  return data(rewards.map((r) => view(ctx.state, r)))
})

/** The reward named by `key`, owned by the token's app; or the 404 / 403 Twitch answers. */
const ownedReward = (ctx: Ctx, id: string | undefined): Reward | Answer => {
  const reward = id === undefined ? undefined : rewardsOf(ctx).get(id)
  if (reward === undefined) return helixError(404, "The custom reward was not found")
  if (reward.clientId !== ctx.token.clientId) {
    return helixError(403, "The ID in the Client-Id header must match the client ID used to create the custom reward")
  }
  return reward
}

const isReward = (u: Reward | Answer): u is Reward => "fields" in u

const updateReward: Handler = (ctx) =>
  Effect.suspend(() => {
    const reward = ownedReward(ctx, ctx.params.get("id"))
    if (!isReward(reward)) return Effect.succeed(reward)
    const problem = fieldsProblem(ctx.body)
    if (problem !== undefined) return Effect.succeed(bad(problem))
    reward.fields = { ...reward.fields, ...ctx.body }
    const condition = { broadcaster_user_id: reward.broadcasterId }
    return Effect.as(
      ctx.emit("channel.channel_points_custom_reward.update", condition, rewardEvent(ctx.state, reward)),
      data([view(ctx.state, reward)])
    )
  })

const deleteReward: Handler = (ctx) =>
  Effect.suspend(() => {
    const reward = ownedReward(ctx, ctx.params.get("id"))
    if (!isReward(reward)) return Effect.succeed(reward)
    rewardsOf(ctx).delete(reward.id)
    const condition = { broadcaster_user_id: reward.broadcasterId }
    return Effect.as(
      ctx.emit("channel.channel_points_custom_reward.remove", condition, rewardEvent(ctx.state, reward)),
      empty(204)
    )
  })

// ------------------------------------------------------------------------------------------------ redemptions

const redemptionView = (state: SimState, reward: Reward, r: Redemption) => ({
  ...userRef(state, r.broadcasterId, "broadcaster"),
  id: r.id,
  ...userRef(state, r.userId, "user"),
  reward: { id: reward.id, title: reward.fields.title, prompt: reward.fields.prompt, cost: reward.fields.cost },
  user_input: r.userInput,
  status: r.status,
  redeemed_at: iso(r.redeemedAt)
})

const redemptionEvent = (state: SimState, reward: Reward, r: Redemption): SimJsonObject => ({
  id: r.id,
  ...eventUser(state, r.broadcasterId, "broadcaster"),
  ...eventUser(state, r.userId, "user"),
  user_input: r.userInput,
  status: r.status.toLowerCase(),
  reward: { id: reward.id, title: reward.fields.title, cost: reward.fields.cost, prompt: reward.fields.prompt },
  redeemed_at: iso(r.redeemedAt)
})

const getRedemptions = sync((ctx) => {
  const reward = rewardsOf(ctx).get(ctx.params.get("reward_id")!)
  if (reward === undefined) return helixError(404, "The custom reward was not found")
  const ids = ctx.params.getAll("id")
  const status = ctx.params.get("status")
  if (ids.length === 0 && status === undefined) {
    return bad("The status query parameter is required if id is not specified")
  }
  const all = [...nested(ctx.store.redemptions, reward.broadcasterId).values()]
    .filter((r) => r.rewardId === reward.id && (ids.length === 0 || ids.includes(r.id)))
    .filter((r) => status === undefined || r.status === status)
  if (ids.length > 0 && all.length === 0) return helixError(404, "The redemptions were not found")
  const sorted = ctx.params.get("sort") === "NEWEST" ? [...all].reverse() : all
  return pageAnswer(ctx, sorted.map((r) => redemptionView(ctx.state, reward, r)))
})

const updateRedemptions: Handler = (ctx) =>
  Effect.suspend(() => {
    const reward = ownedReward(ctx, ctx.params.get("reward_id"))
    if (!isReward(reward)) return Effect.succeed(reward)
    const ids = ctx.params.getAll("id")
    const status = str(ctx.body, "status") as "FULFILLED" | "CANCELED"
    const found = [...nested(ctx.store.redemptions, reward.broadcasterId).values()]
      .filter((r) => r.rewardId === reward.id && ids.includes(r.id) && r.status === "UNFULFILLED")
    if (found.length === 0) return Effect.succeed(helixError(404, "No unfulfilled redemptions with the ids were found"))
    for (const r of found) r.status = status
    const condition = { broadcaster_user_id: reward.broadcasterId }
    return Effect.as(
      Effect.forEach(found, (r) =>
        ctx.emit(
          "channel.channel_points_custom_reward_redemption.update",
          condition,
          redemptionEvent(ctx.state, reward, r)
        ), { discard: true }),
      data(found.map((r) => redemptionView(ctx.state, reward, r)))
    )
  })

/**
 * A viewer redeems a reward (control API): UNFULFILLED, or FULFILLED when the reward skips the request queue;
 * `channel.channel_points_custom_reward_redemption.add` to subscribers. `undefined` when the reward is unknown.
 * @internal
 */
export const redeem = (
  world: { readonly state: SimState; readonly store: HelixStore; readonly emit: Emit; readonly now: number },
  input: {
    readonly broadcasterId: string
    readonly rewardId: string
    readonly userId: string
    readonly userInput?: string | undefined
  }
): Effect.Effect<string | undefined> =>
  Effect.suspend(() => {
    const reward = world.store.rewards.get(input.broadcasterId)?.get(input.rewardId)
    if (reward === undefined) return Effect.succeed(undefined)
    const redemption: Redemption = {
      id: world.store.nextId(),
      broadcasterId: input.broadcasterId,
      rewardId: reward.id,
      userId: input.userId,
      userInput: input.userInput ?? "",
      redeemedAt: world.now,
      status: bool(reward.fields, "should_redemptions_skip_request_queue") === true ? "FULFILLED" : "UNFULFILLED"
    }
    nested(world.store.redemptions, input.broadcasterId).set(redemption.id, redemption)
    const condition = { broadcaster_user_id: input.broadcasterId }
    return Effect.as(
      world.emit(
        "channel.channel_points_custom_reward_redemption.add",
        condition,
        redemptionEvent(world.state, reward, redemption)
      ),
      redemption.id
    )
  })

/** @internal */
export const operations: Readonly<Record<string, Handler>> = {
  "create-custom-rewards": createReward,
  "get-custom-reward": getRewards,
  "update-custom-reward": updateReward,
  "delete-custom-reward": deleteReward,
  "get-custom-reward-redemption": getRedemptions,
  "update-redemption-status": updateRedemptions
}
