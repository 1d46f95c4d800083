// What several commands share: where Twitch is (Twitch itself, or a simulator), the token file, whose token,
// the service layers, and printing (JSON on stdout, progress on stderr, tokens redacted).
import * as Options from "@effect/cli/Options"
import type * as FileSystem from "@effect/platform/FileSystem"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as AccessTokens from "../AccessTokens.js"
import * as DeviceAuth from "../DeviceAuth.js"
import * as Helix from "../Helix.js"
import * as OAuth from "../OAuth.js"
import type { UserToken } from "../Token.js"
import * as TokenStore from "../TokenStore.js"
import * as TwitchConfig from "../TwitchConfig.js"
import { usage } from "./exit.js"

/** The simulator's address when `--simulator` is given without `--simulator-url` (its bin's default port). */
const DEFAULT_SIMULATOR_URL = "http://localhost:8080"

/** @internal */
export interface Target {
  /** `Some`: a simulator at this base URL (no trailing slash); `None`: Twitch, or the `TWITCH_*_URL` environment */
  readonly simulator: Option.Option<string>
}

/** @internal */
export const target: Options.Options<Target> = Options.all({
  simulator: Options.boolean("simulator").pipe(
    Options.withDescription(
      `Talk to a running simulator (\`effect-twitch simulator\`) at --simulator-url, default ${DEFAULT_SIMULATOR_URL}, ` +
        "with its client credentials"
    )
  ),
  simulatorUrl: Options.text("simulator-url").pipe(
    Options.withDescription("The simulator's base URL (implies --simulator); or the environment's SIM_URL"),
    Options.withFallbackConfig(Config.string("SIM_URL")),
    Options.optional
  )
}).pipe(
  Options.map(({ simulator, simulatorUrl }): Target => ({
    simulator: Option.isSome(simulatorUrl) || simulator
      ? Option.some(Option.getOrElse(simulatorUrl, () => DEFAULT_SIMULATOR_URL).replace(/\/+$/, ""))
      : Option.none()
  }))
)

/** @internal */
export const tokenFile: Options.Options<string> = Options.text("tokens").pipe(
  Options.withAlias("t"),
  Options.withDescription("The token file (JSON, mode 0600; one process at a time); or TWITCH_TOKEN_FILE"),
  Options.withFallbackConfig(Config.string("TWITCH_TOKEN_FILE")),
  Options.withDefault(".twitch-tokens.json")
)

/** @internal */
export const user: Options.Options<Option.Option<string>> = Options.text("user").pipe(
  Options.withAlias("u"),
  Options.withDescription("The user id whose stored token to use"),
  Options.optional
)

/** @internal */
export const showToken: Options.Options<boolean> = Options.boolean("show-token").pipe(
  Options.withDescription("Print the access token in clear (never the refresh token)")
)

/** The simulator's module, loaded only when a command talks to a simulator. */
const simulatorModule = Effect.promise(() => import("../testing/Simulator.js"))

/**
 * `TwitchConfig` for the target: a simulator's URLs and default (confidential) client, or the environment
 * (`TWITCH_CLIENT_ID`, `TWITCH_CLIENT_SECRET`, `TWITCH_*_URL`, see `TwitchConfig.fromEnv`).
 *
 * @internal
 */
export const configLayer = (t: Target): Layer.Layer<TwitchConfig.TwitchConfig, ConfigError.ConfigError> =>
  Option.match(t.simulator, {
    onNone: () => TwitchConfig.layerConfig(),
    onSome: (url) =>
      Layer.unwrapEffect(Effect.map(simulatorModule, (Simulator) =>
        TwitchConfig.layer({
          clientId: Simulator.defaults.clientId,
          clientSecret: Redacted.make(Simulator.defaults.clientSecret),
          authUrl: `${url}/oauth2`,
          helixUrl: `${url}/helix`,
          eventSubWsUrl: `${url.replace(/^http/, "ws")}/ws`
        })))
  })

/**
 * The token file as a store: failed writes fail the command (no write-behind).
 *
 * @internal
 */
export const storeLayer = (
  path: string
): Layer.Layer<TokenStore.TokenStore, TokenStore.TokenStoreError, FileSystem.FileSystem> =>
  TokenStore.layerFile(path, { writeRetry: false })

/**
 * `OAuth`, `DeviceAuth`, `AccessTokens` (no background validation) and `Helix` over a config and a store.
 *
 * @internal
 */
export const servicesLayer = <E, R>(
  config: Layer.Layer<TwitchConfig.TwitchConfig, ConfigError.ConfigError>,
  store: Layer.Layer<TokenStore.TokenStore, E, R>
): Layer.Layer<
  OAuth.OAuth | DeviceAuth.DeviceAuth | AccessTokens.AccessTokens | Helix.Helix | TokenStore.TokenStore,
  E | ConfigError.ConfigError,
  R | HttpClient.HttpClient
> => {
  const oauth = OAuth.layer().pipe(Layer.provide(config))
  const tokens = AccessTokens.layer({ validateInterval: false }).pipe(Layer.provideMerge(Layer.merge(oauth, store)))
  return Layer.mergeAll(
    Helix.layer().pipe(Layer.provide(Layer.merge(tokens, config))),
    DeviceAuth.layer.pipe(Layer.provide(tokens)),
    tokens
  )
}

/**
 * The stored token to act with: `--user`, else the only one stored.
 *
 * @internal
 */
export const pickUser = (
  requested: Option.Option<string>
): Effect.Effect<
  UserToken,
  TokenStore.TokenStoreError | AccessTokens.TokenNotFound | ReturnType<typeof usage>,
  TokenStore.TokenStore
> =>
  Effect.gen(function*() {
    const store = yield* TokenStore.TokenStore
    if (Option.isSome(requested)) {
      const token = yield* store.get(requested.value)
      if (Option.isNone(token)) return yield* new AccessTokens.TokenNotFound({ userId: requested.value })
      return token.value
    }
    const all = yield* store.list
    if (all.length === 1) return all[0]!
    return yield* all.length === 0
      ? new AccessTokens.TokenNotFound({ userId: "(none stored)" })
      : usage(`${all.length} users have tokens in the file: name one with --user (${
        all.map((t) => `${t.userId} ${t.login}`).join(", ")
      })`)
  })

/**
 * A stored token as printed: never the refresh token; the access token only with `--show-token`.
 *
 * @internal
 */
export const tokenSummary = (token: UserToken, show: boolean) => ({
  user_id: token.userId,
  login: token.login,
  scopes: token.scopes,
  expires_at: Option.getOrNull(Option.map(token.expiresAt, (at) => at.toJSON())),
  refreshable: Option.isSome(token.refreshToken),
  access_token: show ? Redacted.value(token.accessToken) : "<redacted>"
})

/**
 * One JSON value on stdout (two-space indented).
 *
 * @internal
 */
export const printJson = (value: unknown): Effect.Effect<void> => Console.log(JSON.stringify(value, null, 2))

/**
 * Progress and hints go to stderr, so stdout stays data.
 *
 * @internal
 */
export const progress = (line: string): Effect.Effect<void> => Console.error(line)

/**
 * Sends a request without trace headers (they mean nothing to a simulator or a webhook receiver).
 *
 * @internal
 */
export const send = (
  request: HttpClientRequest.HttpClientRequest
): Effect.Effect<
  HttpClientResponse.HttpClientResponse,
  HttpClientError.HttpClientError,
  HttpClient.HttpClient | Scope.Scope
> => Effect.flatMap(HttpClient.HttpClient, (client) => HttpClient.withTracerPropagation(client, false).execute(request))
