import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import { it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import * as Simulator from "../src/testing/Simulator.js"
import * as AccessTokens from "../src/AccessTokens.js"
import * as OAuth from "../src/OAuth.js"
import * as TokenStore from "../src/TokenStore.js"
import * as TwitchConfig from "../src/TwitchConfig.js"
const config = Layer.effect(TwitchConfig.TwitchConfig, Effect.map(Simulator.Simulator, (sim) => TwitchConfig.make({ clientId: sim.clientId, clientSecret: Redacted.make(sim.clientSecret), authUrl: sim.authUrl, helixUrl: sim.helixUrl })))
const base = Layer.mergeAll(config, NodeHttpClient.layerUndici, TokenStore.layerMemory())
const all = Layer.mergeAll(AccessTokens.layer().pipe(Layer.provide(OAuth.layer()), Layer.provide(base)), base).pipe(Layer.provideMerge(Simulator.layer()))
for (const conc of [1, 10, 50]) {
  it.live(`raw ${conc}`, () => Effect.gen(function*() {
    const sim = yield* Simulator.Simulator
    yield* sim.setRateLimit({ capacity: 100000, refillPerSecond: 100000 })
    const client = yield* HttpClient.HttpClient
    const tokens = yield* AccessTokens.AccessTokens
    const app = yield* tokens.app
    let t0 = Date.now()
    yield* Effect.forEach(Array.from({ length: 500 }, (_, i) => i), (i) => client.get(`${sim.helixUrl}/users?id=${i}`, { headers: { "client-id": sim.clientId, authorization: `Bearer ${Redacted.value(app.accessToken)}` } }).pipe(Effect.flatMap((r) => r.text)), { concurrency: conc })
    console.log("raw", conc, Date.now() - t0)
    t0 = Date.now()
    yield* Effect.forEach(Array.from({ length: 500 }, (_, i) => i), () => tokens.app, { concurrency: conc })
    console.log("tokens.app", conc, Date.now() - t0)
  }).pipe(Effect.provide(all)), 60000)
}
