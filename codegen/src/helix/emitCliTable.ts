/**
 * The command-line tool's parameter table (`src/cli/internal/helixParameters.ts`): for every operation, its
 * parameters with their wire types, so that `effect-twitch api <operation> --name value` can turn text into
 * what Twitch expects (a number, a boolean, a list, a JSON object) without reading the simulator's route table.
 */
import { generatedHeader } from "../emit.js"
import { summaryOf } from "./emitClient.js"
import { helixInputsText } from "./inputs.js"
import type { Model, Operation } from "./ir.js"
import type { JsonSchema } from "./spec.js"
import { resolve } from "./spec.js"

/** `string`, `integer`, `number`, `boolean`, or `json` (an object, or a list of objects: given as JSON text). */
type Kind = "string" | "integer" | "number" | "boolean" | "json"

const MAX_DESCRIPTION = 160

/** The first sentence of a description, on one line, at most {@link MAX_DESCRIPTION} characters. */
const firstSentence = (text: string | undefined): string => {
  const line = summaryOf(text).replace(/\s+/g, " ").replace(/\[([^\]]*)\]\([^)]*\)/g, "$1").trim()
  const end = line.search(/\.(\s|$)/)
  const sentence = end < 0 ? line : line.slice(0, end + 1)
  return sentence.length <= MAX_DESCRIPTION ? sentence : `${sentence.slice(0, MAX_DESCRIPTION - 1)}…`
}

const kindOf = (schema: JsonSchema): Kind =>
  schema.type === "integer" || schema.type === "number" || schema.type === "boolean" || schema.type === "string"
    ? schema.type
    : schema.type === undefined
    ? "string"
    : "json"

interface Row {
  readonly name: string
  readonly kind: Kind
  readonly list: boolean
  readonly required: boolean
  readonly description: string
  readonly choices: ReadonlyArray<string>
}

const rowOf = (model: Model, name: string, raw: JsonSchema, required: boolean, description?: string): Row => {
  const schema = resolve(model.spec, raw)
  const item = schema.type === "array" && schema.items !== undefined ? resolve(model.spec, schema.items) : undefined
  // a list of scalars is a repeated option; a list of objects is one JSON value
  const list = item !== undefined && kindOf(item) !== "json"
  const element = list ? item! : schema
  return {
    name,
    kind: kindOf(element),
    list,
    required,
    description: firstSentence(description ?? schema.description),
    choices: (element.enum ?? []).map(String)
  }
}

const rowsOf = (model: Model, op: Operation): ReadonlyArray<Row> => {
  const query = op.query.map((p) =>
    rowOf(model, p.name, p.schema, p.required === true && p.name !== op.actingUser, p.description)
  )
  const body = op.body === undefined ? undefined : resolve(model.spec, op.body)
  const seen = new Set(query.map((row) => row.name))
  const fields = Object.entries(body?.properties ?? {}).filter(([name]) => !seen.has(name)).map(([name, schema]) =>
    rowOf(model, name, schema, (body?.required ?? []).includes(name) && name !== op.actingUser)
  )
  return [...query, ...fields]
}

const rowText = (row: Row): string => {
  const fields = [
    `name: ${JSON.stringify(row.name)}`,
    `kind: ${JSON.stringify(row.kind)}`,
    ...(row.list ? ["list: true"] : []),
    ...(row.required ? ["required: true"] : []),
    ...(row.choices.length > 0 ? [`choices: ${JSON.stringify(row.choices)}`] : []),
    `description: ${JSON.stringify(row.description)}`
  ]
  return `{ ${fields.join(", ")} }`
}

export const emitCliTable = (model: Model): string => {
  const entries = model.operations.map((op) =>
    `  ${op.name}: {\n    summary: ${JSON.stringify(firstSentence(op.summary))},\n` +
    `    result: ${JSON.stringify(op.result)},\n    paginated: ${op.paginated},\n    parameters: [${
      rowsOf(model, op).map((row) => `\n      ${rowText(row)}`).join(",")
    }\n    ]\n  }`
  )
  return `// ${generatedHeader(helixInputsText)}
// The parameters of every Helix operation, for the command-line tool (\`effect-twitch api\`).

/** @internal */
export type Kind = "string" | "integer" | "number" | "boolean" | "json"

/** @internal */
export interface Parameter {
  readonly name: string
  /** \`json\`: an object, or a list of objects, given as JSON text */
  readonly kind: Kind
  /** a list of scalars: the option is repeated (or its values separated by commas) */
  readonly list?: boolean
  readonly required?: boolean
  readonly choices?: ReadonlyArray<string>
  readonly description: string
}

/** @internal */
export interface OperationInfo {
  readonly summary: string
  /** what the operation's function returns: the answer's \`data\` array, the whole answer, or nothing (204) */
  readonly result: "data" | "body" | "void"
  /** the operation pages with \`after\`: the tool streams every item, or \`--first-page\` */
  readonly paginated: boolean
  readonly parameters: ReadonlyArray<Parameter>
}

/** @internal */
export const operations: Readonly<Record<string, OperationInfo>> = {
${entries.join(",\n")}
}
`
}
