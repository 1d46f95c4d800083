// The simulator's api.twitch.tv/helix side: Twitch's auth middleware, the rate-limit bucket, injected faults,
// and the endpoints (mounted at `/helix` and, twitch-cli style, at `/mock`).
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { BanRecord } from "../SimulatorModels.js"
import type { SimTokenInfo } from "./contracts.js"
import { empty, helixError, json, jsonBody, type Params, queryParams } from "./http.js"
import { type BucketState, randomId, type SimState } from "./state.js"

/** What an endpoint handler gets once the middleware accepted the request. */
interface Ctx {
  readonly token: SimTokenInfo
  readonly now: number
  readonly params: Params
}

type Handler = (
  ctx: Ctx
) => Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest>

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

const endpoint = (state: SimState, helixPath: string, handler: Handler) =>
  guard(
    state,
    helixPath,
    (token, now) => Effect.flatMap(queryParams, (params) => handler({ token, now, params })),
    (message) => Effect.succeed(helixError(401, message))
  )

/**
 * Wrap the EventSub part's REST app with the bucket, faults and headers; it answers auth failures itself.
 * @internal
 */
export const wrapSubscriptionsApp = (
  state: SimState,
  app: HttpApp.Default
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest> =>
  guard(state, "/eventsub/subscriptions", () => app, () => app)

// ------------------------------------------------------------------------------------------------ helpers

const MAX_IDS = 100

const requireUser = (ctx: Ctx): HttpServerResponse.HttpServerResponse | string =>
  ctx.token.userId === null
    ? helixError(401, "The Authorization header is required and must contain a user access token")
    : ctx.token.userId

const missingScope = (ctx: Ctx, scope: string): HttpServerResponse.HttpServerResponse | undefined =>
  ctx.token.scopes.includes(scope) ? undefined : helixError(401, `Missing scope: ${scope}`)

const isResponse = (u: unknown): u is HttpServerResponse.HttpServerResponse => HttpServerResponse.isServerResponse(u)

const encodeCursor = (offset: number): string => Buffer.from(JSON.stringify({ o: offset })).toString("base64url")

const decodeCursor = (cursor: string): number | undefined => {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"))
    if (typeof parsed === "object" && parsed !== null && "o" in parsed) {
      const o = parsed.o
      if (typeof o === "number" && Number.isInteger(o) && o >= 0) return o
    }
    return undefined
  } catch {
    return undefined
  }
}

/** `first` and `after` → `{offset, count}` or a 400 answer. */
const paging = (
  params: Params,
  defaultFirst: number,
  maxFirst: number
): { readonly offset: number; readonly count: number } | HttpServerResponse.HttpServerResponse => {
  const firstRaw = params.get("first")
  let count = defaultFirst
  if (firstRaw !== undefined) {
    const n = Number(firstRaw)
    if (!/^\d+$/.test(firstRaw) || n < 1 || n > maxFirst) {
      return helixError(400, `The parameter "first" must be between 1 and ${maxFirst}`)
    }
    count = n
  }
  const after = params.get("after")
  let offset = 0
  if (after !== undefined && after !== "") {
    const decoded = decodeCursor(after)
    if (decoded === undefined) return helixError(400, "The cursor in the \"after\" parameter is not valid")
    offset = decoded
  }
  return { offset, count }
}

const pagination = (offset: number, returned: number, total: number): { cursor?: string } =>
  offset + returned < total && returned > 0 ? { cursor: encodeCursor(offset + returned) } : {}

const decodeBody = <A, I>(schema: Schema.Schema<A, I>) => {
  const decode = Schema.decodeUnknownEither(schema)
  return (ctxMessage: string) =>
    Effect.map(jsonBody, (body) =>
      Either.match(decode(body), {
        onLeft: () => helixError(400, ctxMessage) as HttpServerResponse.HttpServerResponse | A,
        onRight: (a) => a
      }))
}

