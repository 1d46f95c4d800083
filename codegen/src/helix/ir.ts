/**
 * Twitch's Helix description (with the overrides applied) as the list of operations the generators emit.
 */
import type { OperationOverride, Overrides } from "./overrides.js"
import { applyPatches } from "./overrides.js"
import type { JsonSchema, Parameter, Spec, SpecOperation } from "./spec.js"
import { resolve } from "./spec.js"

export type TokenKind = "user" | "app" | "either" | "jwt"

export interface Operation {
  /** Twitch's operationId, e.g. `send-chat-message` */
  readonly id: string
  /** the function name, e.g. `sendChatMessage` */
  readonly name: string
  /** the spec's tag, e.g. `Channel Points` */
  readonly tag: string
  /** the module the tag becomes, e.g. `ChannelPoints` */
  readonly module: string
  readonly summary: string
  readonly docsUrl: string | undefined
  readonly method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE"
  readonly path: string
  readonly token: TokenKind
  /** any one of them is enough (empty: none needed) */
  readonly scopes: ReadonlyArray<string>
  /** the parameter that names the user the token must belong to, filled in from the acting user when left out */
  readonly actingUser: string | undefined
  /** Twitch requires the acting-user parameter (with an app token it cannot be filled in) */
  readonly actingUserRequired: boolean
  /** query parameters the caller sets (pagination's `first`/`after`/`before` excluded when paginated) */
  readonly query: ReadonlyArray<Parameter>
  /** the JSON body's schema (an object) */
  readonly body: JsonSchema | undefined
  readonly alsoInQuery: ReadonlyArray<string>
  readonly numbersAsStrings: ReadonlyArray<string>
  readonly successStatus: number
  /** the answer's schema; `undefined`: no content */
  readonly response: JsonSchema | undefined
  /** the operation pages with `after` and answers `pagination.cursor` */
  readonly paginated: boolean
  /** the largest `first` it takes (`undefined`: it takes no `first`) */
  readonly pageSize: number | undefined
  /** array query parameters split into requests of at most 100 values (non-paginated list reads) */
  readonly batch: ReadonlyArray<string> | undefined
  /** what the typed function returns: the `data` array, the whole body, or nothing */
  readonly result: "data" | "body" | "void"
  readonly requestExample: unknown
  readonly responseExample: unknown
  readonly errors: ReadonlyArray<{ readonly status: number; readonly description: string }>
}

export interface Model {
  readonly spec: Spec
  readonly operations: ReadonlyArray<Operation>
}

const METHODS = ["get", "post", "put", "patch", "delete"] as const

export const camel = (id: string): string => id.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase())
export const moduleOf = (tag: string): string =>
  tag.split(/\s+/).map((word) => word.charAt(0).toUpperCase() + word.slice(1)).join("")

const PAGINATION = new Set(["first", "after", "before"])

const authorizationText = (op: SpecOperation): string => {
  const text = op.description ?? ""
  const at = text.indexOf("__Authorization:__")
  return at < 0 ? "" : text.slice(at)
}

const tokenOf = (op: SpecOperation): TokenKind => {
  const auth = authorizationText(op).toLowerCase()
  const app = auth.includes("app access token")
  const user = auth.includes("user access token") || auth.includes("user-access token")
  if (auth.includes("json web token") && !app && !user) return "jwt"
  if (app && user) return "either"
  return app ? "app" : "user"
}

/** The parameter the docs say must match the user in the access token (`… must match the user ID in the …`). */
const ACTING = /must match|same as|ID in the (?:user )?(?:access|OAuth) token/i
const PREFERRED = [
  "moderator_id",
  "sender_id",
  "from_user_id",
  "editor_id",
  "from_broadcaster_id",
  "user_id",
  "broadcaster_id"
]

const actingUserOf = (described: ReadonlyArray<readonly [string, string]>): string | undefined => {
  const matches = described.filter(([, text]) => ACTING.test(text.replace(/\\_/g, "_"))).map(([name]) => name)
  return PREFERRED.find((name) => matches.includes(name)) ?? matches[0]
}

const pageSizeOf = (op: SpecOperation): number | undefined => {
  const first = (op.parameters ?? []).find((p) => p.name === "first")
  const sizes = [...(first?.description ?? "").matchAll(/maximum[^.\d]*?(\d[\d,]*)/gi)]
    .map((m) => Number(m[1]!.replace(/,/g, "")))
  return sizes.length === 0 ? undefined : Math.max(...sizes)
}

