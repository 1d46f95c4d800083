import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { assert, describe, it } from "@effect/vitest"
import type { Scope } from "effect"
import { Chunk, Context, DateTime, Effect, Fiber, Layer, Option, Redacted, Schedule, Stream } from "effect"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import * as AccessTokens from "../src/AccessTokens.js"
import * as OAuth from "../src/OAuth.js"
import * as Simulator from "../src/testing/Simulator.js"
import { UserToken } from "../src/Token.js"
import * as TokenStore from "../src/TokenStore.js"
import * as TokenStoreSql from "../src/TokenStoreSql.js"
import { databaseUrl, expiredToken, howToRun, killAll, scopedTable, spawnWorker, type Worker } from "./fixtures/sql.js"

if (databaseUrl === undefined) process.stderr.write(`${howToRun}\n`)
const pg = databaseUrl === undefined ? describe.skip : describe

const token = (userId: string, access = `access-${userId}`, options: { readonly bare?: boolean } = {}) =>
  new UserToken({
    userId,
    login: `login-${userId}`,
    scopes: ["chat:read", "user:write:chat"],
    accessToken: Redacted.make(access),
    refreshToken: options.bare === true ? Option.none() : Option.some(Redacted.make(`refresh-${userId}`)),
    expiresAt: options.bare === true ? Option.none() : Option.some(DateTime.unsafeMake(1_700_000_000_000)),
    obtainedAt: DateTime.unsafeMake(1_699_990_000_000)
  })

/** A test on the real clock (databases and processes), its resources in a scope of its own. */
const live = <A, E>(name: string, body: () => Effect.Effect<A, E, Scope.Scope>, timeout?: number) =>
  it.live(name, () => Effect.scoped(body()), timeout)

const settle = Effect.forEach(Array.from({ length: 20 }), () => Effect.yieldNow(), { discard: true })

const build = (layer: Layer.Layer<TokenStore.TokenStore, TokenStore.TokenStoreError>) =>
  Effect.map(Layer.build(layer), (context) => Context.get(context, TokenStore.TokenStore))

/** The TokenStore contract (as test/token-store.test.ts checks it of the memory and file stores). */
const contract = (
  name: string,
  makeLayer: Effect.Effect<
    (options?: TokenStoreSql.Options) => Layer.Layer<TokenStore.TokenStore, TokenStore.TokenStoreError>,
    never,
    Scope.Scope
  >
) =>
  describe(`${name}: the TokenStore contract`, () => {
    live("get / set / remove / list, and changes in write order", () =>
      Effect.gen(function*() {
        const store = yield* build((yield* makeLayer)())
        const changes = yield* store.changes.pipe(Stream.take(4), Stream.runCollect, Effect.fork)
        yield* settle
        yield* store.set(token("1"))
        yield* store.set(token("1", "second"))
        yield* store.set(token("2"))
        yield* store.remove("1")
        yield* store.remove("1") // no-op, no event
        assert.isTrue(Option.isNone(yield* store.get("1")))
        assert.deepStrictEqual((yield* store.list).map((t) => t.userId), ["2"])
        const events = Chunk.toReadonlyArray(yield* Fiber.join(changes))
        assert.deepStrictEqual(events.map((e) => e._tag), ["Added", "Refreshed", "Added", "Removed"])
      }))

    live("round-trips every field through the database; a new store reads what the last one wrote", () =>
      Effect.gen(function*() {
        const layerOf = yield* makeLayer
        const first = yield* build(layerOf())
        yield* first.set(token("1"))
        yield* first.set(token("2", "bare-access", { bare: true }))
        const second = yield* build(layerOf())
        const one = Option.getOrThrow(yield* second.get("1"))
        assert.strictEqual(Redacted.value(one.accessToken), "access-1")
        assert.strictEqual(Option.getOrThrow(Option.map(one.refreshToken, Redacted.value)), "refresh-1")
        assert.deepStrictEqual(one.scopes, ["chat:read", "user:write:chat"])
        assert.strictEqual(Option.getOrThrow(one.expiresAt).epochMillis, 1_700_000_000_000)
        assert.strictEqual(one.obtainedAt.epochMillis, 1_699_990_000_000)
        assert.isTrue(Redacted.isRedacted(one.accessToken))
        const two = Option.getOrThrow(yield* second.get("2"))
        assert.isTrue(Option.isNone(two.refreshToken) && Option.isNone(two.expiresAt))
        assert.strictEqual((yield* second.list).length, 2)
      }))

    live("concurrent sets lose nothing", () =>
      Effect.gen(function*() {
        const layerOf = yield* makeLayer
        const store = yield* build(layerOf())
        yield* Effect.forEach(
          Array.from({ length: 100 }, (_, i) =>
            token(`u${i}`)),
          store.set,
          {
            concurrency: "unbounded",
            discard: true
          }
        )
        assert.strictEqual((yield* store.list).length, 100)
        assert.strictEqual((yield* (yield* build(layerOf())).list).length, 100)
      }))
  })

