/**
 * What the examples share: where they run, who they run as, staging viewers in the simulator, and `run`.
 *
 * - No `TWITCH_CLIENT_ID`: against the local simulator, started in-process (no credentials needed).
 *   It approves device codes by itself after ~2 s, as `simbroadcaster`.
 * - `TWITCH_CLIENT_ID` set (optional `TWITCH_CLIENT_SECRET`, `TWITCH_*_URL`): against Twitch, tokens in
 *   `TWITCH_TOKEN_FILE` (default `.twitch-tokens.json`).
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import type { ConfigError } from "effect"
import { Cause, Config, Console, Data, Effect, Layer, Logger, LogLevel, Option, Schedule } from "effect"
import { Bot, DeviceAuth, HelixApi, OAuth, type Scopes, TokenStore, TwitchConfig } from "effect-twitch"
import * as NodeTwitch from "effect-twitch/NodeTwitch"
import { Simulator } from "effect-twitch/testing"
import * as Path from "node:path"
import * as Url from "node:url"

/** A problem with the example's setup (an unknown channel, an ambiguous token file, …). */
export class ExampleError extends Data.TaggedError("ExampleError")<{ readonly message: string }> {}

/** Simulator: it in-process, `TwitchConfig` pointing at it, tokens in memory. */
const layerSimulator = Layer.merge(Simulator.layerTwitchConfig, TokenStore.layerMemory()).pipe(
  Layer.provideMerge(Simulator.layer({ autoApproveDevice: { afterMillis: 2_000 } })),
  Layer.tap(() => Console.log("(no TWITCH_CLIENT_ID: running against the local simulator)"))
)

/** Twitch: `TWITCH_*` config, the token file. */
const layerTwitchEnv = Layer.unwrapEffect(
  Effect.map(
    Config.withDefault(Config.string("TWITCH_TOKEN_FILE"), ".twitch-tokens.json"),
    (file) => Layer.merge(TwitchConfig.layerConfig(), NodeTwitch.layerTokenFile(file))
  )
)

/**
 * `TwitchConfig` and a `TokenStore`: on Twitch `TwitchConfig.layerConfig()` and `NodeTwitch.layerTokenFile()`,
 * else the simulator's (and then the context holds the `Simulator` too: see {@link simulator}).
 */
export const layerTwitch: Layer.Layer<
  TwitchConfig.TwitchConfig | TokenStore.TokenStore,
  TokenStore.TokenStoreError | ConfigError.ConfigError
> = Layer.unwrapEffect(Effect.map(
  Config.option(Config.nonEmptyString("TWITCH_CLIENT_ID")),
  Option.match({ onNone: () => layerSimulator, onSome: () => layerTwitchEnv })
))

/**
 * Like {@link layerTwitch}, with the `TokenStore` of your choice: `onTwitch` against Twitch (e.g. a database
 * several processes share), `onSimulator` against the in-process simulator.
 */
export const layerTwitchWithStore = <E1, E2>(stores: {
  readonly onTwitch: Layer.Layer<TokenStore.TokenStore, E1>
  readonly onSimulator: Layer.Layer<TokenStore.TokenStore, E2>
}): Layer.Layer<TwitchConfig.TwitchConfig | TokenStore.TokenStore, E1 | E2 | ConfigError.ConfigError> =>
  Layer.unwrapEffect(Effect.map(
    Config.option(Config.nonEmptyString("TWITCH_CLIENT_ID")),
    (clientId): Layer.Layer<TwitchConfig.TwitchConfig | TokenStore.TokenStore, E1 | E2 | ConfigError.ConfigError> =>
      Option.isSome(clientId)
        ? Layer.merge(TwitchConfig.layerConfig(), stores.onTwitch)
        : Layer.merge(Simulator.layerTwitchConfig, stores.onSimulator).pipe(
          Layer.provideMerge(Simulator.layer({ autoApproveDevice: { afterMillis: 2_000 } })),
          Layer.tap(() => Console.log("(no TWITCH_CLIENT_ID: running against the local simulator)"))
        )
  ))

/** The simulator, when the example runs against it (`Some`): examples use it to stage what viewers do. */
export const simulator = Effect.serviceOption(Simulator.Simulator)

// ------------------------------------------------------------------------------------------------ who and where

/** Authorizes a user with a Device Code flow, printing the code and the URL to open. */
const deviceFlow = (scopes: ReadonlyArray<Scopes.Scope>) =>
  Effect.gen(function*() {
    const auth = yield* DeviceAuth.DeviceAuth
    const code = yield* auth.start(scopes)
    yield* Console.log(`To authorize, open ${code.verificationUri} and enter the code ${code.userCode}`)
    return yield* auth.poll(code) // validated and stored in the token file
  }).pipe(
    Effect.provide(DeviceAuth.layer.pipe(Layer.provide(OAuth.layer()), Layer.provide(NodeTwitch.layerPlatform)))
  )

