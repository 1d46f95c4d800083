/**
 * The examples' plumbing, in one place, so each example can stay about Twitch.
 *
 * Where an example runs:
 * - no `TWITCH_CLIENT_ID`: against the local simulator, started in-process (no credentials needed).
 *   It approves device codes by itself after ~2 s, and the example's user gets a token from it.
 * - `TWITCH_CLIENT_ID` set (optional `TWITCH_CLIENT_SECRET`, `TWITCH_AUTH_URL`, `TWITCH_HELIX_URL`,
 *   `TWITCH_EVENTSUB_WS_URL`): against Twitch. The user's token comes from the token file
 *   (`TWITCH_TOKEN_FILE`, default `.twitch-tokens.json`; `TWITCH_USER` picks a login when it holds
 *   several), else from `TWITCH_ACCESS_TOKEN` / `TWITCH_REFRESH_TOKEN` (validated and stored), else
 *   from a Device Code flow (the code and URL are printed).
 *
 * The channel is `TWITCH_CHANNEL` (a login), by default the user's own (in the simulator:
 * `simbroadcaster`). `run` ends the program: one readable line on error, never a stack trace.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Socket from "@effect/platform/Socket"
import type { ConfigError } from "effect"
import {
  Cause,
  Config,
  Console,
  Context,
  Data,
  DateTime,
  Effect,
  Layer,
  Logger,
  LogLevel,
  Option,
  Redacted,
  Schedule
} from "effect"
import * as Path from "node:path"
import * as Url from "node:url"
import { Bot, Client, DeviceAuth, Helix, OAuth, TokenStore, TwitchConfig } from "../../src/index.js"
import * as NodeTwitch from "../../src/NodeTwitch.js"
import * as Simulator from "../../src/testing/Simulator.js"
import { UserToken } from "../../src/Token.js"

/** A problem with the example's setup (an unknown channel, an ambiguous token file, …). */
export class ExampleError extends Data.TaggedError("ExampleError")<{ readonly message: string }> {}

/** Who the example acts as, in which channel, and the simulator when it runs against one. */
export class Example extends Context.Tag("examples/Example")<Example, {
  readonly user: { readonly id: string; readonly login: string }
  readonly channel: { readonly id: string; readonly login: string }
  /** `Some` when running against the in-process simulator: examples use it to stage events. */
  readonly simulator: Option.Option<Simulator.Simulator.Service>
}>() {}

/** What every example runs on: config, a token store and the Node platform (HTTP, WebSocket, files). */
export type Base =
  | TwitchConfig.TwitchConfig
  | TokenStore.TokenStore
  | HttpClient.HttpClient
  | Socket.WebSocketConstructor
  | FileSystem.FileSystem

/** Who the example acts as in the simulator (the channel is always `simbroadcaster`'s). */
export type SimulatorUser = "broadcaster" | "bot"

export interface Options {
  /** Scopes the example needs: checked at start, and asked for by a device flow. */
  readonly scopes: ReadonlyArray<string>
  /** Simulator only: whose token the example uses (default `broadcaster`). */
  readonly simulatorUser?: SimulatorUser | undefined
  /** Simulator only: approve new device codes as `simbroadcaster` after ~2 s (default true). */
  readonly autoApproveDevice?: boolean | undefined
}

const useSimulator = Effect.map(
  Config.option(Config.nonEmptyString("TWITCH_CLIENT_ID")),
  Option.isNone
)

/** Issues a token for `userId` at the simulator, as if the user had authorized the app. */
export const simulatorToken = (sim: Simulator.Simulator.Service, userId: string, scopes: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const issued = yield* sim.issueUserToken({ userId, scopes })
    const user = yield* sim.getUser(userId)
    const now = yield* DateTime.now
    return new UserToken({
      userId,
      login: Option.match(user, { onNone: () => userId, onSome: (u) => u.login }),
      scopes: [...issued.scopes],
      accessToken: Redacted.make(issued.accessToken),
      refreshToken: Option.some(Redacted.make(issued.refreshToken)),
      expiresAt: Option.some(DateTime.add(now, { seconds: issued.expiresIn })),
      obtainedAt: now
    })
  }).pipe(Effect.orDie) // the simulator's own users: cannot fail

