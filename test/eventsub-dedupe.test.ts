import { assert, describe, it } from "@effect/vitest"
import { Dedupe } from "../src/internal/eventsubDedupe.js"

const uuid = (n: number) =>
  `${n.toString(16).padStart(8, "0")}-0000-4000-8000-${(n * 7).toString(16).padStart(12, "0")}`

describe("EventSub dedupe window", () => {
  for (const [kind, idOf] of [["UUID ids", uuid], ["other ids", (n: number) => `id-${n}`]] as const) {
    it(`${kind}: remembers at least the last \`capacity\` and forgets those older than twice that`, () => {
      const dedupe = new Dedupe(1000)
      for (let i = 0; i < 5000; i++) assert.isFalse(dedupe.check(idOf(i)), `${idOf(i)} is new`)
      for (let i = 4000; i < 5000; i++) assert.isTrue(dedupe.check(idOf(i)), `${idOf(i)} was seen`)
      assert.isFalse(dedupe.check(idOf(0)))
      assert.isFalse(dedupe.check(idOf(2500)))
    })
  }

  it("is exact: ids one hex digit apart, case and format variants are all different ids", () => {
    const dedupe = new Dedupe(50_000)
    const base = "befa7b53-d79d-478f-86b9-120f112b044e"
    const variants = [
      base,
      "cefa7b53-d79d-478f-86b9-120f112b044e",
      "befa7b53-d79d-478f-86b9-120f112b044f",
      "befa7b53-d79d-478f-86b8-120f112b044e",
      base.toUpperCase(),
      base.replaceAll("-", ""),
      `${base} `,
      "00000000-0000-0000-0000-000000000000",
      "0000000g-0000-0000-0000-000000000000",
      ""
    ]
    for (const id of variants) assert.isFalse(dedupe.check(id), `${JSON.stringify(id)} is new`)
    for (const id of variants) assert.isTrue(dedupe.check(id), `${JSON.stringify(id)} was seen`)
  })

  it("ids over 128 characters are never remembered (memory stays bounded by the window × 128)", () => {
    const dedupe = new Dedupe(1000)
    const at = "a".repeat(128)
    const over = "a".repeat(129)
    const huge = "x".repeat(200_000)
    for (const id of [at, over, huge]) assert.isFalse(dedupe.check(id))
    assert.isTrue(dedupe.check(at))
    assert.isFalse(dedupe.check(over))
    assert.isFalse(dedupe.check(huge))
  })
})
