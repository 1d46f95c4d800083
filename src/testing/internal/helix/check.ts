// Twitch's per-operation request checks: token kind, scopes, parameters (query and body), the acting user.
import type { SimTokenInfo } from "../contracts.js"
import { fromPairs, helixError, type Params } from "../http.js"
import type { SimState } from "../state.js"
import type { Answer, Body } from "./context.js"
import { bad, missing } from "./context.js"
import type { Route, RouteParam, RouteSchema } from "./routes.js"

const MAX_VALUES = 100

/** @internal */
export interface Checked {
  readonly params: Params
  readonly body: Body
}

/** What a handler may turn off because it checks it itself (with its own outcome). @internal */
export interface CheckOptions {
  readonly actingUser?: boolean
  readonly scopes?: boolean
}

const tokenKind = (route: Route, token: SimTokenInfo): Answer | undefined => {
  if (route.token === "user" && token.userId === null) {
    return helixError(401, "The Authorization header is required and must contain a user access token")
  }
  if (route.token === "app" && token.userId !== null) {
    return helixError(401, "The Authorization header is required and must specify an app access token")
  }
  return undefined
}

const scopes = (route: Route, token: SimTokenInfo): Answer | undefined =>
  token.userId === null || route.scopes.length === 0 || route.scopes.some((s) => token.scopes.includes(s))
    ? undefined
    : helixError(401, `Missing scope: ${route.scopes.join(" or ")}`)

const scalarOk = (type: string, value: string): boolean => {
  switch (type) {
    case "integer":
      return /^-?\d+$/.test(value)
    case "number":
      return value.trim() !== "" && Number.isFinite(Number(value))
    case "boolean":
      return value === "true" || value === "false"
    default:
      return true
  }
}

const queryParam = (params: Params, p: RouteParam): Answer | undefined => {
  const values = params.getAll(p.name)
  if (values.length === 0 || (values.length === 1 && values[0] === "" && p.required)) {
    return p.required ? missing(p.name) : undefined
  }
  if (values.length > MAX_VALUES) {
    return bad(`The number of "${p.name}" parameters must not exceed ${MAX_VALUES}`)
  }
  for (const value of values) {
    if (!scalarOk(p.type, value)) return bad(`The parameter "${p.name}" is not a valid ${p.type}`)
    if (p.enum !== undefined && !p.enum.some((e) => String(e) === value)) {
      return bad(`The value in the "${p.name}" parameter is not valid`)
    }
  }
  return undefined
}

const typeOk = (type: string | undefined, value: unknown): boolean => {
  switch (type) {
    case undefined:
      return true
    case "integer":
      return typeof value === "number" && Number.isInteger(value)
    case "number":
      return typeof value === "number"
    case "array":
      return Array.isArray(value)
    case "object":
      return typeof value === "object" && value !== null && !Array.isArray(value)
    default:
      return typeof value === type
  }
}

/** The first way `value` breaks `schema` (a message naming the field), or undefined. */
const bodyProblem = (schema: RouteSchema, value: unknown, path: string): string | undefined => {
  if (value === null) return schema.nullable === true ? undefined : `The "${path}" field may not be null`
  if (!typeOk(schema.type, value)) return `The "${path}" field must be of type ${schema.type}`
  if (schema.enum !== undefined && !schema.enum.includes(value as string)) {
    return `The value in the "${path}" field is not valid`
  }
  if (Array.isArray(value) && schema.items !== undefined) {
    for (const item of value) {
      const problem = bodyProblem(schema.items, item, `${path}[]`)
      if (problem !== undefined) return problem
    }
  }
  if (schema.type === "object" && typeof value === "object") {
    const object = value as Body
    const prefix = path === "" ? "" : `${path}.`
    for (const name of schema.required ?? []) {
      if (object[name] === undefined) return `Missing required parameter "${prefix}${name}"`
    }
    const required = new Set(schema.required ?? [])
    for (const [name, field] of Object.entries(schema.properties ?? {})) {
      // Twitch reads an optional field sent as null as left out (Twurple PUTs back what a GET answered)
      if (object[name] === undefined || (object[name] === null && !required.has(name))) continue
      const problem = bodyProblem(field, object[name], `${prefix}${name}`)
      if (problem !== undefined) return problem
    }
  }
  return undefined
}

