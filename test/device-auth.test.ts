import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Clock, DateTime, Duration, Effect, Fiber, Layer, Option, Redacted, Stream, TestClock } from "effect"
import * as DeviceAuth from "../src/DeviceAuth.js"
import * as OAuth from "../src/OAuth.js"
import * as Simulator from "../src/testing/Simulator.js"
import * as TokenStore from "../src/TokenStore.js"
import * as TwitchConfig from "../src/TwitchConfig.js"
import { advance, drive, fakeHttp, json, type Reply } from "./fixtures/auth.js"
import * as Capture from "./fixtures/capture.js"

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
      // not at the epoch: the expiry is counted from now
      yield* TestClock.adjust(Duration.hours(1))
      const code = yield* auth.start(SCOPES)
      const fiber = yield* Effect.fork(auth.poll(code))
      yield* TestClock.adjust(Duration.seconds(299))
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)))
      yield* TestClock.adjust("1 second")
      const error = yield* Effect.flip(Fiber.join(fiber))
      assert.strictEqual(error.message, "DeviceAuth.poll: device code ABCDEFGH expired before it was approved")
      const polls = fake.requests.filter((r) => r.url.endsWith("/token"))
      assert.isAtLeast(polls.length, 300 / 5 - 1)
      assert.isAtMost(polls.length, 300 / 5)
      assert.strictEqual(polls[0]!.form.get("grant_type"), "urn:ietf:params:oauth:grant-type:device_code")
      assert.strictEqual(polls[0]!.form.get("device_code"), "secret-device-code")
      assert.strictEqual(polls[0]!.form.get("scopes"), SCOPES.join(" "))
    }).pipe(Effect.provide(layer))
  })
})

/** DeviceAuth over a fake Twitch: `/device` issues a code (`device` overrides its fields), `poll` answers `/token`. */
const fakeTwitch = (
  poll: (index: number) => Reply,
  options: { readonly device?: Record<string, unknown>; readonly validate?: Record<string, unknown> } = {}
) => {
  let polls = 0
  const fake = fakeHttp((req) => {
    if (req.url.endsWith("/device")) {
      return json(200, {
        device_code: "secret-device-code",
        user_code: "ABCDEFGH",
        verification_uri: "https://x/activate",
        expires_in: 1800,
        interval: 5,
        ...options.device
      })
    }
    if (req.url.endsWith("/validate")) {
      return json(200, {
        client_id: "cid",
        login: "someone",
        user_id: "42",
        scopes: [...SCOPES],
        expires_in: 14000,
        ...options.validate
      })
    }
    return poll(polls++)
  })
  const layer = DeviceAuth.layer.pipe(
    Layer.provideMerge(TokenStore.layerMemory()),
    Layer.provide(OAuth.layer()),
    Layer.provide(
      Layer.merge(fake.layer, TwitchConfig.layer({ clientId: "cid", authUrl: "https://auth.test/oauth2" }))
    )
  )
  const tokenPolls = () => fake.requests.filter((r) => r.url.endsWith("/token")).length
  return { layer, tokenPolls }
}

const pending = json(400, { status: 400, message: "authorization_pending" })
const slowDown = json(400, { status: 400, message: "slow_down" })
const busy = json(503, { status: 503, message: "busy" })
const granted = json(200, { access_token: "acc", refresh_token: "ref", expires_in: 14000, scope: [...SCOPES] })