// ------------------------------------------------------------------------------------------------ bodies

const ChannelPatch = Schema.Struct({
  game_id: Schema.optional(Schema.String),
  broadcaster_language: Schema.optional(Schema.String),
  title: Schema.optional(Schema.String),
  delay: Schema.optional(Schema.Number),
  tags: Schema.optional(Schema.Array(Schema.String)),
  content_classification_labels: Schema.optional(
    Schema.Array(Schema.Struct({ id: Schema.String, is_enabled: Schema.Boolean }))
  ),
  is_branded_content: Schema.optional(Schema.Boolean)
})
const decodeChannelPatch = decodeBody(ChannelPatch)

const ChatMessageBody = Schema.Struct({
  broadcaster_id: Schema.String,
  sender_id: Schema.String,
  message: Schema.String,
  reply_parent_message_id: Schema.optional(Schema.String),
  for_source_only: Schema.optional(Schema.Boolean)
})
const decodeChatMessage = decodeBody(ChatMessageBody)

const AnnouncementBody = Schema.Struct({
  message: Schema.String,
  color: Schema.optional(Schema.String)
})
const decodeAnnouncement = decodeBody(AnnouncementBody)

const ChatSettingsPatch = Schema.Struct({
  emote_mode: Schema.optional(Schema.Boolean),
  follower_mode: Schema.optional(Schema.Boolean),
  follower_mode_duration: Schema.optional(Schema.NullOr(Schema.Number)),
  non_moderator_chat_delay: Schema.optional(Schema.Boolean),
  non_moderator_chat_delay_duration: Schema.optional(Schema.NullOr(Schema.Number)),
  slow_mode: Schema.optional(Schema.Boolean),
  slow_mode_wait_time: Schema.optional(Schema.NullOr(Schema.Number)),
  subscriber_mode: Schema.optional(Schema.Boolean),
  unique_chat_mode: Schema.optional(Schema.Boolean)
})
const decodeChatSettings = decodeBody(ChatSettingsPatch)

const WhisperBody = Schema.Struct({ message: Schema.String })
const decodeWhisper = decodeBody(WhisperBody)

const BanBody = Schema.Struct({
  data: Schema.Struct({
    user_id: Schema.String,
    duration: Schema.optional(Schema.Number),
    reason: Schema.optional(Schema.String)
  })
})
const decodeBan = decodeBody(BanBody)

const ANNOUNCEMENT_COLORS = new Set(["blue", "green", "orange", "purple", "primary"])

// ------------------------------------------------------------------------------------------------ endpoints

