// The simulator's id.twitch.tv side: `/device`, `/token`, `/validate`, `/revoke`, `/authorize`
// (mounted at `/oauth2` and, twitch-cli style, at `/auth`).
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { empty, formParams, json, oauthError, type Params, splitScopes } from "./http.js"
import { DEVICE_CODE_SECONDS, DEVICE_INTERVAL_SECONDS, type SimState, type TokenRecord } from "./state.js"

const DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"

/** @internal */
export interface OAuthSwitches {
  /** remaining polls answered with `slow_down` (Infinity = until switched off) */
  slowDownRemaining: number
}

const tokenBody = (record: TokenRecord, now: number) => ({
  access_token: record.token,
  expires_in: Math.max(0, Math.floor((record.expiresAt - now) / 1000)),
  ...(record.refreshToken === null ? {} : { refresh_token: record.refreshToken }),
  scope: record.scopes,
  token_type: "bearer"
})

/** Check a confidential client's secret; undefined when fine. */
const checkSecret = (state: SimState, params: Params) => {
  const clientId = params.get("client_id")
  if (clientId === undefined || clientId === "") return oauthError(400, "missing client id")
  const client = state.clients.get(clientId)
  if (client === undefined || client.clientSecret === null) return oauthError(400, "invalid client")
  const secret = params.get("client_secret")
  if (secret === undefined || secret === "") return oauthError(400, "missing client secret")
  if (secret !== client.clientSecret) return oauthError(403, "invalid client secret")
  return undefined
}

const device = (state: SimState) =>
  Effect.gen(function*() {
    const params = yield* formParams
    const now = yield* Clock.currentTimeMillis
    const clientId = params.get("client_id")
    if (clientId === undefined || clientId === "") return oauthError(400, "missing client id")
    if (!state.clients.has(clientId)) return oauthError(400, "invalid client")
    const record = state.startDevice(now, clientId, splitScopes(params.get("scopes") ?? params.get("scope")))
    return json({
      device_code: record.deviceCode,
      expires_in: DEVICE_CODE_SECONDS,
      interval: DEVICE_INTERVAL_SECONDS,
      user_code: record.userCode,
      verification_uri: `https://www.twitch.tv/activate?public=true&device-code=${record.userCode}`
    })
  })

const deviceGrant = (state: SimState, switches: OAuthSwitches, params: Params, now: number) => {
  state.counters.devicePolls++
  const clientId = params.get("client_id")
  const record = state.devices.get(params.get("device_code") ?? "")
  if (record === undefined || record.clientId !== clientId || record.expiresAt <= now || record.status === "used") {
    return oauthError(400, "invalid device code")
  }
  if (record.status === "denied") return oauthError(400, "access_denied")
  if (switches.slowDownRemaining > 0) {
    switches.slowDownRemaining--
    return oauthError(400, "slow_down")
  }
  if (
    record.status === "pending" && record.autoApproveAt !== null && record.autoApproveUserId !== null &&
    now >= record.autoApproveAt
  ) {
    record.status = "approved"
    record.approvedUserId = record.autoApproveUserId
  }
  if (record.status === "pending" || record.approvedUserId === null) return oauthError(400, "authorization_pending")
  record.status = "used"
  const token = state.issueToken(now, {
    clientId: record.clientId,
    userId: record.approvedUserId,
    scopes: record.scopes,
    withRefreshToken: true
  })
  return json(tokenBody(token, now))
}

const refreshGrant = (state: SimState, params: Params, now: number) => {
  const result = state.refresh(now, {
    clientId: params.get("client_id") ?? "",
    clientSecret: params.get("client_secret"),
    refreshToken: params.get("refresh_token") ?? ""
  })
  if ("status" in result) {
    state.counters.tokenRefreshFailures++
    return oauthError(result.status, result.message)
  }
  state.counters.tokenRefreshes++
  return json(tokenBody(result, now))
}

const clientCredentialsGrant = (state: SimState, params: Params, now: number) => {
  const failure = checkSecret(state, params)
  if (failure !== undefined) return failure
  const token = state.issueToken(now, {
    clientId: params.get("client_id")!,
    userId: null,
    scopes: [],
    withRefreshToken: false
  })
  return json({ access_token: token.token, expires_in: state.appTokenExpiresInSeconds, token_type: "bearer" })
}

const authorizationCodeGrant = (state: SimState, params: Params, now: number) => {
  const failure = checkSecret(state, params)
  if (failure !== undefined) return failure
  const code = state.takeAuthCode(params.get("code") ?? "", now)
  if (
    code === undefined || code.clientId !== params.get("client_id") ||
    (params.get("redirect_uri") !== undefined && params.get("redirect_uri") !== code.redirectUri)
  ) {
    return oauthError(400, "Invalid authorization code")
  }
  const token = state.issueToken(now, {
    clientId: code.clientId,
    userId: code.userId,
    scopes: code.scopes,
    withRefreshToken: true
  })
  return json(tokenBody(token, now))
}

