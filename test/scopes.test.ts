import { assert, describe, it } from "@effect/vitest"
import { Scopes } from "effect-twitch"

describe("Scopes", () => {
  it("names every scope of the Helix reference once, with constants matching their values", () => {
    assert.strictEqual(Scopes.all.length, 81)
    assert.strictEqual(new Set(Scopes.all).size, 81)
    assert.strictEqual(Scopes.USER_READ_CHAT, "user:read:chat")
    assert.strictEqual(Scopes.MODERATOR_READ_FOLLOWERS, "moderator:read:followers")
    assert.isTrue(Scopes.isScope("channel:bot"))
    assert.isFalse(Scopes.isScope("channel:nonsense"))
  })
})
