// Every Helix operation of the route table against the simulator: a well-formed request (synthesized from the
// route's parameters and body schema, with a token holding the route's scopes) answers the route's success
// status and a body valid against the route's response schema; leaving out a required parameter answers 400.
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { Simulator } from "effect-twitch/testing"
import { readFileSync } from "node:fs"
import { WebSocket } from "ws"
import type { JsonSchema } from "./fixtures/json-schema.js"
import { validate } from "./fixtures/json-schema.js"

interface Param {
  readonly name: string
  readonly required: boolean
  readonly array: boolean
  readonly type: string
  readonly enum?: ReadonlyArray<string | number | boolean>
}

interface Route {
  readonly id: string
  readonly method: string
  readonly path: string
  readonly token: "user" | "app" | "either" | "jwt"
  readonly scopes: ReadonlyArray<string>
  readonly actingUser: string | null
  readonly actingUserRequired: boolean
  readonly query: ReadonlyArray<Param>
  readonly body: (JsonSchema & { readonly required?: ReadonlyArray<string> }) | null
  readonly successStatus: number
  readonly response: JsonSchema | null
}

const routes: ReadonlyArray<Route> = (JSON.parse(
  readFileSync(new URL("../src/testing/internal/helixRoutes.json", import.meta.url), "utf8")
) as { readonly operations: ReadonlyArray<Route> }).operations

type Json = Record<string, unknown>

interface Answer {
  readonly status: number
  readonly text: string
  readonly body: unknown
}

const send = (method: string, url: string, token: string, clientId: string, body: unknown) =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    let request = HttpClientRequest.make(method as "GET")(url).pipe(
      HttpClientRequest.setHeaders({ Authorization: `Bearer ${token}`, "Client-Id": clientId })
    )
    if (body !== undefined) request = HttpClientRequest.bodyUnsafeJson(request, body)
    const response = yield* client.execute(request)
    const text = yield* response.text
    let parsed: unknown = undefined
    try {
      parsed = text === "" ? undefined : JSON.parse(text)
    } catch {
      parsed = undefined
    }
    return { status: response.status, text, body: parsed } as Answer
  }).pipe(Effect.orDie)

// ------------------------------------------------------------------------------------------------ synthesis

interface World {
  readonly sim: Simulator.Simulator.Service
  readonly userToken: string
  readonly appToken: string
  readonly sessionId: string
}

const idFor = (w: World, name: string): string => {
  const { broadcaster, viewer } = w.sim.users
  if (/^(?:to_user_id|target_user_id|user_id|to_broadcaster_id|guest_id)$/.test(name)) return viewer
  return broadcaster
}

const scalar = (w: World, p: Param): string => {
  if (p.enum !== undefined) return String(p.enum[0])
  if (p.type === "integer") return "1"
  if (p.type === "number") return "30"
  if (p.type === "boolean") return "false"
  if (/_id$/.test(p.name)) return idFor(w, p.name)
  return /time$/.test(p.name) ? "2030-01-01T00:00:00Z" : "x"
}

const synthesize = (w: World, schema: JsonSchema, key: string): unknown => {
  if (schema.enum !== undefined) return schema.enum[0]
  switch (schema.type) {
    case "object": {
      const required = new Set(schema.required ?? [])
      return Object.fromEntries(
        Object.entries(schema.properties ?? {})
          .filter(([k]) => required.has(k))
          .map(([k, s]) => [k, synthesize(w, s, k)])
      )
    }
    case "array":
      return schema.items === undefined ? [] : [synthesize(w, schema.items, key)]
    case "integer":
    case "number":
      return 1
    case "boolean":
      return false
    default:
      if (/_id$/.test(key)) return idFor(w, key)
      return /time$/.test(key) ? "2030-01-01T00:00:00Z" : "xy"
  }
}

interface Request {
  readonly query: Array<[string, string]>
  readonly body: Json | undefined
}

