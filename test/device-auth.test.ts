import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Clock, Duration, Effect, Fiber, Layer, Option, Stream, TestClock } from "effect"
import * as DeviceAuth from "../src/DeviceAuth.js"
import * as OAuth from "../src/OAuth.js"
import * as Simulator from "../src/testing/Simulator.js"
import * as TokenStore from "../src/TokenStore.js"
import * as TwitchConfig from "../src/TwitchConfig.js"
import { advance, drive, fakeHttp, json } from "./fixtures/auth.js"

const env = (options: Simulator.Options = {}) =>
  DeviceAuth.layer.pipe(
    Layer.provideMerge(TokenStore.layerMemory()),
    Layer.provideMerge(OAuth.layer()),
    Layer.provideMerge(Layer.merge(Simulator.layerTwitchConfigPublic, NodeHttpClient.layerUndici)),
    Layer.provideMerge(Simulator.layer(options))
  )

const SCOPES = ["user:read:chat", "user:write:chat"] as const

describe("DeviceAuth (fake HTTP)", () => {
  it.effect("expired: the poll times out at the code's expiry with a typed DeviceCodeExpired", () => {
    const fake = fakeHttp((req) =>
      req.url.endsWith("/device")
        ? json(200, {
          device_code: "secret-device-code",
          user_code: "ABCDEFGH",
          verification_uri: "https://x/activate",
          expires_in: 300,
          interval: 5
        })
        : json(400, { status: 400, message: "authorization_pending" })
    )
    const layer = DeviceAuth.layer.pipe(
      Layer.provideMerge(TokenStore.layerMemory()),
      Layer.provide(OAuth.layer()),
      Layer.provide(
        Layer.merge(fake.layer, TwitchConfig.layer({ clientId: "cid", authUrl: "https://auth.test/oauth2" }))
      )
    )
    return Effect.gen(function*() {
      const auth = yield* DeviceAuth.DeviceAuth
      const code = yield* auth.start(SCOPES)
      const fiber = yield* Effect.fork(auth.poll(code))
      yield* TestClock.adjust(Duration.seconds(299))
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)))
      yield* TestClock.adjust("1 second")
      const error = yield* Effect.flip(Fiber.join(fiber))
      assert.strictEqual(error._tag, "DeviceCodeExpired")
      assert.isFalse(error.message.includes("secret-device-code"))
      const polls = fake.requests.filter((r) => r.url.endsWith("/token"))
      assert.isAtLeast(polls.length, 300 / 5 - 1)
      assert.isAtMost(polls.length, 300 / 5)
      assert.strictEqual(polls[0]!.form.get("grant_type"), "urn:ietf:params:oauth:grant-type:device_code")
      assert.strictEqual(polls[0]!.form.get("device_code"), "secret-device-code")
      assert.strictEqual(polls[0]!.form.get("scopes"), SCOPES.join(" "))
    }).pipe(Effect.provide(layer))
  })
})

