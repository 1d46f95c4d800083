import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, it } from "@effect/vitest"
import { ApiClient } from "@twurple/api"
import { StaticAuthProvider } from "@twurple/auth"
import { Effect, Layer, Option, TestClock, TestServices } from "effect"
import { Simulator } from "effect-twitch/testing"
import * as Http from "node:http"
import { WebSocket } from "ws"

const DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"

interface Answer {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly text: string
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly body: any
}

const call = (
  method: "GET" | "POST" | "PATCH" | "DELETE",
  url: string,
  options: {
    readonly form?: Record<string, string>
    readonly json?: unknown
    readonly headers?: Record<string, string>
  } = {}
) =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    let request = HttpClientRequest.make(method)(url).pipe(HttpClientRequest.setHeaders(options.headers ?? {}))
    if (options.form !== undefined) request = HttpClientRequest.bodyUrlParams(request, options.form)
    if (options.json !== undefined) request = HttpClientRequest.bodyUnsafeJson(request, options.json)
    const response = yield* client.execute(request)
    const text = yield* response.text
    let body: unknown = undefined
    try {
      body = text === "" ? undefined : JSON.parse(text)
    } catch {
      body = undefined
    }
    return { status: response.status, headers: response.headers, text, body } as Answer
  }).pipe(Effect.orDie)

const withSim = <A, E, R>(
  f: (sim: Simulator.Simulator.Service) => Effect.Effect<A, E, R>,
  options?: Simulator.Options
) =>
  Effect.flatMap(Simulator.Simulator, f).pipe(
    Effect.provide(Layer.merge(Simulator.layer(options), FetchHttpClient.layer))
  )

const helixHeaders = (sim: Simulator.Simulator.Service, token: string, clientId = sim.clientId) => ({
  Authorization: `Bearer ${token}`,
  "Client-Id": clientId
})

const startDevice = (sim: Simulator.Simulator.Service, clientId = sim.publicClientId) =>
  Effect.map(
    call("POST", `${sim.authUrl}/device`, { form: { client_id: clientId, scopes: "user:read:chat user:write:chat" } }),
    (a) => a.body as { device_code: string; user_code: string; expires_in: number; interval: number }
  )

const pollDevice = (sim: Simulator.Simulator.Service, deviceCode: string, clientId = sim.publicClientId) =>
  call("POST", `${sim.authUrl}/token`, {
    form: { client_id: clientId, device_code: deviceCode, grant_type: DEVICE_GRANT, scopes: "user:read:chat" }
  })

