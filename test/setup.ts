import { addEqualityTesters } from "@effect/vitest"
import { chai, expect } from "vitest"

addEqualityTesters()

// chai's deep equality walks an Option's iterator, under which `Option.none()` and `Option.some(x)` look alike,
// and so do values holding them (tokens' `refreshToken` / `expiresAt`). So `assert.deepStrictEqual` / `deepEqual`
// also run Vitest's equality, which compares Effect values with `Equal` (the testers above).
chai.use((api, utils) => {
  utils.overwriteMethod(
    api.Assertion.prototype,
    "eql",
    (original: (...args: Array<unknown>) => void) =>
      function(this: object, ...args: Array<unknown>) {
        original.apply(this, args)
        if (utils.flag(this, "negate") !== true) {
          expect(utils.flag(this, "object"), utils.flag(this, "message") as string | undefined).toEqual(args[0])
        }
      }
  )
})
