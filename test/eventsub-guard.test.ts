import { assert, describe, it } from "@effect/vitest"
import { Option, Schema } from "effect"
import * as fs from "node:fs"
import { EventSubTypes } from "../src/index.js"
import { compileClosures, generateGuard } from "../src/internal/eventsubGuard.js"

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
})