/** @internal */
export const makeRouter = (
  state: SimState,
  subscriptionsApp: HttpApp.Default
): HttpRouter.HttpRouter => {
  const getUsers: Handler = (ctx) =>
    Effect.sync(() => {
      const ids = ctx.params.getAll("id")
      const logins = ctx.params.getAll("login")
      if (ids.length + logins.length > MAX_IDS) {
        return helixError(400, "The sum of the id and login parameters must not exceed 100")
      }
      if (ids.length + logins.length === 0 && ctx.token.userId === null) {
        return helixError(400, "The id or login query parameter is required unless the request uses a user token")
      }
      const wanted = ids.length + logins.length === 0 ? [ctx.token.userId!] : ids
      const seen = new Set<string>()
      const users = [
        ...wanted.map((id) => state.userById(id)),
        ...logins.map((login) => state.userByLogin(login))
      ].filter((u): u is NonNullable<typeof u> => u !== undefined && !seen.has(u.id) && (seen.add(u.id), true))
      const data = users.map(({ email, ...rest }) =>
        ctx.token.userId === rest.id && ctx.token.scopes.includes("user:read:email") ? { ...rest, email } : rest
      )
      return json({ data })
    })

  const getChannels: Handler = (ctx) =>
    Effect.sync(() => {
      const ids = ctx.params.getAll("broadcaster_id")
      if (ids.length === 0) return helixError(400, "Missing required parameter \"broadcaster_id\"")
      if (ids.length > MAX_IDS) return helixError(400, "The number of broadcaster_id parameters exceeds 100")
      const data = ids.map((id) => state.channel(id)).filter((c) => c !== undefined)
      return json({ data })
    })

  const patchChannels: Handler = (ctx) =>
    Effect.gen(function*() {
      const userId = requireUser(ctx)
      if (isResponse(userId)) return userId
      const scopeError = missingScope(ctx, "channel:manage:broadcast")
      if (scopeError) return scopeError
      const broadcasterId = ctx.params.get("broadcaster_id")
      if (broadcasterId === undefined) return helixError(400, "Missing required parameter \"broadcaster_id\"")
      if (broadcasterId !== userId) {
        return helixError(401, "The ID in broadcaster_id must match the user ID found in the request's OAuth token")
      }
      const body = yield* decodeChannelPatch("The request body is not valid")
      if (isResponse(body)) return body
      if (Object.keys(body).length === 0) return helixError(400, "The request must update at least one property")
      if (body.title !== undefined && body.title === "") return helixError(400, "The title field may not be empty")
      if (body.tags !== undefined && body.tags.length > 10) return helixError(400, "Too many tags")
      const channel = state.channel(broadcasterId)
      if (channel === undefined) return helixError(400, "The broadcaster_id is not valid")
      if (body.game_id !== undefined) {
        channel.game_id = body.game_id
        channel.game_name = body.game_id === "" ? "" : `Game ${body.game_id}`
      }
      if (body.broadcaster_language !== undefined) channel.broadcaster_language = body.broadcaster_language
      if (body.title !== undefined) channel.title = body.title
      if (body.delay !== undefined) channel.delay = body.delay
      if (body.tags !== undefined) channel.tags = [...body.tags]
      if (body.content_classification_labels !== undefined) {
        const enabled = new Set(channel.content_classification_labels)
        for (const label of body.content_classification_labels) {
          if (label.is_enabled) enabled.add(label.id)
          else enabled.delete(label.id)
        }
        channel.content_classification_labels = [...enabled]
      }
      if (body.is_branded_content !== undefined) channel.is_branded_content = body.is_branded_content
      return empty(204)
    })

  const getFollowers: Handler = (ctx) =>
    Effect.sync(() => {
      const userId = requireUser(ctx)
      if (isResponse(userId)) return userId
      const broadcasterId = ctx.params.get("broadcaster_id")
      if (broadcasterId === undefined || broadcasterId === "") {
        return helixError(400, "Missing required parameter \"broadcaster_id\"")
      }
      const page = paging(ctx.params, 20, 100)
      if (isResponse(page)) return page
      const total = state.followerTotal(broadcasterId)
      const allowed = ctx.token.scopes.includes("moderator:read:followers") && state.isModerator(broadcasterId, userId)
      if (!allowed) return json({ data: [], pagination: {}, total })
      const filterUser = ctx.params.get("user_id")
      if (filterUser !== undefined) {
        const follower = state.findFollower(broadcasterId, filterUser)
        return json({ data: follower === undefined ? [] : [follower], pagination: {}, total })
      }
      const data = state.followerSlice(broadcasterId, page.offset, page.count)
      return json({ data, pagination: pagination(page.offset, data.length, total), total })
    })

  const postChatMessage: Handler = (ctx) =>
    Effect.gen(function*() {
      if (ctx.token.userId !== null) {
        const scopeError = missingScope(ctx, "user:write:chat")
        if (scopeError) return scopeError
      }
      const body = yield* decodeChatMessage("The broadcaster_id, sender_id and message fields are required")
      if (isResponse(body)) return body
      if (ctx.token.userId !== null && body.for_source_only !== undefined) {
        return helixError(400, "Cannot set for_source_only if User Access Token is used")
      }
      if (ctx.token.userId !== null && body.sender_id !== ctx.token.userId) {
        return helixError(401, "The sender_id must match the user ID in the access token")
      }
      if (state.userById(body.broadcaster_id) === undefined) {
        return helixError(400, "The ID in broadcaster_id is not valid")
      }
      if (state.userById(body.sender_id) === undefined) return helixError(400, "The ID in sender_id is not valid")
      if (body.message.length === 0) return helixError(400, "The message field is required")
      if (body.message.length > 500) return helixError(422, "The message is too large")
      const ban = state.bans.get(body.broadcaster_id)?.get(body.sender_id)
      if (ban !== undefined && (ban.end_time === null || Date.parse(ban.end_time) > ctx.now)) {
        return helixError(403, "The sender is not permitted to send chat messages to the broadcaster's chat room")
      }
      const messageId = randomId()
      const drop = state.chatDrop
      state.recordChatMessage({
        message_id: messageId,
        broadcaster_id: body.broadcaster_id,
        sender_id: body.sender_id,
        message: body.message,
        reply_parent_message_id: body.reply_parent_message_id ?? null,
        is_sent: drop === null
      })
      return json({
        data: [
          drop === null
            ? { message_id: messageId, is_sent: true, drop_reason: null }
            : { message_id: "", is_sent: false, drop_reason: { code: drop.code, message: drop.message } }
        ]
      })
    })

  /** broadcaster_id + moderator_id (= token user, a moderator) checks shared by moderator endpoints. */
  const moderatorCheck = (
    ctx: Ctx,
    scope: string
  ): { readonly broadcasterId: string; readonly moderatorId: string } | HttpServerResponse.HttpServerResponse => {
    const userId = requireUser(ctx)
    if (isResponse(userId)) return userId
    const scopeError = missingScope(ctx, scope)
    if (scopeError) return scopeError
    const broadcasterId = ctx.params.get("broadcaster_id")
    const moderatorId = ctx.params.get("moderator_id")
    if (broadcasterId === undefined || broadcasterId === "") {
      return helixError(400, "Missing required parameter \"broadcaster_id\"")
    }
    if (moderatorId === undefined || moderatorId === "") {
      return helixError(400, "Missing required parameter \"moderator_id\"")
    }
    if (moderatorId !== userId) {
      return helixError(401, "The ID in moderator_id must match the user ID in the access token")
    }
    if (!state.isModerator(broadcasterId, moderatorId)) {
      return helixError(403, "The user in moderator_id is not one of the broadcaster's moderators")
    }
    return { broadcasterId, moderatorId }
  }

  const postAnnouncement: Handler = (ctx) =>
    Effect.gen(function*() {
      const ids = moderatorCheck(ctx, "moderator:manage:announcements")
      if (isResponse(ids)) return ids
      const body = yield* decodeAnnouncement("The message field is required")
      if (isResponse(body)) return body
      if (body.message === "") return helixError(400, "The message field may not contain an empty string")
      const color = (body.color ?? "primary").toLowerCase()
      if (!ANNOUNCEMENT_COLORS.has(color)) return helixError(400, "The specified color is not valid")
      state.recordAnnouncement({
        broadcaster_id: ids.broadcasterId,
        moderator_id: ids.moderatorId,
        message: body.message,
        color
      })
      return empty(204)
    })

  const getChatters: Handler = (ctx) =>
    Effect.sync(() => {
      const ids = moderatorCheck(ctx, "moderator:read:chatters")
      if (isResponse(ids)) return ids
      const page = paging(ctx.params, 100, 1000)
      if (isResponse(page)) return page
      const all = state.chatters.get(ids.broadcasterId) ?? []
      const data = all.slice(page.offset, page.offset + page.count)
      return json({ data, pagination: pagination(page.offset, data.length, all.length), total: all.length })
    })

  const getChatSettings: Handler = (ctx) =>
    Effect.sync(() => {
      const broadcasterId = ctx.params.get("broadcaster_id")
      if (broadcasterId === undefined || broadcasterId === "") {
        return helixError(400, "Missing required parameter \"broadcaster_id\"")
      }
      const { moderator_id: _moderatorId, non_moderator_chat_delay, non_moderator_chat_delay_duration, ...rest } = state
        .chatSettingsFor(broadcasterId)
      const moderatorId = ctx.params.get("moderator_id")
      const data = moderatorId !== undefined && ctx.token.userId === moderatorId
        ? { ...rest, moderator_id: moderatorId, non_moderator_chat_delay, non_moderator_chat_delay_duration }
        : rest
      return json({ data: [data] })
    })

  const patchChatSettings: Handler = (ctx) =>
    Effect.gen(function*() {
      const ids = moderatorCheck(ctx, "moderator:manage:chat_settings")
      if (isResponse(ids)) return ids
      const body = yield* decodeChatSettings("The request body is not valid")
      if (isResponse(body)) return body
      const settings = state.chatSettingsFor(ids.broadcasterId)
      Object.assign(settings, body)
      // Twitch defaults to 30 s when slow mode is enabled without a wait time
      if (body.slow_mode === true && settings.slow_mode_wait_time === null) settings.slow_mode_wait_time = 30
      if (body.slow_mode === false) settings.slow_mode_wait_time = null
      if (body.follower_mode === true && settings.follower_mode_duration === null) settings.follower_mode_duration = 0
      if (body.follower_mode === false) settings.follower_mode_duration = null
      settings.moderator_id = ids.moderatorId
      return json({ data: [settings] })
    })

  const postWhisper: Handler = (ctx) =>
    Effect.gen(function*() {
      const userId = requireUser(ctx)
      if (isResponse(userId)) return userId
      const scopeError = missingScope(ctx, "user:manage:whispers")
      if (scopeError) return scopeError
      const from = ctx.params.get("from_user_id")
      const to = ctx.params.get("to_user_id")
      if (from === undefined || from === "") return helixError(400, "Missing required parameter \"from_user_id\"")
      if (to === undefined || to === "") return helixError(400, "Missing required parameter \"to_user_id\"")
      if (from !== userId) return helixError(401, "The ID in from_user_id must match the user ID in the access token")
      if (from === to) return helixError(400, "The from_user_id and to_user_id must be different")
      const body = yield* decodeWhisper("The message field is required")
      if (isResponse(body)) return body
      if (body.message === "") return helixError(400, "The message field must not contain an empty string")
      if (body.message.length > 10_000) return helixError(400, "The message field is too long")
      if (state.userById(to) === undefined) return helixError(404, "The ID in to_user_id was not found")
      state.recordWhisper({ from_user_id: from, to_user_id: to, message: body.message })
      return empty(204)
    })

  const getStreams: Handler = (ctx) =>
    Effect.sync(() => {
      const userIds = ctx.params.getAll("user_id")
      const logins = ctx.params.getAll("user_login").map((l) => l.toLowerCase())
      if (userIds.length > MAX_IDS || logins.length > MAX_IDS) {
        return helixError(400, "Too many user_id or user_login parameters (max 100)")
      }
      const type = ctx.params.get("type") ?? "all"
      if (type !== "all" && type !== "live") {
        return helixError(400, "The value in the type query parameter is not valid")
      }
      const page = paging(ctx.params, 20, 100)
      if (isResponse(page)) return page
      const gameIds = ctx.params.getAll("game_id")
      const languages = ctx.params.getAll("language")
      const all = [...state.streams.values()]
        .filter((s) =>
          (userIds.length + logins.length === 0 || userIds.includes(s.user_id) || logins.includes(s.user_login)) &&
          (gameIds.length === 0 || gameIds.includes(s.game_id)) &&
          (languages.length === 0 || languages.includes(s.language))
        )
        .sort((a, b) => b.viewer_count - a.viewer_count)
      const data = all.slice(page.offset, page.offset + page.count)
      return json({ data, pagination: pagination(page.offset, data.length, all.length) })
    })

  const postBan: Handler = (ctx) =>
    Effect.gen(function*() {
      const ids = moderatorCheck(ctx, "moderator:manage:banned_users")
      if (isResponse(ids)) return ids
      const body = yield* decodeBan("The user_id field is required")
      if (isResponse(body)) return body
      const { duration, reason, user_id } = body.data
      if (state.userById(user_id) === undefined) return helixError(400, "The user_id is not valid")
      if (user_id === ids.broadcasterId) {
        return helixError(400, "The user specified in the user_id field may not be banned")
      }
      if (duration !== undefined && (!Number.isInteger(duration) || duration < 1 || duration > 1_209_600)) {
        return helixError(400, "The value in the duration field is not valid")
      }
      if (reason !== undefined && reason.length > 500) {
        return helixError(400, "The text in the reason field is too long")
      }
      let channelBans = state.bans.get(ids.broadcasterId)
      if (channelBans === undefined) {
        channelBans = new Map()
        state.bans.set(ids.broadcasterId, channelBans)
      }
      const existing = channelBans.get(user_id)
      if (existing !== undefined && existing.end_time === null) {
        return helixError(400, "The user specified in the user_id field is already banned")
      }
      const record: BanRecord = {
        broadcaster_id: ids.broadcasterId,
        moderator_id: ids.moderatorId,
        user_id,
        reason: reason ?? "",
        created_at: new Date(ctx.now).toISOString(),
        end_time: duration === undefined ? null : new Date(ctx.now + duration * 1000).toISOString()
      }
      channelBans.set(user_id, record)
      const { reason: _reason, ...data } = record
      return json({ data: [data] })
    })

  const deleteBan: Handler = (ctx) =>
    Effect.sync(() => {
      const ids = moderatorCheck(ctx, "moderator:manage:banned_users")
      if (isResponse(ids)) return ids
      const userId = ctx.params.get("user_id")
      if (userId === undefined || userId === "") return helixError(400, "Missing required parameter \"user_id\"")
      const channelBans = state.bans.get(ids.broadcasterId)
      if (channelBans === undefined || !channelBans.delete(userId)) {
        return helixError(400, "The user specified in the user_id query parameter is not banned")
      }
      return empty(204)
    })

  const route = (
    method: "GET" | "POST" | "PATCH" | "DELETE",
    path: `/${string}`,
    handler: Handler
  ) => HttpRouter.route(method)(path, endpoint(state, path, handler))

  const subscriptions = wrapSubscriptionsApp(state, subscriptionsApp)

  return HttpRouter.empty.pipe(
    route("GET", "/users", getUsers),
    route("GET", "/channels", getChannels),
    route("PATCH", "/channels", patchChannels),
    route("GET", "/channels/followers", getFollowers),
    route("POST", "/chat/messages", postChatMessage),
    route("POST", "/chat/announcements", postAnnouncement),
    route("GET", "/chat/chatters", getChatters),
    route("GET", "/chat/settings", getChatSettings),
    route("PATCH", "/chat/settings", patchChatSettings),
    route("POST", "/whispers", postWhisper),
    route("GET", "/streams", getStreams),
    route("POST", "/moderation/bans", postBan),
    route("DELETE", "/moderation/bans", deleteBan),
    HttpRouter.all("/eventsub/subscriptions", subscriptions),
    HttpRouter.all("/*", Effect.succeed(helixError(404, "Not Found")))
  )
}

/** The subscriptions REST app guarded like Helix, for the twitch-cli path `/eventsub/subscriptions`. @internal */
export const subscriptionsRoute = (state: SimState, subscriptionsApp: HttpApp.Default) =>
  wrapSubscriptionsApp(state, subscriptionsApp)
