/**
 * Helix under the rate limit, and pagination memory.
 *
 * 1. Bursts of N distinct Get Users calls (one id each; Twurple's `getUserById`) against the
 *    simulator's token bucket (capacity C, refilled continuously; `Ratelimit-*` headers on every
 *    answer; 429 when empty), through this library and through Twurple's ApiClient, same simulator,
 *    same run. Goal (shared/BENCHMARKS.md §7): 0 × 429 and wall time ≤ 1.1× the ideal (N − C) /
 *    refill rate. Shapes: C = 200 per 1 s (N = 2,000), C = 800 per 4 s (N = 3,000), and the issue's
 *    10,000 requests at 800 points a second.
 * 2. Paginating 100,000 followers: heap after GC, sampled every 10,000 items, above the baseline.
 *
 * `npm run bench -- helix` (BENCH_QUICK=1 for smaller shapes). Last line: one JSON object.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { DateTime, Effect, Layer, Option, Redacted, Stream } from "effect"
import * as AccessTokens from "../src/AccessTokens.js"
import * as Helix from "../src/Helix.js"
import * as Channels from "../src/Helix/Channels.js"
import * as Users from "../src/Helix/Users.js"
import * as OAuth from "../src/OAuth.js"
import * as Simulator from "../src/testing/Simulator.js"
import { UserToken } from "../src/Token.js"
import * as TokenStore from "../src/TokenStore.js"
import * as TwitchConfig from "../src/TwitchConfig.js"

const quick = process.env.BENCH_QUICK === "1"
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {})

interface Shape {
  readonly name: string
  readonly capacity: number
  readonly refillPerSecond: number
  readonly requests: number
}
const shapes: ReadonlyArray<Shape> = quick
  ? [{ name: "C=100/1s N=500", capacity: 100, refillPerSecond: 100, requests: 500 }]
  : [
    { name: "C=200/1s N=2000", capacity: 200, refillPerSecond: 200, requests: 2_000 },
    { name: "C=800/4s N=3000", capacity: 800, refillPerSecond: 200, requests: 3_000 },
    { name: "C=800/1s N=10000", capacity: 800, refillPerSecond: 800, requests: 10_000 }
  ]
const followerCount = quick ? 20_000 : 100_000

interface Failed {
  readonly error: string
}

interface Run {
  readonly wallMs: number
  readonly status429: number
  readonly rps: number
  readonly vsIdeal: number
}

/** A fresh user (its own bucket) with a token; returns its id and token. */
const freshUser = (sim: Simulator.Simulator.Service, login: string) =>
  Effect.gen(function*() {
    const user = yield* sim.addUser({ login })
    const issued = yield* sim.issueUserToken({ userId: user.id, scopes: ["moderator:read:followers"] })
    return { userId: user.id, login, issued }
  })

const ourStack = (sim: Simulator.Simulator.Service, user: Effect.Effect.Success<ReturnType<typeof freshUser>>) => {
  const now = DateTime.unsafeNow()
  const token = new UserToken({
    userId: user.userId,
    login: user.login,
    scopes: [...user.issued.scopes],
    accessToken: Redacted.make(user.issued.accessToken),
    refreshToken: Option.some(Redacted.make(user.issued.refreshToken)),
    expiresAt: Option.some(DateTime.add(now, { seconds: user.issued.expiresIn })),
    obtainedAt: now
  })
  return Helix.layer({ defaultUser: user.userId, maxConcurrency: 100 }).pipe(
    Layer.provide(AccessTokens.layer({ validateInterval: false })),
    Layer.provide(OAuth.layer()),
    Layer.provide(TokenStore.layerMemory([token])),
    Layer.provide(TwitchConfig.layer({ clientId: sim.clientId, authUrl: sim.authUrl, helixUrl: sim.helixUrl })),
    Layer.provide(NodeHttpClient.layerUndici)
  )
}

const measure = (
  sim: Simulator.Simulator.Service,
  shape: Shape,
  run: Effect.Effect<void>
) =>
  Effect.gen(function*() {
    // The simulator's counter, not its request log: the log keeps the last 10,000 requests, so with
    // N = 10,000 a 429 early in the run could drop out of it. Runs are sequential: the delta is this run's.
    const before = (yield* sim.counters).rateLimited
    const start = performance.now()
    yield* run
    const wallMs = performance.now() - start
    const status429 = (yield* sim.counters).rateLimited - before
    const idealMs = ((shape.requests - shape.capacity) / shape.refillPerSecond) * 1000
    return {
      wallMs: Math.round(wallMs),
      status429,
      rps: Math.round(shape.requests / (wallMs / 1000)),
      vsIdeal: Math.round((wallMs / idealMs) * 100) / 100
    } satisfies Run
  })

const ids = (n: number) => Array.from({ length: n }, (_, i) => String(900_000_000 + i))

const ours = (sim: Simulator.Simulator.Service, shape: Shape, tag: string) =>
  Effect.gen(function*() {
    const user = yield* freshUser(sim, `benchours${tag}`)
    return yield* measure(
      sim,
      shape,
      Effect.gen(function*() {
        const helix = yield* Helix.Helix
        yield* Effect.forEach(ids(shape.requests), (id) => helix.request(Users.getUsers, { id: [id] }), {
          concurrency: "unbounded",
          discard: true
        })
      }).pipe(Effect.provide(ourStack(sim, user)), Effect.orDie)
    )
  })

