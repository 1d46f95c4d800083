import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { assert, describe, it } from "@effect/vitest"
import {
  Chunk,
  Clock,
  DateTime,
  Effect,
  Exit,
  Fiber,
  Layer,
  Logger,
  Option,
  Redacted,
  Schema,
  Stream,
  TestClock,
  type Tracer
} from "effect"
import * as AccessTokens from "../src/AccessTokens.js"
import * as Helix from "../src/Helix.js"
import * as Channels from "../src/Helix/Channels.js"
import * as Chat from "../src/Helix/Chat.js"
import * as EventSubApi from "../src/Helix/EventSub.js"
import * as Extensions from "../src/Helix/Extensions.js"
import * as Moderation from "../src/Helix/Moderation.js"
import * as Users from "../src/Helix/Users.js"
import * as Whispers from "../src/Helix/Whispers.js"
import { AppToken, UserToken } from "../src/Token.js"
import * as TwitchConfig from "../src/TwitchConfig.js"
import { userById } from "./fixtures/helix.js"
import { withDeeplyNested } from "./fixtures/hostile.js"

// -----------------------------------------------------------------------------
// harness: a fake Helix server behind a fake HttpClient, and stub AccessTokens
// -----------------------------------------------------------------------------

interface Req {
  readonly method: string
  readonly path: string
  readonly query: URLSearchParams
  readonly headers: Readonly<Record<string, string>>
  readonly body: unknown
}

interface Res {
  readonly status: number
  readonly body?: string | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
}

type Handler = (req: Req) => Effect.Effect<Res>

const json = (status: number, body: unknown, headers?: Record<string, string>): Res => ({
  status,
  body: JSON.stringify(body),
  headers: { "content-type": "application/json", ...headers }
})

const bodyOf = (request: HttpClientRequest.HttpClientRequest): unknown =>
  request.body._tag === "Uint8Array" ? JSON.parse(new TextDecoder().decode(request.body.body)) : undefined

const fakeClient = (handler: Handler, log: Array<Req>) =>
  HttpClient.make((request, url) => {
    const req: Req = {
      method: request.method,
      path: url.pathname,
      query: url.searchParams,
      headers: request.headers,
      body: bodyOf(request)
    }
    log.push(req)
    return Effect.map(handler(req), (res) =>
      HttpClientResponse.fromWeb(
        request,
        new Response(res.status === 204 ? null : res.body ?? "", {
          status: res.status,
          ...(res.headers !== undefined ? { headers: res.headers } : {})
        })
      ))
  })

const userToken = (userId: string, token: string, scopes: ReadonlyArray<string>) =>
  new UserToken({
    userId,
    login: `user${userId}`,
    scopes,
    accessToken: Redacted.make(token),
    refreshToken: Option.none(),
    expiresAt: Option.none(),
    obtainedAt: DateTime.unsafeMake(0)
  })

interface TokenStub {
  readonly service: AccessTokens.AccessTokens.Service
  readonly refreshes: Array<string>
}

/** Users "42" (all scopes in `scopes`) and "7" (no scopes); app token "app-1". Refresh bumps the suffix. */
const tokenStub = (scopes: ReadonlyArray<string> = []): TokenStub => {
  const generation = new Map<string, number>()
  const refreshes: Array<string> = []
  const tokenFor = (userId: string) =>
    userToken(userId, `user-${userId}-${generation.get(userId) ?? 1}`, userId === "7" ? [] : scopes)
  const app = (): AppToken =>
    new AppToken({
      accessToken: Redacted.make(`app-${generation.get("app") ?? 1}`),
      expiresAt: Option.none(),
      obtainedAt: DateTime.unsafeMake(0)
    })
  return {
    refreshes,
    service: {
      forUser: (userId) =>
        userId === "404"
          ? Effect.fail(new AccessTokens.TokenNotFound({ userId }))
          : Effect.sync(() => tokenFor(userId)),
      refreshAfterUnauthorized: (userId, rejected) =>
        Effect.sync(() => {
          refreshes.push(`${userId}:${Redacted.value(rejected)}`)
          generation.set(userId, (generation.get(userId) ?? 1) + 1)
          return tokenFor(userId)
        }),
      app: Effect.sync(app),
      appAfterUnauthorized: (rejected) =>
        Effect.sync(() => {
          refreshes.push(`app:${Redacted.value(rejected)}`)
          generation.set("app", (generation.get("app") ?? 1) + 1)
          return app()
        }),
      refreshes: Stream.empty
    }
  }
}

const userJson = (id: string) => ({
  id,
  login: `login${id}`,
  display_name: `Login${id}`,
  type: "",
  broadcaster_type: "",
  description: "",
  profile_image_url: "https://example.com/p.png",
  offline_image_url: "",
  view_count: 0,
  created_at: "2020-01-01T00:00:00Z",
  extra_field_from_the_future: { nested: true }
})

const usersHandler: Handler = (req) => Effect.succeed(json(200, { data: req.query.getAll("id").map(userJson) }))

/** The first `count` requests answer 429 with an empty bucket whose reset is `resetIn` s from now; then users. */
const rateLimitedFirst = (count: number, resetIn: number): Handler => {
  let answered = 0
  return (req) =>
    answered++ >= count ?
      usersHandler(req) :
      Effect.map(Clock.currentTimeMillis, (now) =>
        json(429, { error: "Too Many Requests", status: 429, message: "slow down" }, {
          "ratelimit-limit": "800",
          "ratelimit-remaining": "0",
          "ratelimit-reset": String(Math.floor(now / 1000) + resetIn)
        }))
}

interface Setup {
  readonly handler: Handler
  readonly scopes?: ReadonlyArray<string>
  readonly options?: Helix.Options
  readonly requestTimeout?: number
}

/** Runs `f` with a Helix service over the fake server; `f` may also call the operations as functions. */
const run = <A, E>(
  setup: Setup,
  f: (
    helix: Helix.Helix.Service,
    ctx: { readonly log: Array<Req>; readonly tokens: TokenStub }
  ) => Effect.Effect<A, E, Helix.Helix>
): Effect.Effect<A, E> => {
  const log: Array<Req> = []
  const tokens = tokenStub(setup.scopes)
  const layer = Helix.layer(setup.options).pipe(
    Layer.provide(Layer.succeed(HttpClient.HttpClient, fakeClient(setup.handler, log))),
    Layer.provide(Layer.succeed(AccessTokens.AccessTokens, tokens.service)),
    Layer.provide(TwitchConfig.layer({
      clientId: "cid",
      helixUrl: "http://helix.test/helix",
      requestTimeout: setup.requestTimeout ?? 10_000
    }))
  )
  return Effect.flatMap(Helix.Helix, (helix) => f(helix, { log, tokens })).pipe(Effect.provide(layer))
}

const bearer = (req: Req) => req.headers["authorization"]

// -----------------------------------------------------------------------------