// ------------------------------------------------------------------------------------------------ SQLite

const sqliteLayer = Effect.map(
  Effect.acquireRelease(
    Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "tokens-sqlite-"))),
    (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
  ),
  (dir) => (options?: TokenStoreSql.Options) =>
    TokenStoreSql.layerSqlite(Path.join(dir, "tokens.db"), { resyncInterval: false, ...options })
)

contract("TokenStoreSql.layerSqlite", sqliteLayer)

describe("TokenStoreSql.layerSqlite", () => {
  live("has no cross-process lock (one process per file)", () =>
    Effect.gen(function*() {
      const store = yield* build((yield* sqliteLayer)())
      assert.isUndefined(store.lock)
    }))
})

describe("TokenStoreSql bad input", () => {
  it.effect("a database that cannot be reached at start: a typed error naming the URL without its password", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        build(
          TokenStoreSql.layerPg({ url: "postgres://twitch:hunter2@127.0.0.1:1/tokens", connectTimeout: "2 seconds" })
        )
          .pipe(Effect.scoped)
      )
      assert.strictEqual(error._tag, "TokenStoreError")
      assert.strictEqual(error.reason, "Io")
      assert.include(error.message, "postgres://twitch@127.0.0.1:1/tokens")
      assert.notInclude(error.message, "hunter2")
      assert.notInclude(JSON.stringify(error), "hunter2")
    }))

  it.effect("an invalid table name is refused before any SQL runs", () =>
    Effect.gen(function*() {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tokens-sqlite-"))
      const error = yield* Effect.flip(
        build(TokenStoreSql.layerSqlite(Path.join(dir, "t.db"), { table: "tokens; DROP TABLE x" })).pipe(Effect.scoped)
      )
      Fs.rmSync(dir, { recursive: true, force: true })
      assert.include(error.message, "invalid table name")
    }))
})

// ------------------------------------------------------------------------------------------------ PostgreSQL

const pgLayer = Effect.map(
  scopedTable("c"),
  (table) => (options?: TokenStoreSql.Options) => TokenStoreSql.layerPg({ url: databaseUrl ?? "", table, ...options })
)

if (databaseUrl !== undefined) contract("TokenStoreSql.layerPg", pgLayer)

/** A TCP proxy to the database that can be cut (connections dropped, new ones refused) and restored. */
const cuttableProxy = (target: URL) =>
  Effect.acquireRelease(
    Effect.async<{ readonly port: number; readonly cut: () => void; readonly restore: () => void; close: () => void }>(
      (resume) => {
        let up = true
        const sockets = new Set<Net.Socket>()
        const server = Net.createServer((client) => {
          if (!up) return client.destroy()
          const upstream = Net.connect(Number(target.port || 5432), target.hostname)
          sockets.add(client).add(upstream)
          client.pipe(upstream).pipe(client)
          const drop = () => {
            client.destroy()
            upstream.destroy()
          }
          client.on("error", drop).on("close", drop)
          upstream.on("error", drop).on("close", drop)
        })
        server.listen(0, "127.0.0.1", () =>
          resume(Effect.succeed({
            port: (server.address() as Net.AddressInfo).port,
            cut: () => {
              up = false
              for (const s of sockets) s.destroy()
              sockets.clear()
            },
            restore: () => (up = true),
            close: () => {
              for (const s of sockets) s.destroy()
              server.close()
            }
          })))
      }
    ),
    (proxy) => Effect.sync(proxy.close)
  )

