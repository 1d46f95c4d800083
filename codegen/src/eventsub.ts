// EventSub: one `define(...)` per subscription type + version, inferred from the documented notification
// examples of codegen/inputs/eventsub-types.json and corrected by codegen/overrides/eventsub.json; plus the
// simulator's example table and the test fixture of documented examples.
import * as Schema from "effect/Schema"
import type { Context } from "./emit.js"
import { asciiJson, generatedHeader, inputPath, moduleDoc, overridesPath } from "./emit.js"

const INPUT = "eventsub-types.json"
const CORPUS = "eventsub-payloads"
const OVERRIDES = "eventsub.json"

export const outputs = {
  definitions: "src/generated/EventSubDefinitions.ts",
  simulatorExamples: "src/testing/internal/eventsubExamples.json",
  fixture: "test/fixtures/eventsub-examples.json"
} as const

// ------------------------------------------------------------------------------------------------
// Inputs
// ------------------------------------------------------------------------------------------------

const JsonObject = Schema.Record({ key: Schema.String, value: Schema.Unknown })

const Row = Schema.Struct({
  type: Schema.String,
  version: Schema.String,
  new: Schema.Boolean,
  beta: Schema.Boolean,
  condition_fields: Schema.Array(Schema.String),
  scopes_expr: Schema.String,
  authorization: Schema.NullOr(Schema.String),
  description: Schema.String,
  request_example: Schema.Unknown,
  notification_example: Schema.NullOr(JsonObject)
})
type Row = typeof Row.Type

const Reason = { reason: Schema.NonEmptyTrimmedString }
const Shapes = Schema.Record({ key: Schema.String, value: Schema.String })

const Overrides = Schema.Struct({
  examples: Schema.Array(
    Schema.Struct({ type: Schema.String, version: Schema.String, notification: JsonObject, ...Reason })
  ),
  conditions: Schema.Array(Schema.Struct({ type: Schema.String, schema: Schema.String, ...Reason })),
  knownStructs: Schema.Array(Schema.Struct({ keys: Schema.Array(Schema.String), schema: Schema.String, ...Reason })),
  emptyArrayElements: Schema.Array(Schema.Struct({ shapes: Shapes, ...Reason })),
  nullShapes: Schema.Array(Schema.Struct({ shapes: Shapes, ...Reason })),
  typeShapes: Schema.Array(Schema.Struct({ type: Schema.String, shapes: Shapes, ...Reason })),
  nullable: Schema.Array(Schema.Struct({ type: Schema.String, paths: Schema.Array(Schema.String), ...Reason })),
  optional: Schema.Array(Schema.Struct({ type: Schema.String, paths: Schema.Array(Schema.String), ...Reason })),
  enums: Schema.Array(Schema.Struct({
    type: Schema.String,
    paths: Schema.Array(Schema.String),
    values: Schema.NonEmptyArray(Schema.String),
    ...Reason
  })),
  addedTypes: Schema.Array(Schema.Struct({
    type: Schema.String,
    version: Schema.String,
    status: Schema.Literal("stable", "new", "beta", "withdrawn"),
    condition_fields: Schema.Array(Schema.String),
    scopes_expr: Schema.String,
    authorization: Schema.String,
    description: Schema.String,
    ...Reason
  })),
  withdrawn: Schema.Array(Schema.Struct({ type: Schema.String, version: Schema.String, ...Reason })),
  docsExampleWrong: Schema.Array(Schema.Struct({ type: Schema.String, version: Schema.String, ...Reason })),
  lenientTypes: Schema.Array(Schema.Struct({
    types: Schema.Array(Schema.String),
    exceptPrefixes: Schema.Array(Schema.String),
    except: Schema.Array(Schema.String),
    ...Reason
  }))
})
type Overrides = typeof Overrides.Type

/** One file of the payload corpus: production-shaped payloads of one type + version, each naming its source. */
const CorpusFile = Schema.Struct({
  type: Schema.String,
  version: Schema.String,
  payloads: Schema.NonEmptyArray(Schema.Struct({
    source: Schema.NonEmptyTrimmedString,
    note: Schema.optional(Schema.String),
    condition: Schema.optional(JsonObject),
    event: Schema.optional(JsonObject),
    events: Schema.optional(Schema.Array(JsonObject))
  }))
})
type CorpusFile = typeof CorpusFile.Type