/** The simulator in-process, `TwitchConfig` pointing at it, an in-memory token store. */
export const layerSimulatorBase = (
  options: { readonly autoApproveDevice?: boolean | undefined } = {}
): Layer.Layer<Base | Simulator.Simulator> =>
  Layer.mergeAll(Simulator.layerTwitchConfig, TokenStore.layerMemory(), NodeTwitch.layerPlatform).pipe(
    Layer.provideMerge(Simulator.layer({
      autoApproveDevice: options.autoApproveDevice === false ? undefined : { afterMillis: 2_000 }
    }))
  )

/** Twitch: `TWITCH_*` config, the token file, the Node platform. */
const layerTwitchBase: Layer.Layer<Base, ConfigError.ConfigError | TokenStore.TokenStoreError> = Layer.unwrapEffect(
  Effect.map(
    Config.string("TWITCH_TOKEN_FILE").pipe(Config.withDefault(".twitch-tokens.json")),
    (file) => Layer.mergeAll(TwitchConfig.layerConfig(), NodeTwitch.layerTokenFile(file), NodeTwitch.layerPlatform)
  )
)

/** Config, token store and platform: the simulator's or Twitch's, depending on `TWITCH_CLIENT_ID`. */
export const layerBase = (
  options: { readonly autoApproveDevice?: boolean | undefined } = {}
): Layer.Layer<Base, ConfigError.ConfigError | TokenStore.TokenStoreError> =>
  Layer.unwrapEffect(Effect.map(useSimulator, (sim) => {
    if (!sim) return layerTwitchBase
    const layer: Layer.Layer<Base> = Layer.merge(
      Layer.effectDiscard(Console.log("(no TWITCH_CLIENT_ID: running against the local simulator)")),
      layerSimulatorBase(options)
    )
    return layer // the context also holds the `Simulator` (see `simulatorOption`)
  }))

/** The simulator, when the example runs against it. */
export const simulatorOption: Effect.Effect<Option.Option<Simulator.Simulator.Service>> = Effect.serviceOption(
  Simulator.Simulator
)

// ------------------------------------------------------------------------------------------------
// Simulator only: staging what viewers do

/** Checking the simulator for something to happen: every 50 ms, for up to 10 s. */
export const polling = Schedule.spaced("50 millis").pipe(Schedule.upTo("10 seconds"))

/** Waits until an EventSub subscription of `type` is enabled at the simulator (the example listens). */
export const awaitSubscription = (sim: Simulator.Simulator.Service, type: string) =>
  sim.eventSub.subscriptions.pipe(
    Effect.filterOrFail((subs) => subs.some((s) => s.type === type && s.status === "enabled")),
    Effect.retry(polling),
    Effect.orElseFail(() => new ExampleError({ message: `the example did not subscribe to ${type} in time` }))
  )

const simUser = (sim: Simulator.Simulator.Service, userId: string) =>
  Effect.flatMap(
    sim.getUser(userId),
    Option.match({
      onNone: () => Effect.fail(new ExampleError({ message: `the simulator has no user ${userId}` })),
      onSome: Effect.succeed
    })
  )

const triggered = (effect: Effect.Effect<ReadonlyArray<string>, { readonly message: string }>, what: string) =>
  Effect.flatMap(
    Effect.mapError(effect, (e) => new ExampleError({ message: `simulator: ${e.message}` })),
    (sent) => sent.length > 0 ? Effect.void : Effect.fail(new ExampleError({ message: `nobody listens to ${what}` }))
  )

/** The simulator's user `userId` follows `channelId` (an EventSub `channel.follow` notification). */
export const simulateFollow = (sim: Simulator.Simulator.Service, channelId: string, userId: string) =>
  Effect.gen(function*() {
    const user = yield* simUser(sim, userId)
    yield* triggered(
      sim.eventSub.trigger({
        type: "channel.follow",
        condition: { broadcaster_user_id: channelId },
        event: {
          user_id: user.id,
          user_login: user.login,
          user_name: user.display_name,
          broadcaster_user_id: channelId,
          followed_at: new Date().toISOString()
        }
      }),
      "channel.follow"
    )
  })