const jsonContent = (
  content: Record<string, { schema?: JsonSchema; examples?: Record<string, { value?: unknown }> }> | undefined
) => content?.["application/json"]

const firstExample = (examples: Record<string, { value?: unknown }> | undefined): unknown =>
  examples === undefined ? undefined : Object.values(examples)[0]?.value

const build = (
  spec: Spec,
  path: string,
  method: (typeof METHODS)[number],
  op: SpecOperation,
  override: OperationOverride | undefined
): Operation => {
  const params = (op.parameters ?? []).filter((p) => p.in === "query")
  if ((op.parameters ?? []).some((p) => p.in !== "query")) {
    throw new Error(`${op.operationId}: only query parameters are supported`)
  }
  const successCode = Object.keys(op.responses).find((code) => code.startsWith("2"))
  if (successCode === undefined) throw new Error(`${op.operationId}: no 2xx response`)
  const success = op.responses[successCode]!
  const responseMedia = jsonContent(success.content)
  const response = responseMedia?.schema
  const bodyMedia = jsonContent(op.requestBody?.content)
  const body = bodyMedia?.schema
  const responseProps = response === undefined ? {} : resolve(spec, response).properties ?? {}
  const paginated = override?.paginated ??
    (params.some((p) => p.name === "after") && "pagination" in responseProps && "data" in responseProps)
  const query = paginated ? params.filter((p) => !PAGINATION.has(p.name)) : params
  const bodyProps = body === undefined ? {} : resolve(spec, body).properties ?? {}
  const onlyData = Object.keys(responseProps).every((k) => k === "data" || (paginated && k === "pagination")) &&
    "data" in responseProps && resolve(spec, responseProps.data!).type === "array"
  const arrays = query.filter((p) => resolve(spec, p.schema).type === "array").map((p) => p.name)
  const token = override?.token ?? tokenOf(op)
  const actingUser = override?.actingUser === null ?
    undefined :
    override?.actingUser ?? (token === "app" ? undefined : actingUserOf([
      ...query.map((p) => [p.name, p.description ?? ""] as const),
      ...Object.entries(bodyProps).map(([name, s]) => [name, s.description ?? ""] as const)
    ]))
  return {
    id: op.operationId,
    name: camel(op.operationId),
    tag: op.tags[0]!,
    module: moduleOf(op.tags[0]!),
    summary: op.summary ?? "",
    docsUrl: op.externalDocs?.url,
    method: method.toUpperCase() as Operation["method"],
    path,
    token,
    scopes: override?.scopes ?? [...new Set(op.security?.flatMap((s) => s.twitch_auth ?? []) ?? [])],
    actingUser,
    actingUserRequired: actingUser !== undefined && (
      query.some((p) => p.name === actingUser && p.required === true) ||
      (body !== undefined && (resolve(spec, body).required ?? []).includes(actingUser))
    ),
    query,
    body,
    alsoInQuery: override?.alsoInQuery ?? [],
    numbersAsStrings: override?.numbersAsStrings ?? [],
    successStatus: Number(successCode),
    response: successCode === "204" ? undefined : response,
    paginated,
    pageSize: paginated ? override?.pageSize ?? pageSizeOf(op) : undefined,
    batch: override?.batch === null
      ? undefined
      : override?.batch ?? (method === "get" && !paginated && onlyData && arrays.length > 0 ? arrays : undefined),
    result: successCode === "204" || response === undefined ? "void" : onlyData ? "data" : "body",
    requestExample: firstExample(bodyMedia?.examples),
    responseExample: firstExample(responseMedia?.examples),
    errors: Object.entries(op.responses)
      .filter(([code]) => !code.startsWith("2"))
      .map(([code, r]) => ({ status: Number(code), description: r.description ?? "" }))
  }
}

/** Every operation of the spec, the overrides applied, in the spec's order. */
export const modelOf = (raw: Spec, overrides: Overrides): Model => {
  const spec = applyPatches(raw, overrides)
  const operations: Array<Operation> = []
  const known = new Set<string>()
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const method of METHODS) {
      const op = item[method]
      if (op === undefined) continue
      known.add(op.operationId)
      operations.push(build(spec, path, method, op, overrides.operations[op.operationId]))
    }
  }
  for (const [id, override] of Object.entries(overrides.operations)) {
    if (!known.has(id)) throw new Error(`override for an unknown operation: ${id}`)
    if (override.reason.trim() === "") throw new Error(`override without a reason: ${id}`)
  }
  return { spec, operations }
}
