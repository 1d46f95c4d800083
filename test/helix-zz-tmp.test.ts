import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import * as AccessTokens from "../src/AccessTokens.js"
import * as Helix from "../src/Helix.js"
import * as OAuth from "../src/OAuth.js"
import * as Simulator from "../src/testing/Simulator.js"
import * as TokenStore from "../src/TokenStore.js"
import * as TwitchConfig from "../src/TwitchConfig.js"
const config = Layer.effect(TwitchConfig.TwitchConfig, Effect.map(Simulator.Simulator, (sim) => TwitchConfig.make({ clientId: sim.clientId, clientSecret: Redacted.make(sim.clientSecret), authUrl: sim.authUrl, helixUrl: sim.helixUrl })))
const base = Layer.mergeAll(config, NodeHttpClient.layerUndici, TokenStore.layerMemory())
const tokens = AccessTokens.layer().pipe(Layer.provide(OAuth.layer()), Layer.provide(base))
const all = Layer.mergeAll(Helix.layer().pipe(Layer.provide(tokens), Layer.provide(base)), base).pipe(Layer.provideMerge(Simulator.layer()))
for (const [c, r, n] of [[200, 200, 2000], [800, 200, 3000], [800, 800, 10000]]) {
  it.live(`bench ${c}/${r} n=${n}`, () => Effect.gen(function*() {
    const sim = yield* Simulator.Simulator
    const helix = yield* Helix.Helix
    yield* sim.setRateLimit({ capacity: c, refillPerSecond: r })
    yield* helix.getUserById("100000001")
    yield* Effect.sleep(Math.ceil(c / r * 1000) + 100)

    yield* sim.clearRequestLog
    const t0 = Date.now()
    const prog = 0
    yield* Effect.forEach(Array.from({ length: n }, (_, i) => String(i)), (id) => helix.getUserById(id), { concurrency: "unbounded" })
    
    const el = Date.now() - t0
    const c429 = yield* sim.countRequests({ status: 429 })
    console.log(`C=${c} r=${r} n=${n}: ${el} ms, ideal ${(n - c) / r * 1000}, ratio ${(el / ((n - c) / r * 1000)).toFixed(3)}, 429s ${c429}`)
  }).pipe(Effect.provide(all)), 120000)
}
