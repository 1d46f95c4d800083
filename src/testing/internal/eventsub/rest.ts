// The `/eventsub/subscriptions` endpoints (Create, Get, Delete EventSub Subscription) with Twitch's validation,
// authorization and limits (REFERENCE.md §1, §3b; SIMULATOR_CHECKLIST.md §B). Each check is a step answering
// Twitch's error, or passing on what it found.
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { randomUUID } from "node:crypto"
import type { SimAuth, SimTokenInfo } from "../contracts.js"
import type { Catalogue, TypeDef } from "./catalogue.js"
import type { Conduits } from "./conduits.js"
import { conditionEquals, errorResponse, restView, type Session, type Sub, type WebhookTarget } from "./model.js"
import { ownedBy, type Registry } from "./registry.js"
import * as Conduit from "./restConduit.js"
import * as Webhooks from "./restWebhook.js"
import {
  authorizingField,
  fail,
  hasScopes,
  MAX_SAME_TYPE_CONDITION,
  type Response,
  type Step,
  wrongToken
} from "./steps.js"

const MAX_TOTAL_COST = 10
/** webhook (app token) totals report this */
const MAX_TOTAL_COST_WEBHOOK = 10_000
const MAX_SUBSCRIPTIONS_PER_SESSION = 300
const MAX_SESSIONS_PER_USER = 3
const PAGE_SIZE = 100

const CreateBody = Schema.Struct({
  type: Schema.optional(Schema.Unknown),
  version: Schema.optional(Schema.Unknown),
  condition: Schema.optional(Schema.Unknown),
  transport: Schema.optional(Schema.Unknown)
})
const decodeCreateBody = Schema.decodeUnknownEither(CreateBody)
const Transport = Schema.Struct({
  method: Schema.optional(Schema.Unknown),
  session_id: Schema.optional(Schema.Unknown),
  callback: Schema.optional(Schema.Unknown),
  secret: Schema.optional(Schema.Unknown),
  conduit_id: Schema.optional(Schema.Unknown)
})
const decodeTransport = Schema.decodeUnknownEither(Transport)
const decodeJsonObject = Schema.decodeUnknownEither(Schema.Record({ key: Schema.String, value: Schema.Unknown }))

// ---------------------------------------------------------------------------------------------------- create

const typeOf = (catalogue: Catalogue, type: unknown, version: unknown): Step<TypeDef> => {
  if (typeof type !== "string" || type === "") return fail(400, "The parameter \"type\" is required")
  if (typeof version !== "string" || version === "") return fail(400, "The parameter \"version\" is required")
  if (catalogue.isRemoved(type, version)) return fail(410, "This subscription type is not available.")
  const def = catalogue.get(type, version)
  if (def === undefined) return fail(400, "The combination of values in the type and version fields is not valid")
  return Either.right(def)
}

/** The condition's non-empty string fields; every required field present, and channel.raid's either-or. */
const conditionOf = (def: TypeDef, raw: unknown): Step<Record<string, string>> => {
  const object = decodeJsonObject(raw)
  if (Either.isLeft(object)) return fail(400, "The parameter \"condition\" is required")
  const condition: Record<string, string> = {}
  for (const [key, value] of Object.entries(object.right)) {
    if (typeof value === "string" && value !== "") condition[key] = value
  }
  const missing = def.conditionFields.find((field) => !field.endsWith("?") && condition[field] === undefined)
  if (missing !== undefined) return fail(400, `The parameter "condition.${missing}" is required`)
  if (def.type === "channel.raid") {
    const n = Number(condition.from_broadcaster_user_id !== undefined) +
      Number(condition.to_broadcaster_user_id !== undefined)
    if (n !== 1) {
      return fail(
        400,
        "Exactly one of condition.from_broadcaster_user_id and condition.to_broadcaster_user_id is required"
      )
    }
  }
  return Either.right(condition)
}

type TransportRequest =
  | { readonly method: "websocket"; readonly sessionId: string }
  | { readonly method: "webhook"; readonly target: WebhookTarget }
  | { readonly method: "conduit"; readonly conduitId: string }

/** A secret of 10 to 100 ASCII characters. */
const SECRET = /^[\x20-\x7e]{10,100}$/

const webhookOf = (callback: unknown, secret: unknown): Step<TransportRequest> => {
  if (typeof callback !== "string" || callback === "") {
    return fail(400, "The parameter \"transport.callback\" is required")
  }
  const url = URL.canParse(callback) ? new URL(callback) : undefined
  if (url === undefined || (url.protocol !== "https:" && url.protocol !== "http:")) {
    return fail(400, "The URL in the transport's callback field is not valid")
  }
  if (typeof secret !== "string" || !SECRET.test(secret)) {
    return fail(400, "The length of the string in the secret field is not valid")
  }
  return Either.right({ method: "webhook", target: { callback, secret } })
}

