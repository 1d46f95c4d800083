// Shared steps of the REST handlers: a step answers Twitch's error, or passes on what it found.
import type * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Either from "effect/Either"
import type { TypeDef } from "./catalogue.js"
import { errorResponse } from "./model.js"

/** @internal */
export type Response = HttpServerResponse.HttpServerResponse
/** a step of a request: Twitch's error answer, or what the step found @internal */
export type Step<A> = Either.Either<A, Response>

/** @internal */
export const fail = (status: number, message: string): Step<never> => Either.left(errorResponse(status, message))

/** @internal */
export const hasScopes = (def: TypeDef, scopes: ReadonlyArray<string>): boolean =>
  def.scopes.every((anyOf) => anyOf.some((scope) => scopes.includes(scope)))

/** The condition field naming the user who must have authorized the subscription. @internal */
export const authorizingField = (def: TypeDef): string | undefined => {
  const fields = def.conditionFields
  return ["moderator_user_id", "user_id", "broadcaster_user_id"].find((f) => fields.includes(f))
}

/** Twitch's answer to a user token with a webhook transport, and to an app token with a websocket one. @internal */
export const wrongToken = (): Step<never> => fail(400, "invalid transport and auth combination")

/** at most this many subscriptions of one type and condition per client (429 past it) @internal */
export const MAX_SAME_TYPE_CONDITION = 3
