import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { assert, describe, it } from "@effect/vitest"
import { Clock, DateTime, Effect, Fiber, Layer, Option, Redacted, Stream, TestClock } from "effect"
import * as AccessTokens from "../src/AccessTokens.js"
import * as Helix from "../src/Helix.js"
import { AppToken, UserToken } from "../src/Token.js"
import * as TwitchConfig from "../src/TwitchConfig.js"
import { userById } from "./fixtures/helix.js"

/**
 * A Helix look-alike on the TestClock: one token bucket per bearer token, `capacity` points refilled
 * continuously at `perSecond`, `Ratelimit-*` headers on every answer, 429 when empty. With `skewMillis`,
 * its clock (`Date` and `Ratelimit-Reset`, as Twitch sends them) is that far ahead of the client's.
 */
const bucketServer = (capacity: number, perSecond: number, skewMillis?: number) => {
  const stats = { ok: 0, status429: 0, lastAt: 0 }
  const buckets = new Map<string, { level: number; at: number }>()
  const rate = perSecond / 1000
  const client = HttpClient.make((request, url) =>
    Effect.map(Clock.currentTimeMillis, (clientNow) => {
      const now = clientNow + (skewMillis ?? 0)
      const key = request.headers["authorization"] ?? ""
      const bucket = buckets.get(key) ?? { level: capacity, at: now }
      buckets.set(key, bucket)
      bucket.level = Math.min(capacity, bucket.level + rate * (now - bucket.at))
      bucket.at = now
      const ok = bucket.level >= 1
      if (ok) bucket.level -= 1
      const headers = {
        "content-type": "application/json",
        "ratelimit-limit": String(capacity),
        "ratelimit-remaining": String(Math.floor(bucket.level)),
        "ratelimit-reset": String(Math.ceil((now + (capacity - bucket.level) / rate) / 1000)),
        ...(skewMillis === undefined ? {} : { date: new Date(now).toUTCString() })
      }
      stats.lastAt = clientNow
      if (!ok) {
        stats.status429++
        return HttpClientResponse.fromWeb(
          request,
          new Response(JSON.stringify({ error: "Too Many Requests", status: 429, message: "" }), {
            status: 429,
            headers
          })
        )
      }
      stats.ok++
      const id = url.searchParams.get("id") ?? "0"
      const user = {
        id,
        login: `u${id}`,
        display_name: `U${id}`,
        type: "",
        broadcaster_type: "",
        description: "",
        profile_image_url: "",
        offline_image_url: "",
        created_at: "2020-01-01T00:00:00Z"
      }
      return HttpClientResponse.fromWeb(
        request,
        new Response(JSON.stringify({ data: [user] }), { status: 200, headers })
      )
    })
  )
  return { client, stats }
}

const tokens: AccessTokens.AccessTokens.Service = {
  forUser: (userId) =>
    Effect.succeed(
      new UserToken({
        userId,
        login: "u",
        scopes: [],
        accessToken: Redacted.make(`user-${userId}`),
        refreshToken: Option.none(),
        expiresAt: Option.none(),
        obtainedAt: DateTime.unsafeMake(0)
      })
    ),
  refreshAfterUnauthorized: (userId) => tokens.forUser(userId),
  app: Effect.succeed(
    new AppToken({ accessToken: Redacted.make("app"), expiresAt: Option.none(), obtainedAt: DateTime.unsafeMake(0) })
  ),
  appAfterUnauthorized: () => tokens.app,
  refreshes: Stream.empty
}

const helixOn = (server: ReturnType<typeof bucketServer>, requestTimeout?: number) =>
  Helix.layer().pipe(
    Layer.provide(Layer.succeed(HttpClient.HttpClient, server.client)),
    Layer.provide(Layer.succeed(AccessTokens.AccessTokens, tokens)),
    Layer.provide(TwitchConfig.layer({ clientId: "cid", requestTimeout: requestTimeout ?? 10_000 }))
  )

const burst = (capacity: number, perSecond: number, n: number) => {
  const server = bucketServer(capacity, perSecond)
  const layer = helixOn(server)
  return Effect.gen(function*() {
    const helix = yield* Helix.Helix
    const ids = Array.from({ length: n }, (_, i) => String(i))
    const start = yield* Clock.currentTimeMillis
    const fiber = yield* Effect.fork(
      // 64 callers keep the limiter's queue full (fewer fibers keep the TestClock fast)
      Effect.forEach(ids, (id) => userById(helix, id), { concurrency: 64 })
    )
    // one jump: the TestClock runs every sleep in order, those scheduled meanwhile included
    yield* TestClock.adjust("10 minutes")
    const users = yield* Fiber.join(fiber)
    const ideal = ((n - capacity) / perSecond) * 1000
    return { users, elapsed: server.stats.lastAt - start, ideal, stats: server.stats }
  }).pipe(Effect.provide(layer))
}