describe("Simulator OAuth", () => {
  it.scoped("device flow: pending, approve, tokens, reuse", () =>
    withSim((sim) =>
      Effect.gen(function*() {
        const device = yield* startDevice(sim)
        assert.strictEqual(device.expires_in, 1800)
        assert.strictEqual(device.interval, 5)
        assert.match(device.user_code, /^[A-Z]{8}$/)
        const pending = yield* pollDevice(sim, device.device_code)
        assert.deepStrictEqual([pending.status, pending.body], [400, { status: 400, message: "authorization_pending" }])
        assert.deepStrictEqual((yield* sim.pendingDevices).map((d) => d.userCode), [device.user_code])
        yield* sim.approveDevice(device.user_code, sim.users.viewer)
        const ok = yield* pollDevice(sim, device.device_code)
        assert.strictEqual(ok.status, 200)
        assert.strictEqual(ok.body.token_type, "bearer")
        assert.deepStrictEqual(ok.body.scope, ["user:read:chat", "user:write:chat"])
        assert.match(ok.body.access_token, /^[a-z0-9]{30}$/)
        assert.match(ok.body.refresh_token, /^[a-z0-9]{30}$/)
        const validated = yield* call("GET", `${sim.authUrl}/validate`, {
          headers: { Authorization: `OAuth ${ok.body.access_token}` }
        })
        assert.strictEqual(validated.body.user_id, sim.users.viewer)
        assert.strictEqual(validated.body.login, "simviewer")
        assert.strictEqual(validated.body.client_id, sim.publicClientId)
        const reused = yield* pollDevice(sim, device.device_code)
        assert.deepStrictEqual([reused.status, reused.body.message], [400, "invalid device code"])
      })
    ))

  it.scoped("device flow: slow_down switch and denial", () =>
    withSim((sim) =>
      Effect.gen(function*() {
        const device = yield* startDevice(sim)
        yield* sim.setDeviceSlowDown(true)
        const slow = yield* pollDevice(sim, device.device_code)
        assert.deepStrictEqual([slow.status, slow.body], [400, { status: 400, message: "slow_down" }])
        yield* sim.setDeviceSlowDown(false)
        yield* sim.denyDevice(device.user_code)
        const denied = yield* pollDevice(sim, device.device_code)
        assert.deepStrictEqual([denied.status, denied.body], [400, { status: 400, message: "access_denied" }])
        // slow_down for exactly the next poll
        const other = yield* startDevice(sim)
        yield* sim.setDeviceSlowDown(1)
        assert.strictEqual((yield* pollDevice(sim, other.device_code)).body.message, "slow_down")
        assert.strictEqual((yield* pollDevice(sim, other.device_code)).body.message, "authorization_pending")
        assert.strictEqual((yield* sim.counters).devicePolls, 4)
      })
    ))

  it.scoped("device flow: expiry after 1800 s follows the Clock (TestClock)", () =>
    withSim((sim) =>
      Effect.gen(function*() {
        const device = yield* startDevice(sim)
        yield* TestClock.adjust("1799 seconds")
        assert.strictEqual((yield* pollDevice(sim, device.device_code)).body.message, "authorization_pending")
        yield* TestClock.adjust("2 seconds")
        const expired = yield* pollDevice(sim, device.device_code)
        assert.deepStrictEqual([expired.status, expired.body.message], [400, "invalid device code"])
        const unknown = yield* pollDevice(sim, "nope")
        assert.strictEqual(unknown.body.message, "invalid device code")
      })
    ))

  it.scoped("device flow: auto-approval after a moment, over the HTTP control API too", () =>
    withSim(
      (sim) =>
        Effect.gen(function*() {
          const device = yield* startDevice(sim)
          assert.strictEqual((yield* pollDevice(sim, device.device_code)).body.message, "authorization_pending")
          yield* TestClock.adjust("2 seconds")
          const ok = yield* pollDevice(sim, device.device_code)
          assert.strictEqual(ok.status, 200)
          const info = yield* sim.tokenInfo(ok.body.access_token)
          assert.strictEqual(Option.getOrThrow(info).userId, sim.users.bot)

          yield* sim.setAutoApproveDevice(null)
          const manual = yield* startDevice(sim)
          const approve = yield* call("POST", `${sim.baseUrl}/_sim/device/approve`, {
            json: { user_code: manual.user_code, user_id: sim.users.moderator }
          })
          assert.strictEqual(approve.status, 204)
          assert.strictEqual((yield* pollDevice(sim, manual.device_code)).status, 200)
          const unknown = yield* call("POST", `${sim.baseUrl}/_sim/device/approve`, {
            json: { user_code: "ZZZZZZZZ", user_id: sim.users.moderator }
          })
          assert.strictEqual(unknown.status, 404)
        }),
      { autoApproveDevice: { afterMillis: 1500, userId: "100000004" } }
    ))

  it.scoped("refresh: public refresh tokens are single-use; confidential needs the secret", () =>
    withSim((sim) =>
      Effect.gen(function*() {
        const pub = yield* sim.issueUserToken({
          userId: sim.users.viewer,
          scopes: ["user:read:chat"],
          clientId: sim.publicClientId
        })
        const refresh = (form: Record<string, string>) =>
          call("POST", `${sim.authUrl}/token`, { form: { grant_type: "refresh_token", ...form } })
        const first = yield* refresh({ client_id: sim.publicClientId, refresh_token: pub.refreshToken })
        assert.strictEqual(first.status, 200)
        assert.notStrictEqual(first.body.refresh_token, pub.refreshToken)
        assert.deepStrictEqual(first.body.scope, ["user:read:chat"])
        const reuse = yield* refresh({ client_id: sim.publicClientId, refresh_token: pub.refreshToken })
        assert.deepStrictEqual([reuse.status, reuse.body], [400, { status: 400, message: "Invalid refresh token" }])
        const second = yield* refresh({ client_id: sim.publicClientId, refresh_token: first.body.refresh_token })
        assert.strictEqual(second.status, 200)

        const conf = yield* sim.issueUserToken({ userId: sim.users.viewer, scopes: [] })
        const noSecret = yield* refresh({ client_id: sim.clientId, refresh_token: conf.refreshToken })
        assert.deepStrictEqual([noSecret.status, noSecret.body], [400, {
          status: 400,
          message: "missing client secret"
        }])
        const wrong = yield* refresh({ client_id: sim.clientId, client_secret: "x", refresh_token: conf.refreshToken })
        assert.deepStrictEqual([wrong.status, wrong.body.message], [403, "invalid client secret"])
        const ok = yield* refresh({
          client_id: sim.clientId,
          client_secret: sim.clientSecret,
          refresh_token: conf.refreshToken
        })
        assert.strictEqual(ok.status, 200)
        const counters = yield* sim.counters
        assert.strictEqual(counters.tokenRefreshes, 3)
        assert.strictEqual(counters.tokenRefreshFailures, 3)
      })
    ))

  it.scoped("client credentials, authorization code and twitch-cli user_token", () =>
    withSim((sim) =>
      Effect.gen(function*() {
        const app = yield* call("POST", `${sim.authUrl}/token`, {
          form: { client_id: sim.clientId, client_secret: sim.clientSecret, grant_type: "client_credentials" }
        })
        assert.strictEqual(app.status, 200)
        assert.strictEqual(app.body.refresh_token, undefined)
        const validated = yield* call("GET", `${sim.authUrl}/validate`, {
          headers: { Authorization: `OAuth ${app.body.access_token}` }
        })
        assert.deepStrictEqual(validated.body.scopes, [])
        assert.strictEqual(validated.body.user_id, undefined)
        const publicApp = yield* call("POST", `${sim.authUrl}/token`, {
          form: { client_id: sim.publicClientId, grant_type: "client_credentials" }
        })
        assert.deepStrictEqual([publicApp.status, publicApp.body.message], [400, "invalid client"])

        const authorize = yield* Effect.promise(() =>
          fetch(
            `${sim.authUrl}/authorize?response_type=code&client_id=${sim.clientId}` +
              `&redirect_uri=${encodeURIComponent("http://localhost:3000/cb")}&scope=chat%3Aread&state=xyz`,
            { redirect: "manual" }
          )
        )
        assert.strictEqual(authorize.status, 302)
        const location = new URL(authorize.headers.get("location")!)
        assert.strictEqual(location.searchParams.get("state"), "xyz")
        const code = location.searchParams.get("code")!
        const exchange = yield* call("POST", `${sim.authUrl}/token`, {
          form: {
            client_id: sim.clientId,
            client_secret: sim.clientSecret,
            code,
            grant_type: "authorization_code",
            redirect_uri: "http://localhost:3000/cb"
          }
        })
        assert.strictEqual(exchange.status, 200)
        assert.deepStrictEqual(exchange.body.scope, ["chat:read"])
        const again = yield* call("POST", `${sim.authUrl}/token`, {
          form: {
            client_id: sim.clientId,
            client_secret: sim.clientSecret,
            code,
            grant_type: "authorization_code",
            redirect_uri: "http://localhost:3000/cb"
          }
        })
        assert.strictEqual(again.status, 400)

        const cli = yield* call(
          "POST",
          `${sim.baseUrl}/auth/authorize?client_id=${sim.clientId}&client_secret=${sim.clientSecret}` +
            `&grant_type=user_token&user_id=${sim.users.broadcaster}&scope=user:read:email`
        )
        assert.strictEqual(cli.status, 200)
        const me = yield* call("GET", `${sim.baseUrl}/mock/users`, {
          headers: helixHeaders(sim, cli.body.access_token)
        })
        assert.strictEqual(me.body.data[0].email, "simbroadcaster@example.invalid")
      })
    ))

  it.scoped("validate, revoke and expiry make Helix answer 401", () =>
    withSim((sim) =>
      Effect.gen(function*() {
        const a = yield* sim.issueUserToken({ userId: sim.users.viewer, scopes: ["user:read:chat"] })
        const b = yield* sim.issueUserToken({ userId: sim.users.viewer, scopes: [], expiresInSeconds: 60 })
        const validate = (token: string) =>
          call("GET", `${sim.authUrl}/validate`, { headers: { Authorization: `OAuth ${token}` } })
        const usersStatus = (token: string) =>
          Effect.map(call("GET", `${sim.helixUrl}/users`, { headers: helixHeaders(sim, token) }), (a) => a.status)
        const valid = yield* validate(a.accessToken)
        assert.deepStrictEqual(valid.body, {
          client_id: sim.clientId,
          login: "simviewer",
          scopes: ["user:read:chat"],
          user_id: sim.users.viewer,
          expires_in: 14400
        })
        const unknownClient = yield* call("POST", `${sim.authUrl}/revoke`, {
          form: { client_id: "nope", token: a.accessToken }
        })
        assert.deepStrictEqual([unknownClient.status, unknownClient.body.message], [404, "client does not exist"])
        const revoked = yield* call("POST", `${sim.authUrl}/revoke`, {
          form: { client_id: sim.clientId, token: a.accessToken }
        })
        assert.deepStrictEqual([revoked.status, revoked.text], [200, ""])
        const twice = yield* call("POST", `${sim.authUrl}/revoke`, {
          form: { client_id: sim.clientId, token: a.accessToken }
        })
        assert.deepStrictEqual([twice.status, twice.body.message], [400, "Invalid token"])
        assert.deepStrictEqual((yield* validate(a.accessToken)).body, { status: 401, message: "invalid access token" })
        const helix = yield* call("GET", `${sim.helixUrl}/users`, { headers: helixHeaders(sim, a.accessToken) })
        assert.deepStrictEqual([helix.status, helix.body], [401, {
          error: "Unauthorized",
          status: 401,
          message: "Invalid OAuth token"
        }])

        assert.strictEqual(yield* usersStatus(b.accessToken), 200)
        yield* TestClock.adjust("61 seconds")
        assert.strictEqual(yield* usersStatus(b.accessToken), 401)
        assert.strictEqual((yield* validate(b.accessToken)).status, 401)

        const c = yield* sim.issueUserToken({ userId: sim.users.viewer, scopes: [] })
        yield* sim.expireToken(c.accessToken)
        assert.strictEqual(yield* usersStatus(c.accessToken), 401)
      })
    ))
})

