import { assert, describe, it } from "@effect/vitest"
import { Either, Option, Schema } from "effect"
import * as fs from "node:fs"
import { EventSubTypes } from "../src/index.js"
import { compileClosures, compileGuard, generateGuard } from "../src/internal/eventsubGuard.js"

interface ExampleRow {
  readonly type: string
  readonly version: string
  readonly docsExampleWrong?: string
  readonly notification: { readonly event?: unknown; readonly events?: unknown }
}
const corpusDir = new URL("../codegen/inputs/eventsub-payloads/", import.meta.url)
/** the docs' examples that are what Twitch sends, then every payload of the corpus */
const rows: ReadonlyArray<ExampleRow> = [
  ...(JSON.parse(
    fs.readFileSync(new URL("./fixtures/eventsub-examples.json", import.meta.url), "utf8")
  ) as ReadonlyArray<Partial<ExampleRow>>).filter((r): r is ExampleRow =>
    r.notification !== undefined && r.docsExampleWrong === undefined
  ),
  ...fs.readdirSync(corpusDir).filter((f) => f.endsWith(".json")).flatMap((f) => {
    const file = JSON.parse(fs.readFileSync(new URL(f, corpusDir), "utf8")) as {
      type: string
      version: string
      payloads: ReadonlyArray<{ event?: unknown; events?: unknown }>
    }
    return file.payloads.map((p) => ({ type: file.type, version: file.version, notification: p }))
  })
]

/** the documented example, then the example with each field removed / retyped */
const samplesOf = (raw: unknown): Array<unknown> => {
  const samples: Array<unknown> = [raw, null, undefined, "x", 1, [], {}]
  if (raw !== null && typeof raw === "object" && !Array.isArray(raw)) {
    for (const [key, value] of Object.entries(raw)) {
      const { [key]: _, ...without } = raw as Record<string, unknown>
      samples.push(without, { ...raw, [key]: 42 }, { ...raw, [key]: "x" }, { ...raw, [key]: null }, {
        ...raw,
        [key]: [{}]
      }, { ...raw, [key]: undefined })
      // one level deeper: nested structs and arrays of structs
      const inner = Array.isArray(value) ? value[0] : value
      if (inner !== null && typeof inner === "object") {
        for (const innerKey of Object.keys(inner)) {
          const { [innerKey]: __, ...innerWithout } = inner as Record<string, unknown>
          const broken = { ...inner, [innerKey]: 42 }
          samples.push(
            { ...raw, [key]: Array.isArray(value) ? [innerWithout] : innerWithout },
            { ...raw, [key]: Array.isArray(value) ? [...value, broken] : broken }
          )
        }
      }
    }
  }
  return samples
}

/** edge values every synthetic schema below is checked on */
const edgeValues: ReadonlyArray<unknown> = [
  null,
  undefined,
  true,
  0,
  1,
  "",
  "a",
  "b",
  "c",
  [],
  ["a"],
  ["a", "b"],
  ["a", 1],
  [undefined],
  [{}],
  [{ a: "a" }],
  [{ a: 1 }],
  {},
  { a: "a" },
  { a: "b" },
  { a: "c" },
  { a: 1 },
  { a: true },
  { a: null },
  { a: undefined },
  { a: [] },
  { a: ["a"] },
  { a: {} },
  { a: { b: "a" } },
  { a: { b: 1 } },
  { a: "a", b: 1 },
  { a: "a", b: "a" },
  { a: "a", b: undefined },
  { a: "a", extra: 1 },
  { b: 1 },
  { 0: "a", length: 1 },
  Object.create(null),
  () => "a"
]