describe("DeviceAuth (fake HTTP): polling", () => {
  it.effect("start: the code, its expiry (start + expires_in) and an interval of at least 1 s", () => {
    const twitch = fakeTwitch(() => pending, { device: { interval: 0, expires_in: 300 } })
    return Effect.gen(function*() {
      yield* TestClock.adjust("1 minute")
      const code = yield* (yield* DeviceAuth.DeviceAuth).start(SCOPES)
      assert.strictEqual(code.interval, 1)
      assert.strictEqual(code.expiresIn, 300)
      assert.strictEqual(code.userCode, "ABCDEFGH")
      assert.strictEqual(code.verificationUri, "https://x/activate")
      assert.strictEqual(Redacted.value(code.deviceCode), "secret-device-code")
      assert.deepStrictEqual(code.scopes, SCOPES)
      assert.strictEqual(DateTime.toEpochMillis(code.expiresAt), 60_000 + 300_000)
    }).pipe(Effect.provide(twitch.layer))
  })

  it.effect("a slower interval from Twitch is kept", () => {
    const twitch = fakeTwitch(() => pending, { device: { interval: 7 } })
    return Effect.gen(function*() {
      assert.strictEqual((yield* (yield* DeviceAuth.DeviceAuth).start(SCOPES)).interval, 7)
    }).pipe(Effect.provide(twitch.layer))
  })

  it.effect("approved: stores the validated token and returns it", () => {
    const twitch = fakeTwitch((i) => i < 2 ? pending : granted)
    return Effect.gen(function*() {
      const auth = yield* DeviceAuth.DeviceAuth
      const fiber = yield* Effect.fork(auth.poll(yield* auth.start(SCOPES)))
      yield* TestClock.adjust("15 seconds")
      const token = yield* Fiber.join(fiber)
      assert.strictEqual(token.userId, "42")
      assert.strictEqual(token.login, "someone")
      assert.strictEqual(Redacted.value(token.accessToken), "acc")
      assert.strictEqual(
        Option.getOrUndefined(Option.map(token.expiresAt, DateTime.toEpochMillis)),
        15_000 + 14_000_000
      )
      const stored = yield* (yield* TokenStore.TokenStore).get("42")
      assert.strictEqual(Option.getOrUndefined(Option.map(stored, (t) => Redacted.value(t.accessToken))), "acc")
    }).pipe(Effect.provide(twitch.layer))
  })

  it.effect("start and poll are spans named after them", () => {
    const captured = Capture.make()
    const twitch = fakeTwitch(() => granted)
    return Effect.gen(function*() {
      const auth = yield* DeviceAuth.DeviceAuth
      const fiber = yield* Effect.fork(auth.poll(yield* auth.start(SCOPES)))
      yield* TestClock.adjust("5 seconds")
      yield* Fiber.join(fiber)
      const spans = captured.spanNames()
      assert.include(spans, "DeviceAuth.start")
      assert.include(spans, "DeviceAuth.poll")
    }).pipe(Effect.provide(twitch.layer), captured.around)
  })

  it.effect("transient failures are polled through at the interval, up to 5 in a row", () => {
    const twitch = fakeTwitch(() => busy)
    return Effect.gen(function*() {
      const auth = yield* DeviceAuth.DeviceAuth
      const fiber = yield* Effect.fork(auth.poll(yield* auth.start(SCOPES)))
      yield* TestClock.adjust("25 seconds")
      assert.strictEqual(twitch.tokenPolls(), 5)
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)))
      yield* TestClock.adjust("5 seconds")
      const error = yield* Effect.flip(Fiber.join(fiber))
      assert.strictEqual(error._tag, "OAuthServerError")
      assert.strictEqual(twitch.tokenPolls(), 6)
    }).pipe(Effect.provide(twitch.layer))
  })

  it.effect("an answered poll resets the count of transient failures", () => {
    // 5 failures, pending, 5 failures, granted
    const twitch = fakeTwitch((i) => i === 5 ? pending : i === 11 ? granted : busy)
    return Effect.gen(function*() {
      const auth = yield* DeviceAuth.DeviceAuth
      const fiber = yield* Effect.fork(auth.poll(yield* auth.start(SCOPES)))
      yield* TestClock.adjust("2 minutes")
      assert.strictEqual((yield* Fiber.join(fiber)).userId, "42")
      assert.strictEqual(twitch.tokenPolls(), 12)
    }).pipe(Effect.provide(twitch.layer))
  })

  it.effect("any other error ends the polling at once", () => {
    const twitch = fakeTwitch(() => json(403, { status: 403, message: "invalid client" }))
    return Effect.gen(function*() {
      const auth = yield* DeviceAuth.DeviceAuth
      const fiber = yield* Effect.fork(auth.poll(yield* auth.start(SCOPES)))
      yield* TestClock.adjust("1 minute")
      assert.strictEqual((yield* Effect.flip(Fiber.join(fiber)))._tag, "InvalidClient")
      assert.strictEqual(twitch.tokenPolls(), 1)
    }).pipe(Effect.provide(twitch.layer))
  })

  it.effect("a granted token that /validate does not tie to a user is refused and not stored", () => {
    const twitch = fakeTwitch(() => granted, { validate: { user_id: null, login: null } })
    return Effect.gen(function*() {
      const auth = yield* DeviceAuth.DeviceAuth
      const fiber = yield* Effect.fork(auth.poll(yield* auth.start(SCOPES)))
      yield* TestClock.adjust("10 seconds")
      const error = yield* Effect.flip(Fiber.join(fiber))
      assert.strictEqual(error.message, "OAuth.validate: HTTP 200: the device flow returned a token without a user id")
      assert.strictEqual((yield* (yield* TokenStore.TokenStore).list).length, 0)
    }).pipe(Effect.provide(twitch.layer))
  })

  it.effect("a declined or expired code says which code it was", () => {
    const denied = fakeTwitch(() => json(400, { status: 400, message: "access_denied" }))
    const expired = fakeTwitch(() => json(400, { status: 400, message: "invalid device code" }))
    const run = (layer: typeof denied.layer) =>
      Effect.gen(function*() {
        const auth = yield* DeviceAuth.DeviceAuth
        const fiber = yield* Effect.fork(auth.poll(yield* auth.start(SCOPES)))
        yield* TestClock.adjust("10 seconds")
        return yield* Effect.flip(Fiber.join(fiber))
      }).pipe(Effect.provide(layer))
    return Effect.gen(function*() {
      assert.strictEqual(
        (yield* run(denied.layer)).message,
        "DeviceAuth.poll: authorization of device code ABCDEFGH was denied"
      )
      assert.strictEqual(
        (yield* run(expired.layer)).message,
        "DeviceAuth.poll: device code ABCDEFGH expired before it was approved"
      )
    })
  })

  it.effect("authorize: the code to show, a Waiting per unanswered poll with the interval in force, the token", () => {
    const twitch = fakeTwitch((i) => [pending, slowDown, busy, pending][i] ?? granted)
    return Effect.gen(function*() {
      const fiber = yield* Effect.fork(Stream.runCollect((yield* DeviceAuth.DeviceAuth).authorize(SCOPES)))
      // polls at 5 s, 10 s, then every 10 s after the slow_down: 20 s, 30 s, 40 s
      yield* TestClock.adjust("39 seconds")
      assert.strictEqual(twitch.tokenPolls(), 4)
      yield* TestClock.adjust("1 second")
      const events = Chunk.toReadonlyArray(yield* Fiber.join(fiber))
      assert.deepStrictEqual(events.slice(0, -1), [
        { _tag: "CodeIssued", userCode: "ABCDEFGH", verificationUri: "https://x/activate", expiresIn: 1800 },
        { _tag: "Waiting", attempt: 1, interval: 5 },
        { _tag: "Waiting", attempt: 2, interval: 10 },
        // attempt 3 failed (a 5xx): not a Waiting
        { _tag: "Waiting", attempt: 4, interval: 10 }
      ])
      const last = events[events.length - 1]!
      assert.strictEqual(last._tag === "Authorized" && last.token.userId, "42")
      assert.strictEqual(twitch.tokenPolls(), 5)
    }).pipe(Effect.provide(twitch.layer))
  })

  it.effect("authorize: a failed poll ends the stream with its error", () => {
    const twitch = fakeTwitch(() => json(400, { status: 400, message: "access_denied" }))
    return Effect.gen(function*() {
      const fiber = yield* Effect.fork(Stream.runCollect((yield* DeviceAuth.DeviceAuth).authorize(SCOPES)))
      yield* TestClock.adjust("1 minute")
      assert.strictEqual((yield* Effect.flip(Fiber.join(fiber)))._tag, "DeviceAccessDenied")
    }).pipe(Effect.provide(twitch.layer))
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
