// Operations without state: Twitch's documented example answer, with the request's ids put in where the
// example has the same field (and one item per requested id), paged like Helix. Deterministic.
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { empty, json } from "../http.js"
import type { SimState } from "../state.js"
import type { Answer, Ctx, Handler } from "./context.js"
import { sync } from "./context.js"
import { pageAnswer } from "./paging.js"
import type { RouteSchema } from "./routes.js"

type Json = unknown
type JsonObject = Record<string, Json>

const isObject = (u: Json): u is JsonObject => typeof u === "object" && u !== null && !Array.isArray(u)

const SUBSTITUTED = /(?:^|_)(?:id|login)$/

/** Scalar request values that may replace the example's: single query parameters and body fields (and `data.*`). */
const requestValues = (ctx: Ctx): Map<string, string> => {
  const values = new Map<string, string>()
  const put = (object: Readonly<Record<string, unknown>>) => {
    for (const [key, value] of Object.entries(object)) {
      if (SUBSTITUTED.test(key) && typeof value === "string" && value !== "") values.set(key, value)
    }
  }
  const body = ctx.body
  if (isObject(body.data)) put(body.data)
  put(body)
  for (const p of ctx.route.query) {
    const value = ctx.params.get(p.name)
    if (!p.array && value !== undefined && value !== "" && SUBSTITUTED.test(p.name)) values.set(p.name, value)
  }
  return values
}

/** A known user's login and name beside a substituted `<prefix>_id` (`broadcaster_id` → `broadcaster_login`). */
const fillUser = (object: JsonObject, key: string, id: string, state: SimState): void => {
  const user = state.userById(id)
  if (user === undefined) return
  const prefix = key === "id" ? "" : key.slice(0, -2)
  if (typeof object[`${prefix}login`] === "string") object[`${prefix}login`] = user.login
  if (typeof object[`${prefix}name`] === "string") object[`${prefix}name`] = user.display_name
}

const substitute = (node: Json, values: ReadonlyMap<string, string>, state: SimState): Json => {
  if (Array.isArray(node)) return node.map((item) => substitute(item, values, state))
  if (!isObject(node)) return node
  const out: JsonObject = {}
  for (const [key, value] of Object.entries(node)) out[key] = substitute(value, values, state)
  for (const [key, value] of Object.entries(out)) {
    const wanted = values.get(key)
    if (wanted === undefined || typeof value !== "string") continue
    out[key] = wanted
    if (key.endsWith("_id")) fillUser(out, key, wanted, state)
  }
  return out
}

/** One item per value of an id-list parameter the example's items carry (`?id=a&id=b` → two items). */
const perRequestedId = (ctx: Ctx, example: JsonObject): JsonObject => {
  const items = example.data
  if (!Array.isArray(items) || items.length === 0 || !isObject(items[0])) return example
  const first: JsonObject = items[0]
  for (const p of ctx.route.query) {
    const values = ctx.params.getAll(p.name)
    if (!p.array || values.length === 0 || typeof first[p.name] !== "string") continue
    const data = values.map((value, i) => {
      const item = { ...(items[i % items.length] as JsonObject), [p.name]: value }
      if (p.name.endsWith("_id") || p.name === "id") fillUser(item, p.name, value, ctx.state)
      return item
    })
    return { ...example, data }
  }
  return example
}

const synthString = (key: string): string => {
  if (/(?:_at|_time)$/.test(key)) return "2024-01-01T00:00:00Z"
  if (/url$/.test(key)) return "https://static-cdn.jtvnw.net/example.png"
  if (/(?:^|_)id$/.test(key)) return "1"
  return key
}

/** A value of the schema (for operations whose docs show no example). @internal */
export const synthesize = (schema: RouteSchema, key = ""): Json => {
  if (schema.enum !== undefined && schema.enum.length > 0) return schema.enum[0]
  switch (schema.type) {
    case "object":
      return Object.fromEntries(Object.entries(schema.properties ?? {}).map(([k, s]) => [k, synthesize(s, k)]))
    case "array":
      return schema.items === undefined ? [] : [synthesize(schema.items, key)]
    case "integer":
    case "number":
      return 0
    case "boolean":
      return false
    default:
      return synthString(key)
  }
}

const calendar = (ctx: Ctx): Answer =>
  HttpServerResponse.text(
    [
      "BEGIN:VCALENDAR",
      "PRODID:-//twitch.tv//StreamSchedule//1.0",
      "VERSION:2.0",
      "CALSCALE:GREGORIAN",
      `X-WR-CALNAME:${ctx.params.get("broadcaster_id") ?? ""}`,
      "END:VCALENDAR",
      ""
    ].join("\r\n"),
    { status: 200, contentType: "text/calendar" }
  )

/** The example answer of the context's route. @internal */
export const exampleAnswer = (ctx: Ctx): Answer => {
  const route = ctx.route
  if (route.successStatus === 204) return empty(204)
  if (route.response === null) return calendar(ctx)
  const base = route.responseExample ?? synthesize(route.response)
  const example = substitute(isObject(base) ? perRequestedId(ctx, base) : base, requestValues(ctx), ctx.state)
  if (route.pagination !== null && isObject(example) && Array.isArray(example.data)) {
    const { data, pagination: _pagination, ...extra } = example
    return pageAnswer(ctx, data, extra)
  }
  return json(example, route.successStatus)
}

/** @internal */
export const generic: Handler = sync(exampleAnswer)
