import { HttpClient, HttpClientError, HttpClientRequest, HttpClientResponse } from "@effect/platform"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Duration, Effect, Either, Fiber, Layer, Option, Redacted, Schema, TestClock } from "effect"
import * as OAuth from "../src/OAuth.js"
import * as Simulator from "../src/testing/Simulator.js"
import * as TwitchConfig from "../src/TwitchConfig.js"
import { drive, fakeHttp, json, type Recorded, type Reply } from "./fixtures/auth.js"
import * as Capture from "./fixtures/capture.js"
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
    },
    {
      name: "refresh: the message in another case, with spaces around it",
      call: (o) => o.refresh(Redacted.make(REFRESH)),
      reply: json(400, { status: 400, message: "  Invalid Refresh Token " }),
      tag: "InvalidRefreshToken"
    },
    {
      name: "devicePoll: RFC 8628's `error` field (slow_down)",
      call: (o) => o.devicePoll(Redacted.make("dc"), ["chat:read"]),
      reply: json(400, { error: "slow_down" }),
      tag: "SlowDown"
    },
    {
      name: "devicePoll: 'authorization pending' spelled with a space",
      call: (o) => o.devicePoll(Redacted.make("dc"), ["chat:read"]),
      reply: json(400, { status: 400, message: "authorization pending" }),
      tag: "AuthorizationPending"
    },
    {
      name: "devicePoll: 'slow down' spelled with a space",
      call: (o) => o.devicePoll(Redacted.make("dc"), ["chat:read"]),
      reply: json(400, { status: 400, message: "slow down" }),
      tag: "SlowDown"
    },
    {
      name: "devicePoll: 'access denied' spelled with a space",
      call: (o) => o.devicePoll(Redacted.make("dc"), ["chat:read"]),
      reply: json(400, { status: 400, message: "access denied" }),
      tag: "AccessDenied"
    },
    {
      name: "exchangeCode: authorization denied",
      call: (o) => o.exchangeCode({ code: "c", redirectUri: "http://localhost/cb" }),
      reply: json(400, { status: 400, message: "authorization denied" }),
      tag: "AccessDenied"
    },
    {
      name: "appToken: invalid client",
      call: (o) => o.appToken,
      reply: json(400, { status: 400, message: "invalid client" }),
      tag: "InvalidClient"
    },
    {
      name: "revoke: 404 without a body",
      call: (o) => o.revoke(Redacted.make(ACCESS)),
      reply: { status: 404, body: "" },
      tag: "ClientNotFound"
    },
    {
      name: "refresh: 404 (only revoke's 404 means an unknown client)",
      call: (o) => o.refresh(Redacted.make(REFRESH)),
      reply: json(404, { status: 404, message: "not found" }),
      tag: "OAuthBadRequest"
    },
    {
      name: "refresh: 'invalid token' (only revoke's means the token)",
      call: (o) => o.refresh(Redacted.make(REFRESH)),
      reply: json(400, { status: 400, message: "invalid token" }),
      tag: "OAuthBadRequest"
    },
    {
      name: "validate: 401 without a body",
      call: (o) => o.validate(Redacted.make(ACCESS)),
      reply: { status: 401, body: "" },
      tag: "InvalidAccessToken"
    },
    {
      name: "refresh: 401 with another message (only validate's 401 means the access token)",
      call: (o) => o.refresh(Redacted.make(REFRESH)),
      reply: json(401, { status: 401, message: "unauthorized" }),
      tag: "OAuthBadRequest"
    },
    {
      name: "exchangeCode: invalid access token",
      call: (o) => o.exchangeCode({ code: "c", redirectUri: "http://localhost/cb" }),
      reply: json(401, { status: 401, message: "invalid access token" }),
      tag: "InvalidAccessToken"
    },
    {
      name: "refresh: 500",
      call: (o) => o.refresh(Redacted.make(REFRESH)),
      reply: json(500, { status: 500, message: "Internal Server Error" }),
      tag: "OAuthServerError"
    },
    {
      name: "refresh: 300 with a token body (not a success)",
      call: (o) => o.refresh(Redacted.make(REFRESH)),
      reply: json(300, tokenBody),
      tag: "OAuthBadRequest"
    },
    {
      name: "revoke: 300 (not a success)",
      call: (o) => o.revoke(Redacted.make(ACCESS)),
      reply: { status: 300, body: "" },
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

describe("OAuth (fake HTTP): what errors say", () => {
  it("every error's message names the method and the problem", () => {
    const method = "refresh"
    const expected: ReadonlyArray<readonly [OAuth.OAuthError, string]> = [
      [new OAuth.InvalidRefreshToken({ method }), "OAuth.refresh: invalid refresh token"],
      [new OAuth.InvalidAccessToken({ method }), "OAuth.refresh: invalid access token"],
      [new OAuth.MissingClientSecret({ method }), "OAuth.refresh: a client secret is required for this flow"],
      [new OAuth.InvalidClient({ method, description: "invalid client" }), "OAuth.refresh: invalid client"],
      [new OAuth.InvalidDeviceCode({ method }), "OAuth.refresh: invalid device code"],
      [new OAuth.AuthorizationPending({ method }), "OAuth.refresh: authorization pending"],
      [new OAuth.SlowDown({ method }), "OAuth.refresh: slow down"],
      [new OAuth.AccessDenied({ method }), "OAuth.refresh: access denied"],
      [new OAuth.ClientNotFound({ method }), "OAuth.refresh: client does not exist"],
      [new OAuth.InvalidToken({ method }), "OAuth.refresh: invalid token"],
      [new OAuth.OAuthBadRequest({ method, status: 422, description: "nope" }), "OAuth.refresh: HTTP 422: nope"],
      [new OAuth.OAuthServerError({ method, status: 503, description: "busy" }), "OAuth.refresh: HTTP 503: busy"],
      [
        new OAuth.OAuthTransportError({ method, reason: "Timeout", connectFailed: false, description: "late" }),
        "OAuth.refresh: Timeout: late"
      ],
      [new OAuth.OAuthDecodeError({ method, status: 200, description: "bad" }), "OAuth.refresh: HTTP 200: bad"]
    ]
    for (const [error, message] of expected) assert.strictEqual(error.message, message)
  })

  it("isTransient: 5xx and network failures only", () => {
    const method = "refresh"
    assert.isTrue(OAuth.isTransient(new OAuth.OAuthServerError({ method, status: 503, description: "" })))
    assert.isTrue(
      OAuth.isTransient(
        new OAuth.OAuthTransportError({ method, reason: "Transport", connectFailed: false, description: "" })
      )
    )
    assert.isFalse(OAuth.isTransient(new OAuth.OAuthBadRequest({ method, status: 400, description: "" })))
    assert.isFalse(OAuth.isTransient(new OAuth.SlowDown({ method })))
  })

  const failWith = (reply: Reply) => {
    const { layer } = withFake(() => reply)
    return Effect.flip(Effect.flatMap(OAuth.OAuth, (o) => o.refresh(Redacted.make(REFRESH)))).pipe(
      Effect.provide(layer)
    )
  }

  it.effect("each call's errors name the call", () => {
    const calls: ReadonlyArray<
      readonly [string, (o: OAuth.OAuth.Service) => Effect.Effect<unknown, OAuth.OAuthError>]
    > = [
      ["validate", (o) => o.validate(Redacted.make(ACCESS))],
      ["revoke", (o) => o.revoke(Redacted.make(ACCESS))],
      ["appToken", (o) => o.appToken],
      ["exchangeCode", (o) => o.exchangeCode({ code: "c", redirectUri: "http://localhost/cb" })],
      ["deviceStart", (o) => o.deviceStart([])],
      ["devicePoll", (o) => o.devicePoll(Redacted.make("dc"), [])]
    ]
    return Effect.gen(function*() {
      for (const [name, call] of calls) {
        const answered = yield* runRetrying(() => json(422, { status: 422, message: "nope" }), call)
        assert.strictEqual(
          Either.flip(answered.result).pipe(Either.getOrThrow).message,
          `OAuth.${name}: HTTP 422: nope`
        )
        const unreachable = yield* runRetrying(() => requestError("Transport", { code: "ECONNRESET" }), call)
        assert.strictEqual(
          Either.flip(unreachable.result).pipe(Either.getOrThrow).message,
          `OAuth.${name}: Transport: Transport: ECONNRESET`
        )
      }
      const noSecret = withFake(() => json(200, tokenBody), false)
      const missing = yield* Effect.gen(function*() {
        const oauth = yield* OAuth.OAuth
        return [
          yield* Effect.flip(oauth.appToken),
          yield* Effect.flip(oauth.exchangeCode({ code: "c", redirectUri: "http://localhost/cb" }))
        ]
      }).pipe(Effect.provide(noSecret.layer))
      assert.deepStrictEqual(missing.map((e) => e.message), [
        "OAuth.appToken: a client secret is required for this flow",
        "OAuth.exchangeCode: a client secret is required for this flow"
      ])
    })
  })

  it.effect("a 4xx carries Twitch's message, cut at 200 characters", () =>
    Effect.gen(function*() {
      const long = yield* failWith(json(400, { status: 400, message: "x".repeat(300) }))
      assert.strictEqual(long._tag === "OAuthBadRequest" && long.description, `${"x".repeat(200)}…`)
      const exact = yield* failWith(json(400, { status: 400, message: "y".repeat(200) }))
      assert.strictEqual(exact._tag === "OAuthBadRequest" && exact.description, "y".repeat(200))
      const short = yield* failWith(json(422, { status: 422, message: "Some Thing" }))
      assert.strictEqual(short.message, "OAuth.refresh: HTTP 422: Some Thing")
    }))

  it.effect("an answer without a JSON message says so, with its status and content type", () =>
    Effect.gen(function*() {
      const html = yield* failWith({ status: 502, body: "<html>Bad gateway</html>", contentType: "text/html" })
      assert.strictEqual(html.message, "OAuth.refresh: HTTP 502: HTTP 502 with a non-JSON body (text/html)")
      const bare = yield* failWith({ status: 400, body: "", contentType: null })
      assert.strictEqual(bare.message, "OAuth.refresh: HTTP 400: HTTP 400 with a non-JSON body (no content-type)")
    }))

  it.effect("a success that is not JSON: the decode error names the problem and content type, not the body", () =>
    Effect.gen(function*() {
      const html = yield* failWith({ status: 200, body: "<html>maintenance</html>", contentType: "text/html" })
      assert.strictEqual(
        html.message,
        "OAuth.refresh: HTTP 200: response body is not valid JSON (24 characters) (text/html)"
      )
      const bare = yield* failWith({ status: 200, body: "", contentType: null })
      assert.strictEqual(
        bare.message,
        "OAuth.refresh: HTTP 200: response body is not valid JSON (0 characters) (no content-type)"
      )
      const shape = yield* failWith(json(200, { refresh_token: REFRESH }))
      assert.strictEqual(shape.message, "OAuth.refresh: HTTP 200: unexpected response shape at access_token")
    }))
})

/** A RequestError whose cause is `cause` (as undici reports a failed connection). */
const requestError = (reason: "Transport" | "Encode", cause: unknown): Reply =>
  Effect.fail(
    new HttpClientError.RequestError({
      request: HttpClientRequest.get("https://auth.test/oauth2/token"),
      reason,
      cause
    })
  )

/** Runs `call` against `script`, letting the retry schedule run out; returns the result and the requests. */
const runRetrying = <A>(
  script: (req: Recorded, i: number) => Reply,
  call: (o: OAuth.OAuth.Service) => Effect.Effect<A, OAuth.OAuthError>,
  options: OAuth.Options = {}
) =>
  Effect.gen(function*() {
    const fake = fakeHttp(script)
    const layer = OAuth.layer(options).pipe(Layer.provide(Layer.merge(fake.layer, config(true))))
    const fiber = yield* Effect.fork(Effect.either(Effect.flatMap(OAuth.OAuth, call).pipe(Effect.provide(layer))))
    yield* TestClock.adjust("5 minutes")
    return { result: yield* Fiber.join(fiber), requests: fake.requests }
  })

const refreshCall = (o: OAuth.OAuth.Service) => o.refresh(Redacted.make(REFRESH))

describe("OAuth (fake HTTP): transport failures", () => {
  for (const code of ["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]) {
    it.effect(`${code} means the request never left: refresh is retried`, () =>
      Effect.gen(function*() {
        const { requests, result } = yield* runRetrying(
          (_, i) =>
            i === 0 ? requestError("Transport", new Error("fetch failed", { cause: { code } })) : json(200, tokenBody),
          refreshCall
        )
        assert.isTrue(Either.isRight(result))
        assert.strictEqual(requests.length, 2)
      }))
  }

  it.effect("a connection that never opened on any address (AggregateError) is retried; one that did is not", () =>
    Effect.gen(function*() {
      const aggregate = (codes: ReadonlyArray<string>) =>
        requestError("Transport", { cause: { errors: codes.map((code) => ({ code })) } })
      const refused = yield* runRetrying(
        (_, i) => i === 0 ? aggregate(["ECONNREFUSED", "ENETUNREACH"]) : json(200, tokenBody),
        refreshCall
      )
      assert.isTrue(Either.isRight(refused.result))
      assert.strictEqual(refused.requests.length, 2)
      for (const codes of [["ECONNREFUSED", "ECONNRESET"], []]) {
        const mixed = yield* runRetrying(() => aggregate(codes), refreshCall)
        assert.strictEqual(mixed.requests.length, 1, `retried after ${JSON.stringify(codes)}`)
        const error = Either.flip(mixed.result).pipe(Either.getOrThrow)
        assert.isFalse(error._tag === "OAuthTransportError" && error.connectFailed)
      }
    }))

  it.effect("the errno code is found several causes down", () =>
    Effect.gen(function*() {
      const cause = { cause: { cause: { cause: { cause: { cause: { code: "ECONNREFUSED" } } } } } }
      const { requests, result } = yield* runRetrying(
        (_, i) => i === 0 ? requestError("Transport", cause) : json(200, tokenBody),
        refreshCall
      )
      assert.isTrue(Either.isRight(result))
      assert.strictEqual(requests.length, 2)
    }))

  it.effect("a failure before sending that is not a connection failure (Encode) is not retried", () =>
    Effect.gen(function*() {
      const { requests, result } = yield* runRetrying(
        () => requestError("Encode", { code: "ECONNREFUSED" }),
        refreshCall
      )
      assert.strictEqual(requests.length, 1)
      const error = Either.flip(result).pipe(Either.getOrThrow)
      assert.strictEqual(error.message, "OAuth.refresh: Transport: Encode: ECONNREFUSED")
    }))

  it.effect("the message names the errno codes of the cause chain, or says 'network error'", () =>
    Effect.gen(function*() {
      const chained = yield* runRetrying(
        () => requestError("Transport", { code: "ECONNRESET", cause: { cause: { code: "EPIPE" } } }),
        refreshCall
      )
      assert.strictEqual(
        Either.flip(chained.result).pipe(Either.getOrThrow).message,
        "OAuth.refresh: Transport: Transport: ECONNRESET <- EPIPE"
      )
      const bare = yield* runRetrying(() => requestError("Transport", new Error("socket hang up")), refreshCall)
      assert.strictEqual(
        Either.flip(bare.result).pipe(Either.getOrThrow).message,
        "OAuth.refresh: Transport: Transport: network error"
      )
    }))

  it.effect("cause chains ending in null, or looping back on themselves, end in a typed error", () =>
    Effect.gen(function*() {
      const ended = yield* runRetrying(
        () => requestError("Transport", { code: "ECONNRESET", cause: { cause: null } }),
        refreshCall
      )
      assert.strictEqual(
        Either.flip(ended.result).pipe(Either.getOrThrow).message,
        "OAuth.refresh: Transport: Transport: ECONNRESET"
      )
      const loop: { code: string; cause?: unknown } = { code: "ECONNRESET" }
      loop.cause = loop
      const looped = yield* runRetrying(() => requestError("Transport", loop), refreshCall)
      assert.strictEqual(looped.requests.length, 1)
      const error = Either.flip(looped.result).pipe(Either.getOrThrow)
      // the message names at most 4 links of the chain
      assert.strictEqual(
        error.message,
        "OAuth.refresh: Transport: Transport: ECONNRESET <- ECONNRESET <- ECONNRESET <- ECONNRESET"
      )
    }))

  it.effect("a body that cannot be read is a transport error after sending: not retried for refresh", () =>
    Effect.gen(function*() {
      const unreadable: Reply = Effect.fail(
        new HttpClientError.ResponseError({
          request: HttpClientRequest.post("https://auth.test/oauth2/token"),
          response: HttpClientResponse.fromWeb(
            HttpClientRequest.post("https://auth.test/oauth2/token"),
            new Response(null, { status: 200 })
          ),
          reason: "Decode",
          cause: { code: "ECONNREFUSED" }
        })
      )
      const { requests, result } = yield* runRetrying(() => unreadable, refreshCall)
      assert.strictEqual(requests.length, 1)
      const error = Either.flip(result).pipe(Either.getOrThrow)
      assert.strictEqual(error.message, "OAuth.refresh: Transport: reading the response failed (Decode)")
      assert.isFalse(error._tag === "OAuthTransportError" && error.connectFailed)
    }))

  it.effect("the timeout's message says how long it waited", () =>
    Effect.gen(function*() {
      const { result } = yield* runRetrying(() => Effect.never as never, refreshCall)
      assert.strictEqual(
        Either.flip(result).pipe(Either.getOrThrow).message,
        "OAuth.refresh: Timeout: no answer within 10s"
      )
    }))
})

describe("OAuth (fake HTTP): retries", () => {
  const busy = json(503, { status: 503, message: "busy" })
  const validateBody = { client_id: "cid", login: "someone", user_id: "42", scopes: [], expires_in: 100 }

  it.effect("a transient failure is retried 3 times by default, then reported", () =>
    Effect.gen(function*() {
      const { requests, result } = yield* runRetrying(() => busy, (o) => o.validate(Redacted.make(ACCESS)))
      assert.strictEqual(requests.length, 4)
      assert.strictEqual(Either.flip(result).pipe(Either.getOrThrow)._tag, "OAuthServerError")
    }))

  it.effect("retryTimes sets the number of retries", () =>
    Effect.gen(function*() {
      const once = yield* runRetrying(() => busy, (o) => o.validate(Redacted.make(ACCESS)), { retryTimes: 1 })
      assert.strictEqual(once.requests.length, 2)
      const never = yield* runRetrying(() => busy, (o) => o.validate(Redacted.make(ACCESS)), { retryTimes: 0 })
      assert.strictEqual(never.requests.length, 1)
    }))

  const firstRetryAt = (options: OAuth.Options, before: Duration.DurationInput, after: Duration.DurationInput) =>
    Effect.gen(function*() {
      const fake = fakeHttp(() => busy)
      const layer = OAuth.layer(options).pipe(Layer.provide(Layer.merge(fake.layer, config(true))))
      yield* Effect.fork(
        Effect.flatMap(OAuth.OAuth, (o) => o.validate(Redacted.make(ACCESS))).pipe(Effect.provide(layer))
      )
      yield* TestClock.adjust(before)
      assert.strictEqual(fake.requests.length, 1, "retried too early")
      yield* TestClock.adjust(Duration.subtract(Duration.decode(after), Duration.decode(before)))
      assert.strictEqual(fake.requests.length, 2, "not retried in time")
    })

  it.effect("the first retry waits the base delay (default 250 ms, jittered ±20%)", () =>
    firstRetryAt({}, "199 millis", "301 millis"))

  it.effect("retryBaseDelay sets the first retry delay", () =>
    firstRetryAt({ retryBaseDelay: "1 second" }, "799 millis", "1201 millis"))

  const idempotent: ReadonlyArray<
    readonly [string, (o: OAuth.OAuth.Service) => Effect.Effect<unknown, OAuth.OAuthError>, Reply]
  > = [
    ["validate", (o) => o.validate(Redacted.make(ACCESS)), json(200, validateBody)],
    ["revoke", (o) => o.revoke(Redacted.make(ACCESS)), { status: 200, body: "" }],
    ["appToken", (o) => o.appToken, json(200, { access_token: ACCESS, expires_in: 100, token_type: "bearer" })],
    [
      "deviceStart",
      (o) => o.deviceStart(["chat:read"]),
      json(200, { device_code: "dc", user_code: "UC", verification_uri: "https://v", expires_in: 1800 })
    ]
  ]
  for (const [name, call, ok] of idempotent) {
    it.effect(`${name} is retried after a 5xx (a repeat is harmless)`, () =>
      Effect.gen(function*() {
        const { requests, result } = yield* runRetrying((_, i) => i === 0 ? busy : ok, call)
        assert.isTrue(Either.isRight(result))
        assert.strictEqual(requests.length, 2)
      }))
  }

  const singleUse: ReadonlyArray<
    readonly [string, (o: OAuth.OAuth.Service) => Effect.Effect<unknown, OAuth.OAuthError>]
  > = [
    ["exchangeCode", (o) => o.exchangeCode({ code: "c", redirectUri: "http://localhost/cb" })],
    ["devicePoll", (o) => o.devicePoll(Redacted.make("dc"), [])]
  ]
  for (const [name, call] of singleUse) {
    it.effect(`${name} is not retried after a 5xx (the code may be spent), only when the connection was refused`, () =>
      Effect.gen(function*() {
        const served = yield* runRetrying(() => busy, call)
        assert.strictEqual(served.requests.length, 1)
        const refused = yield* runRetrying(
          (_, i) => i === 0 ? requestError("Transport", { code: "ECONNREFUSED" }) : json(200, tokenBody),
          call
        )
        assert.isTrue(Either.isRight(refused.result))
        assert.strictEqual(refused.requests.length, 2)
      }))
  }
})

describe("OAuth (fake HTTP): the requests Twitch requires", () => {
  it.effect("revoke posts client_id and token as a form to /revoke", () => {
    const { layer, requests } = withFake(() => ({ status: 200, body: "" }))
    return Effect.gen(function*() {
      yield* (yield* OAuth.OAuth).revoke(Redacted.make(ACCESS))
      const req = requests[0]!
      assert.strictEqual(req.method, "POST")
      assert.strictEqual(req.url, "https://auth.test/oauth2/revoke")
      assert.deepStrictEqual(Object.fromEntries(req.form), { client_id: "cid", token: ACCESS })
    }).pipe(Effect.provide(layer))
  })

  it.effect("appToken posts client credentials to /token; the token expires expires_in seconds later", () => {
    const { layer, requests } = withFake((_, i) =>
      json(200, { access_token: ACCESS, expires_in: i === 0 ? 5000 : 0, token_type: "bearer" })
    )
    return Effect.gen(function*() {
      const oauth = yield* OAuth.OAuth
      yield* TestClock.adjust("1 minute")
      const app = yield* oauth.appToken
      assert.strictEqual(Redacted.value(app.accessToken), ACCESS)
      assert.strictEqual(DateTime.toEpochMillis(app.obtainedAt), 60_000)
      assert.strictEqual(Option.getOrUndefined(Option.map(app.expiresAt, DateTime.toEpochMillis)), 60_000 + 5_000_000)
      const req = requests[0]!
      assert.strictEqual(req.method, "POST")
      assert.strictEqual(req.url, "https://auth.test/oauth2/token")
      assert.deepStrictEqual(Object.fromEntries(req.form), {
        client_id: "cid",
        client_secret: SECRET,
        grant_type: "client_credentials"
      })
      // expires_in 0: no known expiry
      assert.isTrue(Option.isNone((yield* oauth.appToken).expiresAt))
    }).pipe(Effect.provide(layer))
  })

  it.effect("exchangeCode posts the code, the redirect URI and the client credentials to /token", () => {
    const { layer, requests } = withFake(() => json(200, tokenBody))
    return Effect.gen(function*() {
      const res = yield* (yield* OAuth.OAuth).exchangeCode({ code: "the-code", redirectUri: "http://localhost/cb" })
      assert.strictEqual(Redacted.value(res.accessToken), ACCESS)
      const req = requests[0]!
      assert.strictEqual(req.method, "POST")
      assert.strictEqual(req.url, "https://auth.test/oauth2/token")
      assert.deepStrictEqual(Object.fromEntries(req.form), {
        client_id: "cid",
        client_secret: SECRET,
        code: "the-code",
        grant_type: "authorization_code",
        redirect_uri: "http://localhost/cb"
      })
    }).pipe(Effect.provide(layer))
  })

  it.effect("deviceStart posts client_id and the scopes to /device; the interval defaults to 5 s", () => {
    const { layer, requests } = withFake(() =>
      json(200, { device_code: "dc", user_code: "UC", verification_uri: "https://v", expires_in: 1800 })
    )
    return Effect.gen(function*() {
      const res = yield* (yield* OAuth.OAuth).deviceStart(["chat:read", "user:read:chat"])
      assert.strictEqual(res.interval, 5)
      assert.strictEqual(res.userCode, "UC")
      const req = requests[0]!
      assert.strictEqual(req.method, "POST")
      assert.strictEqual(req.url, "https://auth.test/oauth2/device")
      assert.deepStrictEqual(Object.fromEntries(req.form), { client_id: "cid", scopes: "chat:read user:read:chat" })
    }).pipe(Effect.provide(layer))
  })

  it.effect("devicePoll posts the device grant to /token, without the client secret", () => {
    const { layer, requests } = withFake(() => json(200, tokenBody))
    return Effect.gen(function*() {
      yield* (yield* OAuth.OAuth).devicePoll(Redacted.make("dc"), ["chat:read", "user:read:chat"])
      const req = requests[0]!
      assert.strictEqual(req.method, "POST")
      assert.strictEqual(req.url, "https://auth.test/oauth2/token")
      assert.deepStrictEqual(Object.fromEntries(req.form), {
        client_id: "cid",
        scopes: "chat:read user:read:chat",
        device_code: "dc",
        grant_type: "urn:ietf:params:oauth:grant-type:device_code"
      })
    }).pipe(Effect.provide(layer))
  })

  it.effect("every call is a span named after it, and no trace header goes to Twitch", () => {
    const captured = Capture.make()
    const { layer, requests } = withFake((req) =>
      req.url.endsWith("/validate")
        ? json(200, { client_id: "cid", expires_in: 0 })
        : req.url.endsWith("/device")
        ? json(200, { device_code: "dc", user_code: "UC", verification_uri: "https://v", expires_in: 1800 })
        : req.url.endsWith("/revoke")
        ? { status: 200, body: "" }
        : json(200, tokenBody)
    )
    return Effect.gen(function*() {
      const oauth = yield* OAuth.OAuth
      yield* oauth.refresh(Redacted.make(REFRESH))
      yield* oauth.validate(Redacted.make(ACCESS))
      yield* oauth.revoke(Redacted.make(ACCESS))
      yield* oauth.appToken
      yield* oauth.exchangeCode({ code: "c", redirectUri: "http://localhost/cb" })
      yield* oauth.deviceStart([])
      yield* oauth.devicePoll(Redacted.make("dc"), [])
      const spans = captured.spanNames()
      for (const method of ["refresh", "validate", "revoke", "appToken", "exchangeCode", "deviceStart", "devicePoll"]) {
        assert.include(spans, `OAuth.${method}`)
      }
      assert.strictEqual(requests.length, 7)
      for (const req of requests) {
        assert.deepStrictEqual(Object.keys(req.headers).filter((h) => h === "traceparent" || h === "b3"), [])
      }
    }).pipe(Effect.provide(layer), captured.around)
  })

  it.effect("authorizeUrl asks for force_verify only when told to", () => {
    const { layer } = withFake(() => json(200, {}))
    return Effect.gen(function*() {
      const oauth = yield* OAuth.OAuth
      const base = { scopes: [], redirectUri: "http://localhost/cb", state: "s" }
      for (const options of [base, { ...base, forceVerify: false }]) {
        assert.isFalse(new URL(oauth.authorizeUrl(options)).searchParams.has("force_verify"))
      }
    }).pipe(Effect.provide(layer))
  })
})

describe("makeUserToken", () => {
  const now = DateTime.unsafeMake(1_000_000)
  const token = (fields: Record<string, unknown>) =>
    Schema.decodeUnknownSync(OAuth.TokenResponse)({ access_token: ACCESS, ...fields })
  const validated = (fields: Record<string, unknown>) =>
    Schema.decodeUnknownSync(OAuth.ValidateResponse)({ client_id: "cid", expires_in: 0, ...fields })

  it("takes who and which scopes from /validate, and the expiry from the token answer", () => {
    const t = OAuth.makeUserToken({
      token: token({ refresh_token: REFRESH, expires_in: 100, scope: ["a"] }),
      validated: validated({ user_id: "42", login: "someone", scopes: ["b"], expires_in: 50 }),
      now
    })
    assert.strictEqual(t.userId, "42")
    assert.strictEqual(t.login, "someone")
    assert.deepStrictEqual(t.scopes, ["b"])
    assert.strictEqual(Redacted.value(t.accessToken), ACCESS)
    assert.strictEqual(Option.getOrUndefined(Option.map(t.refreshToken, Redacted.value)), REFRESH)
    assert.strictEqual(Option.getOrUndefined(Option.map(t.expiresAt, DateTime.toEpochMillis)), 1_100_000)
    assert.strictEqual(DateTime.toEpochMillis(t.obtainedAt), 1_000_000)
  })

  it("falls back to /validate's lifetime, the answer's scopes and the given user; no expiry when neither knows", () => {
    const fallback = OAuth.makeUserToken({
      token: token({ expires_in: 0, scope: ["a"] }),
      validated: validated({ expires_in: 50 }),
      now,
      userId: "7",
      login: "seven"
    })
    assert.strictEqual(fallback.userId, "7")
    assert.strictEqual(fallback.login, "seven")
    assert.deepStrictEqual(fallback.scopes, ["a"])
    assert.strictEqual(Option.getOrUndefined(Option.map(fallback.expiresAt, DateTime.toEpochMillis)), 1_050_000)
    assert.isTrue(Option.isNone(fallback.refreshToken))
    const unknown = OAuth.makeUserToken({ token: token({ refresh_token: "" }), validated: validated({}), now })
    assert.strictEqual(unknown.userId, "")
    assert.strictEqual(unknown.login, "")
    assert.isTrue(Option.isNone(unknown.expiresAt))
    assert.isTrue(Option.isNone(unknown.refreshToken), "an empty refresh token is no refresh token")
    assert.deepStrictEqual(unknown.scopes, [], "no scopes when neither answer lists any")
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