const wellFormed = (w: World, route: Route): Request => {
  const query = route.query
    .filter((p) => p.required || p.name === route.actingUser)
    .map((p): [string, string] => [p.name, scalar(w, p)])
  const body = route.body === null ? undefined : synthesize(w, route.body, "") as Json
  const acting = route.actingUser
  if (acting !== null) {
    const at = query.findIndex(([k]) => k === acting)
    if (at >= 0) query[at] = [acting, w.sim.users.broadcaster]
    if (body !== undefined && acting in body) body[acting] = w.sim.users.broadcaster
  }
  return { query, body }
}

const setQuery = (query: Array<[string, string]>, name: string, value: string): void => {
  const at = query.findIndex(([k]) => k === name)
  if (at >= 0) query.splice(at, 1)
  query.push([name, value])
}

const call = (w: World, route: Route, request: Request) => {
  const qs = new URLSearchParams(request.query).toString()
  const token = route.token === "app" ? w.appToken : w.userToken
  return send(
    route.method,
    `${w.sim.helixUrl}${route.path}${qs === "" ? "" : `?${qs}`}`,
    token,
    w.sim.clientId,
    request.body
  )
}

const byId = (id: string): Route => routes.find((r) => r.id === id)!

const dataOf = (answer: Answer): ReadonlyArray<Json> => (answer.body as { data?: ReadonlyArray<Json> }).data ?? []

/** Routes whose well-formed request needs state first (an id to end, update or delete) or values in range. */
const prepare: Readonly<
  Record<string, (w: World, request: Request) => Effect.Effect<Request, never, HttpClient.HttpClient>>
