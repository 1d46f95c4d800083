import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import * as Simulator from "../src/testing/Simulator.js"
import * as AccessTokens from "../src/AccessTokens.js"
import * as Helix from "../src/Helix.js"
import * as OAuth from "../src/OAuth.js"
import * as TokenStore from "../src/TokenStore.js"
import * as TwitchConfig from "../src/TwitchConfig.js"
const config = Layer.effect(TwitchConfig.TwitchConfig, Effect.map(Simulator.Simulator, (sim) => TwitchConfig.make({ clientId: sim.clientId, clientSecret: Redacted.make(sim.clientSecret), authUrl: sim.authUrl, helixUrl: sim.helixUrl })))
const base = Layer.mergeAll(config, NodeHttpClient.layerUndici, TokenStore.layerMemory())
const tokens = AccessTokens.layer().pipe(Layer.provide(OAuth.layer()), Layer.provide(base))
for (const conc of [1, 10, 50, 500]) {
  const all = Layer.mergeAll(Helix.layer({ maxConcurrency: 50 }).pipe(Layer.provide(tokens), Layer.provide(base)), base).pipe(Layer.provideMerge(Simulator.layer()))
  it.live(`helix ${conc}`, () => Effect.gen(function*() {
    const sim = yield* Simulator.Simulator
    yield* sim.setRateLimit({ capacity: 100000, refillPerSecond: 100000 })
    const helix = yield* Helix.Helix
    const t0 = Date.now()
    yield* Effect.forEach(Array.from({ length: 500 }, (_, i) => String(i)), (i) => helix.getUserById(i), { concurrency: conc })
    console.log("helix", conc, Date.now() - t0)
  }).pipe(Effect.provide(all)), 60000)
}
