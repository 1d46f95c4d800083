/**
 * `effect-twitch/testing`: a local Twitch simulator (OAuth, Helix, EventSub) for tests, examples and benchmarks.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as Simulator from "./Simulator.js"

/**
 * @since 0.1.0
 */
export * as SimulatorModels from "./SimulatorModels.js"

/**
 * @since 0.2.0
 */
export * as BotTest from "./BotTest.js"