> = {
  "modify-channel-information": (_w, r) => Effect.succeed({ ...r, body: { title: "conformance" } }),
  "create-poll": (w, r) => Effect.succeed({ ...r, body: { ...r.body, ...pollBody(w) } }),
  "end-poll": (w, r) =>
    Effect.gen(function*() {
      const created = dataOf(yield* call(w, byId("create-poll"), { query: [], body: pollBody(w) }))
      const listed = dataOf(
        yield* call(w, byId("get-polls"), { query: [["broadcaster_id", w.sim.users.broadcaster]], body: undefined })
      )
      const poll = created[0] ?? listed[0]!
      return { ...r, body: { ...r.body, id: poll.id, status: "TERMINATED" } }
    }),
  "create-prediction": (w, r) => Effect.succeed({ ...r, body: predictionBody(w) }),
  "end-prediction": (w, r) =>
    Effect.gen(function*() {
      const created = dataOf(yield* call(w, byId("create-prediction"), { query: [], body: predictionBody(w) }))[0]
      const listed = dataOf(
        yield* call(w, byId("get-predictions"), {
          query: [["broadcaster_id", w.sim.users.broadcaster]],
          body: undefined
        })
      )
      const prediction = created ?? listed[0]!
      const outcome = (prediction.outcomes as ReadonlyArray<Json>)[0]!.id as string
      return { ...r, body: { ...r.body, id: prediction.id, status: "RESOLVED", winning_outcome_id: outcome } }
    }),
  "update-conduits": (w, r) => Effect.map(withConduit(w), (id) => ({ ...r, body: { id, shard_count: 2 } })),
  "delete-conduit": (w, r) => Effect.map(withConduit(w), (id) => ({ ...r, query: [["id", id]] })),
  "get-conduit-shards": (w, r) => Effect.map(withConduit(w), (id) => ({ ...r, query: [["conduit_id", id]] })),
  "update-conduit-shards": (w, r) =>
    Effect.map(withConduit(w), (conduit_id) => ({
      ...r,
      body: { conduit_id, shards: [{ id: "0", transport: { method: "websocket", session_id: w.sessionId } }] }
    })),
  "pin-chat-message": (w, r) => withChatMessage(w, r, false),
  "update-pinned-chat-message": (w, r) => withChatMessage(w, r, true),
  "unpin-chat-message": (w, r) => withChatMessage(w, r, true),
  "update-custom-reward": (w, r) => withReward(w, r),
  "delete-custom-reward": (w, r) => withReward(w, r),
  "get-custom-reward-redemption": (w, r) =>
    withReward(w, { ...r, query: [...r.query, ["status", "UNFULFILLED"]] }, "reward_id"),
  "start-a-raid": (w, r) => Effect.succeed({ ...r, query: [...r.query, ["to_broadcaster_id", w.sim.users.viewer]] }),
  "update-redemption-status": (w, r) =>
    Effect.gen(function*() {
      const request = yield* withReward(w, r, "reward_id")
      const rewardId = request.query.find(([k]) => k === "reward_id")![1]
      const redemptionId = yield* w.sim.redeemReward({
        broadcasterId: w.sim.users.broadcaster,
        rewardId,
        userId: w.sim.users.viewer
      }).pipe(Effect.orDie)
      setQuery(request.query, "id", redemptionId)
      return { ...request, body: { status: "FULFILLED" } }
    }),
  "ban-user": (w, r) => Effect.succeed({ ...r, body: { data: { user_id: w.sim.users.viewer } } }),
  "add-blocked-term": (_w, r) => Effect.succeed({ ...r, body: { text: "conformance" } }),
  "get-channel-stream-schedule": (w, r) => Effect.as(createSegment(w), r),
  "create-channel-stream-schedule-segment": (_w, r) => Effect.succeed({ ...r, body: segmentBody() }),
  "update-channel-stream-schedule-segment": (w, r) => withSegment(w, r),
  "delete-channel-stream-schedule-segment": (w, r) => withSegment(w, r),
  "check-user-subscription": (w, r) =>
    Effect.gen(function*() {
      yield* w.sim.addSubscription({ broadcasterId: w.sim.users.viewer, userId: w.sim.users.broadcaster }).pipe(
        Effect.orDie
      )
      setQuery(r.query, "broadcaster_id", w.sim.users.viewer)
      return r
    }),
  "create-eventsub-subscription": (w, r) =>
    Effect.succeed({
      ...r,
      body: {
        type: "channel.poll.begin",
        version: "1",
        condition: { broadcaster_user_id: w.sim.users.broadcaster },
        transport: { method: "websocket", session_id: w.sessionId }
      }
    }),
  "delete-eventsub-subscription": (w, r) =>
    Effect.gen(function*() {
      const created = yield* call(w, byId("create-eventsub-subscription"), {
        query: [],
        body: {
          type: "channel.poll.end",
          version: "1",
          condition: { broadcaster_user_id: w.sim.users.broadcaster },
          transport: { method: "websocket", session_id: w.sessionId }
        }
      })
      setQuery(r.query, "id", dataOf(created)[0]!.id as string)
      return r
    })
}

const pollBody = (w: World) => ({
  broadcaster_id: w.sim.users.broadcaster,
  title: "Conformance?",
  choices: [{ title: "yes" }, { title: "no" }],
  duration: 60
})

const predictionBody = (w: World) => ({
  broadcaster_id: w.sim.users.broadcaster,
  title: "Conformance?",
  outcomes: [{ title: "yes" }, { title: "no" }],
  prediction_window: 60
})

const segmentBody = () => ({
  start_time: "2030-01-01T18:00:00Z",
  timezone: "UTC",
  duration: "60",
  title: "Conformance"
})

const createSegment = (w: World) =>
  call(w, byId("create-channel-stream-schedule-segment"), {
    query: [["broadcaster_id", w.sim.users.broadcaster]],
    body: segmentBody()
  })

const withSegment = (w: World, r: Request) =>
  Effect.map(createSegment(w), (created) => {
    const segments = (created.body as { data: { segments: ReadonlyArray<Json> } }).data.segments
    setQuery(r.query, "id", segments[0]!.id as string)
    return r
  })