/** twitch-cli's `POST /auth/authorize?grant_type=user_token&client_id&client_secret&user_id&scope`. */
const userTokenGrant = (state: SimState, params: Params, now: number) => {
  const clientId = params.get("client_id")
  if (clientId === undefined || clientId === "") return oauthError(400, "missing client id")
  const client = state.clients.get(clientId)
  if (client === undefined) return oauthError(400, "invalid client")
  const secret = params.get("client_secret")
  if (client.clientSecret !== null && secret !== undefined && secret !== client.clientSecret) {
    return oauthError(403, "invalid client secret")
  }
  const userId = params.get("user_id") ?? ""
  if (state.userById(userId) === undefined) return oauthError(400, "invalid user id")
  const token = state.issueToken(now, {
    clientId,
    userId,
    scopes: splitScopes(params.get("scope")),
    withRefreshToken: true
  })
  return json(tokenBody(token, now))
}

const token = (state: SimState, switches: OAuthSwitches) =>
  Effect.gen(function*() {
    const params = yield* formParams
    const now = yield* Clock.currentTimeMillis
    const clientId = params.get("client_id")
    if (clientId === undefined || clientId === "") return oauthError(400, "missing client id")
    if (!state.clients.has(clientId)) return oauthError(400, "invalid client")
    switch (params.get("grant_type")) {
      case DEVICE_GRANT:
        return deviceGrant(state, switches, params, now)
      case "refresh_token":
        return refreshGrant(state, params, now)
      case "client_credentials":
        return clientCredentialsGrant(state, params, now)
      case "authorization_code":
        return authorizationCodeGrant(state, params, now)
      case "user_token":
        return userTokenGrant(state, params, now)
      default:
        return oauthError(400, "unsupported grant type")
    }
  })

const validate = (state: SimState) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const now = yield* Clock.currentTimeMillis
    state.counters.validations++
    const match = /^(?:OAuth|Bearer)\s+(\S+)\s*$/i.exec(request.headers["authorization"] ?? "")
    if (match === null) return oauthError(401, "missing authorization token")
    const record = state.lookupToken(match[1]!, now)
    if (typeof record === "string") return oauthError(401, "invalid access token")
    const expiresIn = Math.max(0, Math.floor((record.expiresAt - now) / 1000))
    return record.userId === null
      ? json({ client_id: record.clientId, scopes: [], expires_in: expiresIn })
      : json({
        client_id: record.clientId,
        login: record.login,
        scopes: record.scopes,
        user_id: record.userId,
        expires_in: expiresIn
      })
  })

const revoke = (state: SimState) =>
  Effect.gen(function*() {
    const params = yield* formParams
    state.counters.revocations++
    const clientId = params.get("client_id") ?? ""
    if (!state.clients.has(clientId)) return oauthError(404, "client does not exist")
    const record = state.tokens.get(params.get("token") ?? "")
    if (record === undefined || record.clientId !== clientId || record.revoked) {
      return oauthError(400, "Invalid token")
    }
    state.revokeToken(record.token)
    return empty(200)
  })

const authorize = (state: SimState) =>
  Effect.gen(function*() {
    const params = yield* formParams
    const now = yield* Clock.currentTimeMillis
    if (params.get("grant_type") === "user_token") return userTokenGrant(state, params, now)
    const clientId = params.get("client_id") ?? ""
    if (!state.clients.has(clientId)) return oauthError(400, "invalid client")
    const redirectUri = params.get("redirect_uri")
    if (redirectUri === undefined || !URL.canParse(redirectUri)) return oauthError(400, "invalid redirect uri")
    const responseType = params.get("response_type")
    const scopes = splitScopes(params.get("scope"))
    const state_ = params.get("state")
    const userId = state.authorizeUserId
    const target = new URL(redirectUri)
    if (responseType === "code") {
      target.searchParams.set("code", state.createAuthCode(now, { clientId, userId, scopes, redirectUri }))
      target.searchParams.set("scope", scopes.join(" "))
      if (state_ !== undefined) target.searchParams.set("state", state_)
      return HttpServerResponse.redirect(target.toString(), { status: 302 })
    }
    if (responseType === "token") {
      const token = state.issueToken(now, { clientId, userId, scopes, withRefreshToken: false })
      const fragment = new URLSearchParams({ access_token: token.token, scope: scopes.join(" "), token_type: "bearer" })
      if (state_ !== undefined) fragment.set("state", state_)
      target.hash = fragment.toString()
      return HttpServerResponse.redirect(target.toString(), { status: 302 })
    }
    return oauthError(400, "unsupported response type")
  })

/** @internal */
export const makeRouter = (state: SimState, switches: OAuthSwitches): HttpRouter.HttpRouter =>
  HttpRouter.empty.pipe(
    HttpRouter.post("/device", device(state)),
    HttpRouter.post("/token", token(state, switches)),
    HttpRouter.get("/validate", validate(state)),
    HttpRouter.post("/revoke", revoke(state)),
    HttpRouter.get("/authorize", authorize(state)),
    HttpRouter.post("/authorize", authorize(state))
  )