const readCorpus = (ctx: Context): ReadonlyMap<string, CorpusFile> => {
  const out = new Map<string, CorpusFile>()
  for (const name of ctx.listInputs(CORPUS)) {
    if (!name.endsWith(".json")) continue
    const file = Schema.decodeUnknownSync(CorpusFile)(ctx.readInput(`${CORPUS}/${name}`))
    const key = `${file.type}@${file.version}`
    if (name !== `${key}.json`) throw new Error(`${inputPath(CORPUS)}/${name}: holds ${key}, so name it ${key}.json`)
    for (const p of file.payloads) {
      if ((p.event === undefined) === (p.events === undefined)) {
        throw new Error(`${inputPath(CORPUS)}/${name}: each payload has exactly one of event / events (${p.source})`)
      }
    }
    out.set(key, file)
  }
  return out
}

/** Merges the `shapes` maps of several entries; a field named twice is a mistake in the overrides. */
const mergeShapes = (what: string, entries: ReadonlyArray<{ readonly shapes: Readonly<Record<string, string>> }>) => {
  const out = new Map<string, string>()
  for (const entry of entries) {
    for (const [field, schema] of Object.entries(entry.shapes)) {
      if (out.has(field)) throw new Error(`${overridesPath(OVERRIDES)}: ${what} names ${field} twice`)
      out.set(field, schema)
    }
  }
  return out
}

/** The overrides, indexed for the generator. */
interface Corrections {
  readonly examples: ReadonlyMap<string, Readonly<Record<string, unknown>>>
  readonly conditions: ReadonlyMap<string, string>
  readonly knownStructs: ReadonlyMap<string, string>
  readonly emptyArrayElements: ReadonlyMap<string, string>
  readonly nullShapes: ReadonlyMap<string, string>
  readonly typeShapes: ReadonlyMap<string, ReadonlyMap<string, string>>
  readonly nullable: ReadonlySet<string>
  readonly optional: ReadonlySet<string>
  readonly enums: ReadonlyMap<string, ReadonlyArray<string>>
  readonly added: ReadonlyArray<Overrides["addedTypes"][number]>
  readonly withdrawn: ReadonlySet<string>
  readonly docsWrong: ReadonlyMap<string, string>
  readonly lenient: ReadonlyMap<
    string,
    { readonly exceptPrefixes: ReadonlyArray<string>; readonly except: ReadonlyArray<string> }
  >
}

const keyOf = (...parts: ReadonlyArray<string>): string => parts.join("\u0000")
const structKey = (keys: Iterable<string>): string => keyOf(...[...keys].sort())

const corrections = (o: Overrides): Corrections => ({
  examples: new Map(o.examples.map((e) => [`${e.type}@${e.version}`, e.notification])),
  conditions: new Map(o.conditions.map((c) => [c.type, c.schema])),
  knownStructs: new Map(o.knownStructs.map((k) => [structKey(k.keys), k.schema])),
  emptyArrayElements: mergeShapes("emptyArrayElements", o.emptyArrayElements),
  nullShapes: mergeShapes("nullShapes", o.nullShapes),
  typeShapes: new Map(o.typeShapes.map((t) => [t.type, mergeShapes(`typeShapes ${t.type}`, [t])])),
  nullable: new Set(o.nullable.flatMap((n) => n.paths.map((p) => keyOf(n.type, p)))),
  optional: new Set(o.optional.flatMap((n) => n.paths.map((p) => keyOf(n.type, p)))),
  enums: new Map(o.enums.flatMap((e) => e.paths.map((p) => [keyOf(e.type, p), e.values] as const))),
  added: o.addedTypes,
  withdrawn: new Set(o.withdrawn.map((w) => `${w.type}@${w.version}`)),
  docsWrong: new Map(o.docsExampleWrong.map((w) => [`${w.type}@${w.version}`, w.reason])),
  lenient: new Map(o.lenientTypes.flatMap((l) => l.types.map((t) => [t, l] as const)))
})

// ------------------------------------------------------------------------------------------------
// Shape inference: the union of what the examples show
// ------------------------------------------------------------------------------------------------

type Shape =
  | { readonly k: "null" | "bool" | "num" | "str" }
  | { readonly k: "arr"; readonly el: Shape | undefined }
  | {
    readonly k: "obj"
    readonly fields: ReadonlyMap<string, Shape>
    readonly present: ReadonlyMap<string, number>
    readonly n: number
  }
  | { readonly k: "union"; readonly members: ReadonlyArray<Shape> }