describe("Helix", () => {
  it.effect("sends Client-Id, the bearer token and the query, and decodes (extra fields ignored)", () =>
    run({ handler: usersHandler }, (helix, { log }) =>
      Effect.gen(function*() {
        const users = yield* Users.getUsers({ id: ["1"] })
        assert.strictEqual(users.length, 1)
        const u = users[0]!
        assert.strictEqual(u.display_name, "Login1")
        assert.strictEqual(u.created_at, "2020-01-01T00:00:00Z")
        assert.notProperty(u, "extra_field_from_the_future")
        assert.strictEqual(log.length, 1)
        assert.strictEqual(log[0].method, "GET")
        assert.strictEqual(log[0].path, "/helix/users")
        assert.deepStrictEqual(log[0].query.getAll("id"), ["1"])
        assert.strictEqual(log[0].headers["client-id"], "cid")
        assert.strictEqual(bearer(log[0]), "Bearer app-1")
        assert.isUndefined(log[0].headers["traceparent"])
        assert.isUndefined(log[0].headers["b3"])
        // `request` answers the whole body
        const body = yield* helix.request(Users.getUsers, { id: ["1"] })
        assert.deepStrictEqual(body.data.map((user) => user.login), ["login1"])
      })))

  it.effect("withUser / withApp / defaultUser choose the token, for effects and streams", () =>
    run({
      handler: (req) =>
        req.path.endsWith("/users")
          ? usersHandler(req)
          : Effect.succeed(json(200, { data: [], total: 3, pagination: {} })),
      scopes: ["moderator:read:followers"],
      options: { defaultUser: "9" }
    }, (helix, { log }) =>
      Effect.gen(function*() {
        yield* userById(helix, "1")
        yield* userById(helix, "1").pipe(Helix.withUser("42"))
        yield* Effect.gen(function*() {
          yield* userById(helix, "1")
          yield* userById(helix, "2").pipe(Helix.withApp)
          assert.strictEqual(yield* Helix.currentUserId, "42")
          // (chai's deepStrictEqual takes a None for any Some: compare the values)
          assert.strictEqual(Option.getOrUndefined(yield* helix.actingUserId), "42")
          assert.isTrue(Option.isNone(yield* helix.actingUserId.pipe(Helix.withApp)))
        }).pipe(Helix.withUser("42"))
        yield* Channels.getChannelFollowers({ broadcaster_id: "5" }).pipe(Helix.withUser("43"), Stream.runDrain)
        assert.deepStrictEqual(log.map(bearer), [
          "Bearer user-9-1",
          "Bearer user-42-1",
          "Bearer user-42-1",
          "Bearer app-1",
          "Bearer user-43-1"
        ])
        assert.isUndefined(yield* Helix.currentUserId)
        assert.strictEqual(Option.getOrUndefined(yield* helix.actingUserId), "9")
      })))

  it.effect("id lists over 100 are split into requests of at most 100 values, the data merged in order", () =>
    run({
      handler: (req) =>
        Effect.succeed(json(200, {
          data: [...req.query.getAll("id"), ...req.query.getAll("login").map((l) => l.replace("login", ""))].map(
            userJson
          )
        }))
    }, (_helix, { log }) =>
      Effect.gen(function*() {
        const ids = Array.from({ length: 250 }, (_, i) => String(i))
        const users = yield* Users.getUsers({ id: ids })
        assert.deepStrictEqual(users.map((user) => user.id), ids)
        assert.deepStrictEqual(log.map((req) => req.query.getAll("id").length), [100, 100, 50])
        assert.deepStrictEqual(log.flatMap((req) => req.query.getAll("id")), ids)

        // ids and logins together count against the same 100
        log.length = 0
        const some = ids.slice(0, 150)
        const logins = Array.from({ length: 60 }, (_, i) => `login${1000 + i}`)
        const mixed = yield* Users.getUsers({ id: some, login: logins })
        assert.strictEqual(mixed.length, 210)
        assert.deepStrictEqual(mixed.map((user) => user.id), [...some, ...logins.map((l) => l.replace("login", ""))])
        assert.strictEqual(log.length, 3)
        for (const req of log) assert.isAtMost(req.query.getAll("id").length + req.query.getAll("login").length, 100)

        // at most 100: one request, as given
        log.length = 0
        assert.strictEqual((yield* Users.getUsers({ id: ids.slice(0, 100) })).length, 100)
        assert.strictEqual(log.length, 1)

        // a multiple of 100: as many requests, none of them empty
        log.length = 0
        assert.strictEqual((yield* Users.getUsers({ id: ids.slice(0, 200) })).length, 200)
        assert.deepStrictEqual(log.map((req) => req.query.getAll("id").length), [100, 100])

        // none at all: still one request (Twitch then answers the token's own user)
        log.length = 0
        assert.deepStrictEqual(yield* Users.getUsers({}), [])
        assert.strictEqual(log.length, 1)
        assert.strictEqual(log[0].query.toString(), "")
      })))

  it.effect("401 → one refresh → the retry succeeds with the new token", () => {
    let calls = 0
    return run({
      handler: (req) => {
        calls++
        return bearer(req) === "Bearer user-42-1"
          ? Effect.succeed(json(401, { error: "Unauthorized", status: 401, message: "Invalid OAuth token" }))
          : usersHandler(req)
      }
    }, (helix, { log, tokens }) =>
      Effect.gen(function*() {
        const user = yield* userById(helix, "1").pipe(Helix.withUser("42"))
        assert.isTrue(Option.isSome(user))
        assert.deepStrictEqual(tokens.refreshes, ["42:user-42-1"])
        assert.deepStrictEqual(log.map(bearer), ["Bearer user-42-1", "Bearer user-42-2"])
        assert.strictEqual(calls, 2)
      }))
  })

  it.effect("401 again after the refresh → HelixUnauthorized, refreshed only once; app tokens too", () =>
    run({
      handler: () => Effect.succeed(json(401, { error: "Unauthorized", status: 401, message: "Invalid OAuth token" }))
    }, (helix, { log, tokens }) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(userById(helix, "1").pipe(Helix.withUser("42")))
        assert.strictEqual(error._tag, "HelixUnauthorized")
        assert.deepStrictEqual(tokens.refreshes, ["42:user-42-1"])
        assert.strictEqual(log.length, 2)
        const appError = yield* Effect.flip(userById(helix, "1"))
        assert.strictEqual(appError._tag, "HelixUnauthorized")
        assert.deepStrictEqual(tokens.refreshes, ["42:user-42-1", "app:app-1"])
        assert.notInclude(appError.message, "app-")
        assert.include(appError.message, "Invalid OAuth token")
      })))

  it.effect("a token that cannot be had is passed through (TokenNotFound)", () =>
    run({ handler: usersHandler }, (helix, { log }) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(userById(helix, "1").pipe(Helix.withUser("404")))
        assert.strictEqual(error._tag, "TokenNotFound")
        assert.strictEqual(log.length, 0)
      })))
  it.effect("429 with a reset in the future is waited out, then the retry succeeds", () =>
    run({ handler: rateLimitedFirst(1, 30) }, (helix, { log }) =>
      Effect.gen(function*() {
        const fiber = yield* Effect.fork(userById(helix, "1"))
        yield* TestClock.adjust("29 seconds")
        assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)))
        assert.strictEqual(log.length, 1)
        yield* TestClock.adjust("2 seconds")
        const user = yield* Fiber.join(fiber)
        assert.isTrue(Option.isSome(user))
        assert.strictEqual(log.length, 2)
      })))

  it.effect("429s beyond the bounded retries → HelixRateLimited with the reset", () =>
    run({
      handler: rateLimitedFirst(Infinity, 1),
      options: { maxRateLimitRetries: 2 }
    }, (helix, { log }) =>
      Effect.gen(function*() {
        const fiber = yield* Effect.fork(Effect.flip(userById(helix, "1")))
        yield* TestClock.adjust("10 seconds")
        const error = yield* Fiber.join(fiber)
        assert.strictEqual(error._tag, "HelixRateLimited")
        if (error._tag === "HelixRateLimited") assert.isNumber(error.resetAt)
        assert.strictEqual(log.length, 3)
      })))

  it.effect("a 429 whose reset has already passed (a clock ahead of Twitch's) is retried after a second", () =>
    run({ handler: rateLimitedFirst(1, -2) }, (helix, { log }) =>
      Effect.gen(function*() {
        yield* TestClock.setTime(Date.parse("2026-03-01T12:00:00Z"))
        const fiber = yield* Effect.fork(userById(helix, "1"))
        yield* TestClock.adjust("500 millis")
        assert.strictEqual(log.length, 1)
        yield* TestClock.adjust("1 second")
        const done = yield* Fiber.poll(fiber)
        assert.isTrue(Option.isSome(done), "not retried")
        assert.isTrue(Option.isSome(yield* Option.getOrThrow(done)))
        assert.strictEqual(log.length, 2)
      })))

  it.effect("a 429 whose reset is a day ahead is ignored (logged once) and holds up no call", () => {
    const lines: Array<string> = []
    const logger = Logger.make(({ logLevel, message }) => lines.push(`${logLevel.label} ${String(message)}`))
    return run(
      { handler: rateLimitedFirst(2, 86_400), requestTimeout: 5_000 },
      (helix, { log }) =>
        Effect.gen(function*() {
          const fiber = yield* Effect.fork(
            Effect.forEach(["1", "2", "3"], (id) => Effect.either(userById(helix, id)))
          )
          yield* TestClock.adjust("5 seconds")
          const done = yield* Fiber.poll(fiber)
          assert.isTrue(Option.isSome(done), "the calls after the 429 are still waiting")
          const users = yield* Option.getOrThrow(done)
          // the first call waited a second per 429 (a reset it cannot believe), then went through
          assert.deepStrictEqual(users.map((user) => user._tag), ["Right", "Right", "Right"])
          assert.strictEqual(log.length, 5)
          const warnings = lines.filter((line) => line.includes("Ratelimit-Reset"))
          assert.strictEqual(warnings.length, 1)
          assert.isTrue(warnings[0].startsWith("WARN"))
          assert.notInclude(warnings[0], "user-")
          assert.notInclude(warnings[0], "app-")
        }).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
    )
  })

  it.effect("a failed answer without Ratelimit-* headers (a proxy's 502) tells nothing: calls still go one at a time", () => {
    let answered = 0
    const handler: Handler = (req) =>
      Effect.zipRight(
        Effect.sleep("100 millis"),
        answered++ === 0
          ? Effect.succeed<Res>({ status: 502, body: "Bad Gateway" })
          : Effect.map(usersHandler(req), (res) => ({
            ...res,
            headers: { ...res.headers, "ratelimit-limit": "800", "ratelimit-remaining": "700" }
          }))
      )
    return run({ handler }, (helix, { log }) =>
      Effect.gen(function*() {
        const fibers = yield* Effect.forEach(["1", "2", "3", "4", "5"], (id) => Effect.fork(userById(helix, id)))
        yield* TestClock.adjust(1)
        assert.strictEqual(log.length, 1, "the first call probes the bucket alone")
        yield* TestClock.adjust(100)
        assert.strictEqual(log.length, 2, "after the 502, still one call at a time")
        yield* TestClock.adjust(100)
        assert.isAtLeast(log.length, 5, "an answer with headers lets the others go")
        yield* TestClock.adjust("10 seconds")
        for (const fiber of fibers) yield* Fiber.join(fiber)
      }))
  })

  it.effect("an answer with one point left for an hour: the next call times out instead of waiting on", () =>
    run({
      handler: (req) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.map(usersHandler(req), (res) => ({
            ...res,
            headers: {
              ...res.headers,
              "ratelimit-limit": "1",
              "ratelimit-remaining": "0",
              "ratelimit-reset": String(Math.floor(now / 1000) + 3_600)
            }
          }))),
      requestTimeout: 5_000
    }, (helix, { log }) =>
      Effect.gen(function*() {
        assert.isTrue(Option.isSome(yield* userById(helix, "1")))
        const fiber = yield* Effect.fork(Effect.flip(userById(helix, "2")))
        yield* TestClock.adjust("4 seconds")
        assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)))
        yield* TestClock.adjust("2 seconds")
        const done = yield* Fiber.poll(fiber)
        assert.isTrue(Option.isSome(done), "still waiting past the request timeout")
        const error = yield* Option.getOrThrow(done)
        assert.strictEqual(error._tag, "HelixTimeout")
        if (error._tag === "HelixTimeout") assert.isTrue(error.waitedForRateLimit)
        assert.strictEqual(log.length, 1)
      })))

  it.effect("missing scope is a typed forbidden naming the scope (checked before sending)", () =>
    run(
      { handler: () => Effect.succeed({ status: 204 }), scopes: ["user:write:chat"] },
      (_helix, { log }) =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(
            Moderation.banUser({ broadcaster_id: "1", data: { user_id: "2" } }).pipe(Helix.withUser("42"))
          )
          assert.strictEqual(error._tag, "HelixForbidden")
          if (error._tag === "HelixForbidden") {
            assert.deepStrictEqual(error.missingScopes, ["moderator:manage:banned_users"])
            assert.strictEqual(error.status, 0)
            assert.include(error.message, "moderator:manage:banned_users")
          }
          assert.strictEqual(log.length, 0)
        })
    ))

  it.effect("scopes are any-of: one of them is enough; none of them fails before sending, naming them all", () =>
    run({
      handler: () => Effect.succeed(json(200, { data: [], pagination: {} })),
      scopes: ["channel:manage:moderators"]
    }, (_helix, { log }) =>
      Effect.gen(function*() {
        // Get Moderators takes moderation:read or channel:manage:moderators; user 42 has the second
        yield* Stream.runDrain(Moderation.getModerators().pipe(Helix.withUser("42")))
        assert.strictEqual(log.length, 1)
        assert.strictEqual(bearer(log[0]), "Bearer user-42-1")
        assert.strictEqual(log[0].query.get("broadcaster_id"), "42")

        // user 7 has no scope at all
        const error = yield* Effect.flip(Stream.runDrain(Moderation.getModerators().pipe(Helix.withUser("7"))))
        assert.strictEqual(error._tag, "HelixForbidden")
        if (error._tag === "HelixForbidden") {
          assert.deepStrictEqual(error.missingScopes, ["moderation:read", "channel:manage:moderators"])
          assert.include(error.message, "moderation:read or channel:manage:moderators")
        }
        assert.strictEqual(log.length, 1)
      })))

  it.effect("missing scope reported by Twitch (403, or 401 as twitch-cli does) names the scope, no refresh", () => {
    let status = 403
    return run({
      handler: () =>
        Effect.succeed(json(status, {
          error: status === 403 ? "Forbidden" : "Unauthorized",
          status,
          message: "Missing scope: moderator:read:followers"
        })),
      // the token has the scope as far as the library knows: Twitch disagrees
      scopes: ["moderator:read:followers"]
    }, (_helix, { log, tokens }) =>
      Effect.gen(function*() {
        const followers = Channels.getChannelFollowers({ broadcaster_id: "1" })
        const error = yield* Effect.flip(followers.pipe(Stream.runDrain, Helix.withUser("42")))
        assert.strictEqual(error._tag, "HelixForbidden")
        if (error._tag === "HelixForbidden") {
          assert.deepStrictEqual(error.missingScopes, ["moderator:read:followers"])
          assert.strictEqual(error.status, 403)
        }
        status = 401
        const error401 = yield* Effect.flip(followers.pipe(Stream.runDrain, Helix.withUser("42")))
        assert.strictEqual(error401._tag, "HelixForbidden")
        assert.deepStrictEqual(tokens.refreshes, [])
        assert.strictEqual(log.length, 2)
      }))
  })

  it.effect("pagination over 1,000 followers yields each exactly once, page by page", () => {
    const followers = Array.from({ length: 1000 }, (_, i) => ({
      user_id: String(i),
      user_login: `f${i}`,
      user_name: `F${i}`,
      followed_at: "2024-01-01T00:00:00Z"
    }))
    const handler: Handler = (req) => {
      const first = Number(req.query.get("first") ?? "20")
      const start = Number(req.query.get("after") ?? "0")
      const data = followers.slice(start, start + first)
      const next = start + first
      return Effect.succeed(json(200, {
        data,
        total: followers.length,
        pagination: next < followers.length ? { cursor: String(next) } : {}
      }))
    }
    return run({ handler, scopes: ["moderator:read:followers"] }, (helix, { log }) =>
      Effect.gen(function*() {
        const all = yield* Stream.runCollect(
          Channels.getChannelFollowers({ broadcaster_id: "1" }).pipe(Helix.withUser("42"))
        )
        const ids = Chunk.toReadonlyArray(all).map((f) => f.user_id)
        assert.strictEqual(ids.length, 1000)
        assert.strictEqual(new Set(ids).size, 1000)
        assert.strictEqual(log.length, 10)
        assert.isTrue(log.every((req) => req.query.get("first") === "100"))
        assert.deepStrictEqual(log.map((req) => req.query.get("after")), [
          null,
          ...Array.from({ length: 9 }, (_, i) => String((i + 1) * 100))
        ])

        // stoppable: taking fewer fetches only what is needed
        log.length = 0
        const few = yield* Stream.runCollect(
          helix.paginate(Channels.getChannelFollowers, { broadcaster_id: "1" }).pipe(
            Stream.take(150),
            Helix.withUser("42")
          )
        )
        assert.strictEqual(Chunk.size(few), 150)
        assert.strictEqual(log.length, 2)

        // a smaller page size, never above the operation's
        log.length = 0
        yield* Stream.runDrain(
          Channels.getChannelFollowers({ broadcaster_id: "1" }, { pageSize: 250 }).pipe(
            Stream.take(1),
            Helix.withUser("42")
          )
        )
        yield* Stream.runDrain(
          Channels.getChannelFollowers({ broadcaster_id: "1" }, { pageSize: 50 }).pipe(
            Stream.take(1),
            Helix.withUser("42")
          )
        )
        assert.deepStrictEqual(log.map((req) => req.query.get("first")), ["100", "50"])

        // `request` answers the first page with its total and cursor
        log.length = 0
        const page = yield* helix.request(Channels.getChannelFollowers, { broadcaster_id: "1" }).pipe(
          Helix.withUser("42")
        )
        assert.strictEqual(page.total, 1000)
        assert.strictEqual(page.data.length, 20)
        assert.strictEqual(page.pagination?.cursor, "20")
        assert.strictEqual(log.length, 1)
      }))
  })

  it.effect("the acting user is filled in from withUser / defaultUser; a given one is kept", () =>
    run({
      handler: () => Effect.succeed({ status: 204 }),
      scopes: ["user:manage:whispers", "moderator:manage:announcements"],
      options: { defaultUser: "9" }
    }, (_helix, { log }) =>
      Effect.gen(function*() {
        yield* Whispers.sendWhisper({ to_user_id: "2", message: "psst" })
        yield* Whispers.sendWhisper({ to_user_id: "2", message: "psst" }).pipe(Helix.withUser("42"))
        yield* Chat.sendChatAnnouncement({ broadcaster_id: "1", message: "hi all" }).pipe(Helix.withUser("42"))
        // given: kept as it is (the token stays the context's: Twitch says whether they match)
        yield* Whispers.sendWhisper({ from_user_id: "5", to_user_id: "2", message: "psst" }).pipe(
          Helix.withUser("42")
        )
        assert.deepStrictEqual(log.map((req) => [bearer(req), req.query.get("from_user_id")]), [
          ["Bearer user-9-1", "9"],
          ["Bearer user-42-1", "42"],
          ["Bearer user-42-1", null],
          ["Bearer user-42-1", "5"]
        ])
        assert.strictEqual(log[2].query.get("moderator_id"), "42")
        assert.deepStrictEqual(log[0].body, { message: "psst" })
      })))

  it.effect("a user-token operation with the app token: the given acting user's token, else HelixUserRequired", () =>
    run(
      { handler: () => Effect.succeed({ status: 204 }), scopes: ["user:manage:whispers"] },
      (_helix, { log }) =>
        Effect.gen(function*() {
          yield* Whispers.sendWhisper({ from_user_id: "42", to_user_id: "2", message: "psst" })
          assert.strictEqual(bearer(log[0]), "Bearer user-42-1")

          const error = yield* Effect.flip(Whispers.sendWhisper({ to_user_id: "2", message: "psst" }))
          assert.strictEqual(error._tag, "HelixUserRequired")
          assert.include(error.message, "Helix.withUser")
          assert.include(error.message, "from_user_id")
          if (error._tag === "HelixUserRequired") assert.strictEqual(error.endpoint, "POST /whispers")
          const explicit = yield* Effect.flip(
            Whispers.sendWhisper({ to_user_id: "2", message: "psst" }).pipe(Helix.withApp)
          )
          assert.strictEqual(explicit._tag, "HelixUserRequired")
          // an operation without an acting parameter
          const followers = yield* Effect.flip(Stream.runDrain(Channels.getChannelFollowers({ broadcaster_id: "1" })))
          assert.strictEqual(followers._tag, "HelixUserRequired")
          assert.strictEqual(log.length, 1)
        })
    ))

  it.effect("Send Chat Message: the sender is the current user; a dropped message answers is_sent false", () =>
    run({
      handler: (req) =>
        Effect.succeed(json(200, {
          data: [{
            message_id: "",
            is_sent: false,
            drop_reason: { code: "msg_duplicate", message: "duplicate message" }
          }],
          echo: req.body
        })),
      scopes: ["user:write:chat"]
    }, (helix, { log }) =>
      Effect.gen(function*() {
        const [sent] = yield* Chat.sendChatMessage({
          broadcaster_id: "1",
          message: "hi",
          reply_parent_message_id: "p1"
        })
          .pipe(Helix.withUser("42"))
        assert.isFalse(sent!.is_sent)
        assert.deepStrictEqual(sent!.drop_reason, { code: "msg_duplicate", message: "duplicate message" })
        assert.deepStrictEqual(log[0].body, {
          broadcaster_id: "1",
          sender_id: "42",
          message: "hi",
          reply_parent_message_id: "p1"
        })
        assert.strictEqual(bearer(log[0]), "Bearer user-42-1")
        // `request` answers the whole body
        const body = yield* helix.request(Chat.sendChatMessage, { broadcaster_id: "1", message: "hi" }).pipe(
          Helix.withUser("42")
        )
        assert.strictEqual(body.data[0]!.drop_reason?.code, "msg_duplicate")
        assert.strictEqual((log[1].body as { sender_id: string }).sender_id, "42")
      })))

  it.effect("an Extension's JWT is the bearer token, never a parameter, and is not refreshed", () => {
    let status = 200
    return run({
      handler: () =>
        Effect.succeed(
          status === 200
            ? json(200, { data: [] })
            : json(401, { error: "Unauthorized", status: 401, message: "Invalid JWT" })
        )
    }, (_helix, { log, tokens }) =>
      Effect.gen(function*() {
        const input = { extension_id: "ext1", segment: "global", extension_jwt: Redacted.make("jwt-abc") }
        assert.deepStrictEqual(yield* Extensions.getExtensionConfigurationSegment(input), [])
        // the acting user's token is not used either
        yield* Extensions.getExtensionConfigurationSegment(input).pipe(Helix.withUser("42"))
        assert.deepStrictEqual(log.map(bearer), ["Bearer jwt-abc", "Bearer jwt-abc"])
        assert.deepStrictEqual([...log[0].query.keys()].sort(), ["extension_id", "segment"])
        assert.notInclude(log[0].query.toString(), "jwt")
        assert.strictEqual(log[0].headers["client-id"], "cid")

        status = 401
        const error = yield* Effect.flip(Extensions.getExtensionConfigurationSegment(input))
        assert.strictEqual(error._tag, "HelixUnauthorized")
        assert.notInclude(error.message, "jwt-abc")
        assert.deepStrictEqual(tokens.refreshes, [])
        assert.strictEqual(log.length, 3)
      }))
  })
  it.effect("malformed, truncated, HTML and mistyped bodies are decode errors naming endpoint and field", () => {
    const bodies = [
      "<html><body>502 Bad Gateway</body></html>",
      "{\"data\": [{\"id\": \"1\"",
      JSON.stringify({ data: [{ ...userJson("1"), login: 5 }] }),
      JSON.stringify({ data: [{ ...userJson("1"), created_at: undefined }] }),
      JSON.stringify({ nope: true }),
      ""
    ]
    let i = 0
    return run(
      { handler: () => Effect.succeed({ status: 200, body: bodies[i++] }) },
      (helix) =>
        Effect.gen(function*() {
          const errors = []
          for (let n = 0; n < bodies.length; n++) errors.push(yield* Effect.flip(userById(helix, "1")))
          for (const error of errors) {
            assert.strictEqual(error._tag, "HelixDecodeError")
            if (error._tag === "HelixDecodeError") assert.strictEqual(error.endpoint, "GET /users")
          }
          const paths = errors.map((e) => (e._tag === "HelixDecodeError" ? e.path : "?"))
          assert.strictEqual(paths[2], "data[0].login")
          assert.strictEqual(paths[3], "data[0].created_at")
          assert.strictEqual(paths[4], "data")
          assert.include(errors[2].message, "data[0].login")
        })
    )
  })

  it.effect("deeply nested JSON (success and error answers) is a typed error, not a stack overflow", () => {
    const replies = [
      { status: 200, body: withDeeplyNested({ data: [{ ...userJson("1"), login: "@DEEP@" }] }) },
      { status: 404, body: withDeeplyNested({ error: "Not Found", status: 404, message: "@DEEP@" }) }
    ]
    let i = 0
    return run({ handler: () => Effect.succeed(replies[i++]!) }, (helix) =>
      Effect.gen(function*() {
        const decode = yield* Effect.flip(userById(helix, "1"))
        assert.strictEqual(decode._tag, "HelixDecodeError")
        assert.include(decode.message, "nested deeper")
        const notFound = yield* Effect.flip(userById(helix, "1"))
        assert.strictEqual(notFound._tag, "HelixNotFound")
      }))
  })

  it.effect("503 is retried (even with maxRetries 0); 500s end in HelixServerError after the bounded retries", () => {
    let n = 0
    return run({
      handler: (req) => {
        n++
        if (req.query.get("id") === "503") {
          return n === 1
            ? Effect.succeed(json(503, { error: "Service Unavailable", status: 503, message: "" }))
            : usersHandler(req)
        }
        return Effect.succeed(json(500, { error: "Internal Server Error", status: 500, message: "boom" }))
      },
      options: { maxRetries: 0 }
    }, (helix, { log }) =>
      Effect.gen(function*() {
        const fiber = yield* Effect.fork(userById(helix, "503"))
        yield* TestClock.adjust("10 seconds")
        const user = yield* Fiber.join(fiber)
        assert.strictEqual(Option.getOrThrow(user).id, "503")
        assert.strictEqual(log.length, 2)

        log.length = 0
        const error = yield* Effect.flip(userById(helix, "1"))
        assert.strictEqual(error._tag, "HelixServerError")
        assert.strictEqual(log.length, 1)
      }))
  })

  it.effect("5xx retries are bounded and jittered on a schedule; no resend after a success", () =>
    run({
      handler: () => Effect.succeed(json(502, { error: "Bad Gateway", status: 502, message: "" })),
      options: { maxRetries: 3 }
    }, (helix, { log }) =>
      Effect.gen(function*() {
        const fiber = yield* Effect.fork(Effect.flip(userById(helix, "1")))
        yield* TestClock.adjust("1 minute")
        const error = yield* Fiber.join(fiber)
        assert.strictEqual(error._tag, "HelixServerError")
        assert.strictEqual(log.length, 4)
      })))

  it.effect("transport errors are retried for GET, not for POST", () => {
    let fail = true
    const client = (log: Array<Req>) =>
      HttpClient.make((request, url) => {
        log.push({ method: request.method, path: url.pathname, query: url.searchParams, headers: {}, body: undefined })
        if (fail) {
          fail = false
          return Effect.fail(
            new HttpClientError.RequestError({ request, reason: "Transport", description: "ECONNRESET" })
          )
        }
        return Effect.succeed(
          HttpClientResponse.fromWeb(request, new Response(JSON.stringify({ data: [userJson("1")] })))
        )
      })
    const log: Array<Req> = []
    const layer = Helix.layer().pipe(
      Layer.provide(Layer.succeed(HttpClient.HttpClient, client(log))),
      Layer.provide(Layer.succeed(AccessTokens.AccessTokens, tokenStub().service)),
      Layer.provide(TwitchConfig.layer({ clientId: "cid" }))
    )
    return Effect.gen(function*() {
      const helix = yield* Helix.Helix
      const fiber = yield* Effect.fork(userById(helix, "1"))
      yield* TestClock.adjust("10 seconds")
      assert.isTrue(Option.isSome(yield* Fiber.join(fiber)))
      assert.strictEqual(log.length, 2)
      fail = true
      const error = yield* Effect.flip(
        helix.request(Chat.sendChatMessage, { broadcaster_id: "1", sender_id: "2", message: "x" })
      )
      assert.strictEqual(error._tag, "HelixTransportError")
      assert.strictEqual(log.length, 3)
    }).pipe(Effect.provide(layer))
  })

  it.effect("a hung server ends in HelixTimeout", () =>
    run(
      { handler: () => Effect.never, requestTimeout: 5_000, scopes: ["user:manage:whispers"] },
      () =>
        Effect.gen(function*() {
          const fiber = yield* Effect.fork(
            Whispers.sendWhisper({ from_user_id: "42", to_user_id: "2", message: "hello" }).pipe(Effect.exit)
          )
          yield* TestClock.adjust("4 seconds")
          assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)))
          yield* TestClock.adjust("2 seconds")
          const exit = yield* Fiber.join(fiber)
          assert.isTrue(Exit.isFailure(exit))
          const error = yield* Effect.flip(exit)
          assert.strictEqual(error._tag, "HelixTimeout")
        })
    ))

  it.effect("error bodies are kept: 404, 409, 400", () => {
    const statuses = [404, 409, 400, 422]
    let i = 0
    return run({
      handler: () => {
        const status = statuses[i++]
        return Effect.succeed(json(status, { error: "X", status, message: `m${status}` }))
      }
    }, () =>
      Effect.gen(function*() {
        const tags = []
        for (let n = 0; n < statuses.length; n++) {
          const error = yield* Effect.flip(EventSubApi.deleteEventsubSubscription({ id: "s1" }))
          tags.push(error._tag)
          if ("twitchMessage" in error) assert.strictEqual(error.twitchMessage, `m${statuses[n]}`)
        }
        assert.deepStrictEqual(tags, ["HelixNotFound", "HelixConflict", "HelixBadRequest", "HelixBadRequest"])
      }))
  })

  it.effect("EventSub subscriptions: create (202 with totals), list as a stream, delete (204)", () =>
    run({
      handler: (req) => {
        const sub = (id: string) => ({
          id,
          status: "enabled",
          type: "channel.follow",
          version: "2",
          condition: { broadcaster_user_id: "1", moderator_user_id: "1" },
          created_at: "2024-01-01T00:00:00.123Z",
          transport: { method: "websocket", session_id: "sess", connected_at: "2024-01-01T00:00:00Z" },
          cost: 0
        })
        if (req.method === "POST") {
          return Effect.succeed(json(202, { data: [sub("new")], total: 1, total_cost: 0, max_total_cost: 10 }))
        }
        if (req.method === "DELETE") return Effect.succeed({ status: 204 })
        const after = req.query.get("after")
        return Effect.succeed(json(200, {
          data: after === null ? [sub("a"), sub("b")] : [sub("c")],
          total: 3,
          total_cost: 0,
          max_total_cost: 10,
          pagination: after === null ? { cursor: "x" } : {}
        }))
      }
    }, (helix, { log }) =>
      Effect.gen(function*() {
        const created = yield* helix.request(EventSubApi.createEventsubSubscription, {
          type: "channel.follow",
          version: "2",
          condition: { broadcaster_user_id: "1", moderator_user_id: "1" },
          transport: { method: "websocket", session_id: "sess" }
        }).pipe(Helix.withUser("42"))
        assert.strictEqual(created.data[0]!.id, "new")
        assert.strictEqual(created.max_total_cost, 10)
        assert.deepStrictEqual(log[0].body, {
          type: "channel.follow",
          version: "2",
          condition: { broadcaster_user_id: "1", moderator_user_id: "1" },
          transport: { method: "websocket", session_id: "sess" }
        })
        const subs = yield* Stream.runCollect(EventSubApi.getEventsubSubscriptions({ type: "channel.follow" }))
        assert.deepStrictEqual(Chunk.toReadonlyArray(subs).map((s) => s.id), ["a", "b", "c"])
        assert.strictEqual(Chunk.unsafeGet(subs, 0).transport.session_id, "sess")
        assert.strictEqual(log[1].query.get("type"), "channel.follow")
        assert.strictEqual(log[2].query.get("after"), "x")
        yield* EventSubApi.deleteEventsubSubscription({ id: "a" })
        assert.strictEqual(log[3].method, "DELETE")
        assert.strictEqual(log[3].query.get("id"), "a")
      })))

  // Twitch's Get EventSub Subscriptions (also Get User Emotes, Get Conduit Shards) takes `after` but no `first`
  it.effect("Get EventSub Subscriptions sends no `first` (Twitch takes none)", () =>
    run({
      handler: () =>
        Effect.succeed(json(200, { data: [], total: 0, total_cost: 0, max_total_cost: 10, pagination: {} }))
    }, (_helix, { log }) =>
      Effect.gen(function*() {
        yield* Stream.runDrain(EventSubApi.getEventsubSubscriptions())
        assert.isNull(log[0].query.get("first"))
      })))

  it.effect("Send Chat Message with the app token and no sender_id fails before sending (Twitch requires it)", () =>
    run({ handler: () => Effect.succeed(json(200, { data: [] })) }, (_helix, { log }) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(
          Chat.sendChatMessage({ broadcaster_id: "1", message: "hi" }).pipe(Helix.withApp)
        )
        assert.strictEqual(error._tag, "HelixUserRequired")
        assert.strictEqual(log.length, 0)
        yield* Chat.sendChatMessage({ broadcaster_id: "1", sender_id: "42", message: "hi" }).pipe(Helix.withApp)
        assert.strictEqual(log[0]!.headers["authorization"], "Bearer app-1")
        assert.strictEqual(log[0]!.body && (log[0]!.body as { sender_id: string }).sender_id, "42")
      })))
})