/** A request with exactly these headers (`Host` included), over node:http. */
const rawRequest = (port: number, method: string, path: string, headers: Record<string, string>, body?: string) =>
  Effect.async<{ readonly status: number; readonly headers: Http.IncomingHttpHeaders; readonly text: string }>(
    (resume) => {
      const request = Http.request({ host: "127.0.0.1", port, method, path, headers }, (response) => {
        let text = ""
        response.setEncoding("utf8")
        response.on("data", (chunk: string) => (text += chunk))
        response.on(
          "end",
          () => resume(Effect.succeed({ status: response.statusCode ?? 0, headers: response.headers, text }))
        )
      })
      request.on("error", (error) => resume(Effect.die(error)))
      request.end(body)
    }
  )

describe("Simulator control API", () => {
  it.scoped("answers loopback host names only (no DNS rebinding), with no CORS headers", () =>
    withSim((sim) =>
      Effect.gen(function*() {
        const log = (host: string) => rawRequest(sim.port, "GET", "/_sim/log", { host })
        for (const host of [`127.0.0.1:${sim.port}`, `[::1]:${sim.port}`, `localhost:${sim.port}`, "LOCALHOST"]) {
          assert.strictEqual((yield* log(host)).status, 200, host)
        }
        for (const host of [`attacker.example:${sim.port}`, "attacker.example", "127.0.0.1.attacker.example"]) {
          const rejected = yield* log(host)
          assert.strictEqual(rejected.status, 421, host)
          assert.notInclude(rejected.text, "data")
        }
        const fromPage = yield* rawRequest(sim.port, "GET", "/_sim/log", {
          host: `localhost:${sim.port}`,
          origin: "https://attacker.example"
        })
        assert.strictEqual(fromPage.status, 200)
        assert.isUndefined(fromPage.headers["access-control-allow-origin"])
      })
    ))

  it.scoped("control requests with a body must be JSON: a cross-origin text/plain or form POST mints nothing", () =>
    withSim((sim) =>
      Effect.gen(function*() {
        const mint = (contentType: string | undefined) =>
          rawRequest(sim.port, "POST", "/_sim/tokens/user", {
            host: `127.0.0.1:${sim.port}`,
            origin: "https://attacker.example",
            ...(contentType === undefined ? {} : { "content-type": contentType })
          }, JSON.stringify({ user_id: sim.users.broadcaster, scopes: ["user:write:chat"] }))
        const before = (yield* sim.counters).tokensIssued
        for (
          const contentType of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", undefined]
        ) {
          const forged = yield* mint(contentType)
          assert.strictEqual(forged.status, 415, String(contentType))
          assert.notInclude(forged.text, "access_token")
        }
        assert.strictEqual((yield* sim.counters).tokensIssued, before)
        const minted = yield* mint("application/json; charset=utf-8")
        assert.strictEqual(minted.status, 200)
        assert.include(minted.text, "access_token")
        assert.isUndefined(minted.headers["access-control-allow-origin"])
      })
    ))
})

