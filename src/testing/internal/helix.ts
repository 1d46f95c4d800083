// The simulator's api.twitch.tv/helix side: Twitch's auth middleware, the rate-limit bucket, injected faults,
// and every operation of the route table (mounted at `/helix` and, twitch-cli style, at `/mock`).
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type { SimTokenInfo } from "./contracts.js"
import * as bans from "./helix/bans.js"
import * as blockedTerms from "./helix/blockedTerms.js"
import * as channels from "./helix/channels.js"
import * as chat from "./helix/chat.js"
import { type CheckOptions, checkRequest } from "./helix/check.js"
import * as conduits from "./helix/conduits.js"
import type { Emit, Handler, Later } from "./helix/context.js"
import { generic } from "./helix/generic.js"
import * as moderators from "./helix/moderators.js"
import * as polls from "./helix/polls.js"
import * as predictions from "./helix/predictions.js"
import * as raids from "./helix/raids.js"
import * as rewards from "./helix/rewards.js"
import { helixRoutes, type Route } from "./helix/routes.js"
import * as schedule from "./helix/schedule.js"
import * as shieldMode from "./helix/shieldMode.js"
import type { HelixStore } from "./helix/store.js"
import * as streams from "./helix/streams.js"
import * as subscriptions from "./helix/subscriptions.js"
import * as users from "./helix/users.js"
import { helixError, jsonBody, queryPairs } from "./http.js"
import type { BucketState, SimState } from "./state.js"

const rateLimitHeaders = (bucket: BucketState): Record<string, string> => ({
  "Ratelimit-Limit": String(bucket.limit),
  "Ratelimit-Remaining": String(bucket.remaining),
  "Ratelimit-Reset": String(bucket.reset)
})

const MALFORMED_BODY = "{\"data\":[{\"id\":\"1\",\"login\":\"trunc"

/**
 * Auth → bucket → fault, then `next(token)`; adds `Ratelimit-*` headers to every answer past auth.
 * `onUnauthorized` decides what a failed auth answers (the EventSub part authenticates itself).
 */
const guard = (
  state: SimState,
  helixPath: string,
  next: (
    token: SimTokenInfo,
    now: number
  ) => Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest>,
  onUnauthorized: (
    message: string
  ) => Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest>
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest> =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const now = yield* Clock.currentTimeMillis
    state.counters.helixRequests++
    const auth = state.authenticate(request.headers["authorization"], request.headers["client-id"], now)
    if (auth._tag === "Unauthorized") return yield* onUnauthorized(auth.message)
    const bucket = state.consume(`${auth.token.clientId}:${auth.token.userId ?? "app"}`, now)
    const headers = rateLimitHeaders(bucket.state)
    if (!bucket.ok) return helixError(429, "Too Many Requests", headers)
    const fault = state.takeFault(helixPath)
    if (fault !== null) {
      if (fault === 500 || fault === 503) return helixError(fault, "Internal Server Error", headers)
      if (fault === 429) {
        return helixError(429, "Too Many Requests", {
          ...headers,
          "Ratelimit-Remaining": "0",
          "Ratelimit-Reset": String(Math.ceil(state.reportedTime(now) / 1000) + 3)
        })
      }
      if (fault === "malformed") {
        return HttpServerResponse.text(MALFORMED_BODY, { status: 200, contentType: "application/json", headers })
      }
      yield* Effect.sleep(fault.delayMs)
    }
    const response = yield* next(auth.token, now)
    return HttpServerResponse.setHeaders(response, headers)
  })

/**
 * Wrap the EventSub part's REST app with the bucket, faults and headers; it answers auth failures itself.
 * @internal
 */
export const wrapSubscriptionsApp = (
  state: SimState,
  app: HttpApp.Default
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest> =>
  guard(state, "/eventsub/subscriptions", () => app, () => app)

// ------------------------------------------------------------------------------------------------ router

/** Operations with state; every other operation answers its documented example (`generic`). */
const OPERATIONS: Readonly<Record<string, Handler>> = {
  ...users.operations,
  ...channels.operations,
  ...chat.operations,
  ...streams.operations,
  ...bans.operations,
  ...moderators.operations,
  ...polls.operations,
  ...predictions.operations,
  ...rewards.operations,
  ...blockedTerms.operations,
  ...raids.operations,
  ...schedule.operations,
  ...shieldMode.operations,
  ...subscriptions.operations,
  ...conduits.operations
}

/** Checks an operation does itself, with Twitch's outcome for it. */
const OWN_CHECKS: Readonly<Record<string, CheckOptions>> = {
  // a moderator_id other than the token's user only hides the moderator-only fields
  "get-chat-settings": { actingUser: false },
  // without the scope (or as a non-moderator) Twitch answers `total` alone
  "get-channel-followers": { scopes: false }
}

/** Served by the EventSub part (`wrapSubscriptionsApp`). */
const EVENTSUB_SUBSCRIPTIONS = "/eventsub/subscriptions"

/** The world a handler works on. @internal */
export interface HelixWorld {
  readonly state: SimState
  readonly store: HelixStore
  readonly emit: Emit
  readonly later: Later
}

const operation = (world: HelixWorld, route: Route): Effect.Effect<
  HttpServerResponse.HttpServerResponse,
  never,
  HttpServerRequest.HttpServerRequest
> => {
  const handler = OPERATIONS[route.id] ?? generic
  return guard(world.state, route.path, (token, now) =>
    Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const rawBody = route.body === null ? undefined : yield* jsonBody
      const checked = checkRequest(route, token, world.state, queryPairs(request), rawBody, OWN_CHECKS[route.id])
      if (HttpServerResponse.isServerResponse(checked)) return checked
      return yield* handler({ ...world, ...checked, route, token, now })
    }), (message) => Effect.succeed(helixError(401, message)))
}

/** Every Helix operation of the route table, at its path. @internal */
export const makeRouter = (world: HelixWorld, subscriptionsApp: HttpApp.Default): HttpRouter.HttpRouter => {
  const subscriptions = wrapSubscriptionsApp(world.state, subscriptionsApp)
  let router = HttpRouter.empty
  for (const route of helixRoutes()) {
    if (route.path === EVENTSUB_SUBSCRIPTIONS) continue
    router = HttpRouter.route(route.method)(route.path, operation(world, route))(router)
  }
  return router.pipe(
    HttpRouter.all(EVENTSUB_SUBSCRIPTIONS, subscriptions),
    HttpRouter.all("/*", Effect.succeed(helixError(404, "Not Found")))
  )
}

/** The subscriptions REST app guarded like Helix, for the twitch-cli path `/eventsub/subscriptions`. @internal */
export const subscriptionsRoute = (state: SimState, subscriptionsApp: HttpApp.Default) =>
  wrapSubscriptionsApp(state, subscriptionsApp)
