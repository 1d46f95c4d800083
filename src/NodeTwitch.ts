/**
 * Node conveniences: the platform layers (`HttpClient` over undici, `WebSocketConstructor`,
 * `FileSystem`) and `Client` / `Bot` / file `TokenStore` layers with them built in, so a Node
 * program is one line of layers:
 *
 * ```ts
 * import { TwitchConfig } from "effect-twitch"
 * import * as NodeTwitch from "effect-twitch/NodeTwitch"
 *
 * const TwitchLive = NodeTwitch.layerClient({ scopes: ["user:write:chat"] }).pipe(
 *   Layer.provide(NodeTwitch.layerTokenFile(".twitch-tokens.json")),
 *   Layer.provide(TwitchConfig.layerConfig())
 * )
 * ```
 *
 * This module imports `@effect/platform-node`, so it is not part of the `effect-twitch` barrel:
 * import it as `effect-twitch/NodeTwitch`. In a browser (or Deno, Bun, …) use `Client.layer` /
 * `Bot.layer` and provide `FetchHttpClient.layer` and a `Socket.WebSocketConstructor` yourself.
 *
 * @since 0.1.0
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeSocket from "@effect/platform-node/NodeSocket"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import type { ServeError } from "@effect/platform/HttpServerError"
import type * as Socket from "@effect/platform/Socket"
import * as Layer from "effect/Layer"
import { createServer } from "node:http"
import type * as AccessTokens from "./AccessTokens.js"
import * as Bot from "./Bot.js"
import type * as ChatSender from "./ChatSender.js"
import * as Client from "./Client.js"
import type * as DeviceAuth from "./DeviceAuth.js"
import type * as EventSub from "./EventSub.js"
import * as EventSubWebhook from "./EventSubWebhook.js"
import type * as Helix from "./Helix.js"
import type * as OAuth from "./OAuth.js"
import * as TokenStore from "./TokenStore.js"
import type { TwitchConfig } from "./TwitchConfig.js"

/**
 * `HttpClient` (undici), `WebSocketConstructor` (the global `WebSocket`, else `ws`) and `FileSystem`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerPlatform: Layer.Layer<
  HttpClient.HttpClient | Socket.WebSocketConstructor | FileSystem.FileSystem
> = Layer.mergeAll(NodeHttpClient.layerUndici, NodeSocket.layerWebSocketConstructor, NodeFileSystem.layer)

/**
 * `Client.layer` with the Node platform layers provided: give it `TwitchConfig` and a `TokenStore`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerClient = (
  options: Client.Options = {}
): Layer.Layer<
  | Client.Client
  | ChatSender.ChatSender
  | Helix.Helix
  | EventSub.EventSub
  | AccessTokens.AccessTokens
  | OAuth.OAuth
  | DeviceAuth.DeviceAuth,
  Client.ClientError,
  TwitchConfig | TokenStore.TokenStore
> => Client.layer(options).pipe(Layer.provide(layerPlatform))

/**
 * `Bot.layer` with the Node platform layers provided: give it `TwitchConfig` and a `TokenStore`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerBot = (
  options: Bot.Options = {}
): Layer.Layer<
  Bot.Bot | Helix.Helix | EventSub.EventSub | AccessTokens.AccessTokens | OAuth.OAuth | DeviceAuth.DeviceAuth,
  Bot.BotError,
  TwitchConfig | TokenStore.TokenStore
> => Bot.layer(options).pipe(Layer.provide(layerPlatform))

/**
 * `TokenStore.layerFile(path)` on the Node file system (default `.twitch-tokens.json`, mode 0600).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTokenFile = (
  path: string = ".twitch-tokens.json"
): Layer.Layer<TokenStore.TokenStore, TokenStore.TokenStoreError> =>
  TokenStore.layerFile(path).pipe(Layer.provide(NodeFileSystem.layer))

/**
 * A standalone HTTP server for EventSub webhooks: `EventSubWebhook.handler` on `POST path` (default `/`),
 * everything else 404. Give it `EventSubWebhook.layer` (or `layerConfig`); put TLS (port 443, as Twitch
 * requires) in front of it, e.g. a reverse proxy.
 *
 * ```ts
 * const ServerLive = NodeTwitch.layerWebhookServer({ port: 8080, path: "/eventsub" }).pipe(
 *   Layer.provideMerge(EventSubWebhook.layerConfig({ callback, secret }))
 * )
 * ```
 *
 * @since 0.2.0
 * @category layers
 */
export const layerWebhookServer = (options: {
  readonly port: number
  readonly host?: string | undefined
  readonly path?: `/${string}` | undefined
}): Layer.Layer<never, ServeError, EventSubWebhook.EventSubWebhook> =>
  HttpRouter.empty.pipe(
    HttpRouter.post(options.path ?? "/", EventSubWebhook.handler),
    HttpServer.serve(),
    Layer.provide(NodeHttpServer.layer(() => createServer(), {
      port: options.port,
      ...(options.host === undefined ? {} : { host: options.host })
    }))
  )