const transportOf = (raw: unknown): Step<TransportRequest> => {
  const transport = decodeTransport(raw)
  if (Either.isLeft(transport) || raw === undefined) return fail(400, "The parameter \"transport\" is required")
  const { callback, conduit_id: conduitId, method, secret, session_id: sessionId } = transport.right
  if (method === "webhook") return webhookOf(callback, secret)
  if (method === "conduit") {
    return typeof conduitId === "string" && conduitId !== ""
      ? Either.right({ method: "conduit", conduitId })
      : fail(400, "The parameter \"transport.conduit_id\" is required")
  }
  if (method !== "websocket") return fail(400, "The value in \"transport.method\" is not valid")
  if (typeof sessionId !== "string" || sessionId === "") {
    return fail(400, "The parameter \"transport.session_id\" is required")
  }
  return Either.right({ method: "websocket", sessionId })
}

/** A user token whose user authorized the type's scopes and is the user the condition names. */
const authorizedUser = (token: SimTokenInfo, def: TypeDef, condition: Record<string, string>): Step<string> => {
  if (token.userId === null) return wrongToken()
  if (def.scopes.length > 0) {
    const field = authorizingField(def)
    if (!hasScopes(def, token.scopes) || (field !== undefined && condition[field] !== token.userId)) {
      return fail(403, "subscription missing proper authorization")
    }
  }
  return Either.right(token.userId)
}

const openSession = (registry: Registry, sessionId: string): Step<Session> => {
  const session = registry.sessions.get(sessionId)
  if (session === undefined || session.status === "closed" || session.reconnectedTo !== null) {
    return fail(400, "websocket transport session does not exist or has already disconnected")
  }
  return Either.right(session)
}

interface Wanted {
  readonly clientId: string
  readonly userId: string
  readonly def: TypeDef
  readonly condition: Record<string, string>
  readonly session: Session
}

/** Twitch's limits: 409 for an existing one, 429 past 3 of a type + condition, 300 per session, 3 sessions, cost. */
const withinLimits = (registry: Registry, w: Wanted): Step<number> => {
  let sameTypeCondition = 0
  let totalCost = 0
  const userSessions = new Set<string>()
  for (const sub of registry.subscriptions.values()) {
    if (sub.status !== "enabled" || sub.clientId !== w.clientId || sub.webhook !== null || sub.conduitId !== null) {
      continue
    }
    const sameType = sub.def.type === w.def.type && conditionEquals(sub.condition, w.condition)
    if (sub.userId === w.userId) {
      if (sameType && sub.def.version === w.def.version) return fail(409, "subscription already exists")
      totalCost += sub.cost
      userSessions.add(sub.sessionId)
    }
    if (sameType) sameTypeCondition++
  }
  if (sameTypeCondition >= MAX_SAME_TYPE_CONDITION) {
    return fail(429, "too many subscriptions with the same type and condition")
  }
  let sessionEnabled = 0
  for (const sub of w.session.subs) if (sub.status === "enabled") sessionEnabled++
  if (sessionEnabled >= MAX_SUBSCRIPTIONS_PER_SESSION) {
    return fail(429, "number of subscriptions on the websocket transport session exceeded the limit")
  }
  if (!userSessions.has(w.session.id) && userSessions.size >= MAX_SESSIONS_PER_USER) {
    return fail(429, "number of websocket transports limit exceeded")
  }
  // cost 0 when the type needs the user's authorization or names the authorizing user; else 1
  const cost = w.def.scopes.length > 0 || Object.values(w.condition).includes(w.userId) ? 0 : 1
  if (totalCost + cost > MAX_TOTAL_COST) return fail(429, "total cost of subscriptions exceeded max_total_cost")
  return Either.right(cost)
}

const totals = (registry: Registry, token: SimTokenInfo) => {
  let total = 0
  let totalCost = 0
  const owned = ownedBy(token)
  for (const sub of registry.subscriptions.values()) {
    if (!owned(sub)) continue
    total++
    if (sub.status === "enabled") totalCost += sub.cost
  }
  return {
    total,
    total_cost: totalCost,
    max_total_cost: token.userId === null ? MAX_TOTAL_COST_WEBHOOK : MAX_TOTAL_COST
  }
}

const insert = (registry: Registry, w: Wanted, cost: number): Sub => {
  const sub: Sub = {
    id: randomUUID(),
    clientId: w.clientId,
    userId: w.userId,
    def: w.def,
    condition: w.condition,
    cost,
    createdAt: registry.clock.timestamp(registry.clock.now()),
    status: "enabled",
    sessionId: w.session.id,
    connectedAt: w.session.connectedAt,
    disconnectedAt: null,
    disabledAtMs: null,
    webhook: null,
    conduitId: null
  }
  registry.add(sub, w.session)
  return sub
}

/** What a request needs besides itself. @internal */
export interface RestDeps {
  readonly auth: SimAuth
  readonly registry: Registry
  readonly catalogue: Catalogue
  /** starts the callback verification of a new webhook subscription */
  readonly verify: (sub: Sub) => void
  readonly conduits: Conduits
}