type ObjShape = Extract<Shape, { readonly k: "obj" }>

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

const shapeOf = (v: unknown): Shape => {
  if (v === null) return { k: "null" }
  if (typeof v === "boolean") return { k: "bool" }
  if (typeof v === "number") return { k: "num" }
  if (typeof v === "string") return { k: "str" }
  if (Array.isArray(v)) {
    let el: Shape | undefined = undefined
    for (const x of v) el = merge(el, shapeOf(x))
    return { k: "arr", el }
  }
  if (!isRecord(v)) throw new Error(`not JSON: ${String(v)}`)
  const entries = Object.entries(v)
  return {
    k: "obj",
    fields: new Map(entries.map(([key, x]) => [key, shapeOf(x)])),
    present: new Map(entries.map(([key]) => [key, 1])),
    n: 1
  }
}

const membersOf = (s: Shape): ReadonlyArray<Shape> => s.k === "union" ? s.members : [s]

function merge(a: Shape | undefined, b: Shape | undefined): Shape | undefined {
  if (a === undefined) return b
  if (b === undefined) return a
  if (a.k === "union" || b.k === "union" || a.k !== b.k) {
    const out: Array<Shape> = []
    for (const m of [...membersOf(a), ...membersOf(b)]) {
      const i = out.findIndex((o) => o.k === m.k)
      if (i >= 0) out[i] = merge(out[i], m)!
      else out.push(m)
    }
    return out.length === 1 ? out[0] : { k: "union", members: out }
  }
  if (a.k === "arr" && b.k === "arr") return { k: "arr", el: merge(a.el, b.el) }
  if (a.k === "obj" && b.k === "obj") {
    const fields = new Map(a.fields)
    for (const [key, s] of b.fields) fields.set(key, merge(fields.get(key), s)!)
    const present = new Map(a.present)
    for (const [key, count] of b.present) present.set(key, (present.get(key) ?? 0) + count)
    return { k: "obj", fields, present, n: a.n + b.n }
  }
  return a
}

/** The shape without its `null` member, and whether it had one (`undefined`: only ever null). */
const splitNull = (s: Shape): readonly [Shape | undefined, boolean] => {
  if (s.k === "null") return [undefined, true]
  if (s.k === "union") {
    const members = s.members.filter((m) => m.k !== "null")
    if (members.length !== s.members.length) {
      return [members.length === 1 ? members[0] : { k: "union", members }, true]
    }
  }
  return [s, false]
}

/**
 * Adds what the docs' example shows to what the corpus shows, the corpus winning: a field only the docs
 * show becomes optional (absent from every captured payload), a `null` in the docs makes the field
 * nullable, and where the two disagree on a kind (the docs' `"60"` against the payloads' `60`) the
 * corpus' kind stays.
 */
const weakMerge = (strong: Shape | undefined, weak: Shape | undefined): Shape | undefined => {
  if (weak === undefined) return strong
  if (strong === undefined) return weak
  const [s, sNull] = splitNull(strong)
  const [w, wNull] = splitNull(weak)
  const inner = s === undefined ? w : w === undefined ? s : weakInner(s, w)
  if (inner === undefined) return { k: "null" }
  return sNull || wNull ? merge(inner, { k: "null" }) : inner
}

const weakInner = (s: Shape, w: Shape): Shape => {
  if (s.k === "obj" && w.k === "obj") {
    const fields = new Map(s.fields)
    const present = new Map(s.present)
    for (const [key, ws] of w.fields) {
      fields.set(key, weakMerge(fields.get(key), ws)!)
      if (!present.has(key)) present.set(key, 0)
    }
    return { k: "obj", fields, present, n: s.n }
  }
  if (s.k === "arr" && w.k === "arr") return { k: "arr", el: weakMerge(s.el, w.el) }
  return s
}

// ------------------------------------------------------------------------------------------------
// Rendering Schema code
// ------------------------------------------------------------------------------------------------

interface Renderer {
  readonly type: string
  /** Field shapes specific to this type (channel.moderate actions). */
  readonly typeShapes: ReadonlyMap<string, string> | undefined
  readonly c: Corrections
  /** Names of src/EventSubShared.ts the code refers to (through the overrides). */
  readonly shared: Set<string>
}

const sharedName = /(?<![.\w])(?!Schema\b)[A-Z]\w*/g

/** An expression taken from the overrides: note the shared schemas it names. */
const fromOverrides = (r: Renderer, code: string): string => {
  for (const name of code.match(sharedName) ?? []) r.shared.add(name)
  return code
}

