import { assert, describe, it } from "@effect/vitest"
import { Dedupe, parseUuid } from "../src/internal/eventsubDedupe.js"

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

  it("remembers the previous generation too: the last `capacity` ids are all seen, whichever generation holds them", () => {
    const dedupe = new Dedupe(1000)
    // 1,500 ids: the first 1,000 filled a generation that is now the previous one
    for (let i = 0; i < 1500; i++) dedupe.check(uuid(i + 1))
    for (let i = 500; i < 1500; i++) assert.isTrue(dedupe.check(uuid(i + 1)), `${uuid(i + 1)} was seen`)
  })

  it("an id is found in the previous generation wherever its slot is (the smallest table: two slots)", () => {
    for (let n = 1; n <= 16; n++) {
      const dedupe = new Dedupe(1)
      dedupe.check(uuid(n))
      // a second id fills a new generation: the first is now in the previous one
      dedupe.check(uuid(100 + n))
      assert.isTrue(dedupe.check(uuid(n)), `${uuid(n)} was seen`)
    }
  })

  it("never remembers more than twice `capacity`: the id 2 × capacity + 1 checks ago is new again", () => {
    for (const idOf of [uuid, (n: number) => `id-${n}`]) {
      const dedupe = new Dedupe(10)
      for (let i = 1; i <= 21; i++) dedupe.check(idOf(i))
      assert.isFalse(dedupe.check(idOf(1)), `${idOf(1)} is forgotten`)
      assert.isTrue(dedupe.check(idOf(21)))
    }
  })

  it("UUIDs that differ in one 32-bit word only are different ids, even where they share a slot", () => {
    const base = "0a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d"
    const words = ["0a1b2c3d", "4e5f-4a6b", "8c7d-0e1f", "2a3b4c5d"]
    for (let w = 0; w < 4; w++) {
      for (let k = 1; k <= 64; k++) {
        // the same id with word w changed (its last hex digits replaced by k)
        const parts = [...words]
        const digits = k.toString(16).padStart(2, "0")
        parts[w] = parts[w]!.slice(0, -2) + digits
        const other = `${parts[0]}-${parts[1]}-${parts[2]}${parts[3]}`
        if (other === base) continue
        // a tiny table (8 slots): many of these land in the slot of `base` or probe past it
        const dedupe = new Dedupe(4)
        dedupe.check(base)
        assert.isFalse(dedupe.check(other), `${other} is not ${base}`)
      }
    }
  })

  it("parseUuid: Twitch's lowercase UUIDs become four 32-bit words; anything else is not a UUID", () => {
    const words = new Uint32Array(4)
    assert.isTrue(parseUuid("0123abcd-ef01-4a5b-9c8d-7e6f5a4b3c2d", words))
    assert.deepStrictEqual([...words], [0x0123abcd, 0xef014a5b, 0x9c8d7e6f, 0x5a4b3c2d])
    assert.isTrue(parseUuid("ffffffff-ffff-ffff-ffff-fffffffffff9", words))
    assert.deepStrictEqual([...words], [0xffffffff, 0xffffffff, 0xffffffff, 0xfffffff9])
    assert.isTrue(parseUuid("00000000-0000-0000-0000-000000000001", words))
    assert.deepStrictEqual([...words], [0, 0, 0, 1])
    for (
      const id of [
        "00000000-0000-0000-0000-000000000000", // all zero: marks an empty slot
        "0123ABCD-ef01-4a5b-9c8d-7e6f5a4b3c2d", // uppercase
        "0123abcd-ef01-4a5b-9c8d-7e6f5a4b3c2", // 35 characters
        "0123abcd-ef01-4a5b-9c8d-7e6f5a4b3c2d0", // 37
        "0123abcdef01-4a5b-9c8d-7e6f5a4b3c2d0", // a dash moved
        "0123abcd-ef014-a5b-9c8d-7e6f5a4b3c2d",
        "0123abcd-ef01-4a5b9-c8d-7e6f5a4b3c2d",
        "0123abcd-ef01-4a5b-9c8d7-e6f5a4b3c2d",
        "0123abcd_ef01-4a5b-9c8d-7e6f5a4b3c2d",
        "0123abcd-ef01-4a5b-9c8d-7e6f5a4b3c2g", // one character past f
        "0123abcd-ef01-4a5b-9c8d-7e6f5a4b3c2`", // one before a
        "0123abcd-ef01-4a5b-9c8d-7e6f5a4b3c2/", // one before 0
        "0123abcd-ef01-4a5b-9c8d-7e6f5a4b3c2:", // one past 9
        "/123abcd-ef01-4a5b-9c8d-7e6f5a4b3c2d"
      ]
    ) assert.isFalse(parseUuid(id, words), id)
    // every digit in every position
    for (const digit of "0123456789abcdef") {
      for (let i = 0; i < 36; i++) {
        if (i === 8 || i === 13 || i === 18 || i === 23) continue
        const chars = [..."11111111-1111-1111-1111-111111111111"]
        chars[i] = digit
        assert.isTrue(parseUuid(chars.join(""), words), chars.join(""))
        const value = [...words].map((word) => word.toString(16).padStart(8, "0")).join("")
        assert.strictEqual(value, chars.join("").replaceAll("-", ""))
      }
    }
  })
})
