/**
 * @since 0.1.0
 */
export * as AccessTokens from "./AccessTokens.js"

/**
 * @since 0.1.0
 */
export * as Bot from "./Bot.js"

/**
 * @since 0.3.0
 */
export * as ChatSender from "./ChatSender.js"

/**
 * @since 0.1.0
 */
export * as Client from "./Client.js"

/**
 * @since 0.3.0
 */
export * as Commands from "./Commands.js"

/**
 * @since 0.1.0
 */
export * as DeviceAuth from "./DeviceAuth.js"
/**
 * @since 0.1.0
 */
export * as EventSub from "./EventSub.js"
/**
 * @since 0.1.0
 */
export * as EventSubTypes from "./EventSubTypes.js"
/**
 * @since 0.1.0
 */
export * as Helix from "./Helix.js"

/**
 * Every Helix operation, one module per area of Twitch's reference (generated).
 *
 * @since 0.2.0
 */
export * as HelixApi from "./HelixApi.js"

/**
 * What a Helix operation is, and how to declare one.
 *
 * @since 0.2.0
 */
export * as HelixOperation from "./HelixOperation.js"
/**
 * @since 0.1.0
 */
export * as OAuth from "./OAuth.js"
/**
 * @since 0.1.0
 */
export * as Scopes from "./Scopes.js"
/**
 * @since 0.1.0
 */
export * as Token from "./Token.js"
/**
 * @since 0.1.0
 */
export * as TokenStore from "./TokenStore.js"
/**
 * @since 0.1.0
 */
export * as TwitchConfig from "./TwitchConfig.js"