pg("TokenStoreSql.layerPg", () => {
  live("changes written by one process reach the others (LISTEN/NOTIFY)", () =>
    Effect.gen(function*() {
      const layerOf = yield* pgLayer
      const writer = yield* build(layerOf())
      const reader = yield* build(layerOf())
      const seen = yield* reader.changes.pipe(Stream.take(3), Stream.runCollect, Effect.fork)
      yield* settle
      yield* writer.set(token("1"))
      yield* Effect.sleep("100 millis")
      yield* writer.set(token("1", "rotated"))
      yield* Effect.sleep("100 millis")
      yield* writer.remove("1")
      const events = Chunk.toReadonlyArray(yield* Fiber.join(seen).pipe(Effect.timeout("5 seconds")))
      assert.deepStrictEqual(events.map((e) => e._tag), ["Added", "Refreshed", "Removed"])
      const refreshed = events[1]!
      assert.strictEqual(refreshed._tag === "Refreshed" && Redacted.value(refreshed.token.accessToken), "rotated")
    }))

  live(
    "lock: one holder at a time across stores; the next holder reads what the last one saved",
    () =>
      Effect.gen(function*() {
        const layerOf = yield* pgLayer
        const a = yield* build(layerOf())
        const b = yield* build(layerOf({ resyncInterval: false }))
        yield* a.set(token("1", "old"))
        const entered = yield* Effect.makeLatch(false)
        const release = yield* Effect.makeLatch(false)
        const holder = yield* a.lock!(
          "1",
          entered.open.pipe(Effect.zipRight(release.await), Effect.zipRight(a.set(token("1", "new"))))
        )
          .pipe(Effect.fork)
        yield* entered.await
        const waiter = yield* b.lock!(
          "1",
          Effect.map(b.get("1"), (t) => Redacted.value(Option.getOrThrow(t).accessToken))
        )
          .pipe(Effect.fork)
        yield* Effect.sleep("300 millis")
        assert.isNull(waiter.unsafePoll(), "the second lock waits for the first")
        yield* release.open
        yield* Fiber.join(holder)
        assert.strictEqual(yield* Fiber.join(waiter), "new")
      })
  )

  live("lock: a holder slower than lockTimeout makes the others fail with Locked", () =>
    Effect.gen(function*() {
      const layerOf = yield* pgLayer
      const a = yield* build(layerOf())
      const b = yield* build(layerOf({ lockTimeout: "200 millis" }))
      yield* a.set(token("1"))
      const entered = yield* Effect.makeLatch(false)
      yield* a.lock!("1", Effect.zipRight(entered.open, Effect.never)).pipe(Effect.forkScoped)
      yield* entered.await
      const error = yield* Effect.flip(b.lock!("1", Effect.void))
      assert.strictEqual(error.reason, "Locked")
    }))

  live("database down mid-run: reads go on, writes are kept and written when it is back", () =>
    Effect.gen(function*() {
      const table = yield* scopedTable("down")
      const proxy = yield* cuttableProxy(new URL(databaseUrl!))
      const url = new URL(databaseUrl!)
      url.host = `127.0.0.1:${proxy.port}`
      const store = yield* build(
        TokenStoreSql.layerPg({
          url: url.toString(),
          table,
          writeRetry: Schedule.spaced("200 millis"),
          lockRetry: Schedule.recurs(1)
        })
      )
      yield* store.set(token("1"))
      const reports = yield* store.changes.pipe(
        Stream.filter((c) => c._tag === "WriteFailed" || c._tag === "WriteRecovered"),
        Stream.take(2),
        Stream.runCollect,
        Effect.fork
      )
      yield* settle
      proxy.cut()
      yield* store.set(token("1", "while-down")) // kept, not failed
      assert.strictEqual(Redacted.value(Option.getOrThrow(yield* store.get("1")).accessToken), "while-down")
      const lockError = yield* Effect.flip(store.lock!("1", Effect.void))
      assert.strictEqual(lockError._tag, "TokenStoreError")
      proxy.restore()
      const events = Chunk.toReadonlyArray(yield* Fiber.join(reports).pipe(Effect.timeout("10 seconds")))
      assert.deepStrictEqual(events.map((e) => e._tag), ["WriteFailed", "WriteRecovered"])
      const fresh = yield* build(TokenStoreSql.layerPg({ url: databaseUrl!, table }))
      assert.strictEqual(Redacted.value(Option.getOrThrow(yield* fresh.get("1")).accessToken), "while-down")
    }), 30_000)
})

// ------------------------------------------------------------------------------------------------ processes

/** Spawns `count` workers against `sim`, all ready. */
const workers = (
  sim: Simulator.Simulator.Service,
  table: string,
  count: number,
  env: Record<string, string> = {}
) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const all = Array.from({ length: count }, () =>
        spawnWorker({
          WORKER_DATABASE_URL: databaseUrl!,
          WORKER_TABLE: table,
          WORKER_AUTH_URL: sim.authUrl,
          WORKER_CLIENT_ID: sim.publicClientId,
          WORKER_USER_ID: sim.users.viewer,
          WORKER_CALLERS: "50",
          ...env
        }))
      await Promise.all(all.map((w) => w.waitFor((l) => l === "ready")))
      return all
    }),
    killAll
  )