/** A message sent to the broadcaster's chat room (and pinned when `pin`), named in `message_id`. */
const withChatMessage = (w: World, r: Request, pin: boolean) =>
  Effect.gen(function*() {
    const { broadcaster } = w.sim.users
    const sent = yield* call(w, byId("send-chat-message"), {
      query: [],
      body: { broadcaster_id: broadcaster, sender_id: broadcaster, message: "pin me" }
    })
    const messageId = dataOf(sent)[0]!.message_id as string
    if (pin) {
      yield* call(w, byId("pin-chat-message"), {
        query: [["broadcaster_id", broadcaster], ["moderator_id", broadcaster], ["message_id", messageId]],
        body: undefined
      })
    }
    setQuery(r.query, "message_id", messageId)
    return r
  })

let rewardCount = 0
const withReward = (w: World, r: Request, name = "id") =>
  Effect.map(
    call(w, byId("create-custom-rewards"), {
      query: [["broadcaster_id", w.sim.users.broadcaster]],
      body: { title: `reward ${++rewardCount}`, cost: 10 }
    }),
    (created) => {
      setQuery(r.query, name, dataOf(created)[0]!.id as string)
      return r
    }
  )

/** The well-formed request without its first required parameter (query or body); undefined when none is required. */
const withoutRequired = (route: Route, request: Request): Request | undefined => {
  const required = route.query.find((p) => p.required || (p.name === route.actingUser && route.actingUserRequired))
  if (required !== undefined) return { ...request, query: request.query.filter(([k]) => k !== required.name) }
  const field = route.body?.required?.[0]
  if (field === undefined || request.body === undefined) return undefined
  const { [field]: _dropped, ...rest } = request.body
  return { ...request, body: rest }
}

// ------------------------------------------------------------------------------------------------ world

/** A new conduit's id. */
const withConduit = (w: World) =>
  Effect.map(
    call(w, byId("create-conduits"), { query: [], body: { shard_count: 1 } }),
    (answer) => dataOf(answer)[0]!.id as string
  )

const ALL_SCOPES = [...new Set(routes.flatMap((r) => r.scopes))]

const openSession = (url: string) =>
  Effect.acquireRelease(
    Effect.async<{ readonly ws: WebSocket; readonly sessionId: string }>((resume) => {
      const ws = new WebSocket(url)
      ws.on("error", () => {})
      ws.once("message", (data) => {
        const welcome = JSON.parse(data.toString()) as { payload: { session: { id: string } } }
        resume(Effect.succeed({ ws, sessionId: welcome.payload.session.id }))
      })
    }),
    ({ ws }) => Effect.sync(() => ws.terminate())
  )

const makeWorld = Effect.gen(function*() {
  const sim = yield* Simulator.Simulator
  const user = yield* sim.issueUserToken({ userId: sim.users.broadcaster, scopes: ALL_SCOPES })
  const app = yield* sim.issueAppToken()
  const { sessionId } = yield* openSession(sim.eventSubWsUrl)
  return { sim, userToken: user.accessToken, appToken: app.accessToken, sessionId } satisfies World
})

const TestLayer = Layer.merge(
  Simulator.layer({ rateLimit: { capacity: 100_000, refillPerSecond: 100_000 } }),
  FetchHttpClient.layer
)

// ------------------------------------------------------------------------------------------------ tests