const identifier = /^[A-Za-z_][A-Za-z0-9_]*$/

const render = (r: Renderer, s: Shape, path: string, key: string, ind: number): string => {
  switch (s.k) {
    case "str": {
      const known = r.c.enums.get(keyOf(r.type, path)) ?? r.c.enums.get(keyOf("*", path))
      if (known === undefined) return "Schema.String"
      r.shared.add("OpenString")
      return "OpenString(" + known.map((v) => asciiJson(v)).join(", ") + ")"
    }
    case "num":
      return "Schema.Number"
    case "bool":
      return "Schema.Boolean"
    case "union":
      return "Schema.Union(" + s.members.map((m) => render(r, m, path, key, ind)).join(", ") + ")"
    case "arr": {
      const el = s.el === undefined
        ? fromOverrides(r, r.c.emptyArrayElements.get(key) ?? "Schema.Unknown")
        : render(r, s.el, path + "[]", key, ind)
      return "Schema.Array(" + el + ")"
    }
    case "obj":
      return renderStruct(r, s, path, ind)
    case "null":
      throw new Error(`${r.type} ${path}: an array of nulls`)
  }
}

const renderStruct = (r: Renderer, s: ObjShape, path: string, ind: number): string => {
  if (s.fields.size === 0) return "Schema.Struct({})"
  const known = r.c.knownStructs.get(structKey(s.fields.keys()))
  if (known !== undefined && [...s.present.values()].every((v) => v === s.n)) return fromOverrides(r, known)
  const pad = "  ".repeat(ind + 1)
  const lines: Array<string> = []
  for (const [key, fieldShape] of s.fields) {
    const p = path === "" ? key : `${path}.${key}`
    const [inner, isNull] = splitNull(fieldShape)
    let nullable = isNull
    let code: string
    if (inner === undefined) {
      const shape = r.typeShapes?.get(key) ?? r.c.nullShapes.get(key)
      if (shape === undefined) {
        throw new Error(
          `${r.type} ${p}: the examples only show null; add its schema to nullShapes in ${overridesPath(OVERRIDES)}`
        )
      }
      code = fromOverrides(r, shape)
    } else {
      const topLevel = r.typeShapes?.get(key)
      code = topLevel !== undefined && ind === 1 && inner.k === "obj"
        ? fromOverrides(r, topLevel)
        : render(r, inner, p, key, ind + 1)
    }
    if (r.c.nullable.has(keyOf(r.type, p)) || r.c.nullable.has(keyOf("*", p))) nullable = true
    const lenient = r.c.lenient.get(r.type)
    if (
      lenient !== undefined && ind === 1 && !lenient.exceptPrefixes.some((prefix) => key.startsWith(prefix)) &&
      !lenient.except.includes(key)
    ) nullable = true
    const optional = (s.present.get(key) ?? 0) < s.n || r.c.optional.has(keyOf(r.type, p))
    const name = identifier.test(key) ? key : asciiJson(key)
    if (nullable) code = `Nullable(${code})`
    else if (optional) code = `Schema.optionalWith(${code}, { exact: true })`
    lines.push(`${pad}${name}: ${code}`)
  }
  return "Schema.Struct({\n" + lines.join(",\n") + "\n" + "  ".repeat(ind) + "})"
}

// ------------------------------------------------------------------------------------------------
// Scopes, names, conditions
// ------------------------------------------------------------------------------------------------

/** `a|b & c` → [["a", "b"], ["c"]]; `none ...` / `app token ...` → undefined. */
const scopeGroups = (expr: string): ReadonlyArray<ReadonlyArray<string>> | undefined => {
  const e = expr.trim()
  if (e.startsWith("none") || e.startsWith("app token")) return undefined
  return e.replace(/\s*\[.*\]\s*$/, "").split("&").map((g) => g.trim().split("|").map((x) => x.trim()))
}

const scopesCode = (expr: string): string => {
  const e = expr.trim()
  if (e.startsWith("none")) return "Scopes.none"
  if (e.startsWith("app token")) return "Scopes.appToken"
  const groups = scopeGroups(e)!
  if (groups.length === 1) return "Scopes.anyOf(" + groups[0].map((x) => asciiJson(x)).join(", ") + ")"
  return "Scopes.allOf(" + groups.map((g) => "[" + g.map((x) => asciiJson(x)).join(", ") + "]").join(", ") + ")"
}

