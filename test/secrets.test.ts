import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { assert, describe, it } from "@effect/vitest"
import { Cause, DateTime, Effect, Exit, Layer, Logger, LogLevel, Option, Redacted, Schema } from "effect"
import { inspect } from "node:util"
import * as AccessTokens from "../src/AccessTokens.js"
import * as OAuth from "../src/OAuth.js"
import * as Simulator from "../src/testing/Simulator.js"
import { AppToken, UserToken } from "../src/Token.js"
import * as TokenStore from "../src/TokenStore.js"
import * as TwitchConfig from "../src/TwitchConfig.js"
import { fakeHttp, json } from "./fixtures/auth.js"

const ACCESS = "acc3ss-secret-text"
const REFRESH = "r3fr3sh-secret-text"

const userToken = new UserToken({
  userId: "1",
  login: "someone",
  scopes: ["chat:read"],
  accessToken: Redacted.make(ACCESS),
  refreshToken: Option.some(Redacted.make(REFRESH)),
  expiresAt: Option.some(DateTime.unsafeMake(0)),
  obtainedAt: DateTime.unsafeMake(0)
})

const renderings = (value: unknown): ReadonlyArray<string> => [
  String(value),
  JSON.stringify(value) ?? "",
  inspect(value, { depth: 10 }),
  `${value}`
]

const assertClean = (texts: ReadonlyArray<string>, secrets: ReadonlyArray<string>, what: string) => {
  for (const text of texts) {
    for (const secret of secrets) {
      assert.isFalse(text.includes(secret), `${what} leaks a secret: ${text.slice(0, 200)}`)
    }
  }
}

describe("secrets never leak", () => {
  it("tokens render as redacted; only the persistence codec writes the text", () => {
    const app = new AppToken({
      accessToken: Redacted.make(ACCESS),
      expiresAt: Option.none(),
      obtainedAt: DateTime.unsafeMake(0)
    })
    const response = Schema.decodeUnknownSync(OAuth.TokenResponse)({
      access_token: ACCESS,
      refresh_token: REFRESH,
      expires_in: 10,
      scope: []
    })
    for (const value of [userToken, app, response, { nested: [userToken] }]) {
      assertClean(renderings(value), [ACCESS, REFRESH], "token")
    }
    // the file codec is the one place the text is written
    const encoded = JSON.stringify(Schema.encodeSync(TokenStore.StoreFile)({ version: 1, tokens: { "1": userToken } }))
    assert.include(encoded, ACCESS)
  })

  it.effect("errors and log lines of failing flows carry no token text", () => {
    const lines: Array<string> = []
    const capture = Logger.make((options) => {
      lines.push(Logger.logfmtLogger.log(options))
    })
    const fake = fakeHttp((req) =>
      req.url.endsWith("/validate")
        ? json(401, { status: 401, message: "invalid access token" })
        : json(400, { status: 400, message: "Invalid refresh token" })
    )
    const layer = AccessTokens.layer({ validateInterval: false }).pipe(
      Layer.provideMerge(TokenStore.layerMemory([userToken])),
      Layer.provideMerge(OAuth.layer()),
      Layer.provide(fake.layer),
      Layer.provide(TwitchConfig.layer({ clientId: "cid", clientSecret: Redacted.make("client-secret-text") }))
    )
    return Effect.gen(function*() {
      const tokens = yield* AccessTokens.AccessTokens
      const oauth = yield* OAuth.OAuth
      const errors: Array<unknown> = []
      const dead = yield* Effect.exit(tokens.forUser("1"))
      errors.push(Exit.isFailure(dead) ? Cause.squash(dead.cause) : undefined)
      assert.strictEqual(Exit.isFailure(dead) && Cause.squash(dead.cause) instanceof AccessTokens.TokenDead, true)
      const invalid = yield* Effect.exit(oauth.validate(Redacted.make(ACCESS)))
      assert.isTrue(Exit.isFailure(invalid))
      if (Exit.isFailure(invalid)) {
        errors.push(Cause.squash(invalid.cause))
        yield* Effect.logError("validate failed", invalid.cause)
        lines.push(Cause.pretty(invalid.cause))
      }
      yield* Effect.log("token", userToken)
      yield* Effect.logInfo(userToken.accessToken)
      for (const error of errors) {
        const e = error as Error
        assertClean([...renderings(e), e.message, e.stack ?? ""], [ACCESS, REFRESH, "client-secret-text"], "error")
      }
      assert.isAbove(lines.length, 2)
      assertClean(lines, [ACCESS, REFRESH, "client-secret-text"], "log line")
      // the secrets did go over the (fake) wire, in form bodies and headers, never in URLs
      assert.isTrue(fake.requests.some((r) => r.form.get("refresh_token") === REFRESH))
      assertClean(fake.requests.map((r) => r.url), [ACCESS, REFRESH, "client-secret-text"], "url")
    }).pipe(
      Effect.provide(layer),
      Effect.provide(Logger.replace(Logger.defaultLogger, capture)),
      Logger.withMinimumLogLevel(LogLevel.All)
    )
  })

  it.effect("simulator flow: refresh + dead token, logs captured", () => {
    const lines: Array<string> = []
    const capture = Logger.make((options) => lines.push(Logger.logfmtLogger.log(options)))
    return Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const store = yield* TokenStore.TokenStore
      const oauth = yield* OAuth.OAuth
      const issued = yield* sim.issueUserToken({ userId: sim.users.viewer, scopes: [], clientId: sim.publicClientId })
      const now = yield* DateTime.now
      yield* store.set(
        new UserToken({
          userId: sim.users.viewer,
          login: "simviewer",
          scopes: [],
          accessToken: Redacted.make(issued.accessToken),
          refreshToken: Option.some(Redacted.make(issued.refreshToken)),
          expiresAt: Option.some(now),
          obtainedAt: now
        })
      )
      yield* oauth.refresh(Redacted.make(issued.refreshToken))
      const tokens = yield* AccessTokens.AccessTokens
      const exit = yield* Effect.exit(tokens.forUser(sim.users.viewer))
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) lines.push(Cause.pretty(exit.cause), JSON.stringify(Cause.squash(exit.cause)))
      assert.isTrue(lines.some((l) => l.includes("dead")))
      assertClean(lines, [issued.accessToken, issued.refreshToken], "log line")
    }).pipe(
      Effect.provide(
        AccessTokens.layer({ validateInterval: false }).pipe(
          Layer.provideMerge(TokenStore.layerMemory()),
          Layer.provideMerge(OAuth.layer()),
          Layer.provideMerge(Layer.merge(Simulator.layerTwitchConfigPublic, FetchHttpClient.layer)),
          Layer.provideMerge(Simulator.layer())
        )
      ),
      Effect.provide(Logger.replace(Logger.defaultLogger, capture)),
      Logger.withMinimumLogLevel(LogLevel.All)
    )
  })
})