const twurple = (sim: Simulator.Simulator.Service, shape: Shape, tag: string) =>
  Effect.gen(function*() {
    const user = yield* freshUser(sim, `benchtwurple${tag}`)
    const { ApiClient } = yield* Effect.promise(() => import("@twurple/api"))
    const { StaticAuthProvider } = yield* Effect.promise(() => import("@twurple/auth"))
    const api = new ApiClient({ authProvider: new StaticAuthProvider(sim.clientId, user.issued.accessToken) })
    return yield* measure(
      sim,
      shape,
      Effect.promise(() =>
        Promise.all(ids(shape.requests).map((id) => api.asUser(user.userId, (ctx) => ctx.users.getUserById(id))))
      )
    )
  })

const paginate = (sim: Simulator.Simulator.Service) =>
  Effect.gen(function*() {
    const user = yield* freshUser(sim, "benchpaginate")
    yield* sim.addFollowers(user.userId, followerCount)
    yield* sim.setRateLimit({ capacity: 1_000_000, refillPerSecond: 1_000_000 })
    return yield* Effect.gen(function*() {
      const helix = yield* Helix.Helix
      gc()
      const baseline = process.memoryUsage().heapUsed
      let peak = 0
      let items = 0
      yield* helix.paginate(Channels.getChannelFollowers, { broadcaster_id: user.userId }).pipe(
        Stream.runForEach(() =>
          Effect.sync(() => {
            items++
            if (items % 10_000 === 0) {
              gc()
              peak = Math.max(peak, process.memoryUsage().heapUsed - baseline)
            }
          })
        )
      )
      return { items, peakHeapMB: Math.round((peak / 1024 / 1024) * 10) / 10 }
    }).pipe(Effect.provide(ourStack(sim, user)), Effect.orDie)
  })

const program = Effect.gen(function*() {
  process.env.TWURPLE_MOCK_API_PORT = String((yield* Simulator.Simulator).port)
  const sim = yield* Simulator.Simulator
  // Warm-up: the simulator runs in this process, so without it whichever client runs first also pays for
  // compiling the simulator's (and the shared HTTP stack's) hot path. Both clients, no rate limit, own users.
  const warmUp: Shape = { name: "warm-up", capacity: 1_000_000, refillPerSecond: 1_000_000, requests: 1_000 }
  yield* sim.setRateLimit({ capacity: warmUp.capacity, refillPerSecond: warmUp.refillPerSecond })
  yield* ours(sim, warmUp, "warmup")
  yield* twurple(sim, warmUp, "warmup")
  const results: Array<{ shape: Shape; ours: Run; twurple: Run | Failed }> = []
  for (const [i, shape] of shapes.entries()) {
    yield* sim.setRateLimit({ capacity: shape.capacity, refillPerSecond: shape.refillPerSecond })
    const o = yield* ours(sim, shape, String(i))
    // A failing baseline is reported, not fatal: Twurple opens one connection per request it releases
    // (up to C at once), which can overflow the simulator's listen backlog and end in ECONNRESET or a
    // connect timeout with C = 800.
    const t = yield* twurple(sim, shape, String(i)).pipe(
      Effect.catchAllDefect((defect) => Effect.succeed<Failed>({ error: String(defect) }))
    )
    results.push({ shape, ours: o, twurple: t })
    process.stdout.write(
      `${shape.name.padEnd(18)} ours ${String(o.wallMs).padStart(6)} ms ${String(o.rps).padStart(5)} req/s ` +
        `${o.status429} x 429 ${o.vsIdeal}x ideal | ` +
        ("error" in t
          ? `twurple failed: ${t.error}\n`
          : `twurple ${String(t.wallMs).padStart(6)} ms ${String(t.rps).padStart(5)} req/s ${t.status429} x 429 ` +
            `${t.vsIdeal}x ideal | ours/twurple time ${(o.wallMs / t.wallMs).toFixed(2)}\n`)
    )
  }
  const pages = yield* paginate(sim)
  process.stdout.write(`paginate ${pages.items} followers: peak heap after GC +${pages.peakHeapMB} MB\n`)
  const main = results[results.length - 1]!
  process.stdout.write(
    JSON.stringify({
      bench: "helix",
      requests: main.shape.requests,
      ours: { rps: main.ours.rps, status429: main.ours.status429, vsIdeal: main.ours.vsIdeal },
      twurple: "error" in main.twurple
        ? main.twurple
        : { rps: main.twurple.rps, status429: main.twurple.status429, vsIdeal: main.twurple.vsIdeal },
      ratio: "error" in main.twurple ? null : Math.round((main.ours.rps / main.twurple.rps) * 100) / 100,
      shapes: results.map((r) => ({
        shape: r.shape.name,
        ours: r.ours,
        twurple: r.twurple
      })),
      paginate: pages
    }) + "\n"
  )
})

Effect.runPromise(program.pipe(Effect.provide(Simulator.layer()))).then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`bench failed: ${String(error)}\n`)
    process.exit(1)
  }
)