/** Validates and stores a token given as text (client id, scopes). */
const register = (token: Bot.Token, scopes: ReadonlyArray<Scopes.Scope>) =>
  Bot.use((bot) => bot.register(token, { scopes })).pipe(
    Effect.provide(NodeTwitch.layerBot()),
    Effect.mapError((e) => new ExampleError({ message: `TWITCH_ACCESS_TOKEN: ${e.message.replace(/^Bot.*?: /, "")}` }))
  )

/** Twitch: the token file's user (`TWITCH_USER` picks one by login), else `TWITCH_ACCESS_TOKEN`, else a device flow. */
const twitchUser = (scopes: ReadonlyArray<Scopes.Scope>) =>
  Effect.gen(function*() {
    const stored = yield* (yield* TokenStore.TokenStore).list
    const wanted = yield* Config.option(Config.nonEmptyString("TWITCH_USER"))
    const matching = Option.isNone(wanted)
      ? stored
      : stored.filter((token) => token.login.toLowerCase() === wanted.value.toLowerCase())
    if (matching.length === 1) return matching[0]!.userId
    if (matching.length > 1) {
      const logins = matching.map((token) => token.login).join(", ")
      return yield* new ExampleError({ message: `the token file holds ${logins}: set TWITCH_USER to one of them` })
    }
    if (Option.isSome(wanted) && stored.length > 0) {
      return yield* new ExampleError({ message: `TWITCH_USER: the token file holds no token of ${wanted.value}` })
    }
    const accessToken = yield* Config.option(Config.redacted("TWITCH_ACCESS_TOKEN"))
    if (Option.isNone(accessToken)) return (yield* deviceFlow(scopes)).userId
    const refreshToken = yield* Config.option(Config.redacted("TWITCH_REFRESH_TOKEN"))
    const token = { accessToken: accessToken.value, refreshToken: Option.getOrUndefined(refreshToken) }
    return (yield* register(token, scopes)).userId
  })

/**
 * Who the example runs as: its user's id, their token in the `TokenStore`. Simulator: a fresh token for
 * `simulatorUser` (default `broadcaster`). Twitch: see {@link twitchUser}.
 */
export const user = (options: {
  readonly scopes: ReadonlyArray<Scopes.Scope>
  readonly simulatorUser?: "broadcaster" | "bot" | undefined
}) =>
  Effect.flatMap(simulator, (sim) => {
    if (Option.isNone(sim)) return twitchUser(options.scopes)
    const userId = sim.value.users[options.simulatorUser ?? "broadcaster"]
    return Simulator.userToken({ userId, scopes: options.scopes }).pipe(
      Effect.flatMap((token) => Effect.flatMap(TokenStore.TokenStore, (store) => store.set(token))),
      Effect.provideService(Simulator.Simulator, sim.value),
      Effect.as(userId),
      Effect.orDie // the simulator's own users: cannot fail
    )
  })

/** `TWITCH_CHANNEL` (a login), else `user`'s own channel; in the simulator `simbroadcaster`'s. */
export const channel = (user: { readonly id: string; readonly login: string }) =>
  Effect.gen(function*() {
    const configured = yield* Config.option(Config.nonEmptyString("TWITCH_CHANNEL"))
    const inSimulator = Option.isSome(yield* simulator)
    const login = Option.orElse(configured, () => inSimulator ? Option.some("simbroadcaster") : Option.none())
    if (Option.isNone(login)) return user
    const [found] = yield* HelixApi.Users.getUsers({ login: [login.value] })
    if (found === undefined) {
      return yield* new ExampleError({ message: `TWITCH_CHANNEL: there is no Twitch user named ${login.value}` })
    }
    return { id: found.id, login: found.login }
  })

// ------------------------------------------------------------------------------------------------ simulator staging

/** Checking the simulator for something to happen: every 50 ms, for up to 30 s (a loaded CI machine is slow). */
export const polling = Schedule.spaced("50 millis").pipe(Schedule.upTo("30 seconds"))

/** Waits until `count` EventSub subscriptions of `type` are enabled at the simulator (the example listens). */
export const awaitSubscription = (sim: Simulator.Simulator.Service, type: string, count = 1) =>
  sim.eventSub.subscriptions.pipe(
    Effect.filterOrFail((subs) => subs.filter((s) => s.type === type && s.status === "enabled").length >= count),
    Effect.retry(polling),
    Effect.orElseFail(() => new ExampleError({ message: `the example did not subscribe to ${type} in time` }))
  )

