/**
 * Where the library talks to: the app's client id and secret, and every base URL it calls.
 *
 * Nothing else in the library hard-codes a Twitch URL, so the local simulator
 * (`effect-twitch/testing`) or any Twitch look-alike can stand in for Twitch.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"

/**
 * @since 0.1.0
 * @category defaults
 */
export const defaults = {
  authUrl: "https://id.twitch.tv/oauth2",
  helixUrl: "https://api.twitch.tv/helix",
  eventSubWsUrl: "wss://eventsub.wss.twitch.tv/ws",
  requestTimeout: Duration.seconds(10)
} as const

/**
 * @since 0.1.0
 * @category tags
 */
export class TwitchConfig extends Context.Tag("effect-twitch/TwitchConfig")<TwitchConfig, TwitchConfig.Service>() {}

/**
 * @since 0.1.0
 */
export declare namespace TwitchConfig {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    readonly clientId: string
    /** Confidential clients have a secret; public clients (device flow only) have none. */
    readonly clientSecret: Option.Option<Redacted.Redacted>
    /** OAuth base, e.g. `https://id.twitch.tv/oauth2` (no trailing slash). */
    readonly authUrl: string
    /** Helix base, e.g. `https://api.twitch.tv/helix` (no trailing slash). */
    readonly helixUrl: string
    /** EventSub WebSocket URL, e.g. `wss://eventsub.wss.twitch.tv/ws`. */
    readonly eventSubWsUrl: string
    /** Timeout for every single HTTP request the library sends. */
    readonly requestTimeout: Duration.Duration
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly clientId: string
  readonly clientSecret?: Redacted.Redacted | undefined
  readonly authUrl?: string | undefined
  readonly helixUrl?: string | undefined
  readonly eventSubWsUrl?: string | undefined
  readonly requestTimeout?: Duration.DurationInput | undefined
}

const trimSlash = (url: string): string => url.replace(/\/+$/, "")

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): TwitchConfig.Service => ({
  clientId: options.clientId,
  clientSecret: Option.fromNullable(options.clientSecret),
  authUrl: trimSlash(options.authUrl ?? defaults.authUrl),
  helixUrl: trimSlash(options.helixUrl ?? defaults.helixUrl),
  eventSubWsUrl: options.eventSubWsUrl ?? defaults.eventSubWsUrl,
  requestTimeout: Duration.decode(options.requestTimeout ?? defaults.requestTimeout)
})

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<TwitchConfig> => Layer.succeed(TwitchConfig, make(options))

/**
 * The standard environment: `TWITCH_CLIENT_ID`, optional `TWITCH_CLIENT_SECRET`, and optional
 * `TWITCH_AUTH_URL`, `TWITCH_HELIX_URL`, `TWITCH_EVENTSUB_WS_URL` (defaulting to Twitch's own).
 *
 * @since 0.1.0
 * @category config
 */
export const fromEnv: Config.Config<Options> = Config.all({
  clientId: Config.string("TWITCH_CLIENT_ID"),
  clientSecret: Config.option(Config.redacted("TWITCH_CLIENT_SECRET")).pipe(Config.map(Option.getOrUndefined)),
  authUrl: Config.string("TWITCH_AUTH_URL").pipe(Config.withDefault(defaults.authUrl)),
  helixUrl: Config.string("TWITCH_HELIX_URL").pipe(Config.withDefault(defaults.helixUrl)),
  eventSubWsUrl: Config.string("TWITCH_EVENTSUB_WS_URL").pipe(Config.withDefault(defaults.eventSubWsUrl))
})

/**
 * Reads the options from `Config` (by default {@link fromEnv}).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options: Config.Config.Wrap<Options> = fromEnv
): Layer.Layer<TwitchConfig, ConfigError.ConfigError> =>
  Layer.effect(TwitchConfig, Effect.map(Config.unwrap(options), make))
