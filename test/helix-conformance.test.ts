/**
 * Every generated Helix operation against Twitch's description of it (the route table generated from
 * codegen/inputs/helix-openapi.json with the reviewed overrides): the request the client sends (method,
 * path, query parameters, JSON body, which token) conforms to the spec, and the client decodes Twitch's
 * own documented answer (or, where the docs give none, an answer synthesized from the spec's schema).
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { assert, describe, it } from "@effect/vitest"
import { Cause, DateTime, Effect, Layer, Option, Redacted, Stream } from "effect"
import { readFileSync } from "node:fs"
import * as AccessTokens from "../src/AccessTokens.js"
import * as Helix from "../src/Helix.js"
import * as HelixApi from "../src/HelixApi.js"
import { AppToken, UserToken } from "../src/Token.js"
import * as TwitchConfig from "../src/TwitchConfig.js"
import type { JsonSchema } from "./fixtures/json-schema.js"
import { synthesize, validate } from "./fixtures/json-schema.js"

interface RouteParam {
  readonly name: string
  readonly required: boolean
  readonly array: boolean
  readonly type: string
  readonly enum?: ReadonlyArray<unknown>
}

interface Route {
  readonly id: string
  readonly name: string
  readonly tag: string
  readonly method: string
  readonly path: string
  readonly token: "user" | "app" | "either" | "jwt"
  readonly scopes: ReadonlyArray<string>
  readonly actingUser: string | null
  readonly query: ReadonlyArray<RouteParam>
  readonly pagination: { readonly pageSize: number } | null
  readonly body: JsonSchema | null
  readonly successStatus: number
  readonly response: JsonSchema | null
  readonly responseExample: unknown
  readonly requestExample: unknown
}

const routes: ReadonlyArray<Route> = (JSON.parse(
  readFileSync(new URL("../src/testing/internal/helixRoutes.json", import.meta.url), "utf8")
) as { readonly operations: ReadonlyArray<Route> }).operations

const moduleOf = (tag: string): string =>
  tag.split(/\s+/).map((word) => word.charAt(0).toUpperCase() + word.slice(1)).join("")

const operationOf = (route: Route): Helix.Endpoint<Record<string, unknown>, unknown> => {
  const module =
    (HelixApi as unknown as Record<string, Record<string, Helix.Endpoint<Record<string, unknown>, unknown>>>)[
      moduleOf(route.tag)
    ]
  const op = module?.[route.name]
  if (op === undefined) throw new Error(`no generated operation ${moduleOf(route.tag)}.${route.name} for ${route.id}`)
  return op
}

const USER = "42"

const paramValue = (param: RouteParam): unknown => {
  const one = param.enum?.[0] ??
    (param.type === "integer" || param.type === "number" ? 1 : param.type === "boolean" ? true : "1")
  return param.array ? [one, one] : one
}

/** Every query parameter but the acting user's (the runtime fills it in), and the documented body. */
const inputOf = (route: Route): Record<string, unknown> => {
  const input: Record<string, unknown> = {}
  for (const param of route.query) {
    if (param.name !== route.actingUser) input[param.name] = paramValue(param)
  }
  if (route.body !== null) {
    const example = route.requestExample ?? synthesize(route.body)
    Object.assign(input, example)
    if (route.actingUser !== null && route.actingUser in input) delete input[route.actingUser]
  }
  if (route.token === "jwt") input.extension_jwt = Redacted.make("extension-jwt")
  return input
}

interface Sent {
  readonly method: string
  readonly path: string
  readonly query: URLSearchParams
  readonly authorization: string | undefined
  readonly body: unknown
}

const answerOf = (route: Route): string | null =>
  route.successStatus === 204 || route.response === null
    ? null
    : JSON.stringify(route.responseExample ?? synthesize(route.response))

const layerFor = (route: Route, sent: Array<Sent>) => {
  const client = HttpClient.make((request, url) =>
    Effect.sync(() => {
      sent.push({
        method: request.method,
        path: url.pathname,
        query: url.searchParams,
        authorization: request.headers["authorization"],
        body: request.body._tag === "Uint8Array" ? JSON.parse(new TextDecoder().decode(request.body.body)) : undefined
      })
      return HttpClientResponse.fromWeb(
        request,
        new Response(answerOf(route), { status: route.successStatus, headers: { "content-type": "application/json" } })
      )
    })
  )
  const token = (userId: string) =>
    new UserToken({
      userId,
      login: `user${userId}`,
      scopes: route.scopes,
      accessToken: Redacted.make(`user-${userId}`),
      refreshToken: Option.none(),
      expiresAt: Option.none(),
      obtainedAt: DateTime.unsafeMake(0)
    })
  const app = new AppToken({
    accessToken: Redacted.make("app"),
    expiresAt: Option.none(),
    obtainedAt: DateTime.unsafeMake(0)
  })
  const tokens: AccessTokens.AccessTokens.Service = {
    forUser: (userId) => Effect.succeed(token(userId)),
    refreshAfterUnauthorized: (userId) => Effect.succeed(token(userId)),
    app: Effect.succeed(app),
    appAfterUnauthorized: () => Effect.succeed(app),
    refreshes: Stream.empty
  }
  return Helix.layer().pipe(
    Layer.provide(Layer.succeed(HttpClient.HttpClient, client)),
    Layer.provide(Layer.succeed(AccessTokens.AccessTokens, tokens)),
    Layer.provide(TwitchConfig.layer({ clientId: "cid", helixUrl: "http://helix.test/helix" }))
  )
}