describe("Helix rate limiter", () => {
  // virtual time: each release costs the TestClock a few real milliseconds, so N - C stays small
  it.effect("C = 200 per second, 500 requests: zero 429s, released at the refill rate", () =>
    Effect.gen(function*() {
      const { elapsed, ideal, stats, users } = yield* burst(200, 200, 500)
      assert.strictEqual(users.length, 500)
      assert.isTrue(users.every(Option.isSome))
      assert.strictEqual(stats.status429, 0)
      assert.strictEqual(stats.ok, 500)
      // released continuously, not in batches: within 10 % of (N - C) / refill (virtual time)
      assert.isAtMost(elapsed, ideal * 1.1, `elapsed ${elapsed} ms, ideal ${ideal} ms`)
      assert.isAtLeast(elapsed, ideal * 0.95)
    }))

  it.effect("C = 800 per 4 seconds, 1,200 requests: zero 429s within 1.1x the ideal time", () =>
    Effect.gen(function*() {
      const { elapsed, ideal, stats } = yield* burst(800, 200, 1200)
      assert.strictEqual(stats.status429, 0)
      assert.strictEqual(stats.ok, 1200)
      assert.isAtMost(elapsed, ideal * 1.1, `elapsed ${elapsed} ms, ideal ${ideal} ms`)
    }))

  it.effect("buckets are per token: two users do not share one", () => {
    const server = bucketServer(10, 10)
    const layer = helixOn(server)
    return Effect.gen(function*() {
      const helix = yield* Helix.Helix
      const ten = (user: string) =>
        Effect.forEach(Array.from({ length: 10 }, (_, i) => String(i)), (id) => userById(helix, id), {
          concurrency: "unbounded"
        }).pipe(Helix.withUser(user))
      // 20 requests at t = 0: both buckets of 10 are full, nothing has to wait
      yield* Effect.all([ten("1"), ten("2")], { concurrency: "unbounded" })
      assert.strictEqual(server.stats.ok, 20)
      assert.strictEqual(server.stats.status429, 0)
      assert.strictEqual(yield* Clock.currentTimeMillis, 0)
    }).pipe(Effect.provide(layer))
  })

  // Twitch's clock and the client's disagree: the reset is read on Twitch's clock (the answer's Date).
  // 150 calls at once through a bucket of 30 points refilled at 30 a second, the clock off either way.
  for (const skew of [-3_600_000, -5_000, 5_000, 3_600_000]) {
    it.effect(`client clock ${skew < 0 ? "ahead of" : "behind"} Twitch by ${Math.abs(skew) / 1000} s: no failure, no 429`, () => {
      const server = bucketServer(30, 30, skew)
      return Effect.gen(function*() {
        yield* TestClock.setTime(Date.parse("2026-03-01T12:00:00.250Z"))
        const start = yield* Clock.currentTimeMillis
        const helix = yield* Helix.Helix
        const fiber = yield* Effect.fork(
          Effect.forEach(
            Array.from({ length: 150 }, (_, i) => String(i)),
            (id) => Effect.either(userById(helix, id)),
            {
              concurrency: "unbounded"
            }
          )
        )
        yield* TestClock.adjust("10 minutes")
        const done = yield* Fiber.poll(fiber)
        assert.isTrue(Option.isSome(done), "the burst did not finish")
        const outcomes = yield* Option.getOrThrow(done)
        assert.strictEqual(outcomes.filter((r) => r._tag === "Left").length, 0)
        assert.strictEqual(server.stats.status429, 0)
        // paced by the refill rate, not by a reset read an hour off (virtual time)
        const ideal = ((150 - 30) / 30) * 1000
        assert.isAtMost(server.stats.lastAt - start, ideal * 1.25, `elapsed ${server.stats.lastAt - start} ms`)
      }).pipe(Effect.provide(helixOn(server)))
    })
  }

  it.effect("a queue that moves at the refill rate is served past the request timeout", () => {
    const server = bucketServer(10, 10)
    return Effect.gen(function*() {
      const helix = yield* Helix.Helix
      const fiber = yield* Effect.fork(
        Effect.forEach(Array.from({ length: 60 }, (_, i) => String(i)), (id) => userById(helix, id), {
          concurrency: "unbounded"
        })
      )
      // 5 s of queue for the last callers, with a 2 s timeout: each waits while the queue moves
      yield* TestClock.adjust("1 minute")
      const users = yield* Fiber.join(fiber)
      assert.strictEqual(users.length, 60)
      assert.strictEqual(server.stats.ok, 60)
    }).pipe(Effect.provide(helixOn(server, 2_000)))
  })
})
