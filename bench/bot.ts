/**
 * Bot with many users: the heap held for N registered users (goal: < 50 MB above the baseline for
 * 10,000) and the time to register them (each registration validates the token at the simulator).
 * The simulator runs here; the bot runs in a child process so its heap is its own.
 *
 * `npm run bench -- bot` (BENCH_USERS to change N). Last line: one JSON object.
 */
import { Effect } from "effect"
import { spawn } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import * as Simulator from "../src/testing/Simulator.js"

const users = Number(process.env.BENCH_USERS ?? 10_000)
const here = dirname(fileURLToPath(import.meta.url))

const program = Effect.gen(function*() {
  const sim = yield* Simulator.Simulator
  const tokens: Array<{ accessToken: string; refreshToken: string }> = []
  for (let i = 0; i < users; i++) {
    const user = yield* sim.addUser({ login: `benchuser${i}` })
    const issued = yield* sim.issueUserToken({ userId: user.id, scopes: ["user:read:chat", "user:write:chat"] })
    tokens.push({ accessToken: issued.accessToken, refreshToken: issued.refreshToken })
  }
  const file = join(mkdtempSync(join(tmpdir(), "bench-bot-")), "tokens.json")
  writeFileSync(file, JSON.stringify(tokens), { mode: 0o600 })
  const child = spawn(process.execPath, ["--import", "tsx", "--expose-gc", join(here, "_bot-client.ts")], {
    env: {
      ...process.env,
      BENCH_TOKENS: file,
      BENCH_CLIENT_ID: sim.clientId,
      BENCH_CLIENT_SECRET: sim.clientSecret,
      BENCH_AUTH_URL: sim.authUrl,
      BENCH_HELIX_URL: sim.helixUrl,
      BENCH_WS_URL: sim.eventSubWsUrl
    },
    stdio: ["ignore", "pipe", "inherit"]
  })
  let out = ""
  child.stdout.on("data", (chunk) => {
    out += String(chunk)
  })
  const code = yield* Effect.promise(() => new Promise<number>((resolve) => child.on("exit", (c) => resolve(c ?? 1))))
  if (code !== 0) return yield* Effect.dieMessage(`bot client exited with ${code}`)
  const result = JSON.parse(out.trim().split("\n").pop() ?? "") as {
    users: number
    heapMB: number
    registerMs: number
    registered: number
  }
  process.stdout.write(
    `${result.registered}/${result.users} users registered in ${result.registerMs} ms ` +
      `(${Math.round(result.users / (result.registerMs / 1000))} registrations/s); ` +
      `heap after GC +${result.heapMB} MB above the baseline (goal < 50 MB)\n`
  )
  process.stdout.write(
    JSON.stringify({ bench: "bot", users: result.users, heapMB: result.heapMB, registerMs: result.registerMs }) + "\n"
  )
})

Effect.runPromise(program.pipe(Effect.provide(Simulator.layer({ rateLimit: { capacity: 1e9, refillPerSecond: 1e9 } }))))
  .then(
    () => process.exit(0),
    (error) => {
      process.stderr.write(`bench failed: ${String(error)}\n`)
      process.exit(1)
    }
  )
