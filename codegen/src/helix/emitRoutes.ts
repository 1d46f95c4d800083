/**
 * The simulator's route table: every operation as plain data (`src/testing/internal/helixRoutes.json`).
 */
import { generatedHeader } from "../emit.js"
import { helixInputsText } from "./inputs.js"
import type { Model, Operation } from "./ir.js"
import type { JsonSchema } from "./spec.js"
import { inline, resolve } from "./spec.js"

export interface RouteParam {
  readonly name: string
  readonly required: boolean
  readonly array: boolean
  readonly type: string
  readonly enum?: ReadonlyArray<string | number | boolean>
}

const paramOf = (model: Model, op: Operation) => (p: Operation["query"][number]): RouteParam => {
  const schema = resolve(model.spec, p.schema)
  const item = schema.type === "array" && schema.items !== undefined ? resolve(model.spec, schema.items) : schema
  return {
    name: p.name,
    required: p.required === true && p.name !== op.actingUser,
    array: schema.type === "array",
    type: item.type ?? "string",
    ...(item.enum === undefined ? {} : { enum: item.enum })
  }
}

const lean = (model: Model, schema: JsonSchema | undefined): JsonSchema | null =>
  schema === undefined ? null : inline(model.spec, schema, true)

/** One entry per operation, in the spec's order. */
export const routesOf = (model: Model) =>
  model.operations.map((op) => ({
    id: op.id,
    name: op.name,
    tag: op.tag,
    method: op.method,
    path: op.path,
    token: op.token,
    scopes: op.scopes,
    actingUser: op.actingUser ?? null,
    /** the spec requires the acting user's query parameter (the client fills it in, the server still wants it) */
    actingUserRequired: op.actingUserRequired,
    query: op.query.map(paramOf(model, op)),
    // without `first`, Twitch's page is 100 items
    pagination: op.paginated ? { pageSize: op.pageSize ?? 100, first: op.pageSize !== undefined } : null,
    body: lean(model, op.body),
    alsoInQuery: op.alsoInQuery,
    numbersAsStrings: op.numbersAsStrings,
    successStatus: op.successStatus,
    response: lean(model, op.response),
    responseExample: op.responseExample ?? null,
    requestExample: op.requestExample ?? null,
    errors: op.errors.map((e) => ({ status: e.status, description: e.description.split("\n")[0] ?? "" }))
  }))

export const emitRoutes = (model: Model): string =>
  JSON.stringify({ _comment: generatedHeader(helixInputsText), operations: routesOf(model) }, null, 1) + "\n"