/** The simulator's user `userId` writes `text` in `channelId`'s chat (`channel.chat.message`). */
export const simulateChat = (sim: Simulator.Simulator.Service, channelId: string, userId: string, text: string) =>
  Effect.gen(function*() {
    const user = yield* simUser(sim, userId)
    yield* triggered(
      sim.eventSub.trigger({
        type: "channel.chat.message",
        condition: { broadcaster_user_id: channelId },
        event: {
          broadcaster_user_id: channelId,
          chatter_user_id: user.id,
          chatter_user_login: user.login,
          chatter_user_name: user.display_name,
          message_id: crypto.randomUUID(),
          message: { text, fragments: [{ type: "text", text, cheermote: null, emote: null, mention: null }] }
        }
      }),
      "channel.chat.message"
    )
  })

/** Waits for the next whisper to `userId` and returns its text. */
export const awaitWhisper = (sim: Simulator.Simulator.Service, userId: string, after = 0) =>
  sim.whispers.pipe(
    Effect.map((all) => all.filter((w) => w.to_user_id === userId).slice(after)),
    Effect.filterOrFail((mine) => mine.length > 0, () => new ExampleError({ message: `${userId} got no whisper` })),
    Effect.retry(polling),
    Effect.map((mine) => mine[0]!.message)
  )

/** Approves the next pending device code as `userId`, as if they had entered it at twitch.tv/activate. */
export const approveNextDevice = (sim: Simulator.Simulator.Service, userId: string) =>
  sim.pendingDevices.pipe(
    Effect.flatMap((pending) =>
      pending.length > 0
        ? Effect.succeed(pending[0]!)
        : Effect.fail(new ExampleError({ message: "no device code is waiting for approval" }))
    ),
    Effect.retry(polling),
    Effect.tap((device) => Effect.orDie(sim.approveDevice(device.userCode, userId)))
  )

// ------------------------------------------------------------------------------------------------

/** Base plus `OAuth` and `DeviceAuth`: for examples that authorize users themselves. */
export const layerAuth = (
  options: { readonly autoApproveDevice?: boolean | undefined } = {}
): Layer.Layer<Base | OAuth.OAuth | DeviceAuth.DeviceAuth, ConfigError.ConfigError | TokenStore.TokenStoreError> =>
  DeviceAuth.layer.pipe(Layer.provideMerge(OAuth.layer()), Layer.provideMerge(layerBase(options)))

/** Authorizes a user with a Device Code flow, printing the code and the URL to open. */
const deviceFlow = (scopes: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const auth = yield* DeviceAuth.DeviceAuth
    const code = yield* auth.start(scopes)
    yield* Console.log(`To authorize, open ${code.verificationUri} and enter the code ${code.userCode}`)
    const token = yield* auth.poll(code) // validated and stored in the token file
    yield* Console.log(`authorized as ${token.login}`)
    return token
  }).pipe(Effect.provide(DeviceAuth.layer.pipe(Layer.provide(OAuth.layer()))))

/** Validates and stores a token given as text (`Bot.register` checks client id and scopes). */
const registerToken = (token: Bot.Token, scopes: ReadonlyArray<string>) =>
  Layer.build(Bot.layer()).pipe(
    Effect.flatMap((ctx) => Context.get(ctx, Bot.Bot).register(token, { scopes })),
    Effect.mapError((e) =>
      new ExampleError({ message: `TWITCH_ACCESS_TOKEN: ${e.message.replace(/^Bot\.register: /, "")}` })
    ),
    Effect.scoped
  )

/**
 * The example's user id; their token is in the store afterwards. Simulator: a fresh token for the
 * chosen simulator user. Twitch: the token file, else `TWITCH_ACCESS_TOKEN`, else a device flow.
 */
