// The simulator's control API over HTTP (JSON), under `/_sim`:
//
// - `GET  /_sim/device/pending` → `{data:[{user_code, client_id, scopes}]}`
// - `POST /_sim/device/approve` `{user_code, user_id}` · `POST /_sim/device/deny` `{user_code}`
// - `POST /_sim/device/slow_down` `{enabled: boolean | number}`
// - `POST /_sim/tokens/user` `{user_id, scopes?, client_id?, expires_in?}`
//   → `{access_token, refresh_token, expires_in, scope}`
// - `POST /_sim/tokens/app` `{client_id?}` → `{access_token, expires_in}`
// - `POST /_sim/tokens/expire` `{access_token}` · `POST /_sim/tokens/revoke` `{access_token}`
// - `GET  /_sim/users` · `POST /_sim/users` `{login, id?, display_name?, broadcaster_type?}`
// - `POST /_sim/followers` `{broadcaster_id, count?, user_ids?}` · `POST /_sim/chatters` (same shape)
// - `POST /_sim/moderators` `{broadcaster_id, user_id}`
// - `POST /_sim/channels` `{broadcaster_id, title?, game_id?, game_name?, language?, tags?}`
// - `POST /_sim/streams` `{user_id, live, title?, game_id?, game_name?, viewer_count?}`
// - `POST /_sim/ratelimit` `{capacity, refill_per_second}`
// - `POST /_sim/clock` `{skew_seconds}`: the reported clock (`Date`, `Ratelimit-Reset`) runs that far ahead
// - `POST /_sim/faults` `{count, kind: 500|503|429|"malformed"|"delay", delay_ms?, path_prefix?}`
// - `DELETE /_sim/faults`
// - `POST /_sim/chat/drop` `{enabled, code?, message?}` · `GET /_sim/chat/messages` · `GET /_sim/whispers`
// - `GET  /_sim/log` · `DELETE /_sim/log` · `GET /_sim/counters`
// - `/_sim/eventsub/*`: the EventSub part's control routes (trigger, reconnect, close, sessions, subscriptions, ...)
//
// Control errors answer `{status, message}` with 400/404. Only requests a web page cannot forge are
// answered (see `rejectForged`): 421 for a `Host` that is not a loopback name, 415 for a body that is not
// JSON. No CORS headers are sent.
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpRouter from "@effect/platform/HttpRouter"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import type * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { Simulator } from "../Simulator.js"
import { empty, json, jsonBody, oauthError } from "./http.js"

type Service = Simulator.Service

const LOOPBACK_HOST = /^(?:127\.0\.0\.1|\[::1\]|localhost)(?::\d{1,5})?$/i
const JSON_CONTENT = /^application\/json\s*(?:;|$)/i
const WITH_BODY: ReadonlySet<string> = new Set(["POST", "PUT", "PATCH"])

/**
 * The answer to a control request a web page could have forged, if it is one. The simulator listens on
 * loopback only, but a page in the user's browser can still reach it: through DNS rebinding (its own host
 * name resolving to 127.0.0.1: the `Host` header gives it away) or with a cross-origin "simple" POST
 * (`text/plain` or a form, sent without a preflight; a JSON body needs one, which no CORS header allows).
 *
 * @internal
 */
export const rejectForged = (
  request: HttpServerRequest.HttpServerRequest
): HttpServerResponse.HttpServerResponse | undefined => {
  if (!LOOPBACK_HOST.test(request.headers["host"] ?? "")) {
    return oauthError(421, "the control API answers loopback host names only: 127.0.0.1, [::1] or localhost")
  }
  if (WITH_BODY.has(request.method) && !JSON_CONTENT.test(request.headers["content-type"] ?? "")) {
    return oauthError(415, "control requests with a body must be Content-Type: application/json")
  }
  return undefined
}