/** The simulator's user `userId` does something in `channelId`: an EventSub notification of `type`. */
const viewerDoes = (
  sim: Simulator.Simulator.Service,
  userId: string,
  type: string,
  channelId: string,
  event: (user: Simulator.User) => Record<string, unknown>
) =>
  sim.getUser(userId).pipe(
    Effect.flatMap(Option.match({
      onNone: () => Effect.fail({ message: `there is no user ${userId}` }),
      onSome: (user) =>
        sim.eventSub.trigger({ type, condition: { broadcaster_user_id: channelId }, event: event(user) })
    })),
    Effect.filterOrFail((sent) => sent.length > 0, () => ({ message: `nobody listens to ${type}` })),
    Effect.mapError((e) => new ExampleError({ message: `simulator: ${e.message}` })),
    Effect.asVoid
  )

/** The simulator's user `userId` follows `channelId`. */
export const simulateFollow = (sim: Simulator.Simulator.Service, channelId: string, userId: string) =>
  viewerDoes(sim, userId, "channel.follow", channelId, (user) => ({
    user_id: user.id,
    user_login: user.login,
    user_name: user.display_name,
    followed_at: new Date().toISOString()
  }))

/** The simulator's user `userId` subscribes to `channelId` (tier 1). */
export const simulateSubscribe = (sim: Simulator.Simulator.Service, channelId: string, userId: string) =>
  viewerDoes(sim, userId, "channel.subscribe", channelId, (user) => ({
    user_id: user.id,
    user_login: user.login,
    user_name: user.display_name,
    tier: "1000",
    is_gift: false
  }))

/** The simulator's user `userId` writes `text` in `channelId`'s chat. */
export const simulateChat = (sim: Simulator.Simulator.Service, channelId: string, userId: string, text: string) =>
  viewerDoes(sim, userId, "channel.chat.message", channelId, (user) => ({
    chatter_user_id: user.id,
    chatter_user_login: user.login,
    chatter_user_name: user.display_name,
    message_id: crypto.randomUUID(),
    message: { text, fragments: [{ type: "text", text, cheermote: null, emote: null, mention: null }] }
  }))

/** The simulator's control surface, as the examples stage viewers with it. */
export type Sim = Simulator.Simulator.Service

/** Waits until `userId` has sent at least `count` chat messages at the simulator; returns their texts. */
export const awaitChatMessages = (sim: Sim, userId: string, count: number) =>
  sim.chatMessages.pipe(
    Effect.map((all) => all.filter((m) => m.sender_id === userId && m.is_sent).map((m) => m.message)),
    Effect.filterOrFail(
      (mine) => mine.length >= count,
      () => new ExampleError({ message: `${userId} sent fewer than ${count} chat messages` })
    ),
    Effect.retry(polling)
  )

/** Waits for the first whisper to `userId` and returns its text. */
export const awaitWhisper = (sim: Simulator.Simulator.Service, userId: string) =>
  sim.whispers.pipe(
    Effect.map((all) => all.filter((w) => w.to_user_id === userId)),
    Effect.filterOrFail((mine) => mine.length > 0, () => new ExampleError({ message: `${userId} got no whisper` })),
    Effect.retry(polling),
    Effect.map((mine) => mine[0]!.message)
  )

/** Approves the next pending device code as `userId`, as if they had entered it at twitch.tv/activate. */
export const approveNextDevice = (sim: Simulator.Simulator.Service, userId: string) =>
  sim.pendingDevices.pipe(
    Effect.filterOrFail((pending) => pending.length > 0, () => new ExampleError({ message: "no device code waits" })),
    Effect.retry(polling),
    Effect.map((pending) => pending[0]!),
    Effect.tap((device) => Effect.orDie(sim.approveDevice(device.userCode, userId)))
  )

// ------------------------------------------------------------------------------------------------ running

/** Whether the module is the program being run (`tsx examples/x.ts`), not imported (by the demo). */
export const isMain = (moduleUrl: string): boolean =>
  process.argv[1] !== undefined && Url.pathToFileURL(Path.resolve(process.argv[1])).href === moduleUrl

const describe = (error: unknown): string => {
  if (error instanceof Error && error.message !== "") return error.message
  if (typeof error === "object" && error !== null && "_tag" in error) return String(error._tag)
  return String(error)
}

/**
 * Runs an example's main program: library warnings hidden unless `LOG_LEVEL` says otherwise, and on
 * failure one line (`error: …`) and exit code 1, without a stack trace.
 */
export const run = <A, E>(program: Effect.Effect<A, E>, options: { readonly logLevel?: LogLevel.LogLevel } = {}) =>
  Effect.gen(function*() {
    const fromEnv = yield* Config.option(Config.logLevel("LOG_LEVEL")).pipe(Effect.orElseSucceed(Option.none))
    const level = Option.getOrElse(fromEnv, () => options.logLevel ?? LogLevel.Error)
    return yield* program.pipe(Logger.withMinimumLogLevel(level))
  }).pipe(
    Effect.tapErrorCause((cause) =>
      Cause.isInterruptedOnly(cause) ? Effect.void : Console.error(`error: ${describe(Cause.squash(cause))}`)
    ),
    NodeRuntime.runMain({ disableErrorReporting: true })
  )