const createWebSocket = (
  deps: RestDeps,
  token: SimTokenInfo,
  request: { readonly def: TypeDef; readonly condition: Record<string, string>; readonly sessionId: string }
): Step<Sub> =>
  Either.gen(function*() {
    const { condition, def } = request
    const userId = yield* authorizedUser(token, def, condition)
    const session = yield* openSession(deps.registry, request.sessionId)
    deps.registry.prune()
    const wanted: Wanted = { clientId: token.clientId, userId, def, condition, session }
    return insert(deps.registry, wanted, yield* withinLimits(deps.registry, wanted))
  })

/** Create EventSub Subscription. */
const create = (deps: RestDeps, token: SimTokenInfo, raw: unknown): Response =>
  Either.merge(Either.gen(function*() {
    const body = yield* Either.mapLeft(
      decodeCreateBody(raw),
      () => errorResponse(400, "The request body is not a valid JSON object")
    )
    const def = yield* typeOf(deps.catalogue, body.type, body.version)
    const transport = yield* transportOf(body.transport)
    const condition = yield* conditionOf(def, body.condition)
    const sub = transport.method === "websocket"
      ? yield* createWebSocket(deps, token, { def, condition, sessionId: transport.sessionId })
      : transport.method === "conduit"
      ? yield* Conduit.create(deps.auth, deps.registry, deps.conduits, token, {
        def,
        condition,
        conduitId: transport.conduitId
      })
      : yield* Webhooks.create(deps.auth, deps.registry, token, { def, condition, target: transport.target })
    const response = { data: [restView(sub)], ...totals(deps.registry, token) }
    if (sub.webhook !== null) deps.verify(sub)
    return HttpServerResponse.unsafeJson(response, { status: 202 })
  }))

// ---------------------------------------------------------------------------------------------------- get, delete

/** Get EventSub Subscriptions: one filter at most, pages of 100, oldest first. */
const list = (registry: Registry, token: SimTokenInfo, params: URLSearchParams): Response => {
  const filters = ["status", "type", "user_id", "subscription_id", "conduit_id"].filter((name) => params.has(name))
  if (filters.length > 1) {
    return errorResponse(
      400,
      "The status, type, user_id, subscription_id and conduit_id filters are mutually exclusive"
    )
  }
  registry.prune()
  const owned = ownedBy(token)
  const matches = filterFor(filters[0], filters.length === 1 ? params.get(filters[0]!) ?? "" : "")
  const all: Array<Sub> = []
  for (const sub of registry.subscriptions.values()) if (owned(sub) && matches(sub)) all.push(sub)
  const offset = cursorOffset(params.get("after"))
  if (offset === undefined) return errorResponse(400, "The cursor in \"after\" is not valid")
  const next = offset + PAGE_SIZE
  return HttpServerResponse.unsafeJson({
    data: all.slice(offset, next).map(restView),
    ...totals(registry, token),
    total: all.length,
    pagination: next < all.length ? { cursor: Buffer.from(String(next)).toString("base64url") } : {}
  })
}

/** Delete EventSub Subscription. */
const remove = (registry: Registry, token: SimTokenInfo, params: URLSearchParams): Response => {
  const id = params.get("id")
  if (id === null || id === "") return errorResponse(400, "The parameter \"id\" is required")
  const sub = registry.subscriptions.get(id)
  if (sub === undefined || !ownedBy(token)(sub)) return errorResponse(404, "subscription not found")
  registry.remove(sub)
  return HttpServerResponse.empty({ status: 204 })
}

/**
 * The REST handler for GET/POST/DELETE of /eventsub/subscriptions (the path is not checked: the core mounts it).
 * @internal
 */
export const make = (deps: RestDeps): HttpApp.Default =>
  Effect.gen(function*() {
    const { auth, registry } = deps
    const request = yield* HttpServerRequest.HttpServerRequest
    const now = registry.clock.now()
    const result = auth.authenticate(request.headers["authorization"], request.headers["client-id"], now)
    if (result._tag === "Unauthorized") return errorResponse(401, result.message)
    const params = new URL(request.url, "http://localhost").searchParams
    switch (request.method) {
      case "GET":
        return list(registry, result.token, params)
      case "DELETE":
        return remove(registry, result.token, params)
      case "POST": {
        const body = yield* Effect.either(request.json)
        return Either.isLeft(body)
          ? errorResponse(400, "The request body is not valid JSON")
          : create(deps, result.token, body.right)
      }
      default:
        return errorResponse(405, `Method ${request.method} is not allowed`)
    }
  })

const filterFor = (filter: string | undefined, value: string) => (sub: Sub): boolean => {
  switch (filter) {
    case "status":
      return sub.status === value
    case "type":
      return sub.def.type === value
    case "user_id":
      return Object.values(sub.condition).includes(value)
    case "subscription_id":
      return sub.id === value
    case "conduit_id":
      return sub.conduitId === value
    default:
      return true
  }
}

/** The offset an `after` cursor stands for (0 without one); undefined when it is not valid. */
const cursorOffset = (after: string | null): number | undefined => {
  if (after === null) return 0
  const offset = Number(Buffer.from(after, "base64url").toString("utf8"))
  return Number.isSafeInteger(offset) && offset >= 0 ? offset : undefined
}
