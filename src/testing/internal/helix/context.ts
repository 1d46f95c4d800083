// What a Helix operation's handler gets once the request passed the route's checks, and small answer helpers.
import type * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import type { SimJsonObject } from "../../SimulatorModels.js"
import type { SimTokenInfo } from "../contracts.js"
import { helixError, json, type Params } from "../http.js"
import type { SimState } from "../state.js"
import type { Route } from "./routes.js"
import type { HelixStore } from "./store.js"

/** Publish an EventSub notification to the subscriptions whose condition matches (none: nothing happens). @internal */
export type Emit = (
  type: string,
  condition: Readonly<Record<string, string>>,
  event: SimJsonObject
) => Effect.Effect<void>

/** Runs `effect` after `millis` of the simulator's clock, in the simulator's scope (it ends with it). @internal */
export type Later = (millis: number, effect: Effect.Effect<void>) => Effect.Effect<void>

/** A JSON object body (empty when the operation takes none). @internal */
export type Body = Readonly<Record<string, unknown>>

/** @internal */
export interface Ctx {
  readonly route: Route
  readonly token: SimTokenInfo
  readonly now: number
  /** the query string */
  readonly params: Params
  /** the JSON body, with the fields Twitch also accepts in the query string filled in from it */
  readonly body: Body
  readonly state: SimState
  readonly store: HelixStore
  readonly emit: Emit
  readonly later: Later
}

/** @internal */
export type Answer = HttpServerResponse.HttpServerResponse

/** @internal */
export type Handler = (ctx: Ctx) => Effect.Effect<Answer>

/** A handler without effects. @internal */
export const sync = (f: (ctx: Ctx) => Answer): Handler => (ctx) => Effect.sync(() => f(ctx))

/** `{ data: [...] }` @internal */
export const data = (items: ReadonlyArray<unknown>, extra: Readonly<Record<string, unknown>> = {}): Answer =>
  json({ data: items, ...extra })

/** @internal */
export const bad = (message: string): Answer => helixError(400, message)

/** @internal */
export const missing = (name: string): Answer => helixError(400, `Missing required parameter "${name}"`)

/** A query parameter or a scalar body field. @internal */
export const param = (ctx: Ctx, name: string): string | undefined => {
  const value = ctx.params.get(name) ?? ctx.body[name]
  return typeof value === "string" && value !== "" ? value : undefined
}

/** The acting user's id: the route's acting parameter, else the token's user. @internal */
export const actingId = (ctx: Ctx): string =>
  (ctx.route.actingUser === null ? undefined : param(ctx, ctx.route.actingUser)) ?? ctx.token.userId ?? ""

/** The broadcaster the request is about. @internal */
export const broadcasterOf = (ctx: Ctx): string => param(ctx, "broadcaster_id") ?? actingId(ctx)

/** @internal */
export const str = (body: Body, key: string): string | undefined => {
  const v = body[key]
  return typeof v === "string" ? v : undefined
}

/** @internal */
export const int = (body: Body, key: string): number | undefined => {
  const v = body[key]
  return typeof v === "number" ? v : undefined
}

/** @internal */
export const bool = (body: Body, key: string): boolean | undefined => {
  const v = body[key]
  return typeof v === "boolean" ? v : undefined
}

/** `{<prefix>_id, <prefix>_login, <prefix>_name}` of a user (`user` prefix: `user_id`, ...). @internal */
export const userRef = (state: SimState, id: string, prefix: string): Record<string, string> => {
  const user = state.userById(id)
  return {
    [`${prefix}_id`]: id,
    [`${prefix}_login`]: user?.login ?? `user${id}`,
    [`${prefix}_name`]: user?.display_name ?? `User${id}`
  }
}

/** EventSub's `{<prefix>_user_id, <prefix>_user_login, <prefix>_user_name}`. @internal */
export const eventUser = (state: SimState, id: string, prefix: string): Record<string, string> => {
  const ref = userRef(state, id, "x")
  return { [`${prefix}_user_id`]: id, [`${prefix}_user_login`]: ref.x_login!, [`${prefix}_user_name`]: ref.x_name! }
}

/** @internal */
export const iso = (millis: number): string => new Date(millis).toISOString()
