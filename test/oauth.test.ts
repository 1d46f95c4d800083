import { HttpClient, HttpClientError, HttpClientResponse } from "@effect/platform"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Fiber, Layer, Option, Redacted, TestClock } from "effect"
import * as OAuth from "../src/OAuth.js"
import * as Simulator from "../src/testing/Simulator.js"
import * as TwitchConfig from "../src/TwitchConfig.js"
import { drive, fakeHttp, json, type Recorded, type Reply } from "./fixtures/auth.js"
import { withDeeplyNested } from "./fixtures/hostile.js"

const SECRET = "s3cr3t-client-secret"
const REFRESH = "r3fr3sh-token-text"
const ACCESS = "acc3ss-token-text"

const config = (secret: boolean) =>
  TwitchConfig.layer({
    clientId: "cid",
    authUrl: "https://auth.test/oauth2",
    ...(secret ? { clientSecret: Redacted.make(SECRET) } : {})
  })

const withFake = (script: (req: Recorded, i: number) => Reply, secret = true) => {
  const fake = fakeHttp(script)
  const layer = OAuth.layer().pipe(Layer.provide(Layer.merge(fake.layer, config(secret))))
  return { requests: fake.requests, layer }
}

const tokenBody = { access_token: ACCESS, refresh_token: REFRESH, expires_in: 14124, scope: ["chat:read"], x: 1 }

