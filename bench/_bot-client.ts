/**
 * The bot of `bench/bot.ts`, in its own process: registers every token from BENCH_TOKENS, then
 * reports the heap above the baseline (both after GC) and the time the registrations took.
 */
import { Effect, Layer, Redacted } from "effect"
import { readFileSync } from "node:fs"
import { Bot, TokenStore, TwitchConfig } from "../src/index.js"
import * as NodeTwitch from "../src/NodeTwitch.js"

const env = (name: string): string => process.env[name] ?? ""
const tokens = JSON.parse(readFileSync(env("BENCH_TOKENS"), "utf8")) as Array<
  { accessToken: string; refreshToken: string }
>
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {})
const heap = () => {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

const program = Effect.gen(function*() {
  const bot = yield* Bot.Bot
  const baseline = heap()
  const start = performance.now()
  const registered = yield* Effect.forEach(
    tokens,
    (t) =>
      bot.register({ accessToken: Redacted.make(t.accessToken), refreshToken: Redacted.make(t.refreshToken) }).pipe(
        Effect.as(1),
        Effect.orElseSucceed(() => 0)
      ),
    { concurrency: 32 }
  )
  const registerMs = Math.round(performance.now() - start)
  const heapMB = Math.round(((heap() - baseline) / 1024 / 1024) * 10) / 10
  process.stdout.write(
    JSON.stringify({
      users: tokens.length,
      registered: registered.reduce((a, b) => a + b, 0),
      heapMB,
      registerMs
    }) + "\n"
  )
})

const Live = NodeTwitch.layerBot({ accessTokens: { validateInterval: false } }).pipe(
  Layer.provide(TokenStore.layerMemory()),
  Layer.provide(TwitchConfig.layer({
    clientId: env("BENCH_CLIENT_ID"),
    clientSecret: Redacted.make(env("BENCH_CLIENT_SECRET")),
    authUrl: env("BENCH_AUTH_URL"),
    helixUrl: env("BENCH_HELIX_URL"),
    eventSubWsUrl: env("BENCH_WS_URL")
  }))
)

Effect.runPromise(program.pipe(Effect.provide(Live))).then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`bot client failed: ${String(error)}\n`)
    process.exit(1)
  }
)
