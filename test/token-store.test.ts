import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as FileSystem from "@effect/platform/FileSystem"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, DateTime, Effect, Either, Fiber, Layer, Option, Redacted, Schema, Stream } from "effect"
import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { UserToken } from "../src/Token.js"
import * as TokenStore from "../src/TokenStore.js"

const token = (userId: string, access = `access-${userId}`) =>
  new UserToken({
    userId,
    login: `login-${userId}`,
    scopes: ["chat:read"],
    accessToken: Redacted.make(access),
    refreshToken: Option.some(Redacted.make(`refresh-${userId}`)),
    expiresAt: Option.some(DateTime.unsafeMake(1_700_000_000_000)),
    obtainedAt: DateTime.unsafeMake(1_699_990_000_000)
  })

const tempDir = Effect.flatMap(FileSystem.FileSystem, (fs) => fs.makeTempDirectoryScoped({ prefix: "tokens-" }))

const withFileStore = <A, E>(path: string, f: (store: TokenStore.TokenStore.Service) => Effect.Effect<A, E>) =>
  Effect.flatMap(TokenStore.TokenStore, f).pipe(Effect.provide(TokenStore.layerFile(path)))

const decodeFile = Schema.decodeUnknownEither(Schema.parseJson(TokenStore.StoreFile))

describe("TokenStore.layerMemory", () => {
  it.effect("get / set / remove / list and changes in write order", () =>
    Effect.gen(function*() {
      const store = yield* TokenStore.TokenStore
      const changes = yield* store.changes.pipe(Stream.take(4), Stream.runCollect, Effect.fork)
      // let the forked consumer subscribe before the first write
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
      assert.isTrue(Option.isSome(yield* store.get("seed")))
      yield* store.set(token("1"))
      yield* store.set(token("1", "second"))
      yield* store.set(token("2"))
      yield* store.remove("1")
      yield* store.remove("1") // no-op, no event
      assert.isTrue(Option.isNone(yield* store.get("1")))
      assert.deepStrictEqual((yield* store.list).map((t) => t.userId).sort(), ["2", "seed"])
      const events = Chunk.toReadonlyArray(yield* Fiber.join(changes))
      assert.deepStrictEqual(events.map((e) => e._tag), ["Added", "Refreshed", "Added", "Removed"])
      const refreshed = events[1]!
      assert.strictEqual(refreshed._tag === "Refreshed" && Redacted.value(refreshed.token.accessToken), "second")
    }).pipe(Effect.provide(TokenStore.layerMemory([token("seed")]))))
})

