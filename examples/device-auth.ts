/**
 * Device Code flow, end to end.
 *
 *   npx tsx examples/device-auth.ts
 *
 * Without TWITCH_CLIENT_ID it starts the local simulator in-process (which approves the code after
 * ~2 s) and uses its public client. With TWITCH_CLIENT_ID (and optional TWITCH_CLIENT_SECRET) it
 * talks to real Twitch and stores tokens in TWITCH_TOKEN_FILE (default .twitch-tokens.json).
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Config, Console, Effect, Layer, Option, Stream } from "effect"
import { DeviceAuth, OAuth, TokenStore, TwitchConfig } from "../src/index.js"
import * as Simulator from "../src/testing/Simulator.js"

const scopes = ["user:read:chat", "user:write:chat"]

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

const simulatorEnv = Layer.mergeAll(DeviceAuth.layer).pipe(
  Layer.provideMerge(TokenStore.layerMemory()),
  Layer.provide(OAuth.layer()),
  Layer.provide(Layer.merge(Simulator.layerTwitchConfigPublic, NodeHttpClient.layerUndici)),
  Layer.provide(Simulator.layer({ autoApproveDevice: { afterMillis: 2_000 } }))
)

const twitchEnv = Layer.unwrapEffect(
  Effect.map(
    Config.string("TWITCH_TOKEN_FILE").pipe(Config.withDefault(".twitch-tokens.json")),
    (file) =>
      DeviceAuth.layer.pipe(
        Layer.provideMerge(TokenStore.layerFile(file).pipe(Layer.provide(NodeFileSystem.layer))),
        Layer.provide(OAuth.layer()),
        Layer.provide(Layer.merge(TwitchConfig.layerConfig(), NodeHttpClient.layerUndici))
      )
  )
)

const env = Layer.unwrapEffect(
  Effect.map(
    Config.option(Config.string("TWITCH_CLIENT_ID")),
    (clientId) =>
      Option.isSome(clientId)
        ? twitchEnv
        : Layer.effectDiscard(Console.log("No TWITCH_CLIENT_ID: using the local simulator")).pipe(
          Layer.provideMerge(simulatorEnv)
        )
  )
)

program.pipe(Effect.provide(env), NodeRuntime.runMain)