const resolveUser = (options: Options) =>
  Effect.gen(function*() {
    const store = yield* TokenStore.TokenStore
    const sim = yield* simulatorOption
    if (Option.isSome(sim)) {
      const userId = sim.value.users[options.simulatorUser ?? "broadcaster"]
      yield* store.set(yield* simulatorToken(sim.value, userId, options.scopes))
      return userId
    }
    const stored = yield* store.list
    const wanted = yield* Config.option(Config.nonEmptyString("TWITCH_USER"))
    if (Option.isSome(wanted)) {
      const match = stored.find((t) => t.login.toLowerCase() === wanted.value.toLowerCase())
      if (match !== undefined) return match.userId
      if (stored.length > 0) {
        return yield* new ExampleError({ message: `TWITCH_USER: the token file holds no token of ${wanted.value}` })
      }
    } else if (stored.length === 1) {
      return stored[0]!.userId
    } else if (stored.length > 1) {
      const logins = stored.map((t) => t.login).join(", ")
      return yield* new ExampleError({
        message: `the token file holds ${stored.length} users (${logins}): set TWITCH_USER to one of them`
      })
    }
    const accessToken = yield* Config.option(Config.redacted("TWITCH_ACCESS_TOKEN"))
    if (Option.isSome(accessToken)) {
      const refreshToken = yield* Config.option(Config.redacted("TWITCH_REFRESH_TOKEN"))
      const registered = yield* registerToken({
        accessToken: accessToken.value,
        refreshToken: Option.getOrUndefined(refreshToken)
      }, options.scopes)
      return registered.userId
    }
    return (yield* deviceFlow(options.scopes)).userId
  })

/** `TWITCH_CHANNEL` (a login), else the user's own channel (in the simulator: `simbroadcaster`'s). */
const resolveChannel = (user: { readonly id: string; readonly login: string }) =>
  Effect.gen(function*() {
    const configured = yield* Config.option(Config.nonEmptyString("TWITCH_CHANNEL"))
    const sim = yield* simulatorOption
    const login = Option.isSome(configured) || Option.isNone(sim) ? configured : Option.some("simbroadcaster")
    if (Option.isNone(login)) return user
    const helix = yield* Helix.Helix
    const found = yield* helix.getUserByLogin(login.value)
    if (Option.isNone(found)) {
      return yield* new ExampleError({ message: `TWITCH_CHANNEL: there is no Twitch user named ${login.value}` })
    }
    return { id: found.value.id, login: found.value.login }
  })

const makeExample = (user: { readonly id: string; readonly login: string }) =>
  Effect.gen(function*() {
    const channel = yield* resolveChannel(user)
    return Example.of({ user, channel, simulator: yield* simulatorOption })
  })

/** Everything a `Client` example needs (Client, Helix, EventSub, …, and `Example`), ready to use. */
export const layerClient = (options: Options) =>
  Layer.unwrapEffect(Effect.map(resolveUser(options), (userId) => {
    const client = NodeTwitch.layerClient({ userId, scopes: options.scopes })
    const example = Layer.effect(Example, Effect.flatMap(Client.Client, (c) => makeExample(c.user)))
    return Layer.provideMerge(example, client)
  })).pipe(Layer.provideMerge(layerBase(options)))

/** Everything a `Bot` example needs: the bot acts as the example's user (`Example.user`) by default. */
export const layerBot = (options: Options) =>
  Layer.unwrapEffect(Effect.map(resolveUser(options), (userId) => {
    const bot = NodeTwitch.layerBot({ defaultUser: userId })
    const example = Layer.effect(
      Example,
      Effect.gen(function*() {
        const me = yield* (yield* Bot.Bot).requireScopes(userId, options.scopes, "this example")
        return yield* makeExample({ id: me.userId, login: me.login })
      })
    )
    return Layer.provideMerge(example, bot)
  })).pipe(Layer.provideMerge(layerBase(options)))

const describe = (error: unknown): string => {
  if (error instanceof Error && error.message !== "") return error.message
  if (typeof error === "object" && error !== null && "_tag" in error) return String(error._tag)
  return String(error)
}

/** Whether the module is the program being run (`tsx examples/x.ts`), not imported (by the demo). */
export const isMain = (moduleUrl: string): boolean =>
  process.argv[1] !== undefined && Url.pathToFileURL(Path.resolve(process.argv[1])).href === moduleUrl

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
