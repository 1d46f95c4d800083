import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { assert, describe, it } from "@effect/vitest"
import {
  Cause,
  Chunk,
  Context,
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
import { AppToken, UserToken } from "../src/Token.js"
import * as TokenStore from "../src/TokenStore.js"
import * as Capture from "./fixtures/capture.js"
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

// --- against a scripted OAuth: exact answers and the test clock ---------------------------------

const at = (millis: number) => DateTime.unsafeMake(millis)

/** A stored token of user `id` (access token `access-<id>`), by default fresh for 4 hours. */
const stored = (id: string, options: {
  readonly access?: string
  readonly refresh?: string | null
  readonly expiresAt?: number | null
  readonly scopes?: ReadonlyArray<string>
} = {}) =>
  new UserToken({
    userId: id,
    login: `login-${id}`,
    scopes: options.scopes ?? ["chat:read"],
    accessToken: Redacted.make(options.access ?? `access-${id}`),
    refreshToken: options.refresh === null
      ? Option.none()
      : Option.some(Redacted.make(options.refresh ?? `refresh-${id}`)),
    expiresAt: options.expiresAt === null ? Option.none() : Option.some(at(options.expiresAt ?? 4 * 3_600_000)),
    obtainedAt: at(0)
  })

/** A `/token` answer; absent fields are absent from the answer. */
const answer = (fields: {
  readonly access: string
  readonly refresh?: string
  readonly expiresIn?: number
  readonly scopes?: ReadonlyArray<string>
}) =>
  new OAuth.TokenResponse({
    accessToken: Redacted.make(fields.access),
    refreshToken: Option.map(Option.fromNullable(fields.refresh), (r) => Redacted.make(r)),
    expiresIn: Option.fromNullable(fields.expiresIn),
    scopes: fields.scopes ?? []
  })

const valid = new OAuth.ValidateResponse({
  clientId: "client",
  login: Option.none(),
  userId: Option.none(),
  scopes: [],
  expiresIn: 3600
})

/** An OAuth that answers as scripted (by token text) and records what it was asked. */
const scripted = (script: {
  readonly refresh?: (refreshToken: string) => Effect.Effect<OAuth.TokenResponse, OAuth.OAuthError>
  readonly validate?: (accessToken: string) => Effect.Effect<OAuth.ValidateResponse, OAuth.OAuthError>
  readonly appToken?: Effect.Effect<AppToken, OAuth.OAuthError>
}) => {
  const calls = { refresh: [] as Array<string>, validate: [] as Array<string>, appToken: 0 }
  const layer = Layer.mock(OAuth.OAuth, {
    authorizeUrl: () => "https://unused.invalid/",
    refresh: (refreshToken) =>
      Effect.suspend(() => {
        calls.refresh.push(Redacted.value(refreshToken))
        return script.refresh?.(Redacted.value(refreshToken)) ?? Effect.dieMessage("unscripted refresh")
      }),
    validate: (accessToken) =>
      Effect.suspend(() => {
        calls.validate.push(Redacted.value(accessToken))
        return script.validate?.(Redacted.value(accessToken)) ?? Effect.succeed(valid)
      }),
    appToken: Effect.suspend(() => {
      calls.appToken++
      return script.appToken ?? Effect.dieMessage("unscripted appToken")
    })
  })
  return { calls, layer }
}

const scriptedEnv = (
  oauth: Layer.Layer<OAuth.OAuth>,
  seeded: ReadonlyArray<UserToken>,
  options: AccessTokens.Options = { validateInterval: false },
  store: (seed: ReadonlyArray<UserToken>) => Layer.Layer<TokenStore.TokenStore> = TokenStore.layerMemory
) => AccessTokens.layer(options).pipe(Layer.provideMerge(store(seeded)), Layer.provideMerge(oauth))

/** Lets forked fibers (the validation loop) run as far as they can without the clock moving. */
const settle = Effect.gen(function*() {
  for (let i = 0; i < 50; i++) yield* Effect.yieldNow()
})

const rejectedRefresh = new OAuth.InvalidRefreshToken({ method: "refresh" })

describe("AccessTokens against a scripted OAuth", () => {
  it.scoped("a refresh keeps the scopes and refresh token Twitch's answer leaves out; no expires_in, no expiry", () => {
    const answers = [
      answer({ access: "a2", refresh: "", expiresIn: 0, scopes: [] }), // present but empty
      answer({ access: "a3" }), // absent
      answer({ access: "a4", refresh: "r4", expiresIn: 3600, scopes: ["user:read:chat"] })
    ]
    const oauth = scripted({ refresh: () => Effect.succeed(answers.shift()!) })
    const original = stored("u1", { expiresAt: 2 * 60_000, scopes: ["chat:read", "user:write:chat"] })
    return Effect.gen(function*() {
      const tokens = yield* AccessTokens.AccessTokens
      const store = yield* TokenStore.TokenStore
      const view = (t: UserToken) => ({
        access: Redacted.value(t.accessToken),
        refresh: Option.getOrNull(Option.map(t.refreshToken, Redacted.value)),
        scopes: t.scopes,
        expiresAt: Option.getOrNull(Option.map(t.expiresAt, DateTime.toEpochMillis)),
        obtainedAt: DateTime.toEpochMillis(t.obtainedAt)
      })
      const first = yield* tokens.forUser("u1") // expires in 2 minutes: inside the 5 minute margin
      assert.deepStrictEqual(view(first), {
        access: "a2",
        refresh: "refresh-u1",
        scopes: ["chat:read", "user:write:chat"],
        expiresAt: null,
        obtainedAt: 0
      })
      assert.deepStrictEqual(view(Option.getOrThrow(yield* store.get("u1"))), view(first))
      const second = yield* tokens.refreshAfterUnauthorized("u1", first.accessToken)
      assert.deepStrictEqual(view(second), { ...view(first), access: "a3" })
      yield* TestClock.adjust("10 minutes")
      const third = yield* tokens.refreshAfterUnauthorized("u1", second.accessToken)
      assert.deepStrictEqual(view(third), {
        access: "a4",
        refresh: "r4",
        scopes: ["user:read:chat"],
        expiresAt: 600_000 + 3_600_000,
        obtainedAt: 600_000
      })
      assert.deepStrictEqual(oauth.calls.refresh, ["refresh-u1", "refresh-u1", "refresh-u1"])
      assert.strictEqual(Redacted.value((yield* tokens.forUser("u1")).accessToken), "a4")
      assert.strictEqual(oauth.calls.refresh.length, 3)
    }).pipe(Effect.provide(scriptedEnv(oauth.layer, [original])))
  })

  it.scoped("TokenDead says whose token and why (logged as a warning); a new token stored for the user is used", () => {
    const oauth = scripted({ refresh: () => Effect.fail(rejectedRefresh) })
    const logs = captureLogs()
    const seeded = [stored("u1", { refresh: null, expiresAt: 0 }), stored("u2", { expiresAt: 0 })]
    return Effect.gen(function*() {
      const tokens = yield* AccessTokens.AccessTokens
      const noRefresh = yield* Effect.flip(tokens.forUser("u1"))
      assert.strictEqual(noRefresh._tag, "TokenDead")
      assert.strictEqual(noRefresh.message, "Token of user u1 is no longer usable: no refresh token")
      const rejected = yield* Effect.flip(tokens.forUser("u2"))
      assert.strictEqual(rejected.message, "Token of user u2 is no longer usable: Twitch rejected the refresh token")
      const notFound = yield* Effect.flip(tokens.forUser("nobody"))
      assert.strictEqual(notFound._tag, "TokenNotFound")
      assert.strictEqual(notFound.message, "No token stored for user nobody")
      const warnings = logs.lines.filter((l) => l.includes("level=WARN") && l.includes("token is dead"))
      assert.strictEqual(warnings.length, 2)
      assert.isTrue(warnings[0]!.includes("userId=u1") && warnings[0]!.includes("no refresh token"))
      assert.isTrue(warnings[1]!.includes("userId=u2") && warnings[1]!.includes("Twitch rejected the refresh token"))

      // the user authorized again: the new token is handed out, the old mark forgotten
      yield* (yield* TokenStore.TokenStore).set(stored("u2", { access: "access-u2-again" }))
      assert.strictEqual(Redacted.value((yield* tokens.forUser("u2")).accessToken), "access-u2-again")
      assert.deepStrictEqual(oauth.calls.refresh, ["refresh-u2"])
    }).pipe(Effect.provide(scriptedEnv(oauth.layer, seeded)), Effect.provide(logs.layer))
  })

  it.scoped("a fresh token is handed out without taking the store's lock; an expiring one is refreshed under it", () => {
    const oauth = scripted({ refresh: () => Effect.succeed(answer({ access: "a2", expiresIn: 3600 })) })
    const locked: Array<string> = []
    const lockingStore = (seed: ReadonlyArray<UserToken>) =>
      Layer.effect(
        TokenStore.TokenStore,
        Effect.map(TokenStore.makeMemory(seed), (inner) =>
          TokenStore.TokenStore.of({
            ...inner,
            lock: (userId, effect) => Effect.suspend(() => (locked.push(userId), effect))
          }))
      )
    const seeded = [stored("fresh"), stored("expiring", { expiresAt: 60_000 })]
    return Effect.gen(function*() {
      const tokens = yield* AccessTokens.AccessTokens
      yield* tokens.forUser("fresh")
      yield* tokens.forUser("fresh")
      assert.deepStrictEqual(locked, [])
      assert.strictEqual(Redacted.value((yield* tokens.forUser("expiring")).accessToken), "a2")
      assert.deepStrictEqual(locked, ["expiring"])
      assert.deepStrictEqual(oauth.calls.refresh, ["refresh-expiring"])
    }).pipe(Effect.provide(scriptedEnv(oauth.layer, seeded, { validateInterval: false }, lockingStore)))
  })

  it.scoped("validation: hourly by default; a dead token is not validated again; failures other than death are logged", () => {
    const oauth = scripted({
      validate: (token) =>
        token === "access-u2"
          ? Effect.fail(new OAuth.InvalidAccessToken({ method: "validate" }))
          : token === "access-u3"
          ? Effect.fail(new OAuth.OAuthServerError({ method: "validate", status: 503, description: "down" }))
          : Effect.succeed(valid),
      refresh: () => Effect.fail(rejectedRefresh)
    })
    const logs = captureLogs()
    return Effect.gen(function*() {
      yield* AccessTokens.AccessTokens
      yield* settle
      assert.deepStrictEqual([...oauth.calls.validate].sort(), ["access-u1", "access-u2", "access-u3"])
      assert.deepStrictEqual(oauth.calls.refresh, ["refresh-u2"], "Twitch no longer takes u2's token: refreshed")
      const failed = logs.lines.filter((l) => l.includes("validation failed"))
      assert.strictEqual(failed.length, 1, "a dead token is not a validation failure")
      assert.isTrue(failed[0]!.includes("level=WARN") && failed[0]!.includes("userId=u3"))
      assert.isTrue(failed[0]!.includes("OAuth.validate: HTTP 503: down"))

      yield* TestClock.adjust("59 minutes")
      yield* settle
      assert.strictEqual(oauth.calls.validate.length, 3)
      yield* TestClock.adjust("1 minute")
      yield* settle
      assert.deepStrictEqual(oauth.calls.validate.slice(3).sort(), ["access-u1", "access-u3"])
      assert.strictEqual(oauth.calls.refresh.length, 1)
      assert.strictEqual(logs.lines.filter((l) => l.includes("validation failed")).length, 2)
    }).pipe(
      Effect.provide(scriptedEnv(oauth.layer, [stored("u1"), stored("u2"), stored("u3")], {})),
      Effect.provide(logs.layer)
    )
  })

  it.scoped("validation: a store that cannot list is logged, and listed again on the next round", () => {
    const oauth = scripted({})
    const logs = captureLogs()
    let lists = 0
    const failingOnce = (seed: ReadonlyArray<UserToken>) =>
      Layer.effect(
        TokenStore.TokenStore,
        Effect.map(TokenStore.makeMemory(seed), (inner) =>
          TokenStore.TokenStore.of({
            ...inner,
            list: Effect.suspend(() =>
              lists++ === 0
                ? Effect.fail(new TokenStore.TokenStoreError({ method: "list", reason: "Io", description: "injected" }))
                : inner.list
            )
          }))
      )
    return Effect.gen(function*() {
      yield* AccessTokens.AccessTokens
      yield* settle
      assert.strictEqual(lists, 1)
      assert.deepStrictEqual(oauth.calls.validate, [])
      const warned = logs.lines.filter((l) => l.includes("cannot list tokens to validate"))
      assert.strictEqual(warned.length, 1)
      assert.isTrue(warned[0]!.includes("level=WARN") && warned[0]!.includes("TokenStore.list: Io: injected"))
      yield* TestClock.adjust("10 minutes")
      yield* settle
      assert.deepStrictEqual(oauth.calls.validate, ["access-u1"])
    }).pipe(
      Effect.provide(scriptedEnv(oauth.layer, [stored("u1")], { validateInterval: "10 minutes" }, failingOnce)),
      Effect.provide(logs.layer)
    )
  })

  it.scoped("validation runs at most validateConcurrency tokens at once (default 4)", () =>
    Effect.gen(function*() {
      const seeded = Array.from({ length: 6 }, (_, i) => stored(`u${i}`))
      const mostAtOnce = (options: AccessTokens.Options) =>
        Effect.gen(function*() {
          const gate = yield* Effect.makeLatch(false)
          const counts = { now: 0, most: 0 }
          const oauth = scripted({
            validate: () =>
              Effect.suspend(() => {
                counts.most = Math.max(counts.most, ++counts.now)
                return Effect.as(gate.await, valid)
              }).pipe(Effect.ensuring(Effect.sync(() => counts.now--)))
          })
          yield* Layer.build(scriptedEnv(oauth.layer, seeded, options))
          yield* settle
          const most = counts.most
          yield* gate.open
          yield* settle
          assert.strictEqual(oauth.calls.validate.length, 6)
          return most
        }).pipe(Effect.scoped)
      assert.strictEqual(yield* mostAtOnce({}), 4)
      assert.strictEqual(yield* mostAtOnce({ validateConcurrency: 2 }), 2)
    }))

  it.scoped("app token: one without expiry is kept; one with expiry is fetched again once inside the margin", () => {
    let issued = 0
    const expiring = scripted({
      appToken: Effect.map(DateTime.now, (now) =>
        new AppToken({
          accessToken: Redacted.make(`app-${++issued}`),
          expiresAt: Option.some(DateTime.add(now, { minutes: 10 })),
          obtainedAt: now
        }))
    })
    const appText = (tokens: AccessTokens.AccessTokens.Service) =>
      Effect.map(tokens.app, (t) => Redacted.value(t.accessToken))
    return Effect.gen(function*() {
      const timeless = scripted({
        appToken: Effect.succeed(
          new AppToken({ accessToken: Redacted.make("app"), expiresAt: Option.none(), obtainedAt: at(0) })
        )
      })
      const forever = Context.get(yield* Layer.build(scriptedEnv(timeless.layer, [])), AccessTokens.AccessTokens)
      yield* appText(forever)
      yield* TestClock.adjust("30 days")
      assert.strictEqual(yield* appText(forever), "app")
      assert.strictEqual(timeless.calls.appToken, 1)

      const tokens = Context.get(yield* Layer.build(scriptedEnv(expiring.layer, [])), AccessTokens.AccessTokens)
      assert.strictEqual(yield* appText(tokens), "app-1")
      yield* TestClock.adjust("4 minutes") // 6 minutes left: more than the 5 minute margin
      assert.strictEqual(yield* appText(tokens), "app-1")
      yield* TestClock.adjust("1 minute") // 5 minutes left: inside the margin
      assert.strictEqual(yield* appText(tokens), "app-2")
      assert.strictEqual(yield* appText(tokens), "app-2")
      assert.strictEqual(expiring.calls.appToken, 2)
    })
  })

  it.scoped("spans: forUser and refreshAfterUnauthorized carry the user id; app tokens and validation are traced", () => {
    const oauth = scripted({
      refresh: () => Effect.succeed(answer({ access: "a2", refresh: "r2", expiresIn: 3600 })),
      appToken: Effect.succeed(
        new AppToken({ accessToken: Redacted.make("app"), expiresAt: Option.none(), obtainedAt: at(0) })
      )
    })
    const captured = Capture.make()
    return Effect.gen(function*() {
      const tokens = yield* AccessTokens.AccessTokens
      yield* settle
      const fresh = yield* tokens.forUser("u1")
      yield* tokens.refreshAfterUnauthorized("u1", fresh.accessToken)
      const app = yield* tokens.app
      yield* tokens.appAfterUnauthorized(app.accessToken)
      const spans = captured.spans().filter((s) => s.name.startsWith("AccessTokens."))
      const userOf = (name: string) => spans.filter((s) => s.name === name).map((s) => s.attributes.get("userId"))
      assert.deepStrictEqual(userOf("AccessTokens.forUser"), ["u1"])
      assert.deepStrictEqual(userOf("AccessTokens.refreshAfterUnauthorized"), ["u1"])
      assert.deepStrictEqual(
        [...new Set(spans.map((s) => s.name))].sort(),
        [
          "AccessTokens.app",
          "AccessTokens.appAfterUnauthorized",
          "AccessTokens.forUser",
          "AccessTokens.refreshAfterUnauthorized",
          "AccessTokens.validateAll"
        ]
      )
      // each refresh is logged (debug) with the user id
      const refreshedLines = captured.texts().filter((t) =>
        t.includes("refreshed user token") && t.includes("userId=u1")
      )
      assert.isAtLeast(refreshedLines.length, 2)
    }).pipe(
      Effect.provide(scriptedEnv(oauth.layer, [stored("u1", { expiresAt: 60_000 })], {})),
      captured.around
    )
  })
})