describe("TokenStore.layerFile", () => {
  it.scoped("round-trips tokens through the file (version 1 format, mode 0600)", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = Path.join(dir, "tokens.json")
      yield* withFileStore(path, (s) => Effect.zipRight(s.set(token("1")), s.set(token("2"))))
      const raw = JSON.parse(Fs.readFileSync(path, "utf8"))
      assert.strictEqual(raw.version, 1)
      assert.deepStrictEqual(Object.keys(raw.tokens).sort(), ["1", "2"])
      assert.strictEqual(raw.tokens["1"].accessToken, "access-1")
      assert.strictEqual(Fs.statSync(path).mode & 0o777, 0o600)
      const reloaded = yield* withFileStore(path, (s) => s.get("1"))
      assert.isTrue(Option.isSome(reloaded))
      const t = Option.getOrThrow(reloaded)
      assert.strictEqual(Redacted.value(t.accessToken), "access-1")
      assert.strictEqual(Option.map(t.refreshToken, Redacted.value).pipe(Option.getOrNull), "refresh-1")
      assert.isTrue(Option.isSome(t.expiresAt))
      // no temp files left behind
      assert.deepStrictEqual(Fs.readdirSync(dir), ["tokens.json"])
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.scoped("a missing file is an empty store", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const list = yield* withFileStore(Path.join(dir, "absent.json"), (s) => s.list)
      assert.strictEqual(list.length, 0)
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.scoped("a corrupt file is a typed Corrupt error, never an empty store, and never echoes token text", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const cases = [
        "{ not json",
        JSON.stringify({ version: 1, tokens: { "1": { accessToken: "leaky-token-text" } } }).slice(0, 40),
        JSON.stringify({ version: 2, tokens: {} }),
        JSON.stringify({ version: 1, tokens: { "1": { userId: 1, accessToken: "leaky-token-text" } } }),
        ""
      ]
      for (const [i, content] of cases.entries()) {
        const path = Path.join(dir, `corrupt-${i}.json`)
        Fs.writeFileSync(path, content)
        const error = yield* Effect.flip(withFileStore(path, (s) => s.list))
        assert.strictEqual(error._tag, "TokenStoreError")
        assert.strictEqual(error.reason, "Corrupt", `case ${i}`)
        assert.isFalse(error.message.includes("leaky-token-text"))
        assert.isFalse(JSON.stringify(error).includes("leaky-token-text"))
        // the file is left alone for a human to inspect
        assert.strictEqual(Fs.readFileSync(path, "utf8"), content)
      }
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.scoped("an unreadable path is a typed Io error", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const error = yield* Effect.flip(withFileStore(dir, (s) => s.list)) // a directory, not a file
      assert.strictEqual(error.reason, "Io")
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.scoped("concurrent sets in one process lose nothing", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = Path.join(dir, "tokens.json")
      yield* withFileStore(path, (s) =>
        Effect.forEach(
          Array.from({ length: 100 }, (_, i) => token(`u${i}`)),
          (t) => s.set(t),
          { concurrency: "unbounded", discard: true }
        ))
      const decoded = decodeFile(Fs.readFileSync(path, "utf8"))
      assert.isTrue(Either.isRight(decoded))
      assert.strictEqual(Object.keys(Either.getOrThrow(decoded).tokens).length, 100)
      const reloaded = yield* withFileStore(path, (s) => s.list)
      assert.strictEqual(reloaded.length, 100)
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.live("the file stays valid JSON (old or new) when a writer is killed with SIGKILL", () =>
    Effect.gen(function*() {
      const dir = Fs.mkdtempSync(Path.join(process.cwd(), "node_modules", ".tmp-kill-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true })))
      const path = Path.join(dir, "tokens.json")
      const script = Path.join(import.meta.dirname, "fixtures", "token-writer.ts")
      for (const writesBeforeKill of [10, 120]) {
        const written = yield* Effect.async<number, Error>((resume) => {
          const child = spawn(process.execPath, ["--import", "tsx", script, path], {
            stdio: ["ignore", "pipe", "pipe"]
          })
          let last = 0
          let stderr = ""
          child.stderr.on("data", (d) => (stderr += String(d)))
          child.stdout.on("data", (d: Buffer) => {
            const lines = String(d).trim().split("\n")
            last = Number(lines[lines.length - 1])
            if (last >= writesBeforeKill) child.kill("SIGKILL")
          })
          child.on("exit", (_code, signal) =>
            signal === "SIGKILL"
              ? resume(Effect.succeed(last))
              : resume(Effect.fail(new Error(`writer exited without being killed: ${stderr}`))))
          return Effect.sync(() => child.kill("SIGKILL"))
        })
        assert.isAtLeast(written, writesBeforeKill)
        const decoded = decodeFile(Fs.readFileSync(path, "utf8"))
        assert.isTrue(Either.isRight(decoded), `file unreadable after kill at ${written}`)
        assert.isAtLeast(Object.keys(Either.getOrThrow(decoded).tokens).length, 1)
      }
    }).pipe(Effect.scoped), 60_000)
})

describe("TokenStore.layerFile with Layer", () => {
  it.effect("fails the layer (typed) on a corrupt file", () =>
    Effect.gen(function*() {
      const dir = Fs.mkdtempSync(Path.join(process.cwd(), "node_modules", ".tmp-layer-"))
      const path = Path.join(dir, "t.json")
      Fs.writeFileSync(path, "<html>")
      const exit = yield* Layer.build(TokenStore.layerFile(path)).pipe(Effect.scoped, Effect.either)
      Fs.rmSync(dir, { recursive: true, force: true })
      assert.isTrue(Either.isLeft(exit) && exit.left.reason === "Corrupt")
    }).pipe(Effect.provide(NodeFileSystem.layer)))
})