/** The body with the fields Twitch also takes from the query string (Twurple sends them there). */
const bodyOf = (route: Route, raw: unknown, params: Params): Body => {
  const body: Record<string, unknown> = typeof raw === "object" && raw !== null && !Array.isArray(raw)
    ? { ...(raw as Body) }
    : {}
  for (const name of route.alsoInQuery) {
    const value = params.get(name)
    if (body[name] === undefined && value !== undefined) body[name] = fromQuery(route.body?.properties?.[name], value)
  }
  for (const name of route.numbersAsStrings) {
    if (typeof body[name] === "number") body[name] = String(body[name])
  }
  return body
}

/** A query-string value as the body field's type. */
const fromQuery = (schema: RouteSchema | undefined, value: string): unknown => {
  switch (schema?.type) {
    case "integer":
    case "number":
      return /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value
    case "boolean":
      return value === "true" ? true : value === "false" ? false : value
    default:
      return value
  }
}

const actingValue = (route: Route, params: Params, body: Body): string | undefined => {
  if (route.actingUser === null) return undefined
  const value = params.get(route.actingUser) ?? body[route.actingUser]
  return typeof value === "string" && value !== "" ? value : undefined
}

const mismatchStatus = (route: Route, name: string): number =>
  route.errors.find((e) =>
    (e.status === 401 || e.status === 403) && e.description.replace(/\\_/g, "_").includes(name) &&
    /match/i.test(e.description)
  )?.status ?? 401

const actingUser = (route: Route, token: SimTokenInfo, params: Params, body: Body): Answer | undefined => {
  const name = route.actingUser
  if (name === null || token.userId === null) return undefined
  const value = actingValue(route, params, body)
  if (value === undefined) return route.actingUserRequired ? missing(name) : undefined
  return value === token.userId
    ? undefined
    : helixError(mismatchStatus(route, name), `The ID in ${name} must match the user ID in the access token`)
}

const moderatorOnly = (route: Route, state: SimState, params: Params): Answer | undefined => {
  if (route.actingUser !== "moderator_id") return undefined
  const documented = route.errors.some((e) => e.status === 403 && /moderator/i.test(e.description))
  const broadcasterId = params.get("broadcaster_id")
  const moderatorId = params.get("moderator_id")
  if (!documented || broadcasterId === undefined || moderatorId === undefined) return undefined
  return state.isModerator(broadcasterId, moderatorId)
    ? undefined
    : helixError(403, "The user in moderator_id is not one of the broadcaster's moderators")
}

/**
 * The route's checks in Twitch's order: token kind (401), scopes (401), parameters (400), acting user (401/403),
 * moderator (403). JWT routes (extensions) accept any token the simulator issued.
 * @internal
 */
export const checkRequest = (
  route: Route,
  token: SimTokenInfo,
  state: SimState,
  query: ReadonlyArray<readonly [string, string]>,
  rawBody: unknown,
  options: CheckOptions = {}
): Checked | Answer => {
  const params = fromPairs(query)
  const denied = tokenKind(route, token) ?? (options.scopes === false ? undefined : scopes(route, token))
  if (denied !== undefined) return denied
  for (const p of route.query) {
    const problem = queryParam(params, p)
    if (problem !== undefined) return problem
  }
  const body = bodyOf(route, rawBody, params)
  if (route.body !== null) {
    const problem = bodyProblem(route.body, body, "")
    if (problem !== undefined) return bad(problem)
  }
  const forbidden = (options.actingUser === false ? undefined : actingUser(route, token, params, body)) ??
    moderatorOnly(route, state, params)
  return forbidden ?? { params, body }
}