const constName = (type: string, version: string): string =>
  type.split(/[._]/).map((w) => w.slice(0, 1).toUpperCase() + w.slice(1)).join("") +
  (version === "beta" ? "Beta" : "V" + version)

const conditionCode = (r: Renderer, row: TypeRow): string => {
  const override = r.c.conditions.get(row.type)
  if (override !== undefined) return fromOverrides(r, override)
  const lines = row.condition_fields.map((f) =>
    f.endsWith("?")
      ? `    ${f.slice(0, -1)}: Schema.optionalWith(Schema.String, { exact: true })`
      : `    ${f}: Schema.String`
  )
  return "Schema.Struct({\n" + lines.join(",\n") + "\n  })"
}

const jsdocText = (t: string): string => t.replaceAll("*/", "*\\/")

// ------------------------------------------------------------------------------------------------
// The generator
// ------------------------------------------------------------------------------------------------

const definitionsDoc = [
  "One definition per EventSub subscription type + version. Field names are Twitch's wire names\n" +
  "(snake_case); timestamps stay RFC3339 strings; fields the docs show as `null` are `field?: A | null`.",
  "The event schemas are inferred from production-shaped payloads (`codegen/inputs/eventsub-payloads/`:\n" +
  "twitch-cli's models, peers' captured test payloads, the changelog), completed by the documented\n" +
  "notification examples and corrected by `codegen/overrides/eventsub.json`; shared payload pieces come\n" +
  "from `EventSubShared`."
]

/** A row of the docs' table, or a type the table lacks (`addedTypes` of the overrides). */
interface TypeRow {
  readonly type: string
  readonly version: string
  readonly status: "stable" | "new" | "beta" | "withdrawn"
  readonly condition_fields: ReadonlyArray<string>
  readonly scopes_expr: string
  readonly authorization: string | null
  readonly description: string
  readonly request_example: unknown
  readonly notification_example: Readonly<Record<string, unknown>> | null
}