/** every kind the compilers support (most of them unused by the EventSub schemas), alone, nested and as fields */
const supported: ReadonlyArray<readonly [string, Schema.Schema.All]> = [
  ["String", Schema.String],
  ["Number", Schema.Number],
  ["Boolean", Schema.Boolean],
  ["Unknown", Schema.Unknown],
  ["Any", Schema.Any],
  ["Never", Schema.Never],
  ["Undefined", Schema.Undefined],
  ["Literal", Schema.Literal("a")],
  ["Literal(null)", Schema.Literal(null)],
  ["union of 2", Schema.Union(Schema.Literal("a"), Schema.Number)],
  ["union of 3", Schema.Literal("a", "b", "c")],
  ["union of 4", Schema.Union(Schema.Literal("c"), Schema.Literal("b"), Schema.Number, Schema.Boolean)],
  ["union with Undefined", Schema.UndefinedOr(Schema.String)],
  ["union with Never", Schema.Union(Schema.Never, Schema.String)],
  ["Array", Schema.Array(Schema.String)],
  ["Array of union of 3", Schema.Array(Schema.Literal("a", "b", "c"))],
  ["empty Struct", Schema.Struct({})],
  ["Struct", Schema.Struct({ a: Schema.String })],
  ["Struct of Unknown", Schema.Struct({ a: Schema.Unknown })],
  ["Struct of Any", Schema.Struct({ a: Schema.Any })],
  ["Struct of Never", Schema.Struct({ a: Schema.Never })],
  ["Struct of Undefined", Schema.Struct({ a: Schema.Undefined })],
  ["Struct of optional Undefined", Schema.Struct({ a: Schema.optional(Schema.Undefined) })],
  ["Struct of union of 3", Schema.Struct({ a: Schema.Literal("a", "b", "c") })],
  [
    "Struct of optional exact",
    Schema.Struct({ a: Schema.String, b: Schema.optionalWith(Schema.Number, { exact: true }) })
  ],
  ["Struct of optional", Schema.Struct({ a: Schema.String, b: Schema.optional(Schema.Number) })],
  ["Struct of Array", Schema.Struct({ a: Schema.Array(Schema.String) })],
  ["Struct of Struct", Schema.Struct({ a: Schema.Struct({ b: Schema.String }) })],
  ["Struct of empty Struct", Schema.Struct({ a: Schema.Struct({}) })],
  ["Array of Struct", Schema.Array(Schema.Struct({ a: Schema.String }))],
  ["union of Structs", Schema.Union(Schema.Struct({ a: Schema.String }), Schema.Struct({ b: Schema.Number }))]
]

/** kinds the compilers do not support, alone and nested in every position a supported kind can take */
const unsupportedLeaves: ReadonlyArray<readonly [string, Schema.Schema.Any]> = [
  ["BigIntFromSelf", Schema.BigIntFromSelf],
  ["a transformation", Schema.NumberFromString],
  ["a refinement", Schema.String.pipe(Schema.minLength(1))],
  ["a tuple", Schema.Tuple(Schema.String)],
  ["an empty tuple", Schema.Tuple()],
  ["a tuple with a rest", Schema.Tuple([Schema.String], Schema.Number)],
  ["a tuple with a rest and a post element", Schema.Tuple([], Schema.String, Schema.Number)],
  ["a Record", Schema.Record({ key: Schema.String, value: Schema.Number })],
  [
    "a Struct with an index signature",
    Schema.Struct({ a: Schema.String }, Schema.Record({ key: Schema.String, value: Schema.String }))
  ],
  ["a symbol key", Schema.Struct({ [Symbol.for("effect-twitch/test")]: Schema.String })],
  [
    "a symbol key after a string key",
    Schema.Struct({ a: Schema.String, [Symbol.for("effect-twitch/test")]: Schema.String })
  ]
]
const unsupported: ReadonlyArray<readonly [string, Schema.Schema.Any]> = unsupportedLeaves.flatMap((
  [name, leaf]
) => [
  [name, leaf],
  [`a union's first member: ${name}`, Schema.Union(leaf, Schema.String)],
  [`a union's second member: ${name}`, Schema.Union(Schema.String, leaf)],
  [`a union's third member: ${name}`, Schema.Union(Schema.String, Schema.Number, leaf)],
  [`an Array of ${name}`, Schema.Array(leaf)],
  [`a field: ${name}`, Schema.Struct({ a: Schema.String, b: leaf })],
  [`an optional field: ${name}`, Schema.Struct({ a: Schema.optional(leaf) })],
  [`a nested field: ${name}`, Schema.Struct({ a: Schema.Struct({ b: leaf }) })],
  [`an array field: ${name}`, Schema.Struct({ a: Schema.Array(leaf) })]
])

