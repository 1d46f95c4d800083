// Create EventSub Subscription with a conduit transport: an app token; the conduit must be the client's; the user
// the condition names must have authorized the client with the type's scopes; 409 for the same type, version,
// condition and conduit. The subscription is enabled at once; its notifications go to one of the conduit's shards.
import * as Either from "effect/Either"
import { randomUUID } from "node:crypto"
import type { SimAuth, SimTokenInfo } from "../contracts.js"
import type { TypeDef } from "./catalogue.js"
import type { Conduits } from "./conduits.js"
import { conditionEquals, type Sub } from "./model.js"
import type { Registry } from "./registry.js"
import { authorization } from "./restWebhook.js"
import { fail, MAX_SAME_TYPE_CONDITION, type Step, wrongToken } from "./steps.js"

const MAX_TOTAL_COST = 10_000

/** @internal */
export interface ConduitRequest {
  readonly def: TypeDef
  readonly condition: Record<string, string>
  readonly conduitId: string
}

/** 409 for an existing one, 429 past 3 of a type + condition, or past the total cost; else the new one's cost. */
const withinLimits = (registry: Registry, clientId: string, request: ConduitRequest, cost: number): Step<number> => {
  let sameTypeCondition = 0
  let totalCost = 0
  for (const sub of registry.subscriptions.values()) {
    if (sub.clientId !== clientId || (sub.webhook === null && sub.conduitId === null)) continue
    if (sub.status !== "enabled" && sub.status !== "webhook_callback_verification_pending") continue
    totalCost += sub.cost
    if (sub.def.type !== request.def.type || !conditionEquals(sub.condition, request.condition)) continue
    if (sub.def.version === request.def.version && sub.conduitId === request.conduitId) {
      return fail(409, "subscription already exists")
    }
    sameTypeCondition++
  }
  if (sameTypeCondition >= MAX_SAME_TYPE_CONDITION) {
    return fail(429, "too many subscriptions with the same type and condition")
  }
  if (totalCost + cost > MAX_TOTAL_COST) return fail(429, "total cost of subscriptions exceeded max_total_cost")
  return Either.right(cost)
}

/** @internal */
export const create = (
  auth: SimAuth,
  registry: Registry,
  conduits: Conduits,
  token: SimTokenInfo,
  request: ConduitRequest
): Step<Sub> =>
  Either.gen(function*() {
    if (token.userId !== null) return yield* wrongToken()
    conduits.expire()
    const conduit = conduits.byId.get(request.conduitId)
    if (conduit === undefined || conduit.clientId !== token.clientId) {
      return yield* fail(400, "The conduit in transport.conduit_id does not exist")
    }
    const { authorized, userId } = yield* authorization(auth, token, request)
    registry.prune()
    const cost = yield* withinLimits(
      registry,
      token.clientId,
      request,
      request.def.scopes.length > 0 || authorized ? 0 : 1
    )
    const now = registry.clock.timestamp(registry.clock.now())
    const sub: Sub = {
      id: randomUUID(),
      clientId: token.clientId,
      userId,
      def: request.def,
      condition: request.condition,
      cost,
      createdAt: now,
      status: "enabled",
      sessionId: "",
      connectedAt: "",
      disconnectedAt: null,
      disabledAtMs: null,
      webhook: null,
      conduitId: request.conduitId
    }
    registry.add(sub, undefined)
    return sub
  })