export const generateEventSub = (ctx: Context): void => {
  const docsRows = Schema.decodeUnknownSync(Schema.Array(Row))(ctx.readInput(INPUT))
  const c = corrections(Schema.decodeUnknownSync(Overrides)(ctx.readOverrides(OVERRIDES)))
  const corpus = readCorpus(ctx)
  const inputs = [inputPath(INPUT), inputPath(CORPUS) + "/", overridesPath(OVERRIDES)]
  const shared = new Set<string>()

  const rows: Array<TypeRow> = [
    ...docsRows.map((row): TypeRow => ({
      ...row,
      status: c.withdrawn.has(`${row.type}@${row.version}`)
        ? "withdrawn"
        : row.beta
        ? "beta"
        : row.new
        ? "new"
        : "stable"
    })),
    ...c.added.map((a): TypeRow => ({
      ...a,
      status: c.withdrawn.has(`${a.type}@${a.version}`) ? "withdrawn" : a.status,
      request_example: null,
      notification_example: null
    }))
  ]
  const keys = new Set(rows.map((row) => `${row.type}@${row.version}`))
  for (const key of corpus.keys()) {
    if (!keys.has(key)) throw new Error(`${inputPath(CORPUS)}/${key}.json: no definition (add it to addedTypes)`)
  }
  for (const key of [...c.withdrawn, ...c.docsWrong.keys()]) {
    if (!keys.has(key)) throw new Error(`${overridesPath(OVERRIDES)}: ${key} is not a defined type + version`)
  }

  const definitions: Array<string> = []
  const names: Array<string> = []
  const catalogue: Array<Record<string, unknown>> = []
  const fixtures: Array<Record<string, unknown>> = []
  const docsOnly: Array<string> = []
  for (const row of rows) {
    const { type, version } = row
    const key = `${type}@${version}`
    const docs = c.examples.get(key) ?? row.notification_example
    const payloads = corpus.get(key)?.payloads ?? []
    if (docs === null && payloads.length === 0) {
      throw new Error(
        `${type} v${version} has neither a notification example nor a payload in ${inputPath(CORPUS)}: add one`
      )
    }
    const docsWrong = c.docsWrong.get(key)
    const batched = docs !== null ? "events" in docs : payloads[0]!.events !== undefined
    const eventOf = (p: { readonly event?: unknown; readonly events?: unknown }): unknown =>
      batched ? p.events : p.event
    // the corpus is what Twitch sends; the docs' example adds what the corpus lacks (see weakMerge)
    let strong: Shape | undefined = undefined
    for (const p of payloads) {
      if (eventOf(p) === undefined) {
        throw new Error(`${key}: a payload of ${p.source} lacks ${batched ? "events" : "event"}`)
      }
      strong = merge(strong, shapeOf(eventOf(p)))
    }
    const weak = docs === null || docsWrong !== undefined ? undefined : shapeOf(eventOf(docs))
    const s = weakMerge(strong, weak)!
    const r: Renderer = { type, typeShapes: c.typeShapes.get(type), c, shared }
    let eventCode: string
    if (batched) {
      if (s.k !== "arr" || s.el?.k !== "obj") throw new Error(`${type}: payload.events is not an array of objects`)
      eventCode = "Schema.Array(" + renderStruct({ ...r, typeShapes: undefined }, s.el, "", 1) + ")"
    } else {
      if (s.k !== "obj") throw new Error(`${type}: payload.event is not an object`)
      eventCode = renderStruct(r, s, "", 1)
    }
    const status = row.status
    const name = constName(type, version)
    names.push(name)
    const extra = row.scopes_expr.includes("[") ? "\n * Scopes: " + jsdocText(row.scopes_expr) : ""
    const withdrawn = status === "withdrawn"
      ? "\n *\n * Withdrawn by Twitch: kept so that old subscriptions still decode; subscribe to the newest version instead."
      : ""
    definitions.push(`/**
 * \`${type}\` version ${asciiJson(version)}${status === "beta" ? " (beta)" : ""}: ${
      jsdocText(row.description)
    }${extra}${withdrawn}
 *
 * @since 0.1.0
 * @category definitions
 */
export const ${name} = define({
  type: ${asciiJson(type)},
  version: ${asciiJson(version)},
  status: ${asciiJson(status)},
  batched: ${batched ? "true" : "false"},
  condition: ${conditionCode(r, row)},
  event: ${eventCode},
  scopes: ${scopesCode(row.scopes_expr)},
  authorization: ${asciiJson(row.authorization ?? "")}
})
`)
    // the simulator triggers what Twitch sends: the corpus' first payload, the docs' example only without one
    const trigger = payloads.length > 0 ? eventOf(payloads[0]!) : eventOf(docs!)
    if (payloads.length === 0) docsOnly.push(key)
    catalogue.push({
      type,
      version,
      conditionFields: row.condition_fields,
      scopes: scopeGroups(row.scopes_expr) ?? [],
      source: payloads.length > 0 ? payloads[0]!.source : "docs",
      [batched ? "events" : "event"]: trigger
    })
    fixtures.push({
      type,
      version,
      name,
      status,
      request: row.request_example ?? { condition: payloads.find((p) => p.condition !== undefined)?.condition ?? {} },
      ...(docs !== null ? { notification: docs } : {}),
      ...(docsWrong !== undefined ? { docsExampleWrong: docsWrong } : {})
    })
  }
  if (docsOnly.length > 0) {
    console.log(`codegen: eventsub types the corpus lacks (docs' example used): ${docsOnly.join(", ")}`)
  }

  const open = shared.delete("OpenString")
  const sharedImport = shared.size === 0
    ? ""
    : `import { ${[...shared].sort().join(", ")} } from "../EventSubShared.js"\n`
  const all = "/**\n * Every definition, in the order of the Twitch documentation.\n *\n * @since 0.1.0\n" +
    " * @category definitions\n */\nexport const all = [\n" + names.map((n) => "  " + n).join(",\n") + "\n] as const\n"
  ctx.writeGenerated(
    outputs.definitions,
    moduleDoc(inputs, definitionsDoc) +
      `import * as Schema from "effect/Schema"\n` +
      `import { define, Nullable, ${open ? "OpenString, " : ""}Scopes } from "../EventSubDefinition.js"\n` +
      sharedImport + "\n" + definitions.join("\n") + "\n" + all
  )
  ctx.writeGenerated(
    outputs.simulatorExamples,
    asciiJson(
      {
        _comment: generatedHeader(inputs) + ". The simulator's table of types: type, version, condition fields " +
          "('?' = optional), scopes as all-of lists of any-of alternatives, and the event it triggers: the first " +
          "payload of the corpus (its source named), the docs' notification example where the corpus has none.",
        types: catalogue
      },
      1
    )
  )
  ctx.writeGenerated(outputs.fixture, asciiJson(fixtures, 1))
}