// -----------------------------------------------------------------------------
// the request runtime in detail: endpoints declared with `Helix.endpoint`
// -----------------------------------------------------------------------------

const Item = Schema.Struct({ id: Schema.String })

/** A paginated endpoint whose `pagination` may be `{ cursor }`, the cursor itself, or null. */
const listItems = Helix.endpoint({
  name: "listItems",
  method: "GET",
  path: "/items",
  pageSize: 100,
  response: Schema.Struct({
    data: Schema.Array(Item),
    pagination: Schema.optional(Schema.Union(Schema.String, Schema.Null, Helix.Pagination))
  })
})

/** An endpoint of each method, path given without the leading slash, answering `{ data }`. */
const itemsWith = (method: "GET" | "HEAD" | "OPTIONS" | "PUT" | "DELETE" | "PATCH" | "POST") =>
  Helix.endpoint({
    name: `items${method}`,
    method,
    path: "items",
    response: Schema.Struct({ data: Schema.Array(Item) })
  })

const itemsWithPages = Helix.endpoint({
  name: "itemsWithPages",
  method: "GET",
  path: "/items",
  response: Schema.Struct({ data: Schema.Array(Item) })
})

const appOnly = Helix.endpoint({ name: "appOnly", method: "GET", path: "/app-only", token: "app" })

