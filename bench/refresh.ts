/**
 * One refresh across processes: P processes (default 8) × C fibers (default 50) ask for a user's
 * expired token at once, each process with its own `AccessTokens` over `TokenStoreSql.layerPg`;
 * counted at the simulator, the goal is exactly 1 `/token` call. Then the stores side by side, in
 * this process: `set` and `get` per second and the time to register N users (default 10,000) for
 * PostgreSQL, SQLite and the file store (the file store rewrites the whole file on every write, so
 * it registers BENCH_FILE_USERS, default 1,000, and the line says so).
 *
 * `npm run bench -- refresh` (the database: TWITCH_TEST_DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/test). Last line: one JSON object.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { Context, DateTime, Effect, Layer, Option, Redacted } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Simulator from "../src/testing/Simulator.js"
import { UserToken } from "../src/Token.js"
import * as TokenStore from "../src/TokenStore.js"
import * as TokenStoreSql from "../src/TokenStoreSql.js"
import { dropTable, expiredToken, killAll, spawnWorker, uniqueTable } from "../test/fixtures/sql.js"

const databaseUrl = process.env.TWITCH_TEST_DATABASE_URL || "postgres://postgres@127.0.0.1:5432/test"
process.env.TWITCH_TEST_DATABASE_URL = databaseUrl // for the fixtures
const processes = Number(process.env.BENCH_PROCESSES ?? 8)
const callers = Number(process.env.BENCH_CALLERS ?? 50)
const users = Number(process.env.BENCH_USERS ?? 10_000)
const fileUsers = Number(process.env.BENCH_FILE_USERS ?? 1_000)
const ops = Number(process.env.BENCH_OPS ?? 2_000)

const print = (line: string) => Effect.sync(() => process.stdout.write(`${line}\n`))

const refresh = Effect.gen(function*() {
  const sim = yield* Simulator.Simulator
  const table = uniqueTable("bench")
  yield* Effect.addFinalizer(() => dropTable(table))
  const issued = yield* sim.issueUserToken({
    userId: sim.users.viewer,
    scopes: ["chat:read"],
    clientId: sim.publicClientId
  })
  const seeded = yield* Layer.build(TokenStoreSql.layerPg({ url: databaseUrl, table }))
  yield* Context.get(seeded, TokenStore.TokenStore).set(
    yield* expiredToken(sim.users.viewer, issued.accessToken, issued.refreshToken)
  )
  const workers = Array.from({ length: processes }, () =>
    spawnWorker({
      WORKER_DATABASE_URL: databaseUrl,
      WORKER_TABLE: table,
      WORKER_AUTH_URL: sim.authUrl,
      WORKER_CLIENT_ID: sim.publicClientId,
      WORKER_USER_ID: sim.users.viewer,
      WORKER_CALLERS: String(callers)
    }))
  yield* Effect.addFinalizer(() => killAll(workers))
  yield* Effect.promise(() => Promise.all(workers.map((w) => w.waitFor((l) => l === "ready"))))
  yield* sim.clearRequestLog
  const started = performance.now()
  for (const w of workers) w.child.stdin.write("go\n")
  const done = yield* Effect.promise(() => Promise.all(workers.map((w) => w.waitFor((l) => l.startsWith("done ")))))
  const ms = Math.round(performance.now() - started)
  const refreshCalls = yield* sim.countRequests({ path: "/oauth2/token" })
  const tokens = new Set(done.map((l) => l.slice(5))).size
  yield* print(
    `refresh: ${processes} processes × ${callers} callers: ${refreshCalls} /token call(s), ${tokens} distinct token(s) handed out, ${ms} ms`
  )
  return { processes, callers: processes * callers, refreshCalls, ms }
}).pipe(Effect.provide(Simulator.layer()), Effect.scoped)

const token = (i: number, now: DateTime.Utc) =>
  new UserToken({
    userId: `u${i}`,
    login: `user${i}`,
    scopes: ["chat:read", "user:write:chat"],
    accessToken: Redacted.make(`access-${i}-${"x".repeat(30)}`),
    refreshToken: Option.some(Redacted.make(`refresh-${i}-${"y".repeat(50)}`)),
    expiresAt: Option.some(DateTime.add(now, { hours: 4 })),
    obtainedAt: now
  })

/** set/s (one user rewritten), get/s, and the time to register `n` users (concurrency 8). */
const storeFigures = (name: string, layer: Layer.Layer<TokenStore.TokenStore, TokenStore.TokenStoreError>, n: number) =>
  Effect.gen(function*() {
    const store = Context.get(yield* Layer.build(layer), TokenStore.TokenStore)
    const now = yield* DateTime.now
    let t0 = performance.now()
    for (let i = 0; i < ops; i++) yield* store.set(token(0, now))
    const setPerSec = Math.round(ops / ((performance.now() - t0) / 1000))
    t0 = performance.now()
    for (let i = 0; i < ops * 50; i++) yield* store.get("u0")
    const getPerSec = Math.round((ops * 50) / ((performance.now() - t0) / 1000))
    t0 = performance.now()
    yield* Effect.forEach(Array.from({ length: n }, (_, i) => token(i + 1, now)), store.set, {
      concurrency: 8,
      discard: true
    })
    const registerMs = Math.round(performance.now() - t0)
    yield* print(`${name}: set ${setPerSec}/s, get ${getPerSec}/s, ${n} users registered in ${registerMs} ms`)
    return { setPerSec, getPerSec, registerUsers: n, registerMs }
  }).pipe(Effect.scoped)

const program = Effect.gen(function*() {
  const refreshed = yield* refresh
  const dir = mkdtempSync(join(tmpdir(), "bench-stores-"))
  yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
  const table = uniqueTable("stores")
  yield* Effect.addFinalizer(() => dropTable(table))
  const pg = yield* storeFigures("pg", TokenStoreSql.layerPg({ url: databaseUrl, table }), users)
  const sqlite = yield* storeFigures("sqlite", TokenStoreSql.layerSqlite(join(dir, "tokens.db")), users)
  const file = yield* storeFigures(
    "file",
    TokenStore.layerFile(join(dir, "tokens.json")).pipe(Layer.provide(NodeFileSystem.layer)),
    fileUsers
  )
  yield* print(JSON.stringify({ bench: "refresh", ...refreshed, stores: { pg, sqlite, file } }))
}).pipe(Effect.scoped)

Effect.runPromise(program).then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${String(error)}\n`)
    process.exit(1)
  }
)