/** Every way the sent request departs from the route. */
const requestProblems = (route: Route, request: Sent, input: Record<string, unknown>): Array<string> => {
  const problems: Array<string> = []
  if (request.method !== route.method) problems.push(`method ${request.method}`)
  if (request.path !== `/helix${route.path}`) problems.push(`path ${request.path}`)
  const known = new Map(route.query.map((p) => [p.name, p]))
  for (const name of new Set(request.query.keys())) {
    const paging = route.pagination !== null && (name === "first" || name === "after")
    if (!known.has(name) && !paging) problems.push(`query ${name} is not a parameter of ${route.id}`)
  }
  for (const param of route.query) {
    const values = request.query.getAll(param.name)
    if ((param.required || param.name === route.actingUser) && values.length === 0) {
      problems.push(`query ${param.name} missing`)
    }
    if (param.array && param.name in input && values.length !== (input[param.name] as ReadonlyArray<unknown>).length) {
      problems.push(`query ${param.name}: array not sent as repeated parameters`)
    }
  }
  if (route.actingUser !== null) {
    const acting = request.query.get(route.actingUser) ??
      (request.body as Record<string, unknown> | undefined)?.[route.actingUser]
    if (acting !== USER) problems.push(`acting user ${route.actingUser} = ${String(acting)}, not ${USER}`)
  }
  if (route.body === null && request.body !== undefined) problems.push("a body where the spec has none")
  const bodyProblems = route.body === null ? [] : validate(route.body, request.body, "body")
  const expected = route.token === "app"
    ? "Bearer app"
    : route.token === "jwt"
    ? "Bearer extension-jwt"
    : `Bearer user-${USER}`
  if (request.authorization !== expected) problems.push(`authorization ${request.authorization}, expected ${expected}`)
  return problems.concat(bodyProblems)
}

const call = (route: Route, input: Record<string, unknown>) =>
  Effect.flatMap(Helix.Helix, (helix) => helix.request(operationOf(route), input)).pipe(Helix.withUser(USER))

describe("Helix conformance with Twitch's reference", () => {
  it("covers every operation of the spec", () => {
    const covered = routes.filter((route) => {
      operationOf(route)
      return true
    })
    console.log(`helix conformance: ${covered.length} of ${routes.length} operations`)
    assert.strictEqual(covered.length, 148)
  })

  for (const route of routes) {
    it.effect(`${route.method} ${route.path} (${route.id})`, () =>
      Effect.gen(function*() {
        const sent: Array<Sent> = []
        const input = inputOf(route)
        const exit = yield* Effect.exit(call(route, input).pipe(Effect.provide(layerFor(route, sent))))
        assert.strictEqual(sent.length, 1, `${route.id}: one request`)
        assert.deepStrictEqual(requestProblems(route, sent[0]!, input), [])
        assert.isTrue(
          exit._tag === "Success",
          `${route.id}: the documented answer decodes: ${exit._tag === "Failure" ? Cause.pretty(exit.cause) : ""}`
        )
      }))
  }
})

describe("Helix answers Twitch may change", () => {
  const users = routes.find((route) => route.id === "get-users")!
  const answering = (body: unknown) => ({ ...users, responseExample: body })
  const user = (users.responseExample as { readonly data: ReadonlyArray<Record<string, unknown>> }).data[0]!
  const getUsers = (route: Route) =>
    Effect.flatMap(Helix.Helix, (helix) => helix.request(HelixApi.Users.getUsers, { id: ["1"] })).pipe(
      Helix.withUser(USER),
      Effect.provide(layerFor(route, []))
    )

  it.effect("a field Twitch adds later is ignored; an enum value Twitch adds later decodes as a string", () =>
    Effect.gen(function*() {
      const body = yield* getUsers(
        answering({ data: [{ ...user, type: "space_admin", added_in_2027: { nested: [1] } }] })
      )
      assert.strictEqual(body.data[0]!.type, "space_admin")
      assert.notProperty(body.data[0], "added_in_2027")
    }))

  it.effect("an answer that does not fit is a HelixDecodeError naming the operation and the field path", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(getUsers(answering({ data: [{ ...user, view_count: "many" }] })))
      assert.strictEqual(error._tag, "HelixDecodeError")
      if (error._tag !== "HelixDecodeError") return
      assert.strictEqual(error.method, "getUsers")
      assert.strictEqual(error.endpoint, "GET /users")
      assert.strictEqual(error.path, "data[0].view_count")
      assert.notInclude(error.message, "many")
    }))
})
