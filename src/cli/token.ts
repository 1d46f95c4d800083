// `effect-twitch token device|validate|refresh|revoke|list`: get a user token with the Device Code flow and look
// after the token file. Tokens are printed redacted (the access token in clear only with --show-token; the
// refresh token never).
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as AccessTokens from "../AccessTokens.js"
import * as DeviceAuth from "../DeviceAuth.js"
import * as OAuth from "../OAuth.js"
import * as Scopes from "../Scopes.js"
import * as TokenStore from "../TokenStore.js"
import { CliError, ExitCode, usage } from "./exit.js"
import {
  configLayer,
  pickUser,
  printJson,
  progress,
  send,
  servicesLayer,
  showToken,
  storeLayer,
  type Target,
  target,
  tokenFile,
  tokenSummary,
  user
} from "./shared.js"

const withServices = (t: Target, tokens: string) => Effect.provide(servicesLayer(configLayer(t), storeLayer(tokens)))

// ------------------------------------------------------------------------------------------------ device

const scopes = Options.text("scopes").pipe(
  Options.withAlias("s"),
  Options.withDescription(
    "The scopes to ask for, separated by commas or spaces (repeatable), e.g. user:read:chat,user:write:chat"
  ),
  Options.repeated
)

const approveAs = Options.text("approve-as").pipe(
  Options.withDescription("Simulator only: approve the code at once as this user id (as if they had entered it)"),
  Options.optional
)

const parseScopes = (raw: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const list = [...new Set(raw.flatMap((s) => s.split(/[\s,]+/)).filter((s) => s !== ""))]
    if (list.length === 0) return yield* usage("token device: name at least one scope with --scopes")
    const unknown = list.filter((s) => !Scopes.isScope(s))
    if (unknown.length > 0) {
      yield* progress(`warning: not a scope this package knows (sent anyway): ${unknown.join(", ")}`)
    }
    return list
  })

/** The simulator's control route that approves a device code (what a person does on twitch.tv/activate). */
const approveOnSimulator = (url: string, userCode: string, userId: string) =>
  HttpClientRequest.post(`${url}/_sim/device/approve`).pipe(
    HttpClientRequest.bodyUnsafeJson({ user_code: userCode, user_id: userId }),
    send,
    Effect.flatMap((response) =>
      response.status === 204 || response.status === 200
        ? Effect.void
        : Effect.flatMap(response.text, (text) =>
          new CliError({
            code: ExitCode.twitch,
            description: `simulator: approving ${userCode} failed: ${response.status} ${text}`
          }))
    ),
    Effect.catchTag(
      "RequestError",
      "ResponseError",
      (e) => new CliError({ code: ExitCode.network, description: `simulator: ${e.message}` })
    ),
    Effect.scoped
  )

const device = Command.make(
  "device",
  { target, tokens: tokenFile, scopes, approveAs, showToken },
  (args) =>
    Effect.gen(function*() {
      const list = yield* parseScopes(args.scopes)
      if (Option.isSome(args.approveAs) && Option.isNone(args.target.simulator)) {
        return yield* usage("token device: --approve-as works against a simulator only (add --simulator)")
      }
      return yield* authorize(args, list).pipe(withServices(args.target, args.tokens))
    })
).pipe(Command.withDescription(
  "Get a user token with the Device Code flow: shows the URL and code to enter, waits, stores the token in the token file"
))

const authorize = (
  args: {
    readonly target: Target
    readonly tokens: string
    readonly approveAs: Option.Option<string>
    readonly showToken: boolean
  },
  list: ReadonlyArray<string>
) =>
  Effect.gen(function*() {
    const auth = yield* DeviceAuth.DeviceAuth
    // a scope this package does not know is sent anyway (after the warning): Twitch may have added it
    yield* auth.authorize(list as ReadonlyArray<Scopes.Scope>).pipe(
      Stream.runForEach((event) => {
        switch (event._tag) {
          case "CodeIssued": {
            const minutes = Math.round(event.expiresIn / 60)
            return Effect.zipRight(
              progress(
                `Open ${event.verificationUri}\nand enter the code ${event.userCode} (valid ${minutes} min).\nWaiting…`
              ),
              Option.match(Option.all([args.target.simulator, args.approveAs]), {
                onNone: () => Effect.void,
                onSome: ([url, userId]) => approveOnSimulator(url, event.userCode, userId)
              })
            )
          }
          case "Waiting":
            return progress(`  still waiting (poll ${event.attempt}, every ${event.interval} s)…`)
          case "Authorized":
            return Effect.zipRight(
              progress(`Authorized as ${event.token.login} (${event.token.userId}); stored in ${args.tokens}`),
              printJson(tokenSummary(event.token, args.showToken))
            )
        }
      })
    )
  })