const withBody = <A, I>(
  schema: Schema.Schema<A, I>,
  f: (body: A) => Effect.Effect<HttpServerResponse.HttpServerResponse, { readonly reason: string }>
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest> => {
  const decode = Schema.decodeUnknownEither(schema)
  return Effect.flatMap(jsonBody, (raw) =>
    Either.match(decode(raw ?? {}), {
      onLeft: (error) => Effect.succeed(oauthError(400, `invalid control request: ${error.message}`)),
      onRight: (body) =>
        f(body).pipe(
          Effect.catchAll((e) => Effect.succeed(oauthError(e.reason.startsWith("unknown") ? 404 : 400, e.reason)))
        )
    }))
}

const UserCode = Schema.Struct({ user_code: Schema.String })
const Approve = Schema.Struct({ user_code: Schema.String, user_id: Schema.String })
const SlowDown = Schema.Struct({ enabled: Schema.Union(Schema.Boolean, Schema.Number) })
const UserTokenBody = Schema.Struct({
  user_id: Schema.String,
  scopes: Schema.optional(Schema.Array(Schema.String)),
  client_id: Schema.optional(Schema.String),
  expires_in: Schema.optional(Schema.Number)
})
const AppTokenBody = Schema.Struct({ client_id: Schema.optional(Schema.String) })
const AccessTokenBody = Schema.Struct({ access_token: Schema.String })
const UserBody = Schema.Struct({
  login: Schema.String,
  id: Schema.optional(Schema.String),
  display_name: Schema.optional(Schema.String),
  broadcaster_type: Schema.optional(Schema.Literal("", "affiliate", "partner"))
})
const PeopleBody = Schema.Struct({
  broadcaster_id: Schema.String,
  count: Schema.optional(Schema.Number),
  user_ids: Schema.optional(Schema.Array(Schema.String))
})
const ModeratorBody = Schema.Struct({ broadcaster_id: Schema.String, user_id: Schema.String })
const ChannelBody = Schema.Struct({
  broadcaster_id: Schema.String,
  title: Schema.optional(Schema.String),
  game_id: Schema.optional(Schema.String),
  game_name: Schema.optional(Schema.String),
  language: Schema.optional(Schema.String),
  tags: Schema.optional(Schema.Array(Schema.String))
})
const StreamBody = Schema.Struct({
  user_id: Schema.String,
  live: Schema.Boolean,
  title: Schema.optional(Schema.String),
  game_id: Schema.optional(Schema.String),
  game_name: Schema.optional(Schema.String),
  viewer_count: Schema.optional(Schema.Number)
})
const RateLimitBody = Schema.Struct({ capacity: Schema.Number, refill_per_second: Schema.Number })
const ClockBody = Schema.Struct({ skew_seconds: Schema.Number })
const FaultBody = Schema.Struct({
  count: Schema.Number,
  kind: Schema.Union(Schema.Literal(500, 503, 429, "malformed", "delay")),
  delay_ms: Schema.optional(Schema.Number),
  path_prefix: Schema.optional(Schema.String)
})
const DropBody = Schema.Struct({
  enabled: Schema.Boolean,
  code: Schema.optional(Schema.String),
  message: Schema.optional(Schema.String)
})

const ok = Effect.as(empty(204))

/** @internal */
export const makeRouter = (sim: Service, eventSubControl: HttpApp.Default): HttpRouter.HttpRouter =>
  HttpRouter.empty.pipe(
    HttpRouter.get(
      "/device/pending",
      Effect.map(
        sim.pendingDevices,
        (data) => json({ data: data.map((d) => ({ user_code: d.userCode, client_id: d.clientId, scopes: d.scopes })) })
      )
    ),
    HttpRouter.post("/device/approve", withBody(Approve, (b) => ok(sim.approveDevice(b.user_code, b.user_id)))),
    HttpRouter.post("/device/deny", withBody(UserCode, (b) => ok(sim.denyDevice(b.user_code)))),
    HttpRouter.post("/device/slow_down", withBody(SlowDown, (b) => ok(sim.setDeviceSlowDown(b.enabled)))),
    HttpRouter.post(
      "/tokens/user",
      withBody(UserTokenBody, (b) =>
        Effect.map(
          sim.issueUserToken({
            userId: b.user_id,
            scopes: b.scopes ?? [],
            clientId: b.client_id,
            expiresInSeconds: b.expires_in
          }),
          (t) =>
            json({
              access_token: t.accessToken,
              refresh_token: t.refreshToken,
              expires_in: t.expiresIn,
              scope: t.scopes
            })
        ))
    ),
    HttpRouter.post(
      "/tokens/app",
      withBody(AppTokenBody, (b) =>
        Effect.map(
          sim.issueAppToken({ clientId: b.client_id }),
          (t) => json({ access_token: t.accessToken, expires_in: t.expiresIn })
        ))
    ),
    HttpRouter.post("/tokens/expire", withBody(AccessTokenBody, (b) => ok(sim.expireToken(b.access_token)))),
    HttpRouter.post("/tokens/revoke", withBody(AccessTokenBody, (b) => ok(sim.revokeToken(b.access_token)))),
    HttpRouter.post(
      "/users",
      withBody(UserBody, (b) =>
        Effect.map(
          sim.addUser({ login: b.login, id: b.id, displayName: b.display_name, broadcasterType: b.broadcaster_type }),
          (user) => json({ data: [user] })
        ))
    ),
    HttpRouter.get(
      "/users",
      Effect.gen(function*() {
        const ids = Object.values(sim.users)
        const users = yield* Effect.forEach(ids, sim.getUser)
        return json({ data: users.flatMap(Option.toArray) })
      })
    ),
    HttpRouter.post(
      "/followers",
      withBody(PeopleBody, (b) => ok(sim.addFollowers(b.broadcaster_id, b.user_ids ?? b.count ?? 0)))
    ),
    HttpRouter.post(
      "/chatters",
      withBody(PeopleBody, (b) => ok(sim.addChatters(b.broadcaster_id, b.user_ids ?? b.count ?? 0)))
    )
  ).pipe(
    HttpRouter.post("/moderators", withBody(ModeratorBody, (b) => ok(sim.addModerator(b.broadcaster_id, b.user_id)))),
    HttpRouter.post(
      "/channels",
      withBody(ChannelBody, (b) =>
        ok(sim.setChannel(b.broadcaster_id, {
          title: b.title,
          gameId: b.game_id,
          gameName: b.game_name,
          language: b.language,
          tags: b.tags
        })))
    ),
    HttpRouter.post(
      "/streams",
      withBody(StreamBody, (b) =>
        ok(sim.setStream(
          b.user_id,
          b.live
            ? { title: b.title, gameId: b.game_id, gameName: b.game_name, viewerCount: b.viewer_count }
            : null
        )))
    ),
    HttpRouter.post(
      "/ratelimit",
      withBody(
        RateLimitBody,
        (b) => ok(sim.setRateLimit({ capacity: b.capacity, refillPerSecond: b.refill_per_second }))
      )
    ),
    HttpRouter.post("/clock", withBody(ClockBody, (b) => ok(sim.setClockSkew(b.skew_seconds)))),
    HttpRouter.post(
      "/faults",
      withBody(FaultBody, (b) =>
        ok(sim.injectFaults({
          count: b.count,
          kind: b.kind === "delay" ? { delayMs: b.delay_ms ?? 1000 } : b.kind,
          pathPrefix: b.path_prefix
        })))
    ),
    HttpRouter.del("/faults", ok(sim.clearFaults)),
    HttpRouter.post(
      "/chat/drop",
      withBody(DropBody, (b) =>
        ok(sim.setChatDrop(
          !b.enabled
            ? false
            : b.code !== undefined
            ? { code: b.code, message: b.message ?? "The message was dropped" }
            : true
        )))
    ),
    HttpRouter.get("/chat/messages", Effect.map(sim.chatMessages, (data) => json({ data }))),
    HttpRouter.get("/whispers", Effect.map(sim.whispers, (data) => json({ data }))),
    HttpRouter.get("/log", Effect.map(sim.requestLog, (data) => json({ data }))),
    HttpRouter.del("/log", ok(sim.clearRequestLog)),
    HttpRouter.get("/counters", Effect.map(sim.counters, (data) => json(data))),
    HttpRouter.all("/eventsub/*", eventSubControl)
  )
