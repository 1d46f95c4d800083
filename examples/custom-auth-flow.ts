/**
 * A custom authorization flow: drive the Device Code flow step by step (`start`, show the code,
 * `poll` with a progress line), then start a `Client` for the user who approved it.
 *
 *   npx tsx examples/custom-auth-flow.ts
 *
 * Without TWITCH_CLIENT_ID the local simulator approves the code after ~2 s (as simbroadcaster).
 * With TWITCH_CLIENT_ID open the printed URL and approve it yourself; the token is stored in
 * TWITCH_TOKEN_FILE (default .twitch-tokens.json), ready for the other examples.
 * (`examples/device-auth.ts` shows the one-call version: `DeviceAuth.authorize` as a Stream.)
 */
import { Console, DateTime, Effect, Layer, Option, Schedule } from "effect"
import { Client, DeviceAuth, OAuth, type Scopes } from "effect-twitch"
import * as NodeTwitch from "effect-twitch/NodeTwitch"
import * as Env from "./internal/env.js"

const scopes: ReadonlyArray<Scopes.Scope> = ["user:read:chat", "user:write:chat"]

/** Prints a progress line every second while `self` runs. */
const withProgress = (code: DeviceAuth.DeviceCode) => <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.raceFirst(
    self,
    Effect.gen(function*() {
      const now = yield* DateTime.now
      const left = Math.round(DateTime.distance(now, code.expiresAt) / 1000)
      yield* Console.log(`  … waiting for approval (code valid ${Math.floor(left / 60)} min ${left % 60} s more)`)
    }).pipe(Effect.delay("1 second"), Effect.repeat(Schedule.forever), Effect.zipRight(Effect.never))
  )

const main = Effect.gen(function*() {
  const auth = yield* DeviceAuth.DeviceAuth

  // 1. ask Twitch for a code, show it
  const code = yield* auth.start(scopes)
  yield* Console.log(`1. Open ${code.verificationUri} and enter the code ${code.userCode}`)

  // 2. poll until the person approves it (or the code expires): the token is validated and stored
  const token = yield* auth.poll(code).pipe(withProgress(code))
  yield* Console.log(`2. Authorized as ${token.login} (scopes: ${token.scopes.join(", ")})`)

  // 3. start a Client for that user and use it
  yield* Effect.gen(function*() {
    const client = yield* Client.Client
    const info = yield* client.channelInfo()
    const title = Option.match(info, { onNone: () => "", onSome: (channel) => channel.title })
    yield* Console.log(`3. ${client.user.login}'s stream title: ${title === "" ? "(none set)" : title}`)
    const sent = yield* client.sendMessage("Hello from effect-twitch!")
    yield* Console.log(`   said hello in chat (message id ${sent.message_id})`)
  }).pipe(Effect.provide(NodeTwitch.layerClient({ userId: token.userId, scopes })))
})

// DeviceAuth stores the token in the TokenStore; it and OAuth need TwitchConfig and an HttpClient
const AuthLive = DeviceAuth.layer.pipe(Layer.provide(OAuth.layer()), Layer.provide(NodeTwitch.layerPlatform))

// TwitchConfig + TokenStore: `TwitchConfig.layerConfig()` + `NodeTwitch.layerTokenFile()`, or the simulator's
Env.run(main.pipe(Effect.provide(AuthLive), Effect.provide(Env.layerTwitch)))
