import { assert, describe, it } from "@effect/vitest"
import { Dedupe } from "../src/internal/eventsubEngine.js"

describe("EventSub dedupe window", () => {
  it("remembers at least the last `capacity` ids and forgets ids older than twice that", () => {
    const dedupe = new Dedupe(1000)
    for (let i = 0; i < 5000; i++) assert.isFalse(dedupe.check(`id-${i}`), `id-${i} is new`)
    // the last 1,000 are remembered
    for (let i = 4000; i < 5000; i++) assert.isTrue(dedupe.check(`id-${i}`), `id-${i} was seen`)
    // older than 2 × capacity: forgotten (memory stays bounded)
    assert.isFalse(dedupe.check("id-0"))
    assert.isFalse(dedupe.check("id-2500"))
  })
})