describe("Simulator Helix", () => {
  it.scoped("auth errors: missing token, unknown token, client id mismatch", () =>
    withSim((sim) =>
      Effect.gen(function*() {
        const t = yield* sim.issueUserToken({ userId: sim.users.viewer, scopes: [] })
        const none = yield* call("GET", `${sim.helixUrl}/users?id=1`, { headers: { "Client-Id": sim.clientId } })
        assert.strictEqual(none.status, 401)
        const unknown = yield* call("GET", `${sim.helixUrl}/users`, { headers: helixHeaders(sim, "x".repeat(30)) })
        assert.deepStrictEqual(unknown.body, { error: "Unauthorized", status: 401, message: "Invalid OAuth token" })
        const mismatch = yield* call("GET", `${sim.helixUrl}/users`, {
          headers: helixHeaders(sim, t.accessToken, sim.publicClientId)
        })
        assert.deepStrictEqual([mismatch.status, mismatch.body.error], [401, "Unauthorized"])
        const noClient = yield* call("GET", `${sim.helixUrl}/users`, {
          headers: { Authorization: `Bearer ${t.accessToken}` }
        })
        assert.strictEqual(noClient.status, 401)
      })
    ))

  it.scoped("users by id and login, self, 100 max, email only with scope", () =>
    withSim((sim) =>
      Effect.gen(function*() {
        const t = yield* sim.issueUserToken({ userId: sim.users.viewer, scopes: [] })
        const headers = helixHeaders(sim, t.accessToken)
        const both = yield* call(
          "GET",
          `${sim.helixUrl}/users?id=${sim.users.broadcaster}&login=simmoderator&login=SimBot&id=404`,
          { headers }
        )
        assert.deepStrictEqual(both.body.data.map((u: { login: string }) => u.login), [
          "simbroadcaster",
          "simmoderator",
          "simbot"
        ])
        assert.strictEqual(both.body.data[0].email, undefined)
        const self = yield* call("GET", `${sim.helixUrl}/users`, { headers })
        assert.deepStrictEqual(self.body.data.map((u: { id: string }) => u.id), [sim.users.viewer])
        const tooMany = Array.from({ length: 101 }, (_, i) => `id=${i}`).join("&")
        assert.strictEqual((yield* call("GET", `${sim.helixUrl}/users?${tooMany}`, { headers })).status, 400)
        const app = yield* sim.issueAppToken()
        assert.strictEqual(
          (yield* call("GET", `${sim.helixUrl}/users`, { headers: helixHeaders(sim, app.accessToken) })).status,
          400
        )
      })
    ))

  it.scoped("followers: 1,000 paginate newest first, each exactly once; without the scope only total", () =>
    withSim((sim) =>
      Effect.gen(function*() {
        yield* sim.addFollowers(sim.users.broadcaster, 990)
        yield* sim.addFollowers(sim.users.broadcaster, [sim.users.viewer, sim.users.bot])
        yield* sim.addFollowers(sim.users.broadcaster, 8)
        const t = yield* sim.issueUserToken({ userId: sim.users.broadcaster, scopes: ["moderator:read:followers"] })
        const headers = helixHeaders(sim, t.accessToken)
        const seen: Array<string> = []
        let cursor: string | undefined = undefined
        let pages = 0
        do {
          const page: Answer = yield* call(
            "GET",
            `${sim.helixUrl}/channels/followers?broadcaster_id=${sim.users.broadcaster}&first=100` +
              (cursor === undefined ? "" : `&after=${cursor}`),
            { headers }
          )
          assert.strictEqual(page.status, 200)
          assert.strictEqual(page.body.total, 1000)
          for (const f of page.body.data) seen.push(f.user_id)
          cursor = page.body.pagination.cursor
          pages++
        } while (cursor !== undefined)
        assert.strictEqual(pages, 10)
        assert.strictEqual(seen.length, 1000)
        assert.strictEqual(new Set(seen).size, 1000)
        assert.deepStrictEqual(seen.slice(8, 10), [sim.users.bot, sim.users.viewer])
        const one = yield* call(
          "GET",
          `${sim.helixUrl}/channels/followers?broadcaster_id=${sim.users.broadcaster}&user_id=${sim.users.viewer}`,
          { headers }
        )
        assert.deepStrictEqual(one.body.data.map((f: { user_login: string }) => f.user_login), ["simviewer"])
        const badFirst = yield* call(
          "GET",
          `${sim.helixUrl}/channels/followers?broadcaster_id=${sim.users.broadcaster}&first=101`,
          { headers }
        )
        assert.strictEqual(badFirst.status, 400)

        const viewer = yield* sim.issueUserToken({ userId: sim.users.viewer, scopes: ["moderator:read:followers"] })
        const followersUrl = `${sim.helixUrl}/channels/followers?broadcaster_id=${sim.users.broadcaster}`
        const totalOnly = yield* call("GET", followersUrl, {
          headers: helixHeaders(sim, viewer.accessToken)
        })
        assert.deepStrictEqual(totalOnly.body, { data: [], pagination: {}, total: 1000 })
      })
    ))

  it.scoped("rate limit: bucket empties into 429 with Ratelimit-* headers, refills on the Clock", () =>
    withSim(
      (sim) =>
        Effect.gen(function*() {
          const t = yield* sim.issueUserToken({ userId: sim.users.viewer, scopes: [] })
          const get = call("GET", `${sim.helixUrl}/users`, { headers: helixHeaders(sim, t.accessToken) })
          const first = yield* get
          assert.deepStrictEqual(
            [first.headers["ratelimit-limit"], first.headers["ratelimit-remaining"], first.headers["ratelimit-reset"]],
            ["3", "2", "1"]
          )
          yield* get
          yield* get
          const limited = yield* get
          assert.strictEqual(limited.status, 429)
          assert.deepStrictEqual(limited.body.error, "Too Many Requests")
          assert.strictEqual(limited.headers["ratelimit-remaining"], "0")
          assert.strictEqual(limited.headers["ratelimit-reset"], "3")
          // another user has its own bucket
          const other = yield* sim.issueUserToken({ userId: sim.users.bot, scopes: [] })
          assert.strictEqual(
            (yield* call("GET", `${sim.helixUrl}/users`, { headers: helixHeaders(sim, other.accessToken) })).status,
            200
          )
          yield* TestClock.adjust("1 second")
          assert.strictEqual((yield* get).status, 200)
          assert.strictEqual((yield* get).status, 429)
          assert.strictEqual((yield* sim.counters).rateLimited, 2)
        }),
      { rateLimit: { capacity: 3, refillPerSecond: 1 } }
    ))

  it.scoped("every answer has a Date from the Clock; a skewed clock shifts Date and Ratelimit-Reset", () =>
    withSim(
      (sim) =>
        Effect.gen(function*() {
          const now = Date.parse("2026-03-01T12:00:00Z")
          yield* TestClock.setTime(now)
          const t = yield* sim.issueUserToken({ userId: sim.users.viewer, scopes: [] })
          const get = call("GET", `${sim.helixUrl}/users`, { headers: helixHeaders(sim, t.accessToken) })
          // five minutes behind the Clock, as Twitch's clock is to a client five minutes ahead
          const first = yield* get
          assert.strictEqual(first.headers["date"], new Date(now - 300_000).toUTCString())
          assert.strictEqual(first.headers["ratelimit-reset"], String((now - 300_000) / 1000 + 1))
          const validate = yield* call("GET", `${sim.authUrl}/validate`, {
            headers: { Authorization: `OAuth ${t.accessToken}` }
          })
          assert.strictEqual(validate.headers["date"], new Date(now - 300_000).toUTCString())

          const skew = yield* call("POST", `${sim.baseUrl}/_sim/clock`, { json: { skew_seconds: 60 } })
          assert.strictEqual(skew.status, 204)
          const ahead = yield* get
          assert.strictEqual(ahead.headers["date"], new Date(now + 60_000).toUTCString())
          assert.strictEqual(ahead.headers["ratelimit-reset"], String((now + 60_000) / 1000 + 2))
          yield* sim.setClockSkew(0)
          assert.strictEqual((yield* get).headers["date"], new Date(now).toUTCString())
        }),
      { rateLimit: { capacity: 3, refillPerSecond: 1 }, clockSkewSeconds: -300 }
    ))

  it.scoped("faults: 500, 503, 429, malformed, path prefix, delay", () =>
    withSim((sim) =>
      Effect.gen(function*() {
        const t = yield* sim.issueUserToken({ userId: sim.users.viewer, scopes: [] })
        const get = (path: string) =>
          call("GET", `${sim.helixUrl}${path}`, { headers: helixHeaders(sim, t.accessToken) })
        yield* sim.injectFaults({ count: 2, kind: 500 })
        yield* sim.injectFaults({ count: 1, kind: 503 })
        yield* sim.injectFaults({ count: 1, kind: 429 })
        yield* sim.injectFaults({ count: 1, kind: "malformed" })
        assert.strictEqual((yield* get("/users")).status, 500)
        assert.strictEqual((yield* get("/users")).status, 500)
        assert.strictEqual((yield* get("/users")).status, 503)
        const limited = yield* get("/users")
        assert.strictEqual(limited.status, 429)
        assert.strictEqual(limited.headers["ratelimit-reset"], "3")
        const malformed = yield* get("/users")
        assert.strictEqual(malformed.status, 200)
        assert.strictEqual(malformed.body, undefined)
        assert.strictEqual((yield* get("/users")).status, 200)

        yield* sim.injectFaults({ count: 1, kind: 503, pathPrefix: "/streams" })
        assert.strictEqual((yield* get("/users")).status, 200)
        assert.strictEqual((yield* get("/streams")).status, 503)

        yield* sim.injectFaults({ count: 1, kind: { delayMs: 5000 } })
        const fiber = yield* Effect.fork(get("/users"))
        // wait (real time, a few ms) until the server-side handler sleeps on the TestClock
        while ((yield* TestClock.sleeps()).length === 0) yield* TestServices.provideLive(Effect.sleep("5 millis"))
        assert.isNull(yield* fiber.poll.pipe(Effect.map(Option.getOrNull)))
        yield* TestClock.adjust("5 seconds")
        const delayed = yield* fiber.await.pipe(Effect.flatten)
        assert.strictEqual(delayed.status, 200)
        assert.strictEqual((yield* sim.counters).faultsInjected, 7)
      })
    ))

  it.scoped("chat messages: sent, dropped, scope and sender checks", () =>
    withSim((sim) =>
      Effect.gen(function*() {
        const bot = yield* sim.issueUserToken({ userId: sim.users.bot, scopes: ["user:write:chat"] })
        const send = (token: string, body: unknown) =>
          call("POST", `${sim.helixUrl}/chat/messages`, { headers: helixHeaders(sim, token), json: body })
        const body = { broadcaster_id: sim.users.broadcaster, sender_id: sim.users.bot, message: "hello" }
        const sent = yield* send(bot.accessToken, body)
        assert.strictEqual(sent.status, 200)
        assert.strictEqual(sent.body.data[0].is_sent, true)
        assert.strictEqual(sent.body.data[0].drop_reason, null)
        yield* sim.setChatDrop({ code: "msg_duplicate", message: "duplicate" })
        const dropped = yield* send(bot.accessToken, body)
        assert.deepStrictEqual(dropped.body.data[0].is_sent, false)
        assert.deepStrictEqual(dropped.body.data[0].drop_reason, { code: "msg_duplicate", message: "duplicate" })
        yield* sim.setChatDrop(false)
        assert.strictEqual((yield* send(bot.accessToken, { ...body, message: "x".repeat(501) })).status, 422)
        assert.strictEqual((yield* send(bot.accessToken, { ...body, sender_id: sim.users.viewer })).status, 401)
        const noScope = yield* sim.issueUserToken({ userId: sim.users.bot, scopes: [] })
        const missing = yield* send(noScope.accessToken, body)
        assert.deepStrictEqual([missing.status, missing.body.message], [401, "Missing scope: user:write:chat"])
        const messages = yield* sim.chatMessages
        assert.deepStrictEqual(messages.map((m) => m.is_sent), [true, false])
      })
    ))

  it.scoped("whispers, chatters, channels, streams, bans", () =>
    withSim((sim) =>
      Effect.gen(function*() {
        const mod = yield* sim.issueUserToken({
          userId: sim.users.moderator,
          scopes: ["user:manage:whispers", "moderator:read:chatters", "moderator:manage:banned_users"]
        })
        const headers = helixHeaders(sim, mod.accessToken)
        const whisper = (to: string, message: string) =>
          call("POST", `${sim.helixUrl}/whispers?from_user_id=${sim.users.moderator}&to_user_id=${to}`, {
            headers,
            json: { message }
          })
        assert.strictEqual((yield* whisper(sim.users.viewer, "hi")).status, 204)
        assert.strictEqual((yield* whisper("404404", "hi")).status, 404)
        assert.strictEqual((yield* whisper(sim.users.moderator, "hi")).status, 400)
        assert.strictEqual((yield* whisper(sim.users.viewer, "")).status, 400)
        assert.strictEqual((yield* sim.whispers).length, 1)

        yield* sim.addChatters(sim.users.broadcaster, 150)
        const chatters = yield* call(
          "GET",
          `${sim.helixUrl}/chat/chatters?broadcaster_id=${sim.users.broadcaster}&moderator_id=${sim.users.moderator}`,
          { headers }
        )
        assert.deepStrictEqual([chatters.body.data.length, chatters.body.total], [100, 150])
        assert.isString(chatters.body.pagination.cursor)
        const notMod = yield* call(
          "GET",
          `${sim.helixUrl}/chat/chatters?broadcaster_id=${sim.users.viewer}&moderator_id=${sim.users.moderator}`,
          { headers }
        )
        assert.strictEqual(notMod.status, 403)

        const ban = yield* call(
          "POST",
          `${sim.helixUrl}/moderation/bans?broadcaster_id=${sim.users.broadcaster}&moderator_id=${sim.users.moderator}`,
          { headers, json: { data: { user_id: sim.users.viewer, reason: "spam" } } }
        )
        assert.strictEqual(ban.status, 200)
        assert.strictEqual(ban.body.data[0].end_time, null)
        const unban = yield* call(
          "DELETE",
          `${sim.helixUrl}/moderation/bans?broadcaster_id=${sim.users.broadcaster}&moderator_id=${sim.users.moderator}` +
            `&user_id=${sim.users.viewer}`,
          { headers }
        )
        assert.strictEqual(unban.status, 204)

        const owner = yield* sim.issueUserToken({ userId: sim.users.broadcaster, scopes: ["channel:manage:broadcast"] })
        const patch = yield* call("PATCH", `${sim.helixUrl}/channels?broadcaster_id=${sim.users.broadcaster}`, {
          headers: helixHeaders(sim, owner.accessToken),
          json: { title: "new title", tags: ["English"] }
        })
        assert.strictEqual(patch.status, 204)
        const channel = yield* call("GET", `${sim.helixUrl}/channels?broadcaster_id=${sim.users.broadcaster}`, {
          headers
        })
        assert.strictEqual(channel.body.data[0].title, "new title")
        assert.deepStrictEqual(channel.body.data[0].tags, ["English"])

        yield* sim.setStream(sim.users.broadcaster, { title: "live!", viewerCount: 5 })
        const streams = yield* call("GET", `${sim.helixUrl}/streams?user_login=simbroadcaster`, { headers })
        assert.deepStrictEqual(streams.body.data.map((s: { title: string }) => s.title), ["live!"])
        assert.deepStrictEqual(streams.body.pagination, {})
      })
    ))

  it.scoped("twitch-cli layout on localhost; request log per token", () =>
    withSim((sim) =>
      Effect.gen(function*() {
        const a = yield* sim.issueUserToken({ userId: sim.users.viewer, scopes: [] })
        const b = yield* sim.issueUserToken({ userId: sim.users.bot, scopes: [] })
        yield* call("GET", `http://localhost:${sim.port}/mock/users`, { headers: helixHeaders(sim, a.accessToken) })
        yield* call("GET", `${sim.helixUrl}/users`, { headers: helixHeaders(sim, b.accessToken) })
        yield* call("GET", `${sim.helixUrl}/users`, { headers: helixHeaders(sim, b.accessToken) })
        const subs = yield* call("GET", `http://localhost:${sim.port}/eventsub/subscriptions`, {
          headers: helixHeaders(sim, a.accessToken)
        })
        assert.strictEqual(subs.status, 200)
        assert.strictEqual(subs.headers["ratelimit-limit"], "800")
        assert.strictEqual(yield* sim.countRequests({ path: "/users", token: a.accessToken }), 1)
        assert.strictEqual(yield* sim.countRequests({ path: "/users", userId: sim.users.bot }), 2)
        assert.strictEqual(yield* sim.countRequests({ path: "/eventsub/subscriptions" }), 1)
      })
    ))

  it.live("Twurple's ApiClient gets a user and the followers from the simulator", () =>
    withSim((sim) =>
      Effect.gen(function*() {
        yield* sim.addFollowers(sim.users.broadcaster, 250)
        const token = yield* sim.issueUserToken({
          userId: sim.users.broadcaster,
          scopes: ["moderator:read:followers"]
        })
        const previous = process.env.TWURPLE_MOCK_API_PORT
        process.env.TWURPLE_MOCK_API_PORT = String(sim.port)
        const result = yield* Effect.promise(async () => {
          const api = new ApiClient({ authProvider: new StaticAuthProvider(sim.clientId, token.accessToken) })
          const user = await api.users.getUserById(sim.users.viewer)
          const followers = await api.channels.getChannelFollowers(sim.users.broadcaster)
          const all = await api.channels.getChannelFollowersPaginated(sim.users.broadcaster).getAll()
          return {
            login: user?.name,
            total: followers.total,
            firstPage: followers.data.length,
            all: new Set(all.map((f) => f.userId)).size
          }
        }).pipe(Effect.ensuring(Effect.sync(() => {
          if (previous === undefined) delete process.env.TWURPLE_MOCK_API_PORT
          else process.env.TWURPLE_MOCK_API_PORT = previous
        })))
        assert.deepStrictEqual(result, { login: "simviewer", total: 250, firstPage: 20, all: 250 })
      })
    ))

  it.scopedLive("EventSub part is mounted: /ws welcome, subscription REST, trigger, revocation after /revoke", () =>
    withSim((sim) =>
      Effect.gen(function*() {
        const token = yield* sim.issueUserToken({
          userId: sim.users.broadcaster,
          scopes: ["moderator:read:followers"]
        })
        // the fields this test reads; JSON.parse checks nothing
        type WsMessage = {
          metadata: { message_type: string }
          payload: { session: { id: string }; subscription: { type: string; status: string } }
        }
        const messages: Array<WsMessage> = []
        let wake: (() => void) | null = null
        const ws = new WebSocket(sim.eventSubWsUrl)
        ws.on("error", () => {})
        ws.on("message", (data) => {
          messages.push(JSON.parse(data.toString()))
          wake?.()
        })
        yield* Effect.addFinalizer(() => Effect.sync(() => ws.terminate()))
        const nextOf = (type: string) =>
          Effect.async<WsMessage>((resume) => {
            const check = () => {
              const found = messages.find((m) => m.metadata.message_type === type)
              if (found !== undefined) {
                wake = null
                resume(Effect.succeed(found))
              }
            }
            wake = check
            check()
          }).pipe(Effect.timeout("5 seconds"), Effect.orDie)
        const welcome = yield* nextOf("session_welcome")
        const sessionId: string = welcome.payload.session.id
        const created = yield* call("POST", `${sim.helixUrl}/eventsub/subscriptions`, {
          headers: helixHeaders(sim, token.accessToken),
          json: {
            type: "channel.follow",
            version: "2",
            condition: { broadcaster_user_id: sim.users.broadcaster, moderator_user_id: sim.users.broadcaster },
            transport: { method: "websocket", session_id: sessionId }
          }
        })
        assert.strictEqual(created.status, 202)
        assert.isString(created.headers["ratelimit-remaining"])
        yield* sim.eventSub.trigger({ type: "channel.follow" }).pipe(Effect.orDie)
        const notification = yield* nextOf("notification")
        assert.strictEqual(notification.payload.subscription.type, "channel.follow")
        const revoked = yield* call("POST", `${sim.authUrl}/revoke`, {
          form: { client_id: sim.clientId, token: token.accessToken }
        })
        assert.strictEqual(revoked.status, 200)
        const revocation = yield* nextOf("revocation")
        assert.strictEqual(revocation.payload.subscription.status, "authorization_revoked")
      })
    ))
})