describe("OAuth (fake HTTP)", () => {
  it.effect("refresh posts a form body with the secrets, never in the URL, and decodes the pair", () => {
    const { layer, requests } = withFake(() => json(200, tokenBody))
    return Effect.gen(function*() {
      const oauth = yield* OAuth.OAuth
      const res = yield* oauth.refresh(Redacted.make(REFRESH))
      assert.strictEqual(Redacted.value(res.accessToken), ACCESS)
      assert.strictEqual(Option.map(res.refreshToken, Redacted.value).pipe(Option.getOrNull), REFRESH)
      assert.deepStrictEqual(res.scopes, ["chat:read"])
      assert.strictEqual(requests.length, 1)
      const req = requests[0]!
      assert.strictEqual(req.method, "POST")
      assert.strictEqual(req.url, "https://auth.test/oauth2/token")
      assert.strictEqual(req.headers["content-type"], "application/x-www-form-urlencoded")
      assert.strictEqual(req.form.get("grant_type"), "refresh_token")
      assert.strictEqual(req.form.get("refresh_token"), REFRESH)
      assert.strictEqual(req.form.get("client_id"), "cid")
      assert.strictEqual(req.form.get("client_secret"), SECRET)
      assert.isFalse(req.url.includes(SECRET) || req.url.includes(REFRESH))
    }).pipe(Effect.provide(layer))
  })

  it.effect("public clients refresh without a secret", () => {
    const { layer, requests } = withFake(() => json(200, tokenBody), false)
    return Effect.gen(function*() {
      const oauth = yield* OAuth.OAuth
      yield* oauth.refresh(Redacted.make(REFRESH))
      assert.isFalse(requests[0]!.form.has("client_secret"))
    }).pipe(Effect.provide(layer))
  })

  const cases: ReadonlyArray<{
    readonly name: string
    readonly call: (o: OAuth.OAuth.Service) => Effect.Effect<unknown, OAuth.OAuthError>
    readonly reply: Reply
    readonly tag: OAuth.OAuthError["_tag"]
  }> = [
    {
      name: "refresh: Invalid refresh token",
      call: (o) => o.refresh(Redacted.make(REFRESH)),
      reply: json(400, { status: 400, message: "Invalid refresh token" }),
      tag: "InvalidRefreshToken"
    },
    {
      name: "refresh: missing client secret",
      call: (o) => o.refresh(Redacted.make(REFRESH)),
      reply: json(400, { status: 400, message: "missing client secret" }),
      tag: "MissingClientSecret"
    },
    {
      name: "refresh: invalid client secret",
      call: (o) => o.refresh(Redacted.make(REFRESH)),
      reply: json(403, { status: 403, message: "invalid client secret" }),
      tag: "InvalidClient"
    },
    {
      name: "validate: 401",
      call: (o) => o.validate(Redacted.make(ACCESS)),
      reply: json(401, { status: 401, message: "invalid access token" }),
      tag: "InvalidAccessToken"
    },
    {
      name: "revoke: 400 Invalid token",
      call: (o) => o.revoke(Redacted.make(ACCESS)),
      reply: json(400, { status: 400, message: "Invalid token" }),
      tag: "InvalidToken"
    },
    {
      name: "revoke: 404 client does not exist",
      call: (o) => o.revoke(Redacted.make(ACCESS)),
      reply: json(404, { status: 404, message: "client does not exist" }),
      tag: "ClientNotFound"
    },
    {
      name: "devicePoll: pending",
      call: (o) => o.devicePoll(Redacted.make("dc"), ["chat:read"]),
      reply: json(400, { status: 400, message: "authorization_pending" }),
      tag: "AuthorizationPending"
    },
    {
      name: "devicePoll: slow_down",
      call: (o) => o.devicePoll(Redacted.make("dc"), ["chat:read"]),
      reply: json(400, { status: 400, message: "slow_down" }),
      tag: "SlowDown"
    },
    {
      name: "devicePoll: invalid device code",
      call: (o) => o.devicePoll(Redacted.make("dc"), ["chat:read"]),
      reply: json(400, { status: 400, message: "invalid device code" }),
      tag: "InvalidDeviceCode"
    },
    {
      name: "devicePoll: access_denied",
      call: (o) => o.devicePoll(Redacted.make("dc"), ["chat:read"]),
      reply: json(400, { status: 400, message: "access_denied" }),
      tag: "AccessDenied"
    },
    {
      name: "other 4xx",
      call: (o) => o.refresh(Redacted.make(REFRESH)),
      reply: json(422, { status: 422, message: "something else" }),
      tag: "OAuthBadRequest"
    },
    {
      name: "5xx HTML page",
      call: (o) => o.refresh(Redacted.make(REFRESH)),
      reply: { status: 502, body: "<html><body>Bad gateway</body></html>", contentType: "text/html" },
      tag: "OAuthServerError"
    },
    {
      name: "200 HTML page",
      call: (o) => o.refresh(Redacted.make(REFRESH)),
      reply: { status: 200, body: "<html>maintenance</html>", contentType: "text/html" },
      tag: "OAuthDecodeError"
    },
    {
      name: "200 truncated JSON",
      call: (o) => o.refresh(Redacted.make(REFRESH)),
      reply: { status: 200, body: JSON.stringify(tokenBody).slice(0, 30) },
      tag: "OAuthDecodeError"
    },
    {
      name: "200 wrong types",
      call: (o) => o.validate(Redacted.make(ACCESS)),
      reply: json(200, { client_id: 42, scopes: "x", expires_in: "soon" }),
      tag: "OAuthDecodeError"
    },
    {
      name: "400 with an empty body",
      call: (o) => o.exchangeCode({ code: "c", redirectUri: "http://localhost/cb" }),
      reply: { status: 400, body: "" },
      tag: "OAuthBadRequest"
    }
  ]

  for (const c of cases) {
    it.effect(`maps ${c.name} to ${c.tag}`, () => {
      const { layer, requests } = withFake(() => c.reply)
      return Effect.gen(function*() {
        const oauth = yield* OAuth.OAuth
        // a retry sleeps on the TestClock: let it run, so that it shows as a second request, not as a hang
        const fiber = yield* Effect.fork(c.call(oauth))
        yield* TestClock.adjust("1 minute")
        const error = yield* Effect.flip(Fiber.join(fiber))
        assert.strictEqual(requests.length, 1, "not retried")
        assert.strictEqual(error._tag, c.tag)
        assert.strictEqual(error.module, "OAuth")
        for (const secret of [SECRET, REFRESH, ACCESS]) {
          assert.isFalse(error.message.includes(secret), "secret in message")
          assert.isFalse(JSON.stringify(error).includes(secret), "secret in JSON")
          assert.isFalse(String(error).includes(secret), "secret in String")
        }
      }).pipe(Effect.provide(layer))
    })
  }

  it.effect("a decode failure names the field, not the token text it held", () => {
    const { layer } = withFake(() => json(200, { ...tokenBody, access_token: 12345, expires_in: ACCESS }))
    return Effect.gen(function*() {
      const error = yield* Effect.flip((yield* OAuth.OAuth).refresh(Redacted.make(REFRESH)))
      assert.strictEqual(error._tag, "OAuthDecodeError")
      assert.include(error.message, "access_token")
      assert.isFalse(error.message.includes(ACCESS))
    }).pipe(Effect.provide(layer))
  })

  it.effect("deeply nested JSON (success and error answers) is a typed error, not a stack overflow", () => {
    const replies: ReadonlyArray<Reply> = [
      { status: 200, body: withDeeplyNested({ ...tokenBody, scope: "@DEEP@" }) },
      { status: 400, body: withDeeplyNested({ status: 400, message: "@DEEP@" }) }
    ]
    const { layer } = withFake((_, i) => replies[i]!)
    return Effect.gen(function*() {
      const oauth = yield* OAuth.OAuth
      const success = yield* Effect.flip(oauth.refresh(Redacted.make(REFRESH)))
      assert.strictEqual(success._tag, "OAuthDecodeError")
      assert.include(success.message, "nested deeper")
      const failure = yield* Effect.flip(oauth.refresh(Redacted.make(REFRESH)))
      assert.strictEqual(failure._tag, "OAuthBadRequest")
    }).pipe(Effect.provide(layer))
  })

  it.effect("a hung server ends in a typed Timeout at the configured request timeout", () => {
    const { layer } = withFake(() => Effect.never as never)
    return Effect.gen(function*() {
      const oauth = yield* OAuth.OAuth
      const fiber = yield* Effect.fork(oauth.refresh(Redacted.make(REFRESH)))
      yield* TestClock.adjust("9 seconds")
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)))
      yield* TestClock.adjust("1 second")
      assert.isTrue(Option.isSome(yield* Fiber.poll(fiber)), "ended at the timeout (a retry would go on)")
      const error = yield* Effect.flip(Fiber.join(fiber))
      assert.strictEqual(error._tag, "OAuthTransportError")
      assert.strictEqual(error._tag === "OAuthTransportError" && error.reason, "Timeout")
    }).pipe(Effect.provide(layer))
  })

  it.effect("validate retries 5xx on a schedule", () => {
    const validate = withFake((_, i) =>
      i < 2 ? json(503, { status: 503, message: "busy" }) : json(200, {
        client_id: "cid",
        login: "someone",
        user_id: "42",
        scopes: ["chat:read"],
        expires_in: 100
      })
    )
    return Effect.gen(function*() {
      const fiber = yield* Effect.fork(
        Effect.provide(Effect.flatMap(OAuth.OAuth, (o) => o.validate(Redacted.make(ACCESS))), validate.layer)
      )
      yield* TestClock.adjust("10 seconds")
      const res = yield* Fiber.join(fiber)
      assert.strictEqual(Option.getOrNull(res.userId), "42")
      assert.strictEqual(Option.getOrNull(res.login), "someone")
      assert.strictEqual(validate.requests.length, 3)
      assert.strictEqual(validate.requests[0]!.headers["authorization"], `OAuth ${ACCESS}`)
    })
  })

  it.effect("refresh is retried only when the connection was refused (request never sent)", () => {
    const transportError = (code: string) => (req: unknown) =>
      Effect.fail(
        new HttpClientError.RequestError({
          request: req as never,
          reason: "Transport",
          cause: Object.assign(new Error("fetch failed"), { cause: { code } })
        })
      )
    const refused = withFake((req, i) => i === 0 ? transportError("ECONNREFUSED")(req) : json(200, tokenBody))
    const reset = withFake((req) => transportError("ECONNRESET")(req))
    return Effect.gen(function*() {
      const fiber = yield* Effect.fork(
        Effect.provide(Effect.flatMap(OAuth.OAuth, (o) => o.refresh(Redacted.make(REFRESH))), refused.layer)
      )
      yield* TestClock.adjust("5 seconds")
      const ok = yield* Fiber.join(fiber)
      assert.strictEqual(Redacted.value(ok.accessToken), ACCESS)
      assert.strictEqual(refused.requests.length, 2)

      const resetFiber = yield* Effect.fork(
        Effect.provide(Effect.flatMap(OAuth.OAuth, (o) => o.refresh(Redacted.make(REFRESH))), reset.layer)
      )
      yield* TestClock.adjust("1 minute") // a retry shows as a second request, not as a hang
      const error = yield* Effect.flip(Fiber.join(resetFiber))
      assert.strictEqual(reset.requests.length, 1, "retried after the request was sent")
      assert.strictEqual(error._tag, "OAuthTransportError")
      assert.isFalse(error._tag === "OAuthTransportError" && error.connectFailed)
      assert.strictEqual(reset.requests.length, 1)
    })
  })

  it.effect("flows that need a secret fail before sending when none is configured", () => {
    const { layer, requests } = withFake(() => json(200, tokenBody), false)
    return Effect.gen(function*() {
      const oauth = yield* OAuth.OAuth
      assert.strictEqual((yield* Effect.flip(oauth.appToken))._tag, "MissingClientSecret")
      const e = yield* Effect.flip(oauth.exchangeCode({ code: "c", redirectUri: "http://localhost/cb" }))
      assert.strictEqual(e._tag, "MissingClientSecret")
      assert.strictEqual(requests.length, 0)
    }).pipe(Effect.provide(layer))
  })

  it.effect("authorizeUrl carries the parameters and no secret", () => {
    const { layer } = withFake(() => json(200, {}))
    return Effect.gen(function*() {
      const oauth = yield* OAuth.OAuth
      const url = new URL(
        oauth.authorizeUrl({
          scopes: ["chat:read", "user:read:chat"],
          redirectUri: "http://localhost:3000/cb",
          state: "xyz",
          forceVerify: true
        })
      )
      assert.strictEqual(url.origin + url.pathname, "https://auth.test/oauth2/authorize")
      assert.strictEqual(url.searchParams.get("response_type"), "code")
      assert.strictEqual(url.searchParams.get("client_id"), "cid")
      assert.strictEqual(url.searchParams.get("redirect_uri"), "http://localhost:3000/cb")
      assert.strictEqual(url.searchParams.get("scope"), "chat:read user:read:chat")
      assert.strictEqual(url.searchParams.get("state"), "xyz")
      assert.strictEqual(url.searchParams.get("force_verify"), "true")
      assert.isFalse(url.toString().includes(SECRET))
    }).pipe(Effect.provide(layer))
  })
})

