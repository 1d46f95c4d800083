/**
 * The typed Helix modules: `src/Helix/<Tag>.ts` (interfaces for every model, a private Schema per model,
 * one operation per endpoint) and the `src/HelixApi.ts` barrel.
 */
import { generatedHeader } from "../emit.js"
import { helixInputsText } from "./inputs.js"
import type { Model, Operation } from "./ir.js"
import type { JsonSchema } from "./spec.js"
import { refName, resolve } from "./spec.js"

const SINCE = "0.2.0"

const pascal = (name: string): string => name.charAt(0).toUpperCase() + name.slice(1)
const isIdentifier = (key: string): boolean => /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key)
const key = (name: string): string => isIdentifier(name) ? name : JSON.stringify(name)

/** A description as comment lines: markdown escapes undone, blank lines collapsed, safe inside a comment. */
export const summaryOf = (text: string | undefined): string =>
  (text ?? "")
    .replace(/\\([_*[\]#<>`-])/g, "$1")
    .replace(/\*\//g, "*\\/")
    .split("\n")
    .map((line) => line.trim())
    .filter((line, i, lines) => line !== "" || (i > 0 && lines[i - 1] !== ""))
    .join("\n")
    .trim()

const doc = (parts: ReadonlyArray<string>, indent = ""): string => {
  const lines = parts.flatMap((part) => part.split("\n"))
  const body = lines.filter((line, i) => line !== "" || (i > 0 && lines[i - 1] !== "")).map((l) => l.trimEnd())
  while (body.length > 0 && body[body.length - 1] === "") body.pop()
  if (body.length === 0) return ""
  if (body.length === 1 && indent !== "") return `${indent}/** ${body[0]} */\n`
  return `${indent}/**\n${body.map((line) => `${indent} *${line === "" ? "" : ` ${line}`}`).join("\n")}\n${indent} */\n`
}

const literal = (value: string | number | boolean): string => JSON.stringify(value)

/** Writes the models (interfaces and their schemas) of one module, each once, dependencies first. */
class ModelWriter {
  readonly declarations: Array<string> = []
  private readonly done = new Set<string>()
  constructor(private readonly model: Model) {}

  /** An answer's `data: [{ ... }]` items get a name of their own (`GetChatSettingsResponse` → `GetChatSettingsItem`). */
  private withNamedItems(name: string, schema: JsonSchema): JsonSchema {
    const data = schema.properties?.data
    if (!name.endsWith("Response") || data?.type !== "array" || data.items?.type !== "object") return schema
    const item = `${name.slice(0, -"Response".length)}Item`
    this.named(item, data.items)
    return {
      ...schema,
      properties: { ...schema.properties, data: { ...data, items: { $ref: `#/synthetic/${item}` } } }
    }
  }

  /** The TypeScript type of an answer's field (enums stay open: Twitch adds values). */
  typeOf(schema: JsonSchema, indent: string): string {
    if (schema.$ref !== undefined) return this.named(refName(schema.$ref), schema)
    const base = this.baseType(schema, indent)
    return schema.nullable === true ? `${base} | null` : base
  }

  private baseType(schema: JsonSchema, indent: string): string {
    switch (schema.type) {
      case "string":
        return schema.enum === undefined ? "string" : `Op.Open<${schema.enum.map(literal).join(" | ")}>`
      case "integer":
      case "number":
        return "number"
      case "boolean":
        return "boolean"
      case "array":
        return `ReadonlyArray<${schema.items === undefined ? "unknown" : this.typeOf(schema.items, indent)}>`
      default:
        return this.objectType(schema, indent)
    }
  }

  private objectType(schema: JsonSchema, indent: string): string {
    if (schema.properties === undefined) {
      const value = typeof schema.additionalProperties === "object"
        ? this.typeOf(schema.additionalProperties, indent)
        : "unknown"
      return `{ readonly [key: string]: ${value} }`
    }
    const inner = indent + "  "
    const required = new Set(schema.required ?? [])
    const fields = Object.entries(schema.properties).map(([name, prop]) => {
      const optional = !required.has(name)
      const type = this.typeOf(prop, inner)
      return doc([summaryOf(resolvedDescription(this.model, prop))], inner) +
        `${inner}readonly ${key(name)}${optional ? "?" : ""}: ${type}${optional ? " | undefined" : ""}`
    })
    return `{\n${fields.join("\n")}\n${indent}}`
  }

  /** The Schema expression that decodes the field. */
  schemaOf(schema: JsonSchema): string {
    if (schema.$ref !== undefined) {
      this.named(refName(schema.$ref), schema)
      return `${refName(schema.$ref)}Schema`
    }
    const base = this.baseSchema(schema)
    return schema.nullable === true ? `Schema.NullOr(${base})` : base
  }

  private baseSchema(schema: JsonSchema): string {
    switch (schema.type) {
      case "string":
        return "Schema.String"
      case "integer":
      case "number":
        return "Schema.Number"
      case "boolean":
        return "Schema.Boolean"
      case "array":
        return `Schema.Array(${schema.items === undefined ? "Schema.Unknown" : this.schemaOf(schema.items)})`
      default: {
        if (schema.properties === undefined) {
          const value = typeof schema.additionalProperties === "object"
            ? this.schemaOf(schema.additionalProperties)
            : "Schema.Unknown"
          return `Schema.Record({ key: Schema.String, value: ${value} })`
        }
        const required = new Set(schema.required ?? [])
        const fields = Object.entries(schema.properties).map(([name, prop]) => {
          const s = this.schemaOf(prop)
          return `${key(name)}: ${required.has(name) ? s : `Schema.optional(${s})`}`
        })
        return `Schema.Struct({ ${fields.join(", ")} })`
      }
    }
  }

  /** Declares the named model `name` (once) and answers its type name. */
  named(name: string, at: JsonSchema): string {
    if (this.done.has(name)) return name
    this.done.add(name)
    const schema = this.withNamedItems(name, at.$ref === undefined ? at : resolve(this.model.spec, at))
    const type = this.typeOf({ ...schema, nullable: false }, "")
    const decoder = this.schemaOf({ ...schema, nullable: false })
    const comment = doc([summaryOf(schema.description), "", `@since ${SINCE}`, "@category models"])
    const declaration = type.startsWith("{\n")
      ? `export interface ${name} ${type}`
      : `export type ${name} = ${type}`
    this.declarations.push(`${comment}${declaration}\n\nconst ${name}Schema = ${decoder}\n`)
    return name
  }
}

const resolvedDescription = (model: Model, schema: JsonSchema): string | undefined =>
  schema.description ?? (schema.$ref === undefined ? undefined : resolve(model.spec, schema).description)

/** The TypeScript type of an input (enums open, as in answers: editors still complete the known values). */
const inputType = (model: Model, schema: JsonSchema, indent: string): string => {
  const s = resolve(model.spec, schema)
  const nullable = s.nullable === true ? " | null" : ""
  switch (s.type) {
    case "string":
      return (s.enum === undefined ? "string" : `Op.Open<${s.enum.map(literal).join(" | ")}>`) + nullable
    case "integer":
    case "number":
      return "number" + nullable
    case "boolean":
      return "boolean" + nullable
    case "array":
      return `ReadonlyArray<${s.items === undefined ? "unknown" : inputType(model, s.items, indent)}>` + nullable
    default: {
      if (s.properties === undefined) {
        return `{ readonly [key: string]: ${
          typeof s.additionalProperties === "object" ? inputType(model, s.additionalProperties, indent) : "unknown"
        } }`
      }
      const inner = indent + "  "
      const required = new Set(s.required ?? [])
      const fields = Object.entries(s.properties).map(([name, prop]) =>
        doc([summaryOf(resolvedDescription(model, prop))], inner) +
        `${inner}readonly ${key(name)}${required.has(name) ? "" : "?"}: ${inputType(model, prop, inner)}${
          required.has(name) ? "" : " | undefined"
        }`
      )
      return `{\n${fields.join("\n")}\n${indent}}` + nullable
    }
  }
}

interface InputField {
  readonly name: string
  readonly required: boolean
  readonly type: string
  readonly description: string | undefined
}

const inputFields = (model: Model, op: Operation): Array<InputField> => {
  const fields: Array<InputField> = op.query.map((p) => ({
    name: p.name,
    required: p.required === true && p.name !== op.actingUser,
    type: inputType(model, p.schema, "  "),
    description: p.description
  }))
  if (op.body !== undefined) {
    const body = resolve(model.spec, op.body)
    const required = new Set(body.required ?? [])
    for (const [name, prop] of Object.entries(body.properties ?? {})) {
      fields.push({
        name,
        required: required.has(name) && name !== op.actingUser,
        type: inputType(model, prop, "  "),
        description: resolvedDescription(model, prop)
      })
    }
  }
  if (op.token === "jwt") {
    fields.push({
      name: "extension_jwt",
      required: true,
      type: "Redacted.Redacted",
      description:
        "The signed JWT your Extension Backend Service created; sent as the bearer token, never as a parameter."
    })
  }
  return fields
}

const paramsInterface = (model: Model, op: Operation, name: string): string => {
  const fields = inputFields(model, op)
  const comment = doc([`The parameters of {@link ${op.name}}.`, "", `@since ${SINCE}`, "@category parameters"])
  if (fields.length === 0) return `${comment}export interface ${name} {}\n`
  const body = fields.map((f) =>
    doc([summaryOf(f.description)], "  ") +
    `  readonly ${key(f.name)}${f.required ? "" : "?"}: ${f.type}${f.required ? "" : " | undefined"}`
  )
  return `${comment}export interface ${name} {\n${body.join("\n")}\n}\n`
}

const tokenText: Record<Operation["token"], string> = {
  user: "a user access token",
  app: "an app access token",
  either: "an app access token or a user access token",
  jwt: "a JWT signed by your Extension Backend Service (`extension_jwt`)"
}

const operationDoc = (op: Operation): string => {
  const scopes = op.scopes.length === 0 ? "" : `, with ${op.scopes.map((s) => `\`${s}\``).join(" or ")}`
  const acting = op.actingUser === undefined
    ? []
    : [`\`${op.actingUser}\` defaults to the acting user (\`Helix.withUser\`, or the layer's \`defaultUser\`).`]
  const returns = op.paginated
    ? [
      `A \`Stream\` of every item, fetched page by page as it is pulled${
        op.pageSize === undefined ? "" : ` (up to ${op.pageSize} per page)`
      }.`
    ]
    : op.batch !== undefined
    ? [`Any number of \`${op.batch.join("`/`")}\` values: sent in requests of 100, answers merged in order.`]
    : []
  return doc([
    summaryOf(op.summary),
    "",
    `\`${op.method} ${op.path}\`: needs ${tokenText[op.token]}${scopes}.`,
    ...acting,
    ...returns,
    ...(op.docsUrl === undefined ? [] : [`Twitch: ${op.docsUrl}`]),
    "",
    `@since ${SINCE}`,
    "@category operations"
  ])
}

const kindOf = (op: Operation): string =>
  op.paginated ? "paginated" : op.result === "data" ? "data" : op.result === "body" ? "body" : "none"

const emitOperation = (model: Model, writer: ModelWriter, op: Operation): string => {
  const Name = pascal(op.name)
  const params = `${Name}Params`
  let responseType = "void"
  let responseSchema = "undefined"
  if (op.response !== undefined) {
    const name = op.response.$ref !== undefined ? refName(op.response.$ref) : `${Name}Response`
    responseType = writer.named(name, op.response)
    responseSchema = `${name}Schema`
  }
  const fields = inputFields(model, op)
  const spec = [
    `name: ${literal(op.name)}`,
    `method: ${literal(op.method)}`,
    `path: ${literal(op.path)}`,
    `token: ${literal(op.token)}`,
    `scopes: [${op.scopes.map(literal).join(", ")}]`,
    `query: [${op.query.map((p) => literal(p.name)).join(", ")}]`,
    ...(op.body === undefined ? [] : [
      `body: [${Object.keys(resolve(model.spec, op.body).properties ?? {}).map(literal).join(", ")}]`
    ]),
    ...(op.actingUser === undefined ? [] : [`actingUser: ${literal(op.actingUser)}`]),
    ...(op.actingUserRequired ? ["actingUserRequired: true"] : []),
    ...(op.batch === undefined ? [] : [`batch: [${op.batch.map(literal).join(", ")}]`]),
    ...(op.pageSize === undefined ? [] : [`pageSize: ${op.pageSize}`]),
    ...(op.response === undefined ? [] : [`response: ${responseSchema}`])
  ]
  const kind = kindOf(op)
  const type = kind === "paginated"
    ? `Op.PaginatedOperation<${params}, ${responseType}>`
    : kind === "data"
    ? `Op.DataOperation<${params}, ${responseType}>`
    : kind === "body"
    ? `Op.BodyOperation<${params}, ${responseType}>`
    : `Op.VoidOperation<${params}>`
  return paramsInterface(model, op, params) + "\n" + operationDoc(op) +
    `export const ${op.name}: ${type} = Op.${kind}({\n  ${spec.join(",\n  ")}\n})\n` +
    (fields.length === 0 ? "" : "")
}

const moduleDoc = (tag: string, ops: ReadonlyArray<Operation>): string =>
  doc([
    `Helix: the ${ops.length} operation${ops.length === 1 ? "" : "s"} Twitch files under "${tag}".`,
    "",
    generatedHeader(helixInputsText),
    "",
    `@since ${SINCE}`
  ])

/** One module's source. */
export const emitModule = (model: Model, tag: string, ops: ReadonlyArray<Operation>): string => {
  const writer = new ModelWriter(model)
  const operations = ops.map((op) => emitOperation(model, writer, op))
  const needsRedacted = ops.some((op) => op.token === "jwt")
  const needsSchema = writer.declarations.length > 0
  const imports = [
    ...(needsRedacted ? [`import type * as Redacted from "effect/Redacted"`] : []),
    ...(needsSchema ? [`import * as Schema from "effect/Schema"`] : []),
    `import * as Op from "../HelixOperation.js"`
  ]
  return `${moduleDoc(tag, ops)}${imports.join("\n")}\n\n${writer.declarations.join("\n")}\n${operations.join("\n")}`
}

/** `src/Helix/<Module>.ts` for every tag, and the barrel. */
export const emitClient = (model: Model): Map<string, string> => {
  const byModule = new Map<string, Array<Operation>>()
  for (const op of model.operations) {
    const list = byModule.get(op.module) ?? []
    list.push(op)
    byModule.set(op.module, list)
  }
  const files = new Map<string, string>()
  const modules = [...byModule.keys()].sort()
  for (const module of modules) {
    const ops = byModule.get(module)!
    files.set(`src/Helix/${module}.ts`, emitModule(model, ops[0]!.tag, ops))
  }
  const barrel = modules.map((module) =>
    doc([`Helix operations tagged "${byModule.get(module)![0]!.tag}".`, "", `@since ${SINCE}`]) +
    `export * as ${module} from "./Helix/${module}.js"`
  )
  files.set(
    "src/HelixApi.ts",
    doc([
      `Every Helix operation (${model.operations.length}), one module per area of Twitch's reference:`,
      "`HelixApi.Chat.sendChatMessage({ ... })`.",
      "",
      generatedHeader(helixInputsText),
      "",
      `@since ${SINCE}`
    ]) + barrel.join("\n\n") + "\n"
  )
  return files
}
