/**
 * The subset of OpenAPI 3.0 that Twitch's Helix description uses, and reading it.
 */

export interface JsonSchema {
  readonly type?: "string" | "integer" | "number" | "boolean" | "array" | "object"
  readonly properties?: Readonly<Record<string, JsonSchema>>
  readonly required?: ReadonlyArray<string>
  readonly items?: JsonSchema
  readonly enum?: ReadonlyArray<string | number | boolean>
  readonly nullable?: boolean
  readonly additionalProperties?: boolean | JsonSchema
  readonly description?: string
  readonly format?: string
  readonly deprecated?: boolean
  readonly $ref?: string
}

export interface Parameter {
  readonly name: string
  readonly in: "query" | "path" | "header"
  readonly description?: string
  readonly required?: boolean
  readonly schema: JsonSchema
  readonly explode?: boolean
}

interface MediaType {
  readonly schema?: JsonSchema
  readonly examples?: Readonly<Record<string, { readonly value?: unknown }>>
}

export interface SpecOperation {
  readonly operationId: string
  readonly summary?: string
  readonly description?: string
  readonly tags: ReadonlyArray<string>
  readonly externalDocs?: { readonly url: string }
  readonly parameters?: ReadonlyArray<Parameter>
  readonly requestBody?: { readonly content: Readonly<Record<string, MediaType>> }
  readonly responses: Readonly<
    Record<string, { readonly description?: string; readonly content?: Record<string, MediaType> }>
  >
  readonly security?: ReadonlyArray<Readonly<Record<string, ReadonlyArray<string>>>>
}

export interface Spec {
  readonly paths: Readonly<Record<string, Readonly<Record<string, SpecOperation>>>>
  readonly components: {
    readonly schemas: Readonly<Record<string, JsonSchema>>
  }
}

/** The component name a `$ref` points at. */
export const refName = (ref: string): string => ref.slice(ref.lastIndexOf("/") + 1)

/** Follows `$ref`s to the schema they name. */
export const resolve = (spec: Spec, schema: JsonSchema): JsonSchema => {
  let current = schema
  for (let depth = 0; current.$ref !== undefined; depth++) {
    if (depth > 32) throw new Error(`$ref cycle at ${schema.$ref}`)
    const target = spec.components.schemas[refName(current.$ref)]
    if (target === undefined) throw new Error(`unknown $ref ${current.$ref}`)
    current = target
  }
  return current
}

/** The schema with every `$ref` replaced by its target (descriptions dropped when `lean`). */
export const inline = (spec: Spec, schema: JsonSchema, lean = false): JsonSchema => {
  const s = resolve(spec, schema)
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(s)) {
    if (lean && (key === "description" || key === "format" || key === "deprecated")) continue
    if (key === "properties") {
      out[key] = Object.fromEntries(
        Object.entries(value as Record<string, JsonSchema>).map(([k, v]) => [k, inline(spec, v, lean)])
      )
    } else if (key === "items" || (key === "additionalProperties" && typeof value === "object")) {
      out[key] = inline(spec, value as JsonSchema, lean)
    } else {
      out[key] = value
    }
  }
  return out as JsonSchema
}