/** Stores an expired token for the simulator's viewer, issued to the public client (single-use refresh tokens). */
const seedExpired = (sim: Simulator.Simulator.Service, table: string) =>
  Effect.gen(function*() {
    const issued = yield* sim.issueUserToken({
      userId: sim.users.viewer,
      scopes: ["chat:read"],
      clientId: sim.publicClientId
    })
    const store = yield* build(TokenStoreSql.layerPg({ url: databaseUrl!, table }))
    yield* store.set(yield* expiredToken(sim.users.viewer, issued.accessToken, issued.refreshToken))
    return { issued, store }
  })

const goAll = (all: ReadonlyArray<Worker>) => Effect.sync(() => all.forEach((w) => w.child.stdin.write("go\n")))

pg("one refresh across processes", () => {
  live(
    "8 processes × 50 fibers on an expired token: exactly one /token call; every caller gets the new token",
    () =>
      Effect.gen(function*() {
        const sim = yield* Simulator.Simulator
        const table = yield* scopedTable("r8")
        const { issued, store } = yield* seedExpired(sim, table)
        const all = yield* workers(sim, table, 8)
        yield* sim.clearRequestLog
        yield* goAll(all)
        const done = yield* Effect.promise(() => Promise.all(all.map((w) => w.waitFor((l) => l.startsWith("done ")))))
        assert.strictEqual(yield* sim.countRequests({ path: "/oauth2/token" }), 1)
        assert.strictEqual((yield* sim.counters).tokenRefreshFailures, 0)
        const handed = new Set(done.map((l) => l.slice(5)))
        assert.strictEqual(handed.size, 1, "every process handed out the same token")
        const fresh = [...handed][0]!
        assert.notStrictEqual(fresh, issued.accessToken)
        yield* Effect.sleep("200 millis") // the notification of the refresh
        assert.strictEqual(Redacted.value(Option.getOrThrow(yield* store.get(sim.users.viewer)).accessToken), fresh)
      }).pipe(Effect.provide(Simulator.layer())),
    60_000
  )

  live(
    "the process holding the lock is SIGKILLed mid-refresh: the others go on, the user is not lost",
    () =>
      Effect.gen(function*() {
        const sim = yield* Simulator.Simulator
        const table = yield* scopedTable("kill")
        const { issued } = yield* seedExpired(sim, table)
        // the first process holds its /token request for 30 s: it takes the lock, then is killed
        const [holder] = yield* workers(sim, table, 1, { WORKER_HOLD_MS: "30000" })
        yield* goAll([holder!])
        yield* Effect.promise(() => holder!.waitFor((l) => l === "refreshing"))
        const others = yield* workers(sim, table, 3)
        yield* goAll(others)
        yield* Effect.sleep("300 millis")
        assert.isTrue(others.every((w) => !w.lines.some((l) => l.startsWith("done "))), "the others wait for the lock")
        holder!.child.kill("SIGKILL")
        const done = yield* Effect.promise(() =>
          Promise.all(others.map((w) => w.waitFor((l) => l.startsWith("done "))))
        )
        const handed = new Set(done.map((l) => l.slice(5)))
        assert.strictEqual(handed.size, 1)
        assert.notStrictEqual([...handed][0], issued.accessToken)
        assert.notStrictEqual([...handed][0], "mixed")
        // the killed process's request never reached Twitch: one refresh in all, none refused
        const counters = yield* sim.counters
        assert.strictEqual(counters.tokenRefreshes, 1)
        assert.strictEqual(counters.tokenRefreshFailures, 0)
      }).pipe(Effect.provide(Simulator.layer())),
    60_000
  )

  live(
    "AccessTokens in one process over the SQL store: the refreshed pair is saved before it is handed out",
    () =>
      Effect.gen(function*() {
        const sim = yield* Simulator.Simulator
        const table = yield* scopedTable("one")
        const { issued } = yield* seedExpired(sim, table)
        const context = yield* Layer.build(
          AccessTokens.layer({ validateInterval: false }).pipe(
            Layer.provideMerge(TokenStoreSql.layerPg({ url: databaseUrl!, table })),
            Layer.provide(OAuth.layer()),
            Layer.provide(Layer.merge(Simulator.layerTwitchConfigPublic, FetchHttpClient.layer)),
            Layer.provide(Layer.succeed(Simulator.Simulator, sim))
          )
        )
        const tokens = Context.get(context, AccessTokens.AccessTokens)
        const fresh = yield* tokens.forUser(sim.users.viewer)
        assert.notStrictEqual(Redacted.value(fresh.accessToken), issued.accessToken)
        const other = yield* build(TokenStoreSql.layerPg({ url: databaseUrl!, table }))
        const stored = Option.getOrThrow(yield* other.get(sim.users.viewer))
        assert.strictEqual(Redacted.value(stored.accessToken), Redacted.value(fresh.accessToken))
      }).pipe(Effect.provide(Simulator.layer()))
  )
})