describe("every Helix route of the simulator", () => {
  it.scoped("answers a well-formed request with the success status and a schema-valid body", () =>
    Effect.gen(function*() {
      const w = yield* makeWorld
      const failures: Array<string> = []
      let covered = 0
      for (const route of routes) {
        const base = wellFormed(w, route)
        const request = yield* (prepare[route.id]?.(w, base) ?? Effect.succeed(base))
        const answer = yield* call(w, route, request)
        if (answer.status !== route.successStatus) {
          failures.push(`${route.id}: ${answer.status} ${answer.text.slice(0, 200)}`)
          continue
        }
        if (route.response !== null) {
          const errors = validate(route.response, answer.body)
          if (errors.length > 0) {
            failures.push(`${route.id}: ${errors.slice(0, 3).join("; ")}`)
            continue
          }
        } else if (route.successStatus === 204) {
          assert.strictEqual(answer.text, "", route.id)
        }
        covered++
      }
      console.log(`simulator-helix-routes: ${covered} of ${routes.length} routes answered a schema-valid success`)
      assert.deepStrictEqual(failures, [])
      assert.strictEqual(covered, routes.length)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("answers 400 when a required parameter is missing", () =>
    Effect.gen(function*() {
      const w = yield* makeWorld
      const failures: Array<string> = []
      let withRequired = 0
      let covered = 0
      for (const route of routes) {
        const request = withoutRequired(route, wellFormed(w, route))
        if (request === undefined) continue
        withRequired++
        const answer = yield* call(w, route, request)
        const body = answer.body as { error?: unknown; status?: unknown; message?: unknown } | undefined
        if (
          answer.status !== 400 || body?.status !== 400 || body.error !== "Bad Request" ||
          typeof body.message !== "string"
        ) {
          failures.push(`${route.id}: ${answer.status} ${answer.text.slice(0, 160)}`)
          continue
        }
        covered++
      }
      console.log(`simulator-helix-routes: ${covered} of ${withRequired} routes with a required parameter answered 400`)
      assert.deepStrictEqual(failures, [])
      assert.strictEqual(covered, withRequired)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("answers 401 \"Missing scope\" to a user token without any of the route's scopes", () =>
    Effect.gen(function*() {
      const w = yield* makeWorld
      const bare = yield* w.sim.issueUserToken({ userId: w.sim.users.broadcaster, scopes: [] })
      const scoped = routes.filter((r) => r.scopes.length > 0 && r.token !== "app")
      const failures: Array<string> = []
      for (const route of scoped) {
        if (route.id === "get-channel-followers") continue // answers `total` alone without the scope, as Twitch does
        const answer = yield* call({ ...w, userToken: bare.accessToken }, route, wellFormed(w, route))
        const message = (answer.body as { message?: string } | undefined)?.message ?? ""
        if (answer.status !== 401 || !message.startsWith("Missing scope")) {
          failures.push(`${route.id}: ${answer.status}`)
        }
      }
      assert.deepStrictEqual(failures, [])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("takes Send Chat Message's broadcaster_id and sender_id from the query string, as Twurple sends them", () =>
    Effect.gen(function*() {
      const w = yield* makeWorld
      const { broadcaster } = w.sim.users
      const answer = yield* call(w, byId("send-chat-message"), {
        query: [["broadcaster_id", broadcaster], ["sender_id", broadcaster]],
        body: { message: "hello from the query string" }
      })
      assert.strictEqual(answer.status, 200)
      assert.strictEqual(dataOf(answer)[0]!.is_sent, true)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a poll goes ACTIVE → TERMINATED, and a second poll cannot start while one runs", () =>
    Effect.gen(function*() {
      const w = yield* makeWorld
      const created = dataOf(yield* call(w, byId("create-poll"), { query: [], body: pollBody(w) }))[0]!
      assert.strictEqual(created.status, "ACTIVE")
      const second = yield* call(w, byId("create-poll"), { query: [], body: pollBody(w) })
      assert.strictEqual(second.status, 400)
      const ended = yield* call(w, byId("end-poll"), {
        query: [],
        body: { broadcaster_id: w.sim.users.broadcaster, id: created.id, status: "TERMINATED" }
      })
      assert.strictEqual(dataOf(ended)[0]!.status, "TERMINATED")
      const listed = yield* call(w, byId("get-polls"), {
        query: [["broadcaster_id", w.sim.users.broadcaster], ["id", created.id as string]],
        body: undefined
      })
      assert.deepStrictEqual(dataOf(listed).map((p) => p.status), ["TERMINATED"])
    }).pipe(Effect.provide(TestLayer)))
})