// -----------------------------------------------------------------------------
// against the simulator over real HTTP
// -----------------------------------------------------------------------------

const simLayer = (configLayer: Layer.Layer<TwitchConfig.TwitchConfig, never, Simulator.Simulator>) =>
  OAuth.layer().pipe(
    Layer.provideMerge(Layer.merge(configLayer, FetchHttpClient.layer)),
    Layer.provideMerge(Simulator.layer())
  )

/** The real HttpClient, except that every `/token` answer reaches the caller as a 503 (a proxy failing after Twitch answered). */
const tokenAnswersLost = Layer.effect(
  HttpClient.HttpClient,
  Effect.map(
    HttpClient.HttpClient,
    HttpClient.transformResponse(Effect.map((response) =>
      new URL(response.request.url).pathname.endsWith("/token")
        ? HttpClientResponse.fromWeb(
          response.request,
          new Response(JSON.stringify({ status: 503, message: "busy" }), {
            status: 503,
            headers: { "content-type": "application/json" }
          })
        )
        : response
    ))
  )
).pipe(Layer.provide(FetchHttpClient.layer))

describe("OAuth (simulator)", () => {
  it.effect("refresh is not retried once the server answered: one /token call at the simulator", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const oauth = yield* OAuth.OAuth
      const issued = yield* sim.issueUserToken({ userId: sim.users.viewer, scopes: ["chat:read"] })
      // the retry schedule sleeps on the TestClock: drive it, so a retry shows as a second call, not as a hang
      const fiber = yield* Effect.fork(oauth.refresh(Redacted.make(issued.refreshToken)))
      const error = yield* Effect.flip(drive(fiber, "1 second", 60))
      assert.strictEqual(error._tag, "OAuthServerError")
      const counters = yield* sim.counters
      assert.strictEqual(counters.tokenRefreshes + counters.tokenRefreshFailures, 1, "refresh sent twice")
    }).pipe(
      Effect.provide(
        OAuth.layer().pipe(
          Layer.provideMerge(Layer.merge(Simulator.layerTwitchConfig, tokenAnswersLost)),
          Layer.provideMerge(Simulator.layer())
        )
      )
    ))

  it.effect("app token, validate, revoke, then validate fails", () =>
    Effect.gen(function*() {
      const oauth = yield* OAuth.OAuth
      const sim = yield* Simulator.Simulator
      const app = yield* oauth.appToken
      assert.isTrue(Option.isSome(app.expiresAt))
      const v = yield* oauth.validate(app.accessToken)
      assert.strictEqual(v.clientId, sim.clientId)
      assert.isTrue(Option.isNone(v.userId))
      yield* oauth.revoke(app.accessToken)
      assert.strictEqual((yield* Effect.flip(oauth.validate(app.accessToken)))._tag, "InvalidAccessToken")
      assert.strictEqual((yield* Effect.flip(oauth.revoke(app.accessToken)))._tag, "InvalidToken")
    }).pipe(Effect.provide(simLayer(Simulator.layerTwitchConfig))))

  it.effect("public client: a reused refresh token is a typed InvalidRefreshToken", () =>
    Effect.gen(function*() {
      const oauth = yield* OAuth.OAuth
      const sim = yield* Simulator.Simulator
      const issued = yield* sim.issueUserToken({
        userId: sim.users.viewer,
        scopes: ["chat:read"],
        clientId: sim.publicClientId
      })
      const first = yield* oauth.refresh(Redacted.make(issued.refreshToken))
      assert.isTrue(Option.isSome(first.refreshToken))
      const error = yield* Effect.flip(oauth.refresh(Redacted.make(issued.refreshToken)))
      assert.strictEqual(error._tag, "InvalidRefreshToken")
      assert.isFalse(error.message.includes(issued.refreshToken))
      // the rotated refresh token works once
      const second = yield* oauth.refresh(Option.getOrThrow(first.refreshToken))
      const v = yield* oauth.validate(second.accessToken)
      assert.strictEqual(Option.getOrNull(v.userId), sim.users.viewer)
    }).pipe(Effect.provide(simLayer(Simulator.layerTwitchConfigPublic))))

  it.effect("confidential client refreshing without its secret: MissingClientSecret", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const issued = yield* sim.issueUserToken({ userId: sim.users.viewer, scopes: [] })
      const noSecret = TwitchConfig.layer({ clientId: sim.clientId, authUrl: sim.authUrl })
      const error = yield* Effect.flip(
        Effect.flatMap(OAuth.OAuth, (o) => o.refresh(Redacted.make(issued.refreshToken))).pipe(
          Effect.provide(OAuth.layer().pipe(Layer.provide(Layer.merge(noSecret, FetchHttpClient.layer))))
        )
      )
      assert.strictEqual(error._tag, "MissingClientSecret")
    }).pipe(Effect.provide(Simulator.layer())))

  it.effect("authorization code: authorize URL → redirect with code → exchangeCode", () =>
    Effect.gen(function*() {
      const oauth = yield* OAuth.OAuth
      const sim = yield* Simulator.Simulator
      const url = oauth.authorizeUrl({ scopes: ["chat:read"], redirectUri: "http://localhost:9/cb", state: "st8" })
      const location = yield* Effect.promise(() =>
        fetch(url, { redirect: "manual" }).then((r) => r.headers.get("location") ?? "")
      )
      const back = new URL(location)
      assert.strictEqual(back.searchParams.get("state"), "st8")
      const code = back.searchParams.get("code") ?? ""
      const res = yield* oauth.exchangeCode({ code, redirectUri: "http://localhost:9/cb" })
      const v = yield* oauth.validate(res.accessToken)
      assert.isTrue(Option.isSome(v.userId))
      assert.strictEqual(v.clientId, sim.clientId)
      // codes are single use
      const again = yield* Effect.either(oauth.exchangeCode({ code, redirectUri: "http://localhost:9/cb" }))
      assert.isTrue(Either.isLeft(again))
    }).pipe(Effect.provide(simLayer(Simulator.layerTwitchConfig))))
})
