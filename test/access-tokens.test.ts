import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { assert, describe, it } from "@effect/vitest"
import {
  Cause,
  Chunk,
  DateTime,
  Effect,
  Exit,
  Fiber,
  Layer,
  Logger,
  LogLevel,
  Option,
  Redacted,
  Schedule,
  Stream,
  TestClock
} from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as AccessTokens from "../src/AccessTokens.js"
import * as OAuth from "../src/OAuth.js"
import * as Simulator from "../src/testing/Simulator.js"
import { UserToken } from "../src/Token.js"
import * as TokenStore from "../src/TokenStore.js"
import {
  adjustWhenSleeping,
  captureLogs,
  eventually,
  layerFaultyFileSystem,
  readStoreFile,
  systemError
} from "./fixtures/fs.js"

const realPause = Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 5)))

/** Sim + OAuth + memory store + AccessTokens, with the public client (single-use refresh tokens). */
const env = (
  options: AccessTokens.Options = { validateInterval: false },
  publicClient = true,
  store: Layer.Layer<TokenStore.TokenStore, TokenStore.TokenStoreError> = TokenStore.layerMemory()
) =>
  AccessTokens.layer(options).pipe(
    Layer.provideMerge(store),
    Layer.provideMerge(OAuth.layer()),
    Layer.provideMerge(Layer.merge(
      publicClient ? Simulator.layerTwitchConfigPublic : Simulator.layerTwitchConfig,
      FetchHttpClient.layer
    )),
    Layer.provideMerge(Simulator.layer())
  )

/** Issues a token at the simulator and stores it, expiring `expiresInMillis` from now (test clock). */
const seed = (options: { readonly expiresInMillis: number; readonly withRefresh?: boolean; publicClient?: boolean }) =>
  Effect.gen(function*() {
    const sim = yield* Simulator.Simulator
    const store = yield* TokenStore.TokenStore
    const issued = yield* sim.issueUserToken({
      userId: sim.users.viewer,
      scopes: ["chat:read"],
      clientId: options.publicClient === false ? sim.clientId : sim.publicClientId
    })
    const now = yield* DateTime.now
    const token = new UserToken({
      userId: sim.users.viewer,
      login: "simviewer",
      scopes: ["chat:read"],
      accessToken: Redacted.make(issued.accessToken),
      refreshToken: options.withRefresh === false ? Option.none() : Option.some(Redacted.make(issued.refreshToken)),
      expiresAt: Option.some(DateTime.add(now, { millis: options.expiresInMillis })),
      obtainedAt: now
    })
    yield* store.set(token)
    return { sim, store, issued, token }
  })

/**
 * A memory store whose `set` passes, holds until `release`, or fails, as `control.mode` says at the
 * time of the call (`entered` counts the held / failed calls).
 */
const gatedStore = () => {
  const latch = Effect.unsafeMakeLatch(false)
  const control = { mode: "pass" as "pass" | "hold" | "fail", entered: 0 }
  const layer = Layer.effect(
    TokenStore.TokenStore,
    Effect.map(TokenStore.makeMemory(), (inner) =>
      TokenStore.TokenStore.of({
        ...inner,
        set: (token) =>
          Effect.suspend(() => {
            if (control.mode === "pass") return inner.set(token)
            control.entered++
            return control.mode === "hold"
              ? Effect.zipRight(latch.await, inner.set(token))
              : Effect.fail(
                new TokenStore.TokenStoreError({ method: "persist", reason: "Io", description: "injected" })
              )
          })
      }))
  )
  return { control, release: latch.open, layer }
}