describe("DeviceAuth (simulator)", () => {
  it.scoped("approved: polls at the interval, validates, stores and returns the token", () =>
    Effect.gen(function*() {
      const auth = yield* DeviceAuth.DeviceAuth
      const sim = yield* Simulator.Simulator
      const store = yield* TokenStore.TokenStore
      const code = yield* auth.start(SCOPES)
      assert.strictEqual(code.interval, 5)
      assert.strictEqual(code.expiresIn, 1800)
      assert.isTrue(code.verificationUri.includes(code.userCode))
      const fiber = yield* Effect.fork(auth.poll(code))
      const started = yield* Clock.currentTimeMillis
      yield* advance(12) // two pending polls, nothing approved
      assert.strictEqual((yield* sim.counters).devicePolls, 2)
      yield* sim.approveDevice(code.userCode, sim.users.broadcaster)
      const token = yield* drive(fiber, "1 second")
      assert.strictEqual(token.userId, sim.users.broadcaster)
      assert.strictEqual(token.login, "simbroadcaster")
      assert.deepStrictEqual([...token.scopes].sort(), [...SCOPES].sort())
      assert.isTrue(Option.isSome(token.refreshToken))
      const stored = yield* store.get(sim.users.broadcaster)
      assert.isTrue(Option.isSome(stored))
      const polls = (yield* sim.counters).devicePolls
      const elapsed = (yield* Clock.currentTimeMillis) - started
      // never faster than one poll per interval
      assert.isAtMost(polls, Math.floor(elapsed / 5000))
      assert.isAtLeast(polls, 2)
    }).pipe(Effect.provide(env())))

  it.scoped("slow_down adds 5 s to the interval each time", () =>
    Effect.gen(function*() {
      const auth = yield* DeviceAuth.DeviceAuth
      const sim = yield* Simulator.Simulator
      const code = yield* auth.start(SCOPES)
      yield* sim.approveDevice(code.userCode, sim.users.viewer)
      yield* sim.setDeviceSlowDown(2)
      const started = yield* Clock.currentTimeMillis
      const fiber = yield* Effect.fork(auth.poll(code))
      const token = yield* drive(fiber, "1 second")
      const elapsed = (yield* Clock.currentTimeMillis) - started
      assert.strictEqual(token.userId, sim.users.viewer)
      assert.strictEqual((yield* sim.counters).devicePolls, 3)
      // 5 s, then slow_down → 10 s, then slow_down → 15 s
      assert.isAtLeast(elapsed, 30_000)
      assert.isBelow(elapsed, 35_000)
    }).pipe(Effect.provide(env())))

  it.scoped("expired (simulator): an expired code is a typed DeviceCodeExpired", () =>
    Effect.gen(function*() {
      const auth = yield* DeviceAuth.DeviceAuth
      const code = yield* auth.start(SCOPES)
      // the simulator forgets the code at expiry; the client maps "invalid device code" to expiry
      yield* TestClock.adjust("30 minutes")
      const error = yield* Effect.flip(drive(yield* Effect.fork(auth.poll({ ...code, interval: 1 })), "1 second"))
      assert.strictEqual(error._tag, "DeviceCodeExpired")
    }).pipe(Effect.provide(env())))

  it.scoped("denied: ends with a typed DeviceAccessDenied", () =>
    Effect.gen(function*() {
      const auth = yield* DeviceAuth.DeviceAuth
      const sim = yield* Simulator.Simulator
      const code = yield* auth.start(SCOPES)
      yield* sim.denyDevice(code.userCode)
      const error = yield* Effect.flip(drive(yield* Effect.fork(auth.poll(code)), "1 second"))
      assert.strictEqual(error._tag, "DeviceAccessDenied")
      assert.isTrue(Option.isNone(yield* (yield* TokenStore.TokenStore).get(sim.users.viewer)))
    }).pipe(Effect.provide(env())))

  it.scoped("authorize: CodeIssued first, Waiting while pending, then Authorized", () =>
    Effect.gen(function*() {
      const auth = yield* DeviceAuth.DeviceAuth
      const sim = yield* Simulator.Simulator
      const fiber = yield* Effect.fork(Stream.runCollect(auth.authorize(SCOPES)))
      const events = Chunk.toReadonlyArray(yield* drive(fiber, "1 second"))
      assert.strictEqual(events[0]!._tag, "CodeIssued")
      assert.isTrue(events.slice(1, -1).length >= 1 && events.slice(1, -1).every((e) => e._tag === "Waiting"))
      const last = events[events.length - 1]!
      assert.strictEqual(last._tag, "Authorized")
      assert.strictEqual(last._tag === "Authorized" && last.token.userId, sim.users.moderator)
    }).pipe(
      Effect.provide(env({ autoApproveDevice: { afterMillis: 12_000, userId: Simulator.defaultUsers.moderator } }))
    ))
})
