// Create EventSub Subscription with a webhook transport: an app token; the user the condition names must have
// authorized the client with the type's scopes; 409 for the same type, version, condition and callback; the
// subscription starts `webhook_callback_verification_pending` (the transport then sends the challenge).
import * as Either from "effect/Either"
import { randomUUID } from "node:crypto"
import type { SimAuth, SimTokenInfo } from "../contracts.js"
import type { TypeDef } from "./catalogue.js"
import { conditionEquals, type Sub, type WebhookTarget } from "./model.js"
import type { Registry } from "./registry.js"
import { authorizingField, fail, hasScopes, MAX_SAME_TYPE_CONDITION, type Step, wrongToken } from "./steps.js"

const MAX_TOTAL_COST = 10_000
const PENDING = "webhook_callback_verification_pending"

/** @internal */
export interface WebhookRequest {
  readonly def: TypeDef
  readonly condition: Record<string, string>
  readonly target: WebhookTarget
}

/** The user the condition names and whether they authorized the client (with the type's scopes, if the type has scopes). @internal */
export const authorization = (
  auth: SimAuth,
  token: SimTokenInfo,
  request: { readonly def: TypeDef; readonly condition: Record<string, string> }
): Step<{ readonly userId: string | null; readonly authorized: boolean }> => {
  const field = authorizingField(request.def)
  const userId = field === undefined ? null : request.condition[field] ?? null
  const granted = userId === null ? null : auth.grantedScopes(token.clientId, userId)
  if (request.def.scopes.length > 0 && (granted === null || !hasScopes(request.def, granted))) {
    return fail(403, "subscription missing proper authorization")
  }
  return Either.right({ userId, authorized: granted !== null })
}

/** 409 for an existing one, 429 past 3 of a type + condition, or past the total cost; else the new one's cost. */
const withinLimits = (registry: Registry, clientId: string, request: WebhookRequest, cost: number): Step<number> => {
  let sameTypeCondition = 0
  let totalCost = 0
  for (const sub of registry.subscriptions.values()) {
    if (sub.clientId !== clientId || sub.webhook === null) continue
    if (sub.status !== "enabled" && sub.status !== PENDING) continue
    totalCost += sub.cost
    if (sub.def.type !== request.def.type || !conditionEquals(sub.condition, request.condition)) continue
    if (sub.def.version === request.def.version && sub.webhook.callback === request.target.callback) {
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
export const create = (auth: SimAuth, registry: Registry, token: SimTokenInfo, request: WebhookRequest): Step<Sub> =>
  Either.gen(function*() {
    if (token.userId !== null) return yield* wrongToken()
    const { authorized, userId } = yield* authorization(auth, token, request)
    registry.prune()
    // cost 0 when the type needs the user's authorization or the user authorized the client; else 1
    const cost = yield* withinLimits(
      registry,
      token.clientId,
      request,
      request.def.scopes.length > 0 || authorized ? 0 : 1
    )
    const sub: Sub = {
      id: randomUUID(),
      clientId: token.clientId,
      userId,
      def: request.def,
      condition: request.condition,
      cost,
      createdAt: registry.clock.timestamp(registry.clock.now()),
      status: PENDING,
      sessionId: "",
      connectedAt: "",
      disconnectedAt: null,
      disabledAtMs: null,
      webhook: request.target,
      conduitId: null
    }
    registry.add(sub, undefined)
    return sub
  })