// ------------------------------------------------------------------------------------------------ validate

const validate = Command.make(
  "validate",
  { target, tokens: tokenFile, user },
  (args) =>
    Effect.gen(function*() {
      const token = yield* pickUser(args.user)
      const oauth = yield* OAuth.OAuth
      const answer = yield* oauth.validate(token.accessToken)
      yield* printJson({
        valid: true,
        user_id: Option.getOrNull(answer.userId),
        login: Option.getOrNull(answer.login),
        client_id: answer.clientId,
        scopes: answer.scopes,
        expires_in: answer.expiresIn
      })
    }).pipe(withServices(args.target, args.tokens))
).pipe(Command.withDescription(
  "Ask Twitch whether a stored token is still valid (exit 4 when it is not): its user, client, scopes and remaining seconds"
))

// ------------------------------------------------------------------------------------------------ refresh

const refresh = Command.make(
  "refresh",
  { target, tokens: tokenFile, user, showToken },
  (args) =>
    Effect.gen(function*() {
      const token = yield* pickUser(args.user)
      if (Option.isNone(token.refreshToken)) {
        return yield* new CliError({
          code: ExitCode.token,
          description: `the stored token of ${token.userId} has no refresh token: authorize again with \`token device\``
        })
      }
      const tokens = yield* AccessTokens.AccessTokens
      // "rejected" = the stored access token: the refresh runs (once) and the new pair is saved first
      const fresh = yield* tokens.refreshAfterUnauthorized(token.userId, token.accessToken)
      yield* progress(`Refreshed the token of ${fresh.login} (${fresh.userId}); stored in ${args.tokens}`)
      yield* printJson(tokenSummary(fresh, args.showToken))
    }).pipe(withServices(args.target, args.tokens))
).pipe(Command.withDescription("Refresh a stored token now, and save the new pair to the token file"))

// ------------------------------------------------------------------------------------------------ revoke

const keep = Options.boolean("keep").pipe(
  Options.withDescription("Keep the (now useless) token in the file instead of removing it")
)

const revoke = Command.make(
  "revoke",
  { target, tokens: tokenFile, user, keep },
  (args) =>
    Effect.gen(function*() {
      const token = yield* pickUser(args.user)
      const oauth = yield* OAuth.OAuth
      yield* oauth.revoke(token.accessToken)
      if (!args.keep) yield* TokenStore.TokenStore.pipe(Effect.flatMap((store) => store.remove(token.userId)))
      yield* printJson({ revoked: true, user_id: token.userId, login: token.login, removed: !args.keep })
    }).pipe(withServices(args.target, args.tokens))
).pipe(Command.withDescription("Revoke a stored token at Twitch and remove it from the token file"))

// ------------------------------------------------------------------------------------------------ list

const list = Command.make(
  "list",
  { tokens: tokenFile, showToken },
  (args) =>
    Effect.gen(function*() {
      const store = yield* TokenStore.TokenStore
      const all = yield* store.list
      yield* printJson(all.map((token) => tokenSummary(token, args.showToken)))
    }).pipe(Effect.provide(storeLayer(args.tokens)))
).pipe(Command.withDescription("List the tokens in the token file (redacted), without calling Twitch"))

/** @internal */
export const command = Command.make("token").pipe(
  Command.withDescription("Get, check, refresh and revoke user tokens kept in a token file"),
  Command.withSubcommands([device, validate, refresh, revoke, list])
)
