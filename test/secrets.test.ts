import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { assert, describe, it } from "@effect/vitest"
import {
  Cause,
  Chunk,
  DateTime,
  Effect,
  Exit,
  Fiber,
  Layer,
  Logger,
  LogLevel,
  Option,
  Redacted,
  Schema,
  Stream
} from "effect"
import { inspect } from "node:util"
import * as AccessTokens from "../src/AccessTokens.js"
import * as DeviceAuth from "../src/DeviceAuth.js"
import * as EventSub from "../src/EventSub.js"
import * as Helix from "../src/Helix.js"
import * as HelixApi from "../src/HelixApi.js"
import * as OAuth from "../src/OAuth.js"
import * as Simulator from "../src/testing/Simulator.js"
import { AppToken, UserToken } from "../src/Token.js"
import * as TokenStore from "../src/TokenStore.js"
import * as TwitchConfig from "../src/TwitchConfig.js"
import { drive, fakeHttp, json } from "./fixtures/auth.js"
import * as Capture from "./fixtures/capture.js"
import * as Stack from "./fixtures/stack.js"

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
    const device = Schema.decodeUnknownSync(OAuth.DeviceCodeResponse)({
      device_code: REFRESH,
      user_code: "ABCDEFGH",
      verification_uri: "https://www.twitch.tv/activate",
      expires_in: 1800
    })
    assert.strictEqual(Redacted.value(device.deviceCode), REFRESH)
    for (const value of [userToken, app, response, device, { nested: [userToken] }]) {
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

describe("secrets never leak from successful flows (LogLevel.All, logs and spans captured)", () => {
  const B = Simulator.defaultUsers.broadcaster
  const VIEWER = Simulator.defaultUsers.viewer
  const realPause = Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 5)))

  /** Runs `check` with real pauses (socket I/O) until it holds, ~2 s at most. */
  const eventually = <E, R>(check: Effect.Effect<boolean, E, R>) =>
    Effect.gen(function*() {
      for (let i = 0; i < 400 && !(yield* check); i++) yield* realPause
    })

  /** Every flow once, against the simulator; returns every secret that went over the wire. */
  const flows = Effect.gen(function*() {
    const sim = yield* Simulator.Simulator
    const store = yield* TokenStore.TokenStore
    const tokens = yield* AccessTokens.AccessTokens
    const oauth = yield* OAuth.OAuth
    const helix = yield* Helix.Helix
    const eventSub = yield* EventSub.EventSub
    const deviceAuth = yield* DeviceAuth.DeviceAuth

    const secrets = new Set<string>([sim.clientSecret])
    const addToken = (token: UserToken) => {
      secrets.add(Redacted.value(token.accessToken))
      Option.map(token.refreshToken, (r) => secrets.add(Redacted.value(r)))
    }
    for (const token of yield* store.list) addToken(token)
    // every token stored from now on (refreshed, device flow)
    yield* store.changes.pipe(
      Stream.runForEach((change) =>
        Effect.sync(() => (change._tag === "Added" || change._tag === "Refreshed") && addToken(change.token))
      ),
      Effect.forkScoped
    )
    for (let i = 0; i < 20; i++) yield* Effect.yieldNow()

    // validation at start (validateInterval), and directly
    yield* eventually(Effect.map(sim.counters, (c) => c.validations >= 1))
    const stored = Option.getOrThrow(yield* store.get(B))
    yield* oauth.validate(stored.accessToken)

    // Helix as the user (single call, POST, paginated) and as the app
    yield* HelixApi.Users.getUsers({ id: [B] })
    yield* HelixApi.Chat.sendChatMessage({ broadcaster_id: B, message: "hello" })
    yield* Stream.runDrain(helix.paginate(HelixApi.Channels.getChannelFollowers, { broadcaster_id: B }))
    yield* helix.request(HelixApi.Users.getUsers, { id: [B] }).pipe(Helix.withApp)
    secrets.add(Redacted.value((yield* tokens.app).accessToken))

    // refresh: Twitch no longer accepts the access token, the library refreshes and retries
    yield* sim.expireToken(Redacted.value(stored.accessToken))
    yield* HelixApi.Users.getUsers({ id: [B] })
    assert.strictEqual((yield* sim.counters).tokenRefreshes, 1)

    // device flow
    const code = yield* deviceAuth.start(["user:read:chat"])
    secrets.add(Redacted.value(code.deviceCode))
    yield* sim.approveDevice(code.userCode, VIEWER)
    addToken(yield* drive(yield* Effect.fork(deviceAuth.poll(code))))

    // EventSub: subscribe, receive
    const received = yield* eventSub.follows(B).pipe(Stream.take(1), Stream.runCollect, Effect.fork)
    yield* eventually(Effect.map(sim.eventSub.subscriptions, (subs) => subs.some((s) => s.status === "enabled")))
    yield* sim.eventSub.trigger({ type: "channel.follow", event: { user_name: "Fan" } })
    assert.strictEqual(Chunk.size(yield* Fiber.join(received)), 1)

    for (const token of yield* store.list) addToken(token)
    return secrets
  }).pipe(Effect.scoped)

  it.scoped("refresh, validate, device flow, Helix, EventSub: no secret in any log line, annotation, span or error", () => {
    const captured = Capture.make()
    const library = DeviceAuth.layer.pipe(
      Layer.provideMerge(Stack.layerLibrary({ users: [B], accessTokens: { validateInterval: "1 hour" } }))
    )
    return Effect.gen(function*() {
      const secrets = yield* flows.pipe(Effect.provide(library), captured.around)
      // the capture saw the flows (else this test could not fail)
      assert.isAtLeast(secrets.size, 8)
      const messages = captured.messages()
      assert.include(messages, "AccessTokens: refreshed user token")
      const spans = captured.spanNames()
      for (const name of ["OAuth.refresh", "OAuth.validate", "OAuth.devicePoll", "AccessTokens.forUser"]) {
        assert.include(spans, name)
      }
      assert.isTrue(spans.some((name) => name.startsWith("http.client")), "HTTP client spans")
      // (the failure message masks every secret: a failing test must not print one)
      const mask = (text: string) => [...secrets].reduce((t, secret) => t.split(secret).join("<SECRET>"), text)
      for (const text of captured.texts()) {
        for (const secret of secrets) {
          if (text.includes(secret)) assert.fail(`a secret leaks into: ${mask(text).slice(0, 1000)}`)
        }
      }
    }).pipe(Effect.provide(Simulator.layer()))
  })
})
