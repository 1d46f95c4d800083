// Cursor pagination as Helix does it: `first` (1..page size), `after` (an opaque cursor), `pagination: {}` at the end.
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { json, type Params } from "../http.js"
import type { Answer, Ctx } from "./context.js"
import { bad } from "./context.js"

const encodeCursor = (offset: number): string => Buffer.from(JSON.stringify({ o: offset })).toString("base64url")

const decodeCursor = (cursor: string): number | undefined => {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"))
    if (typeof parsed === "object" && parsed !== null && "o" in parsed) {
      const o = parsed.o
      if (typeof o === "number" && Number.isInteger(o) && o >= 0) return o
    }
    return undefined
  } catch {
    return undefined
  }
}

/** @internal */
export interface Window {
  readonly offset: number
  readonly count: number
}

/** `first` and `after` → the window to answer, or a 400. @internal */
export const paging = (params: Params, defaultFirst: number, maxFirst: number): Window | Answer => {
  const firstRaw = params.get("first")
  let count = Math.min(defaultFirst, maxFirst)
  if (firstRaw !== undefined) {
    const n = Number(firstRaw)
    if (!/^\d+$/.test(firstRaw) || n < 1 || n > maxFirst) {
      return bad(`The parameter "first" must be between 1 and ${maxFirst}`)
    }
    count = n
  }
  const after = params.get("after")
  let offset = 0
  if (after !== undefined && after !== "") {
    const decoded = decodeCursor(after)
    if (decoded === undefined) return bad("The cursor in the \"after\" parameter is not valid")
    offset = decoded
  }
  return { offset, count }
}

/** `{cursor}` while more follow, `{}` on the last page. @internal */
export const pagination = (offset: number, returned: number, total: number): { cursor?: string } =>
  offset + returned < total && returned > 0 ? { cursor: encodeCursor(offset + returned) } : {}

const isWindow = (u: Window | Answer): u is Window => !HttpServerResponse.isServerResponse(u)

/** One page of `items` as `{data, pagination}` (plus `extra`), or a 400 for bad `first`/`after`. @internal */
export const page = <A>(
  params: Params,
  items: ReadonlyArray<A>,
  pageSize: number,
  defaultFirst = 20
): { readonly data: ReadonlyArray<A>; readonly pagination: { cursor?: string } } | Answer => {
  const window = paging(params, defaultFirst, pageSize)
  if (!isWindow(window)) return window
  const data = items.slice(window.offset, window.offset + window.count)
  return { data, pagination: pagination(window.offset, data.length, items.length) }
}

/** The route's page of `items` as Helix answers it: `{data, pagination, ...extra}`. @internal */
export const pageAnswer = (
  ctx: Ctx,
  items: ReadonlyArray<unknown>,
  extra: Readonly<Record<string, unknown>> = {},
  defaultFirst = 20
): Answer => {
  const result = page(ctx.params, items, ctx.route.pagination?.pageSize ?? 100, defaultFirst)
  if (HttpServerResponse.isServerResponse(result)) return result
  // a few operations (Get Extension Live Channels) answer the cursor itself as `pagination`
  const bare = ctx.route.response?.properties?.pagination?.type === "string"
  return json({ data: result.data, pagination: bare ? result.pagination.cursor ?? "" : result.pagination, ...extra })
}