type BatchedInput = { readonly broadcaster_id: string; readonly id: ReadonlyArray<string> }

/** Batched by `id`, with a field of its own (`broadcaster_id`) that every batch must keep. */
const batchedItems = Helix.endpoint({
  name: "batchedItems",
  method: "GET",
  path: "/items",
  batch: ["id"],
  query: (input: BatchedInput) => input,
  response: Schema.Struct({ data: Schema.Array(Item) })
})

type EchoInput = { readonly q: string; readonly text: string }

/** No acting user: its query and body are made of the whole input. */
const echo = Helix.endpoint({
  name: "echo",
  method: "POST",
  path: "/echo",
  query: (input: EchoInput) => input,
  body: (input: EchoInput) => input
})

const items = (...ids: ReadonlyArray<string>) => ({ data: ids.map((id) => ({ id })) })

/** The names of the current span and its parents, innermost first. */
const spanNames: Effect.Effect<ReadonlyArray<string>> = Effect.map(Effect.option(Effect.currentSpan), (span) => {
  const names: Array<string> = []
  let current: Option.Option<Tracer.AnySpan> = span
  while (Option.isSome(current)) {
    if (current.value._tag === "Span") {
      names.push(current.value.name)
      current = current.value.parent
    } else current = Option.none()
  }
  return names
})