describe("AccessTokens", () => {
  it.scoped("100 concurrent callers on an expired token cause exactly one refresh, saved before use", () =>
    Effect.gen(function*() {
      const { issued, sim, store } = yield* seed({ expiresInMillis: 60_000 }) // inside the 5 min margin
      const tokens = yield* AccessTokens.AccessTokens
      const refreshes = yield* tokens.refreshes.pipe(Stream.take(1), Stream.runCollect, Effect.fork)
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow()

      const results = yield* Effect.all(
        Array.from({ length: 100 }, () => tokens.forUser(sim.users.viewer)),
        { concurrency: "unbounded" }
      )
      const counters = yield* sim.counters
      assert.strictEqual(counters.tokenRefreshes, 1)
      assert.strictEqual(counters.tokenRefreshFailures, 0)
      const values = new Set(results.map((t) => Redacted.value(t.accessToken)))
      assert.strictEqual(values.size, 1)
      const fresh = [...values][0]!
      assert.notStrictEqual(fresh, issued.accessToken)
      const stored = Option.getOrThrow(yield* store.get(sim.users.viewer))
      assert.strictEqual(Redacted.value(stored.accessToken), fresh)
      assert.notStrictEqual(Option.map(stored.refreshToken, Redacted.value).pipe(Option.getOrNull), issued.refreshToken)
      const published = Chunk.toReadonlyArray(yield* Fiber.join(refreshes))
      assert.strictEqual(Redacted.value(published[0]!.accessToken), fresh)
      // a fresh token is handed out as is
      yield* tokens.forUser(sim.users.viewer)
      assert.strictEqual((yield* sim.counters).tokenRefreshes, 1)
    }).pipe(Effect.provide(env())))

  it.scoped("a failed token-file write keeps the new pair in use, retries the write, never reuses spent tokens", () => {
    const dir = Fs.mkdtempSync(Path.join(process.cwd(), "node_modules", ".tmp-access-"))
    const path = Path.join(dir, "tokens.json")
    let broken = false // disk full / read-only file system
    const fsLayer = layerFaultyFileSystem({
      open: (file, options) => (broken && options?.flag === "wx" ? systemError("open", file, "EROFS") : undefined)
    })
    const store = TokenStore.layerFile(path, { writeRetry: Schedule.spaced("10 seconds") }).pipe(Layer.provide(fsLayer))
    const inFile = () => Redacted.value(readStoreFile(path)[Simulator.defaultUsers.viewer]!.accessToken)
    const logs = captureLogs()
    return Effect.gen(function*() {
      const { issued, sim, store } = yield* seed({ expiresInMillis: 60_000 })
      const tokens = yield* AccessTokens.AccessTokens
      const reports = yield* store.changes.pipe(
        Stream.filter((c) => c._tag === "WriteFailed" || c._tag === "WriteRecovered"),
        Stream.take(2),
        Stream.runCollect,
        Effect.fork
      )
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
      broken = true
      const fresh = yield* tokens.forUser(sim.users.viewer) // refreshed; the old refresh token is now spent
      assert.notStrictEqual(Redacted.value(fresh.accessToken), issued.accessToken)
      assert.strictEqual(inFile(), issued.accessToken, "the disk is broken: the file still has the old pair")
      // the next refresh (here after a 401) uses the new refresh token, not the spent one
      const next = yield* tokens.refreshAfterUnauthorized(sim.users.viewer, fresh.accessToken)
      assert.notStrictEqual(Redacted.value(next.accessToken), Redacted.value(fresh.accessToken))
      const counters = yield* sim.counters
      assert.deepStrictEqual([counters.tokenRefreshes, counters.tokenRefreshFailures], [2, 0])
      broken = false
      yield* adjustWhenSleeping("10 seconds")
      const written = yield* eventually(() => inFile() === Redacted.value(next.accessToken))
      assert.isTrue(written, "written once the disk works again")
      const events = Chunk.toReadonlyArray(yield* Fiber.join(reports)).map((c) => c._tag)
      assert.deepStrictEqual(events, ["WriteFailed", "WriteRecovered"])
      assert.isTrue(logs.lines.some((l) => l.includes("level=WARN") && l.includes("write failed")))
      const secrets = [fresh, next]
        .flatMap((t) => [t.accessToken, ...Option.toArray(t.refreshToken)])
        .map(Redacted.value)
      assert.isFalse(logs.lines.some((l) => secrets.some((secret) => l.includes(secret))), "no token text in logs")
    }).pipe(
      Effect.provide(env({ validateInterval: false }, true, store)),
      Effect.provide(logs.layer),
      Logger.withMinimumLogLevel(LogLevel.All),
      Effect.ensuring(Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true })))
    )
  })

  it.scoped("a refreshed token is handed out only after the store finished saving it", () => {
    const gate = gatedStore()
    return Effect.gen(function*() {
      const { issued, sim, store } = yield* seed({ expiresInMillis: 60_000 }) // inside the 5 min margin
      const tokens = yield* AccessTokens.AccessTokens
      gate.control.mode = "hold"
      const fiber = yield* Effect.fork(tokens.forUser(sim.users.viewer))
      // until the save has started (or the caller already has a token)
      for (let i = 0; i < 400 && gate.control.entered === 0 && Option.isNone(yield* Fiber.poll(fiber)); i++) {
        yield* realPause
      }
      assert.strictEqual((yield* sim.counters).tokenRefreshes, 1)
      for (let i = 0; i < 5; i++) yield* realPause // time for a premature answer to show
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)), "forUser returned before the refreshed token was saved")
      yield* gate.release
      const fresh = yield* Fiber.join(fiber)
      assert.notStrictEqual(Redacted.value(fresh.accessToken), issued.accessToken)
      const stored = Option.getOrThrow(yield* store.get(sim.users.viewer))
      assert.strictEqual(Redacted.value(stored.accessToken), Redacted.value(fresh.accessToken))
    }).pipe(Effect.provide(env(undefined, true, gate.layer)))
  })

  it.scoped("a refreshed token that cannot be saved is not handed out: forUser fails with the store's error", () => {
    const gate = gatedStore()
    return Effect.gen(function*() {
      const { sim } = yield* seed({ expiresInMillis: 60_000 })
      const tokens = yield* AccessTokens.AccessTokens
      gate.control.mode = "fail"
      const exit = yield* Effect.exit(tokens.forUser(sim.users.viewer))
      assert.strictEqual((yield* sim.counters).tokenRefreshes, 1)
      // today a failed save fails the call; should a failed save one day keep the new pair in memory and
      // retry the save, this is the assertion to change (the caller must still not get an unsaved token
      // without the save being retried)
      assert.isTrue(Exit.isFailure(exit), "forUser handed out a token whose save failed")
      assert.strictEqual(Exit.isFailure(exit) && Cause.squash(exit.cause) instanceof TokenStore.TokenStoreError, true)
      assert.strictEqual(gate.control.entered, 1)
    }).pipe(Effect.provide(env(undefined, true, gate.layer)))
  })

  it.scoped("refreshes ahead of expiry only within the margin", () =>
    Effect.gen(function*() {
      const { sim, token } = yield* seed({ expiresInMillis: 10 * 60_000 })
      const tokens = yield* AccessTokens.AccessTokens
      const first = yield* tokens.forUser(sim.users.viewer)
      assert.strictEqual(Redacted.value(first.accessToken), Redacted.value(token.accessToken))
      yield* TestClock.adjust("6 minutes")
      const second = yield* tokens.forUser(sim.users.viewer)
      assert.notStrictEqual(Redacted.value(second.accessToken), Redacted.value(token.accessToken))
      assert.strictEqual((yield* sim.counters).tokenRefreshes, 1)
    }).pipe(Effect.provide(env())))

  it.scoped("refreshAfterUnauthorized refreshes once, then returns the newer token for stale rejections", () =>
    Effect.gen(function*() {
      const { sim, token } = yield* seed({ expiresInMillis: 3_600_000 })
      const tokens = yield* AccessTokens.AccessTokens
      const all = yield* Effect.all(
        Array.from({ length: 10 }, () => tokens.refreshAfterUnauthorized(sim.users.viewer, token.accessToken)),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(new Set(all.map((t) => Redacted.value(t.accessToken))).size, 1)
      assert.strictEqual((yield* sim.counters).tokenRefreshes, 1)
    }).pipe(Effect.provide(env())))

  it.scoped("a rejected refresh token makes the token dead; later calls fail fast without a refresh storm", () =>
    Effect.gen(function*() {
      const { issued, sim } = yield* seed({ expiresInMillis: 0 })
      const oauth = yield* OAuth.OAuth
      yield* oauth.refresh(Redacted.make(issued.refreshToken)) // spend the single-use refresh token elsewhere
      const tokens = yield* AccessTokens.AccessTokens
      const e1 = yield* Effect.flip(tokens.forUser(sim.users.viewer))
      assert.strictEqual(e1._tag, "TokenDead")
      const failuresAfterFirst = (yield* sim.counters).tokenRefreshFailures
      assert.strictEqual(failuresAfterFirst, 1)
      const again = yield* Effect.all(Array.from({ length: 20 }, () => Effect.flip(tokens.forUser(sim.users.viewer))))
      assert.isTrue(again.every((e) => e._tag === "TokenDead"))
      assert.strictEqual((yield* sim.counters).tokenRefreshFailures, 1)
      // the token stays in the store (who must re-authorize is visible)
      assert.isTrue(Option.isSome(yield* (yield* TokenStore.TokenStore).get(sim.users.viewer)))
    }).pipe(Effect.provide(env())))

  it.scoped("no refresh token → TokenDead; unknown user → TokenNotFound", () =>
    Effect.gen(function*() {
      const { sim } = yield* seed({ expiresInMillis: 0, withRefresh: false })
      const tokens = yield* AccessTokens.AccessTokens
      assert.strictEqual((yield* Effect.flip(tokens.forUser(sim.users.viewer)))._tag, "TokenDead")
      assert.strictEqual((yield* Effect.flip(tokens.forUser("nobody")))._tag, "TokenNotFound")
      assert.strictEqual((yield* sim.counters).tokenRefreshes, 0)
    }).pipe(Effect.provide(env())))

  it.scoped("validates at start and hourly; a token Twitch no longer accepts is refreshed", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const { token } = yield* seed({ expiresInMillis: 3_600_000 * 4 })
      // the layer is built after the token is stored: build it now
      const tokens = yield* Layer.build(
        AccessTokens.layer({ validateInterval: "1 hour" })
      ).pipe(Effect.map((ctx) => ctx.unsafeMap.get(AccessTokens.AccessTokens.key) as AccessTokens.AccessTokens.Service))
      const waitFor = (predicate: (c: Simulator.Counters) => boolean) =>
        Effect.gen(function*() {
          for (let i = 0; i < 400; i++) {
            if (predicate(yield* sim.counters)) return true
            yield* realPause
          }
          return false
        })
      assert.isTrue(yield* waitFor((c) => c.validations >= 1), "validated at start")
      assert.strictEqual((yield* sim.counters).tokenRefreshes, 0)
      yield* sim.expireToken(Redacted.value(token.accessToken))
      yield* TestClock.adjust("1 hour")
      assert.isTrue(yield* waitFor((c) => c.validations >= 2 && c.tokenRefreshes === 1), "hourly validation refreshed")
      // the counter moves when the simulator answers; the client stores the pair right after
      const store = yield* TokenStore.TokenStore
      let current = token
      for (let i = 0; i < 400 && Redacted.value(current.accessToken) === Redacted.value(token.accessToken); i++) {
        yield* realPause
        current = yield* tokens.forUser(sim.users.viewer)
      }
      assert.notStrictEqual(Redacted.value(current.accessToken), Redacted.value(token.accessToken))
      const stored = Option.getOrThrow(yield* store.get(sim.users.viewer))
      assert.strictEqual(Redacted.value(stored.accessToken), Redacted.value(current.accessToken))
    }).pipe(
      Effect.provide(
        Layer.mergeAll(TokenStore.layerMemory()).pipe(
          Layer.provideMerge(OAuth.layer()),
          Layer.provideMerge(Layer.merge(Simulator.layerTwitchConfigPublic, FetchHttpClient.layer)),
          Layer.provideMerge(Simulator.layer())
        )
      )
    ))

  it.scoped("app token: cached, single-flight, replaced after a 401", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const tokens = yield* AccessTokens.AccessTokens
      const apps = yield* Effect.all(Array.from({ length: 20 }, () => tokens.app), { concurrency: "unbounded" })
      assert.strictEqual(new Set(apps.map((a) => Redacted.value(a.accessToken))).size, 1)
      const issuedBefore = (yield* sim.counters).tokensIssued
      const replaced = yield* tokens.appAfterUnauthorized(apps[0]!.accessToken)
      assert.notStrictEqual(Redacted.value(replaced.accessToken), Redacted.value(apps[0]!.accessToken))
      const stale = yield* tokens.appAfterUnauthorized(apps[0]!.accessToken)
      assert.strictEqual(Redacted.value(stale.accessToken), Redacted.value(replaced.accessToken))
      assert.strictEqual((yield* sim.counters).tokensIssued, issuedBefore + 1)
      assert.strictEqual(Redacted.value((yield* tokens.app).accessToken), Redacted.value(replaced.accessToken))
    }).pipe(Effect.provide(env({ validateInterval: false }, false))))
})
