/**
 * Device Code flow, end to end.
 *
 *   npx tsx examples/device-auth.ts
 *
 * Without TWITCH_CLIENT_ID it starts the local simulator in-process (which approves the code after
 * ~2 s). With TWITCH_CLIENT_ID (and optional TWITCH_CLIENT_SECRET) it talks to real Twitch and
 * stores tokens in TWITCH_TOKEN_FILE (default .twitch-tokens.json).
 */
import { Console, Effect, Layer, Stream } from "effect"
import { DeviceAuth, OAuth, type Scopes } from "effect-twitch"
import * as NodeTwitch from "effect-twitch/NodeTwitch"
import * as Env from "./internal/env.js"

const scopes: ReadonlyArray<Scopes.Scope> = ["user:read:chat", "user:write:chat"]

const program = Effect.gen(function*() {
  const auth = yield* DeviceAuth.DeviceAuth
  yield* auth.authorize(scopes).pipe(
    Stream.runForEach((event) => {
      switch (event._tag) {
        case "CodeIssued":
          return Console.log(
            `Open ${event.verificationUri} and enter the code ${event.userCode} (valid ${event.expiresIn} s)`
          )
        case "Waiting":
          return Console.log(`  waiting for approval… (poll ${event.attempt}, every ${event.interval} s)`)
        case "Authorized":
          return Console.log(`authorized as ${event.token.login} (user id ${event.token.userId})`)
      }
    })
  )
})

// DeviceAuth stores the token in the TokenStore; it and OAuth need TwitchConfig and an HttpClient
const AuthLive = DeviceAuth.layer.pipe(Layer.provide(OAuth.layer()), Layer.provide(NodeTwitch.layerPlatform))

// TwitchConfig + TokenStore: `TwitchConfig.layerConfig()` + `NodeTwitch.layerTokenFile()`, or the simulator's
Env.run(program.pipe(Effect.provide(AuthLive), Effect.provide(Env.layerTwitch)))