describe("Helix runtime", () => {
  it.effect("the base URL may end in a slash, a path need not start with one; Accept asks for JSON", () =>
    Effect.gen(function*() {
      const log: Array<Req> = []
      const layer = Helix.layer().pipe(
        Layer.provide(Layer.succeed(HttpClient.HttpClient, fakeClient(() => Effect.succeed(json(200, items())), log))),
        Layer.provide(Layer.succeed(AccessTokens.AccessTokens, tokenStub().service)),
        // a config built by hand may keep the slash (`TwitchConfig.make` trims it)
        Layer.provide(Layer.succeed(TwitchConfig.TwitchConfig, {
          ...TwitchConfig.make({ clientId: "cid" }),
          helixUrl: "http://helix.test/helix/"
        }))
      )
      yield* Helix.use((helix) => helix.request(itemsWith("GET"), {})).pipe(Effect.provide(layer))
      assert.strictEqual(log[0].path, "/helix/items")
      assert.strictEqual(log[0].headers["accept"], "application/json")
    }))

  it.effect("each call is a span named after the operation, for requests and streams", () => {
    const seen: Array<ReadonlyArray<string>> = []
    return run({
      handler: () => Effect.map(spanNames, (names) => (seen.push(names), json(200, items("1"))))
    }, (helix) =>
      Effect.gen(function*() {
        yield* helix.request(listItems, {})
        yield* Stream.runDrain(helix.paginate(itemsWithPages, {}))
        assert.strictEqual(seen.length, 2)
        assert.include(seen[0], "Helix.listItems")
        assert.include(seen[1], "Helix.itemsWithPages")
      }))
  })

  it.effect("pagination ends at a null, empty or repeated cursor, or an empty page; a string cursor is followed", () => {
    // pages keyed by the `after` they answer; each scenario starts at "start"
    const scenarios: Record<string, Record<string, unknown>> = {
      null: { start: { ...items("1"), pagination: null } },
      empty: { start: { ...items("1"), pagination: { cursor: "" } } },
      nullCursor: { start: { ...items("1"), pagination: { cursor: null } } },
      absent: { start: items("1") },
      repeated: { start: { ...items("1"), pagination: { cursor: "c1" } }, c1: { ...items("2"), pagination: "c1" } },
      emptyPage: { start: { ...items("1"), pagination: "c1" }, c1: { data: [], pagination: "c2" } },
      string: { start: { ...items("1"), pagination: "c1" }, c1: { ...items("2"), pagination: { cursor: "c2" } } }
    }
    let scenario = "null"
    return run({
      handler: (req) => Effect.succeed(json(200, scenarios[scenario][req.query.get("after") ?? "start"] ?? items()))
    }, (helix, { log }) =>
      Effect.gen(function*() {
        const collect = (name: string) =>
          Effect.suspend(() => {
            scenario = name
            log.length = 0
            return Effect.map(
              Stream.runCollect(helix.paginate(listItems, {}).pipe(Stream.take(10))),
              (all) => Chunk.toReadonlyArray(all).map((item) => item.id)
            )
          })
        for (const name of ["null", "empty", "nullCursor", "absent"]) {
          assert.deepStrictEqual(yield* collect(name), ["1"])
          assert.strictEqual(log.length, 1, name)
        }
        assert.deepStrictEqual(yield* collect("repeated"), ["1", "2"])
        assert.strictEqual(log.length, 2)
        assert.deepStrictEqual(yield* collect("emptyPage"), ["1"])
        assert.strictEqual(log.length, 2)
        assert.deepStrictEqual(yield* collect("string"), ["1", "2"])
        assert.deepStrictEqual(log.map((req) => req.query.get("after")), [null, "c1", "c2"])
        // the page parameters and nothing else
        assert.deepStrictEqual(log.map((req) => req.query.toString()), [
          "first=100",
          "first=100&after=c1",
          "first=100&after=c2"
        ])
      }))
  })

  it.effect("a page size below one asks for one item per page", () =>
    run({ handler: () => Effect.succeed(json(200, items("1"))) }, (helix, { log }) =>
      Effect.gen(function*() {
        yield* Stream.runDrain(helix.paginate(listItems, {}, { pageSize: 0 }))
        assert.strictEqual(log[0].query.get("first"), "1")
      })))

  it.effect("each batch keeps the input's other fields", () =>
    run({
      handler: (req) => Effect.succeed(json(200, items(...req.query.getAll("id"))))
    }, (helix, { log }) =>
      Effect.gen(function*() {
        const ids = Array.from({ length: 150 }, (_, i) => String(i))
        const answer = yield* helix.request(batchedItems, { broadcaster_id: "5", id: ids })
        assert.deepStrictEqual(answer.data.map((item) => item.id), ids)
        assert.deepStrictEqual(log.map((req) => req.query.getAll("broadcaster_id")), [["5"], ["5"]])
      })))

  it.effect("batches run four at a time", () => {
    let inFlight = 0
    let most = 0
    return run({
      handler: (req) =>
        Effect.suspend(() => {
          inFlight++
          most = Math.max(most, inFlight)
          return Effect.as(Effect.sleep("1 second"), json(200, items(...req.query.getAll("id"))))
        }).pipe(Effect.ensuring(Effect.sync(() => inFlight--)))
    }, (helix, { log }) =>
      Effect.gen(function*() {
        // a first answer without rate-limit headers: the bucket is not limited
        yield* Effect.fork(helix.request(itemsWith("GET"), {}))
        yield* TestClock.adjust("1 second")
        const ids = Array.from({ length: 600 }, (_, i) => String(i))
        const fiber = yield* Effect.fork(helix.request(batchedItems, { broadcaster_id: "5", id: ids }))
        yield* TestClock.adjust("1 minute")
        const answer = yield* Fiber.join(fiber)
        assert.deepStrictEqual(answer.data.map((item) => item.id), ids)
        assert.strictEqual(log.length, 7)
        assert.strictEqual(most, 4)
      }))
  })

  it.effect("an endpoint without an acting user gets its input as given, under withUser too", () =>
    run({ handler: () => Effect.succeed({ status: 204 }) }, (helix, { log }) =>
      Effect.gen(function*() {
        yield* helix.request(echo, { q: "1", text: "hi" }).pipe(Helix.withUser("42"))
        assert.strictEqual(bearer(log[0]), "Bearer user-42-1")
        assert.strictEqual(log[0].query.toString(), "q=1&text=hi")
        assert.deepStrictEqual(log[0].body, { q: "1", text: "hi" })
      })))

  it.effect("an app-token operation uses the app token under withUser", () =>
    run({ handler: () => Effect.succeed({ status: 204 }) }, (helix, { log }) =>
      Effect.gen(function*() {
        yield* helix.request(appOnly, {}).pipe(Helix.withUser("42"))
        assert.strictEqual(bearer(log[0]), "Bearer app-1")
      })))

  it.effect("a JWT operation without a Redacted extension_jwt fails before sending", () =>
    run({ handler: () => Effect.succeed(json(200, { data: [] })) }, (helix, { log }) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(
          helix.request(Extensions.getExtensionConfigurationSegment, {
            extension_id: "ext1",
            segment: "global",
            extension_jwt: "jwt-abc" as unknown as Redacted.Redacted
          })
        )
        assert.strictEqual(error._tag, "HelixUserRequired")
        assert.include(error.message, "needs the Extension's JWT")
        assert.strictEqual(log.length, 0)
      })))

  it.effect("HelixUserRequired says what to pass", () =>
    run({ handler: () => Effect.succeed({ status: 204 }) }, (helix) =>
      Effect.gen(function*() {
        const followers = yield* Effect.flip(helix.request(Channels.getChannelFollowers, { broadcaster_id: "1" }))
        assert.strictEqual(
          followers.message,
          "Helix.getChannelFollowers (GET /channels/followers): it needs a user token and runs with the app token: use Helix.withUser(userId)"
        )
        const chat = yield* Effect.flip(helix.request(Chat.sendChatMessage, { broadcaster_id: "1", message: "hi" }))
        assert.strictEqual(
          chat.message,
          "Helix.sendChatMessage (POST /chat/messages): it runs with the app token and Twitch requires sender_id: pass it, or use Helix.withUser(userId)"
        )
      })))

  it.effect("the scope check names the scope the token lacks, or the scopes it lacks any of", () =>
    run({ handler: () => Effect.succeed({ status: 204 }) }, () =>
      Effect.gen(function*() {
        const ban = yield* Effect.flip(
          Moderation.banUser({ broadcaster_id: "1", data: { user_id: "2" } }).pipe(Helix.withUser("7"))
        )
        assert.strictEqual(
          ban._tag === "HelixForbidden" ? ban.twitchMessage : undefined,
          "the token of user 7 lacks moderator:manage:banned_users"
        )
        const mods = yield* Effect.flip(Stream.runDrain(Moderation.getModerators().pipe(Helix.withUser("7"))))
        assert.strictEqual(
          mods._tag === "HelixForbidden" ? mods.twitchMessage : undefined,
          "the token of user 7 lacks any of moderation:read, channel:manage:moderators"
        )
      })))

  it.effect("a call that fails before sending leaves its token's queue free for the next", () =>
    run({ handler: usersHandler, requestTimeout: 5_000 }, (helix, { log }) =>
      Effect.gen(function*() {
        // user 7 has no scope: the ban fails after its permit was granted (the bucket's first, a probe)
        const ban = yield* Effect.flip(
          Moderation.banUser({ broadcaster_id: "1", data: { user_id: "2" } }).pipe(Helix.withUser("7"))
        )
        assert.strictEqual(ban._tag, "HelixForbidden")
        const fiber = yield* Effect.fork(userById(helix, "1").pipe(Helix.withUser("7")))
        yield* TestClock.adjust("1 millis")
        const done = yield* Fiber.poll(fiber)
        assert.isTrue(Option.isSome(done), "the next call of user 7 waits")
        assert.strictEqual(log.length, 1)
      })))

  it.effect("each token has a bucket of its own: an exhausted one holds up no other user, the app or Extensions", () =>
    run({
      handler: () =>
        Effect.map(Clock.currentTimeMillis, (now) =>
          json(200, { data: [] }, {
            "ratelimit-limit": "1",
            "ratelimit-remaining": "0",
            "ratelimit-reset": String(Math.floor(now / 1000) + 60)
          })),
      requestTimeout: 5_000
    }, (helix, { log }) =>
      Effect.gen(function*() {
        const jwt = { extension_id: "ext1", segment: "global", extension_jwt: Redacted.make("jwt-abc") }
        const calls = [
          helix.request(appOnly, {}),
          Extensions.getExtensionConfigurationSegment(jwt),
          helix.request(itemsWith("GET"), {}).pipe(Helix.withUser("42")),
          helix.request(itemsWith("GET"), {}).pipe(Helix.withUser("43"))
        ]
        // each call empties its bucket for a minute: none waits for another
        for (const call of calls) {
          const fiber = yield* Effect.fork(call)
          yield* TestClock.adjust("1 millis")
          assert.isTrue(Option.isSome(yield* Fiber.poll(fiber)), `call ${log.length} held up by another bucket`)
        }
        assert.deepStrictEqual(log.map(bearer), [
          "Bearer app-1",
          "Bearer jwt-abc",
          "Bearer user-42-1",
          "Bearer user-43-1"
        ])
      })))

  it.effect("after a 401 the call is retried with the token the refresh returned", () =>
    Effect.gen(function*() {
      const log: Array<Req> = []
      const stale = userToken("42", "stale", [])
      const tokens: AccessTokens.AccessTokens.Service = {
        ...tokenStub().service,
        // the store still hands out the rejected token: the refreshed one is what the refresh returned
        forUser: () => Effect.succeed(stale),
        refreshAfterUnauthorized: () => Effect.succeed(userToken("42", "fresh", []))
      }
      const layer = Helix.layer().pipe(
        Layer.provide(Layer.succeed(
          HttpClient.HttpClient,
          fakeClient(
            (req) =>
              Effect.succeed(
                bearer(req) === "Bearer fresh" ? json(200, items("1")) : json(401, { status: 401, message: "" })
              ),
            log
          )
        )),
        Layer.provide(Layer.succeed(AccessTokens.AccessTokens, tokens)),
        Layer.provide(TwitchConfig.layer({ clientId: "cid" }))
      )
      const answer = yield* Helix.use((helix) => helix.request(itemsWith("GET"), {})).pipe(
        Helix.withUser("42"),
        Effect.provide(layer)
      )
      assert.deepStrictEqual(answer, items("1"))
      assert.deepStrictEqual(log.map(bearer), ["Bearer stale", "Bearer fresh"])
    }))

  it.effect("an error answer keeps Twitch's error and message; a body that is not Twitch's keeps neither", () => {
    const replies: Array<Res> = [
      json(404, { error: "Not Found", status: 404, message: "no such thing" }),
      { status: 404, body: "<html>404</html>" },
      { status: 300, body: JSON.stringify(items("1")) }
    ]
    let i = 0
    return run({ handler: () => Effect.succeed(replies[i++]!) }, (helix) =>
      Effect.gen(function*() {
        const notFound = yield* Effect.flip(helix.request(itemsWith("GET"), {}))
        assert.strictEqual(notFound._tag, "HelixNotFound")
        if (notFound._tag === "HelixNotFound") {
          assert.strictEqual(notFound.error, "Not Found")
          assert.strictEqual(notFound.twitchMessage, "no such thing")
        }
        const html = yield* Effect.flip(helix.request(itemsWith("GET"), {}))
        assert.strictEqual(html.message, "Helix.itemsGET (GET items): 404")
        // only 2xx answers are decoded
        const redirect = yield* Effect.flip(helix.request(itemsWith("GET"), {}))
        assert.strictEqual(redirect._tag, "HelixBadRequest")
      }))
  })

  it.effect("a decode error says what was expected, never the value found", () =>
    run({
      handler: () => Effect.succeed(json(200, { data: [{ id: { key: "live_123 secret\nkey" } }] }))
    }, (helix) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(helix.request(itemsWith("GET"), {}))
        assert.strictEqual(error._tag, "HelixDecodeError")
        if (error._tag === "HelixDecodeError") {
          assert.strictEqual(error.path, "data[0].id")
          assert.strictEqual(error.status, 200)
          assert.strictEqual(error.description, "Expected string")
        }
        assert.notInclude(error.message, "live_123")
      })))

  it.effect("a 429 without rate-limit headers is retried after a second each time, then HelixRateLimited", () =>
    run({
      handler: () => Effect.succeed(json(429, { error: "Too Many Requests", status: 429, message: "" }))
    }, (helix, { log }) =>
      Effect.gen(function*() {
        const fiber = yield* Effect.fork(Effect.flip(helix.request(itemsWith("GET"), {})))
        yield* TestClock.adjust("999 millis")
        assert.strictEqual(log.length, 1)
        yield* TestClock.adjust("1 millis")
        assert.strictEqual(log.length, 2)
        yield* TestClock.adjust("2 seconds")
        // three waits by default
        const error = yield* Fiber.join(fiber)
        assert.strictEqual(log.length, 4)
        assert.strictEqual(error._tag, "HelixRateLimited")
        if (error._tag === "HelixRateLimited") assert.isUndefined(error.resetAt)
      })))

  it.effect("a 429 with points left in the bucket is not the rate limiter's: it fails at once", () =>
    run({
      handler: () =>
        Effect.succeed(json(429, { error: "Too Many Requests", status: 429, message: "subscription limit" }, {
          "ratelimit-limit": "800",
          "ratelimit-remaining": "799",
          "ratelimit-reset": "1"
        }))
    }, (helix, { log }) =>
      Effect.gen(function*() {
        const fiber = yield* Effect.fork(Effect.flip(helix.request(itemsWith("GET"), {})))
        yield* TestClock.adjust("1 millis")
        const done = yield* Fiber.poll(fiber)
        assert.isTrue(Option.isSome(done), "waited")
        const error = yield* Fiber.join(fiber)
        assert.strictEqual(error._tag, "HelixRateLimited")
        assert.strictEqual(log.length, 1)
      })))

  it.effect("a 429 whose reset cannot be believed names no reset when the waits run out", () =>
    run(
      { handler: rateLimitedFirst(Infinity, 86_400), options: { maxRateLimitRetries: 1 } },
      (helix, { log }) =>
        Effect.gen(function*() {
          const fiber = yield* Effect.fork(Effect.flip(helix.request(itemsWith("GET"), {})))
          yield* TestClock.adjust("1 minute")
          const error = yield* Fiber.join(fiber)
          assert.strictEqual(log.length, 2)
          assert.strictEqual(error._tag, "HelixRateLimited")
          if (error._tag === "HelixRateLimited") assert.isUndefined(error.resetAt)
        })
    ))

  it.effect("a 429 is waited out up to maxRateLimitWait; a reset further away fails at once, naming it", () =>
    run(
      { handler: rateLimitedFirst(1, 10), options: { maxRateLimitWait: "10 seconds" } },
      (helix, { log }) =>
        Effect.gen(function*() {
          const fiber = yield* Effect.fork(helix.request(itemsWith("GET"), {}))
          yield* TestClock.adjust("10 seconds")
          assert.isTrue(Option.isSome(yield* Fiber.poll(fiber)))
          assert.strictEqual(log.length, 2)
        }).pipe(
          Effect.zipRight(
            run(
              { handler: rateLimitedFirst(1, 11), options: { maxRateLimitWait: "10 seconds" } },
              (helix, { log }) =>
                Effect.gen(function*() {
                  const now = yield* Clock.currentTimeMillis
                  const error = yield* Effect.flip(helix.request(itemsWith("GET"), {}))
                  assert.strictEqual(log.length, 1)
                  assert.strictEqual(error._tag, "HelixRateLimited")
                  if (error._tag === "HelixRateLimited") {
                    assert.strictEqual(error.resetAt, (Math.floor(now / 1000) + 11) * 1000)
                  }
                })
            )
          )
        )
    ))

  it.effect("5xx answers are retried twice by default, a 500 too", () => {
    let n = 0
    return run({
      handler: () => {
        n++
        return Effect.succeed(
          n <= 3
            ? json(502, { error: "Bad Gateway", status: 502, message: "" })
            : n === 4
            ? json(500, { error: "Internal Server Error", status: 500, message: "" })
            : json(200, items("1"))
        )
      }
    }, (helix, { log }) =>
      Effect.gen(function*() {
        const fiber = yield* Effect.fork(Effect.either(helix.request(itemsWith("GET"), {})))
        yield* TestClock.adjust("1 minute")
        const first = yield* Fiber.join(fiber)
        assert.isTrue(first._tag === "Left" && first.left._tag === "HelixServerError")
        assert.strictEqual(log.length, 3)
        const second = yield* Effect.fork(helix.request(itemsWith("GET"), {}))
        yield* TestClock.adjust("1 minute")
        assert.deepStrictEqual(yield* Fiber.join(second), items("1"))
        assert.strictEqual(log.length, 5)
      }))
  })

  it.effect("a failed send is retried for idempotent methods only, and never with maxRetries 0", () => {
    const failing = (reason: "request" | "response") =>
      HttpClient.make((request) => {
        sent.push(request.method)
        return reason === "request"
          ? Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport" }))
          : Effect.succeed(HttpClientResponse.fromWeb(
            request,
            new Response(new ReadableStream({ start: (controller) => controller.error(new Error("reset")) }))
          ))
      })
    const sent: Array<string> = []
    const helixWith = (client: HttpClient.HttpClient, maxRetries?: number) =>
      Helix.layer(maxRetries === undefined ? {} : { maxRetries }).pipe(
        Layer.provide(Layer.succeed(HttpClient.HttpClient, client)),
        Layer.provide(Layer.succeed(AccessTokens.AccessTokens, tokenStub().service)),
        Layer.provide(TwitchConfig.layer({ clientId: "cid" }))
      )
    const attempts = (method: Parameters<typeof itemsWith>[0], maxRetries?: number) =>
      Effect.gen(function*() {
        sent.length = 0
        const fiber = yield* Effect.fork(
          Effect.flip(Helix.use((helix) => helix.request(itemsWith(method), {})))
        )
        yield* TestClock.adjust("1 minute")
        const error = yield* Fiber.join(fiber)
        assert.strictEqual(error._tag, "HelixTransportError")
        return sent.length
      }).pipe(Effect.provide(helixWith(failing("request"), maxRetries)))
    return Effect.gen(function*() {
      const counts: Record<string, number> = {}
      for (const method of ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH", "POST"] as const) {
        counts[method] = yield* attempts(method)
      }
      assert.deepStrictEqual(counts, { GET: 3, HEAD: 3, OPTIONS: 3, PUT: 3, DELETE: 3, PATCH: 1, POST: 1 })
      assert.strictEqual(yield* attempts("GET", 0), 1)

      // what failed, without a description of its own
      const request = yield* Effect.flip(Helix.use((helix) => helix.request(itemsWith("POST"), {}))).pipe(
        Effect.provide(helixWith(failing("request")))
      )
      assert.strictEqual(request.message, "Helix.itemsPOST (POST items): Transport: request failed")
      const response = yield* Effect.flip(Helix.use((helix) => helix.request(itemsWith("POST"), {}))).pipe(
        Effect.provide(helixWith(failing("response")))
      )
      assert.strictEqual(response.message, "Helix.itemsPOST (POST items): Decode: response failed")
    })
  })

  it.effect("at most maxConcurrency requests are in flight (default 50)", () => {
    const concurrent = (options: Helix.Options) => {
      let inFlight = 0
      let most = 0
      return run({
        handler: () =>
          Effect.suspend(() => {
            inFlight++
            most = Math.max(most, inFlight)
            return Effect.as(Effect.sleep("1 second"), json(200, items()))
          }).pipe(Effect.ensuring(Effect.sync(() => inFlight--))),
        options
      }, (helix) =>
        Effect.gen(function*() {
          // a first answer without rate-limit headers: the bucket is not limited
          yield* Effect.fork(helix.request(itemsWith("GET"), {}))
          yield* TestClock.adjust("1 second")
          const fiber = yield* Effect.fork(
            Effect.forEach(Array.from({ length: 60 }), () => helix.request(itemsWith("GET"), {}), {
              concurrency: "unbounded"
            })
          )
          yield* TestClock.adjust("1 minute")
          yield* Fiber.join(fiber)
          return most
        }))
    }
    return Effect.gen(function*() {
      assert.strictEqual(yield* concurrent({}), 50)
      assert.strictEqual(yield* concurrent({ maxConcurrency: 3 }), 3)
      assert.strictEqual(yield* concurrent({ maxConcurrency: 0 }), 1)
    })
  })
})