describe("EventSub fast guards", () => {
  it("the generated and the closure guards both agree exactly with Schema.is, and accept every documented example", () => {
    let checked = 0
    for (const row of rows) {
      const definition: EventSubTypes.AnyDefinition = Option.getOrThrow(
        EventSubTypes.byTypeAndVersion(row.type, row.version)
      )
      const is = Schema.is(definition.event)
      const generated = generateGuard(definition.event.ast)
      const closures = compileClosures(definition.event.ast)
      assert.isDefined(generated, `${row.type} v${row.version}: no generated guard`)
      assert.isDefined(closures, `${row.type} v${row.version}: no closure guard`)
      const raw = row.notification.event ?? row.notification.events
      assert.isTrue(generated!(raw), `${row.type} v${row.version}: the documented example fails the generated guard`)
      for (const sample of samplesOf(raw)) {
        const expected = is(sample)
        const label = `${row.type} v${row.version} ${JSON.stringify(sample)}`
        assert.strictEqual(generated!(sample), expected, `generated: ${label}`)
        assert.strictEqual(closures!(sample), expected, `closures: ${label}`)
        checked++
      }
    }
    assert.isAbove(checked, 5000)
  })

  it("a field name is data, never code", () => {
    const schema = Schema.Struct({ "a\"]; throw 1; //": Schema.String, "b\\": Schema.optional(Schema.Literal("x\n")) })
    const guard = generateGuard(schema.ast)!
    assert.isTrue(guard({ "a\"]; throw 1; //": "ok" }))
    assert.isTrue(guard({ "a\"]; throw 1; //": "ok", "b\\": "x\n" }))
    assert.isFalse(guard({ "a\"]; throw 1; //": "ok", "b\\": "x" }))
    assert.isFalse(guard({ a: "ok" }))
  })

  it("for each AST kind the compilers support, both guards agree exactly with the decoder on edge values", () => {
    for (const [name, schema] of supported) {
      // the decoder the guard stands in for (EventSubDefinition.define): unlike Schema.is it is not `exact`,
      // so an absent required key is checked as `undefined` (Struct({ a: Unknown }) accepts {})
      const decode = Schema.decodeUnknownEither(schema as Schema.Schema<unknown>, { onExcessProperty: "ignore" })
      const is = (u: unknown) => Either.isRight(decode(u))
      const generated = generateGuard(schema.ast)
      const closures = compileClosures(schema.ast)
      assert.isDefined(generated, `${name}: no generated guard`)
      assert.isDefined(closures, `${name}: no closure guard`)
      const compiled = compileGuard(schema.ast)
      assert.isDefined(compiled, `${name}: no guard`)
      let accepted = 0
      for (const value of edgeValues) {
        const expected = is(value)
        if (expected) accepted++
        const label = `${name} on ${typeof value === "function" ? "a function" : JSON.stringify(value)}`
        assert.strictEqual(generated!(value), expected, `generated: ${label}`)
        assert.strictEqual(closures!(value), expected, `closures: ${label}`)
        assert.strictEqual(compiled!(value), expected, `compileGuard: ${label}`)
      }
      // the table tells accepting from rejecting for every schema (Never accepts nothing, Unknown everything)
      if (name !== "Never" && name !== "Struct of Never") assert.isAbove(accepted, 0, `${name} accepts no edge value`)
      if (name !== "Unknown" && name !== "Any") {
        assert.isBelow(accepted, edgeValues.length, `${name} accepts every edge value`)
      }
    }
  })

  it("a schema with a kind the compilers do not support gets no guard, so events of it are fully decoded", () => {
    for (const [name, schema] of unsupported) {
      assert.isUndefined(generateGuard(schema.ast), `generated: ${name}`)
      assert.isUndefined(compileClosures(schema.ast), `closures: ${name}`)
      assert.isUndefined(compileGuard(schema.ast), `compileGuard: ${name}`)
    }
  })

  it("where code generation is not allowed (a strict CSP), the closure guard is used", () => {
    const schema = Schema.Struct({ a: Schema.Literal("a", "b", "c"), b: Schema.optional(Schema.Array(Schema.Number)) })
    const original = globalThis.Function
    globalThis.Function = function() {
      throw new EvalError("Refused to evaluate a string as JavaScript")
    } as unknown as FunctionConstructor
    let generated: unknown
    let guard: ((u: unknown) => boolean) | undefined
    try {
      generated = generateGuard(schema.ast)
      guard = compileGuard(schema.ast)
    } finally {
      globalThis.Function = original
    }
    assert.isUndefined(generated)
    assert.isDefined(guard)
    assert.isTrue(guard!({ a: "c", b: [1] }))
    assert.isFalse(guard!({ a: "d" }))
    assert.isFalse(guard!({ a: "a", b: ["1"] }))
  })
})
