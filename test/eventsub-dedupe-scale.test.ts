/**
 * The dedupe window at Twitch's scale, with real random UUIDs (the hash table's probing under load). Apart from
 * test/eventsub-dedupe.test.ts so that mutation runs (stryker.config.mjs, group `dedupe`) can leave it out: it
 * takes minutes per mutant there and catches nothing the small cases do not.
 */
import { assert, describe, it } from "@effect/vitest"
import { randomUUID } from "node:crypto"
import { Dedupe } from "../src/internal/eventsubDedupe.js"

describe("EventSub dedupe window at scale", () => {
  it("100,000 random UUIDs: each new once, then each a duplicate", () => {
    const dedupe = new Dedupe(100_000)
    const ids = Array.from({ length: 100_000 }, () => randomUUID())
    for (const id of ids) assert.isFalse(dedupe.check(id))
    let duplicates = 0
    for (const id of ids) if (dedupe.check(id)) duplicates++
    assert.strictEqual(duplicates, ids.length)
  })
})
