// Scope options are typed as `Scopes.Scope`: a misspelt scope is a compile error (checked by `tsc -b`, which
// fails when a `@ts-expect-error` below has no error to expect), a known one compiles.
import { assert, describe, it } from "@effect/vitest"
import type * as Bot from "../src/Bot.js"
import type * as Client from "../src/Client.js"
import type * as DeviceAuth from "../src/DeviceAuth.js"
import * as Scopes from "../src/Scopes.js"

describe("scope options", () => {
  it("a misspelt scope does not compile in Client, Bot or DeviceAuth options", () => {
    // @ts-expect-error "user:read:chats" is not a scope
    const client: Client.Options = { scopes: ["user:read:chats"] }
    // @ts-expect-error "user:read:chats" is not a scope
    const bot: Bot.Options = { scopes: ["user:read:chats"] }
    const authorize = (auth: DeviceAuth.DeviceAuth.Service) =>
      // @ts-expect-error "user:read:chats" is not a scope
      auth.authorize(["user:read:chats"])
    const start = (auth: DeviceAuth.DeviceAuth.Service) =>
      // @ts-expect-error "user:read:chats" is not a scope
      auth.start(["user:read:chats"])
    const register = (bot: Bot.Bot.Service) =>
      // @ts-expect-error "user:read:chats" is not a scope
      bot.register({ accessToken: "token" }, { scopes: ["user:read:chats"] })
    const requireScopes = (bot: Bot.Bot.Service) =>
      // @ts-expect-error "user:read:chats" is not a scope
      bot.requireScopes("1234", ["user:read:chats"])
    assert.isDefined([client, bot, authorize, start, register, requireScopes])
  })

  it("known scopes compile, as literals, constants or a typed list", () => {
    const scopes: ReadonlyArray<Scopes.Scope> = ["user:read:chat", Scopes.USER_WRITE_CHAT]
    const client: Client.Options = { scopes }
    const bot: Bot.Options = { scopes: [Scopes.USER_BOT, "channel:bot"] }
    const authorize = (auth: DeviceAuth.DeviceAuth.Service) => auth.authorize(["user:read:chat"])
    assert.deepStrictEqual(client.scopes, ["user:read:chat", "user:write:chat"])
    assert.strictEqual(bot.scopes?.length, 2)
    assert.strictEqual(typeof authorize, "function")
    assert.isTrue(Scopes.isScope("user:read:chat"))
    assert.isFalse(Scopes.isScope("user:read:chats"))
  })
})
