import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { SystemError } from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import { assert, describe, it } from "@effect/vitest"
import {
  Chunk,
  Context,
  DateTime,
  Effect,
  Either,
  Exit,
  Fiber,
  Layer,
  Logger,
  LogLevel,
  Option,
  Redacted,
  Schedule,
  Schema,
  Scope,
  Stream,
  TestClock,
  Tracer
} from "effect"
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { UserToken } from "../src/Token.js"
import * as TokenStore from "../src/TokenStore.js"
import * as FaultyFs from "./fixtures/faulty-fs.js"
import {
  adjustWhenSleeping,
  captureLogs,
  eventually,
  layerFaultyFileSystem,
  readStoreFile,
  systemError,
  writeStoreFile
} from "./fixtures/fs.js"
import { withDeeplyNested } from "./fixtures/hostile.js"

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

/** A directory under node_modules (a real disk, not tmpfs), removed when the scope closes. */
const scratchDir = (name: string) =>
  Effect.acquireRelease(
    Effect.sync(() => Fs.mkdtempSync(Path.join(process.cwd(), "node_modules", `.tmp-${name}-`))),
    (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
  )

const storedIds = (path: string) => Object.keys(readStoreFile(path)).sort()

const storedAccess = (path: string, userId: string) => Redacted.value(readStoreFile(path)[userId]!.accessToken)

/**
 * Spawns test/fixtures/token-writer.ts (another process writing `path` through `layerFile`) and
 * resolves once it has completed `writes` writes; killed when the scope closes.
 */
const spawnWriter = (path: string, writes: number) =>
  Effect.acquireRelease(
    Effect.async<ChildProcess, Error>((resume) => {
      const script = Path.join(import.meta.dirname, "fixtures", "token-writer.ts")
      const child = spawn(process.execPath, ["--import", "tsx", script, path], { stdio: ["ignore", "pipe", "pipe"] })
      let stderr = ""
      let resumed = false
      child.stderr.on("data", (d) => (stderr += String(d)))
      child.stdout.on("data", (d: Buffer) => {
        const lines = String(d).trim().split("\n")
        if (!resumed && Number(lines[lines.length - 1]) >= writes) {
          resumed = true
          resume(Effect.succeed(child))
        }
      })
      child.on("exit", () => {
        if (!resumed) resume(Effect.fail(new Error(`writer exited early: ${stderr}`)))
        resumed = true
      })
    }),
    (child) => Effect.sync(() => child.kill("SIGKILL"))
  )

/** SIGKILLs the writer and waits for it to be gone. */
const killed = (child: ChildProcess) =>
  Effect.async<void>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
    child.on("exit", () => resume(Effect.void))
    child.kill("SIGKILL")
  })

describe("TokenStore.layerMemory", () => {
  it.effect("an unseeded store is empty", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* Effect.flatMap(TokenStore.TokenStore, (s) => s.list), [])
      assert.deepStrictEqual(yield* Effect.flatMap(TokenStore.makeMemory(), (s) => s.list), [])
    }).pipe(Effect.provide(TokenStore.layerMemory())))

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

describe("TokenStore tracing", () => {
  it.effect("writes are traced as TokenStore.set and TokenStore.remove", () => {
    const names: Array<string> = []
    const recording = Layer.unwrapEffect(Effect.map(Effect.tracer, (base) =>
      Layer.setTracer(Tracer.make({
        span: (name, ...rest) => {
          names.push(name)
          return base.span(name, ...rest)
        },
        context: (f, fiber) => base.context(f, fiber)
      }))))
    return Effect.gen(function*() {
      const store = yield* TokenStore.TokenStore
      yield* store.set(token("1"))
      yield* store.remove("1")
      assert.deepStrictEqual(names, ["TokenStore.set", "TokenStore.remove"])
    }).pipe(Effect.provide(Layer.merge(TokenStore.layerMemory(), recording)))
  })
})

describe("TokenStore.layerFile", () => {
  it.scoped("round-trips tokens through the file (version 1 format, mode 0600)", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = Path.join(dir, "tokens.json")
      yield* withFileStore(path, (s) => Effect.zipRight(s.set(token("1")), s.set(token("2"))))
      const text = Fs.readFileSync(path, "utf8")
      assert.isTrue(text.endsWith("}\n"), "a text file: ends with a newline")
      const raw = JSON.parse(text)
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
        "",
        withDeeplyNested({ version: 1, tokens: { "1": "@DEEP@" }, leak: "leaky-token-text" }),
        // an entry keyed by one user holding another user's token
        JSON.stringify(
          Schema.encodeSync(TokenStore.StoreFile)({ version: 1, tokens: { "1": token("2", "leaky-token-text") } })
        )
      ]
      for (const [i, content] of cases.entries()) {
        const path = Path.join(dir, `corrupt-${i}.json`)
        Fs.writeFileSync(path, content)
        const error = yield* Effect.flip(withFileStore(path, (s) => s.list))
        assert.strictEqual(error._tag, "TokenStoreError")
        assert.strictEqual(error.reason, "Corrupt", `case ${i}`)
        assert.include(error.message, `TokenStore.load: Corrupt: ${path}`, "names the file")
        assert.isFalse(error.message.includes("leaky-token-text"))
        assert.isFalse(JSON.stringify(error).includes("leaky-token-text"))
        // the file is left alone for a human to inspect
        assert.strictEqual(Fs.readFileSync(path, "utf8"), content)
        if (i === 3) assert.include(error.message, "unexpected content at tokens.1.userId", "says where in the file")
        if (i === cases.length - 1) assert.include(error.message, "the entry of user 1 holds the token of user 2")
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

  it.scoped("a write failing half-way leaves the previous file intact and no temp file behind", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = Path.join(dir, "tokens.json")
      const faulty = yield* FaultyFs.make
      yield* Effect.gen(function*() {
        const store = yield* TokenStore.TokenStore
        yield* store.set(token("1", "first"))
        const before = Fs.readFileSync(path, "utf8")
        faulty.arm()
        const error = yield* Effect.flip(store.set(token("1", "second")))
        faulty.disarm()
        assert.isAbove(faulty.failedWrites(), 0, "the fault fired")
        assert.strictEqual(error.reason, "Io")
        assert.include(error.message, `TokenStore.persist: Io: cannot write ${path}: `)
        assert.strictEqual(Fs.readFileSync(path, "utf8"), before, "the token file was written in place")
        assert.deepStrictEqual(Fs.readdirSync(dir).filter((f) => !f.endsWith(".lock")), ["tokens.json"])
      }).pipe(Effect.provide(TokenStore.layerFile(path, { writeRetry: false }).pipe(Layer.provide(faulty.layer))))
      const reloaded = yield* withFileStore(path, (s) => s.get("1"))
      assert.strictEqual(Redacted.value(Option.getOrThrow(reloaded).accessToken), "first")
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.scoped("a failed persist: set fails, memory keeps the previous token, nothing is published", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = Path.join(dir, "tokens.json")
      const faulty = yield* FaultyFs.make
      yield* Effect.gen(function*() {
        const store = yield* TokenStore.TokenStore
        yield* store.set(token("1", "first"))
        const changes = yield* store.changes.pipe(Stream.take(1), Stream.runCollect, Effect.fork)
        for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
        faulty.arm()
        const error = yield* Effect.flip(store.set(token("1", "second")))
        faulty.disarm()
        assert.strictEqual(error._tag, "TokenStoreError")
        const current = Option.getOrThrow(yield* store.get("1"))
        assert.strictEqual(Redacted.value(current.accessToken), "first", "get sees the token that was not saved")
        assert.deepStrictEqual((yield* store.list).map((t) => Redacted.value(t.accessToken)), ["first"])
        // likewise a failed remove
        faulty.arm()
        yield* Effect.flip(store.remove("1"))
        faulty.disarm()
        assert.isTrue(Option.isSome(yield* store.get("1")), "get lost the token that is still on disk")
        // the next successful write does not persist the failed token either
        yield* store.set(token("2"))
        const [change] = Chunk.toReadonlyArray(yield* Fiber.join(changes))
        assert.deepStrictEqual(change!._tag === "Added" && change!.token.userId, "2")
      }).pipe(Effect.provide(TokenStore.layerFile(path, { writeRetry: false }).pipe(Layer.provide(faulty.layer))))
      const reloaded = yield* withFileStore(path, (s) => s.get("1"))
      assert.strictEqual(Redacted.value(Option.getOrThrow(reloaded).accessToken), "first")
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.live(
    "the file stays valid JSON (old or new) when a writer is SIGKILLed; its debris goes at the next start",
    () =>
      Effect.gen(function*() {
        const dir = yield* scratchDir("kill")
        const path = Path.join(dir, "tokens.json")
        for (const writesBeforeKill of [10, 120]) {
          const writer = yield* spawnWriter(path, writesBeforeKill)
          yield* killed(writer)
          const decoded = decodeFile(Fs.readFileSync(path, "utf8"))
          assert.isTrue(Either.isRight(decoded), `file unreadable after a kill past ${writesBeforeKill} writes`)
          assert.isAtLeast(Object.keys(Either.getOrThrow(decoded).tokens).length, 1)
        }
        // the next start takes over the dead writer's lock and removes its temp files
        const users = yield* withFileStore(path, (s) => s.list)
        assert.strictEqual(users.length, 7)
        assert.deepStrictEqual(Fs.readdirSync(dir), ["tokens.json"])
      }).pipe(Effect.provide(NodeFileSystem.layer), Effect.scoped),
    60_000
  )
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

describe("TokenStore.layerFile faults", () => {
  const writeRetry = Schedule.spaced("10 seconds")

  it.scoped("a failed write keeps the change, reports WriteFailed, and is retried until written", () => {
    let broken = false
    let failures = 0
    const fsLayer = layerFaultyFileSystem({
      open: (path, options) => {
        if (!broken || options?.flag !== "wx") return undefined
        failures++
        return systemError("open", path, "ENOSPC")
      }
    })
    const logs = captureLogs()
    return Effect.gen(function*() {
      const dir = yield* tempDir
      const path = Path.join(dir, "tokens.json")
      const store = Context.get(yield* Layer.build(TokenStore.layerFile(path, { writeRetry })), TokenStore.TokenStore)
      const changes = yield* store.changes.pipe(Stream.take(5), Stream.runCollect, Effect.fork)
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
      yield* store.set(token("1"))
      broken = true
      yield* store.set(token("1", "second-access-text")) // the disk is full: kept, not failed
      yield* store.set(token("2"))
      assert.strictEqual(Redacted.value(Option.getOrThrow(yield* store.get("1")).accessToken), "second-access-text")
      assert.deepStrictEqual(storedIds(path), ["1"])
      assert.strictEqual(storedAccess(path, "1"), "access-1")
      const failed = failures
      yield* adjustWhenSleeping("10 seconds") // still broken: the retry fails too
      assert.isTrue(yield* eventually(() => failures > failed), "retried on the schedule")
      yield* adjustWhenSleeping("0 seconds") // the retry failed and sleeps again
      broken = false
      yield* TestClock.adjust("10 seconds")
      assert.isTrue(yield* eventually(() => storedIds(path).length === 2), "written once the disk works again")
      assert.strictEqual(storedAccess(path, "1"), "second-access-text")
      const events = Chunk.toReadonlyArray(yield* Fiber.join(changes)).map((e) => e._tag)
      assert.deepStrictEqual(events, ["Added", "Refreshed", "WriteFailed", "Added", "WriteRecovered"])
      assert.isTrue(logs.lines.some((l) => l.includes("level=WARN") && l.includes("write failed")))
      assert.isTrue(logs.lines.some((l) => l.includes("level=DEBUG") && l.includes("write retry failed")))
      assert.isFalse(logs.lines.some((l) => l.includes("second-access-text") || l.includes("refresh-1")))
      // only ever one temp file at a time, removed on failure
      assert.deepStrictEqual(Fs.readdirSync(dir).sort(), ["tokens.json", "tokens.json.lock"])
    }).pipe(Effect.provide(Layer.merge(fsLayer, logs.layer)), Logger.withMinimumLogLevel(LogLevel.All))
  })

  it.scoped("unwritten changes are written once more when the layer's scope closes", () => {
    let broken = false
    const fsLayer = layerFaultyFileSystem({
      open: (path, options) => (broken && options?.flag === "wx" ? systemError("open", path, "EROFS") : undefined)
    })
    return Effect.gen(function*() {
      const dir = yield* tempDir
      const path = Path.join(dir, "tokens.json")
      const scope = yield* Scope.make()
      const layer = TokenStore.layerFile(path, { writeRetry })
      const store = Context.get(yield* Layer.buildWithScope(layer, scope), TokenStore.TokenStore)
      yield* store.set(token("1"))
      broken = true
      yield* store.set(token("2"))
      broken = false // no retry has run yet (the clock has not moved)
      assert.deepStrictEqual(storedIds(path), ["1"])
      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual(storedIds(path), ["1", "2"])
    }).pipe(Effect.provide(fsLayer))
  })

  it.scoped("a file that cannot be renamed over (EBUSY: a bind-mounted file) is written in place", () => {
    const opens: Array<FileSystem.OpenFileOptions & { readonly path: string }> = []
    let target = ""
    const fsLayer = layerFaultyFileSystem({
      open: (path, options) => void opens.push({ ...options, path }),
      rename: (_from, to) => (to === target ? systemError("rename", to, "EBUSY", "Busy") : undefined)
    })
    return Effect.gen(function*() {
      const dir = yield* tempDir
      target = Path.join(dir, "tokens.json")
      writeStoreFile(target, [token("1")])
      const inode = Fs.statSync(target).ino
      yield* withFileStore(target, (s) => Effect.zipRight(s.set(token("2")), s.set(token("1", "rotated"))))
      assert.deepStrictEqual(storedIds(target), ["1", "2"])
      assert.strictEqual(storedAccess(target, "1"), "rotated")
      assert.strictEqual(Fs.statSync(target).ino, inode, "the same file, not a replacement")
      assert.deepStrictEqual(Fs.readdirSync(dir), ["tokens.json"]) // no temp file, no journal, no lock
      // temp files: created 0600 with O_EXCL, next to the target, with a recognisable name
      const temps = opens.filter((o) => o.path.endsWith(".tmp"))
      assert.isAtLeast(temps.length, 2)
      assert.strictEqual(new Set(temps.map((t) => t.path)).size, temps.length, "each write has its own temp file")
      for (const t of temps) {
        assert.deepStrictEqual([t.flag, t.mode], ["wx", 0o600])
        assert.match(Path.basename(t.path), /^tokens\.json\.[0-9a-z]+\.tmp$/)
        assert.strictEqual(Path.dirname(t.path), dir)
      }
    }).pipe(Effect.provide(fsLayer))
  })

  it.scoped("an in-place write cut short by a crash is completed from its journal at the next start", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = Path.join(dir, "tokens.json")
      writeStoreFile(`${path}.pending`, [token("1"), token("2")])
      Fs.writeFileSync(path, "{\n  \"version\": 1,\n  \"tok", { mode: 0o600 }) // torn
      const users = yield* withFileStore(path, (s) => s.list)
      assert.deepStrictEqual(users.map((u) => u.userId).sort(), ["1", "2"])
      assert.deepStrictEqual(storedIds(path), ["1", "2"])
      assert.deepStrictEqual(Fs.readdirSync(dir), ["tokens.json"])
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.scoped("temp files a crashed writer left are removed at the next start; other files are kept", () => {
    const logs = captureLogs()
    return Effect.gen(function*() {
      const dir = yield* tempDir
      const path = Path.join(dir, "tokens.json")
      writeStoreFile(path, [token("1")])
      writeStoreFile(Path.join(dir, "tokens.json.k3j4h5g6.tmp"), [token("1", "leftover")])
      writeStoreFile(Path.join(dir, "tokens.json.a.tmp"), [token("1", "leftover")])
      // another store's temp files, a backup, a user's own file
      const others = ["backup.json.k3j4h5g6.tmp", "other.json.k3j4h5g6.tmp", "tokens.json.backup", "tokens.json.bak"]
      for (const other of [...others, "tokens.json.my-notes.tmp"]) {
        Fs.writeFileSync(Path.join(dir, other), "keep")
      }
      yield* withFileStore(path, (s) => s.list)
      assert.deepStrictEqual(Fs.readdirSync(dir).sort(), [
        "backup.json.k3j4h5g6.tmp",
        "other.json.k3j4h5g6.tmp",
        "tokens.json",
        "tokens.json.backup",
        "tokens.json.bak",
        "tokens.json.my-notes.tmp"
      ])
      assert.isTrue(logs.lines.some((l) => l.includes("removed 2 stale temp file(s)") && l.includes(`store=${path}`)))
    }).pipe(Effect.provide(Layer.merge(NodeFileSystem.layer, logs.layer)))
  })

  it.scoped("a token file readable by others is set to 0600 at load, with a warning", () => {
    const logs = captureLogs()
    return Effect.gen(function*() {
      const dir = yield* tempDir
      const path = Path.join(dir, "tokens.json")
      writeStoreFile(path, [token("1")])
      Fs.chmodSync(path, 0o644)
      const users = yield* withFileStore(path, (s) => s.list)
      assert.strictEqual(users.length, 1)
      assert.strictEqual(Fs.statSync(path).mode & 0o777, 0o600)
      assert.isTrue(logs.lines.some((l) => l.includes("level=WARN") && l.includes("readable by others")))
    }).pipe(Effect.provide(Layer.merge(NodeFileSystem.layer, logs.layer)))
  })

  it.scoped("a symlinked token file is written through the link (existing and dangling targets)", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      Fs.mkdirSync(Path.join(dir, "data"))
      const real = Path.join(dir, "data", "tokens.json")
      writeStoreFile(real, [token("1")])
      const link = Path.join(dir, "link.json")
      Fs.symlinkSync("data/tokens.json", link)
      yield* withFileStore(link, (s) => s.set(token("2")))
      assert.isTrue(Fs.lstatSync(link).isSymbolicLink(), "the link stays a link")
      assert.deepStrictEqual(storedIds(real), ["1", "2"])
      assert.deepStrictEqual(Fs.readdirSync(Path.join(dir, "data")), ["tokens.json"])

      const dangling = Path.join(dir, "dangling.json")
      Fs.symlinkSync("data/new.json", dangling)
      yield* withFileStore(dangling, (s) => s.set(token("3")))
      assert.isTrue(Fs.lstatSync(dangling).isSymbolicLink())
      assert.deepStrictEqual(storedIds(Path.join(dir, "data", "new.json")), ["3"])
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.scoped(
    "a FIFO (or anything not a regular file) at the path is refused at start without being opened",
    () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const path = Path.join(dir, "tokens.json")
        execFileSync("mkfifo", [path])
        const error = yield* Effect.flip(withFileStore(path, (s) => s.list))
        assert.strictEqual(error.reason, "Io")
        assert.include(error.message, `TokenStore.load: Io: ${path} is not a regular file`)
      }).pipe(Effect.provide(NodeFileSystem.layer)),
    10_000
  )

  it.live(
    "a second process fails at start with Locked naming the first; a dead one's lock is taken over",
    () =>
      Effect.gen(function*() {
        const dir = yield* scratchDir("lock")
        const path = Path.join(dir, "tokens.json")
        const writer = yield* spawnWriter(path, 1)
        const error = yield* Effect.flip(withFileStore(path, (s) => s.list))
        assert.strictEqual(error.reason, "Locked")
        assert.include(error.message, `process ${writer.pid}`)
        yield* killed(writer)
        const users = yield* withFileStore(path, (s) => s.set(token("mine")).pipe(Effect.zipRight(s.list)))
        assert.include(users.map((u) => u.userId), "mine")
        assert.deepStrictEqual(Fs.readdirSync(dir), ["tokens.json"], "the lock is released with the layer")
      }).pipe(Effect.provide(NodeFileSystem.layer), Effect.scoped),
    60_000
  )

  it.scoped("within one process too, the file has one owner until the layer's scope closes", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = Path.join(dir, "tokens.json")
      const first = yield* Scope.make()
      yield* Layer.buildWithScope(TokenStore.layerFile(path), first)
      const error = yield* Effect.flip(withFileStore(path, (s) => s.list))
      assert.strictEqual(error.reason, "Locked")
      assert.include(error.message, `TokenStore.load: Locked: ${path} is in use by process ${process.pid}`)
      yield* Scope.close(first, Exit.void)
      assert.strictEqual((yield* withFileStore(path, (s) => s.list)).length, 0)
    }).pipe(Effect.provide(NodeFileSystem.layer)))
})

describe("TokenStore: removing an absent user", () => {
  it.scoped("is a no-op: nothing written, nothing published", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = Path.join(dir, "tokens.json")
      const faulty = yield* FaultyFs.make
      yield* Effect.gen(function*() {
        const store = yield* TokenStore.TokenStore
        yield* store.set(token("1"))
        const changes = yield* store.changes.pipe(Stream.take(1), Stream.runCollect, Effect.fork)
        for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
        faulty.arm() // any write would fail
        yield* store.remove("nobody")
        faulty.disarm()
        assert.strictEqual(faulty.failedWrites(), 0, "removing an absent user wrote the file")
        yield* store.set(token("2"))
        const [change] = Chunk.toReadonlyArray(yield* Fiber.join(changes))
        assert.deepStrictEqual(change!._tag === "Added" && change!.token.userId, "2")
      }).pipe(Effect.provide(TokenStore.layerFile(path, { writeRetry: false }).pipe(Layer.provide(faulty.layer))))
    }).pipe(Effect.provide(NodeFileSystem.layer)))
})

describe("TokenStore.layerFile write retries", () => {
  const writeRetry = Schedule.spaced("10 seconds")

  /** A file system whose temp-file creation fails (ENOSPC) while `disk.broken`; counts the failures. */
  const brokenDisk = () => {
    const disk = { broken: false, failures: 0 }
    const layer = layerFaultyFileSystem({
      open: (path, options) => {
        if (!disk.broken || options?.flag !== "wx" || !path.endsWith(".tmp")) return undefined
        disk.failures++
        return systemError("open", path, "ENOSPC")
      }
    })
    return { disk, layer }
  }

  const buildStore = (path: string, options?: TokenStore.FileOptions) =>
    Effect.map(Layer.build(TokenStore.layerFile(path, options)), Context.get(TokenStore.TokenStore))

  it.scoped("after a recovery, a new failure streak is reported and retried again", () => {
    const { disk, layer } = brokenDisk()
    const logs = captureLogs()
    return Effect.gen(function*() {
      const dir = yield* tempDir
      const path = Path.join(dir, "tokens.json")
      const store = yield* buildStore(path, { writeRetry })
      const changes = yield* store.changes.pipe(Stream.take(6), Stream.runCollect, Effect.fork)
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
      for (const userId of ["1", "2"]) {
        disk.broken = true
        yield* store.set(token(userId))
        yield* adjustWhenSleeping("0 seconds") // the retry failed and waits
        disk.broken = false
        yield* TestClock.adjust("10 seconds")
        assert.isTrue(yield* eventually(() => Fs.existsSync(path) && storedIds(path).includes(userId)), userId)
      }
      const events = Chunk.toReadonlyArray(yield* Fiber.join(changes)).map((e) => e._tag)
      assert.deepStrictEqual(events, [
        "Added",
        "WriteFailed",
        "WriteRecovered",
        "Added",
        "WriteFailed",
        "WriteRecovered"
      ])
      const failed = logs.lines.filter((l) => l.includes("level=WARN") && l.includes("write failed"))
      const recovered = logs.lines.filter((l) => l.includes("level=INFO") && l.includes("written again"))
      assert.deepStrictEqual([failed.length, recovered.length], [2, 2])
      assert.include(failed[0]!, `store=${path}`)
      assert.include(failed[0]!, "ENOSPC")
    }).pipe(Effect.provide(Layer.merge(layer, logs.layer)))
  })

  it.scoped("the retry follows writeRetry; the default retries within about a second", () => {
    const { disk, layer } = brokenDisk()
    return Effect.gen(function*() {
      const dir = yield* tempDir
      const cases = [["custom", { writeRetry }, 10_000, 10_000], ["default", {}, 500, 2_000]] as const
      for (const [name, options, soonest, latest] of cases) {
        const path = Path.join(dir, `${name}.json`)
        const scope = yield* Scope.make()
        const store = yield* buildStore(path, options).pipe(Scope.extend(scope))
        disk.broken = true
        yield* store.set(token("1"))
        yield* adjustWhenSleeping("0 seconds")
        disk.broken = false
        const now = yield* TestClock.currentTimeMillis
        const [wake] = Chunk.toReadonlyArray(yield* TestClock.sleeps())
        assert.isAtLeast(wake! - now, soonest, `${name}: retried too soon`)
        assert.isAtMost(wake! - now, latest, `${name}: retried too late`)
        yield* TestClock.adjust(latest)
        assert.isTrue(yield* eventually(() => Fs.existsSync(path)), `${name}: written by the retry`)
        yield* Scope.close(scope, Exit.void)
      }
    }).pipe(Effect.provide(layer))
  })

  it.scoped("one retry at a time, however many changes failed", () => {
    const { disk, layer } = brokenDisk()
    return Effect.gen(function*() {
      const dir = yield* tempDir
      const store = yield* buildStore(Path.join(dir, "tokens.json"), { writeRetry })
      disk.broken = true
      for (const userId of ["1", "2", "3"]) yield* store.set(token(userId))
      yield* adjustWhenSleeping("0 seconds")
      const before = disk.failures
      yield* TestClock.adjust("10 seconds")
      assert.isTrue(yield* eventually(() => disk.failures > before), "retried")
      assert.isFalse(yield* eventually(() => disk.failures > before + 1), "several retries ran at once")
    }).pipe(Effect.provide(layer))
  })

  it.scoped("a retry schedule that ends logs an error; the next change starts retrying again", () => {
    const { disk, layer } = brokenDisk()
    const logs = captureLogs()
    return Effect.gen(function*() {
      const dir = yield* tempDir
      const path = Path.join(dir, "tokens.json")
      const once = Schedule.intersect(writeRetry, Schedule.recurs(1))
      const store = yield* buildStore(path, { writeRetry: once })
      disk.broken = true
      yield* store.set(token("1"))
      yield* adjustWhenSleeping("10 seconds") // the one retry fails too: retrying stops
      const stopped = (l: string) => l.includes("level=ERROR") && l.includes("stopped retrying")
      assert.isTrue(yield* eventually(() => logs.lines.some(stopped)), "giving up is logged")
      yield* store.set(token("2")) // still broken
      yield* adjustWhenSleeping("0 seconds")
      disk.broken = false
      yield* TestClock.adjust("10 seconds")
      assert.isTrue(yield* eventually(() => Fs.existsSync(path)), "the next change retried again")
      assert.deepStrictEqual(storedIds(path), ["1", "2"])
    }).pipe(Effect.provide(Layer.merge(layer, logs.layer)))
  })

  it.scoped("closing with changes that still cannot be written logs an error", () => {
    const { disk, layer } = brokenDisk()
    const logs = captureLogs()
    return Effect.gen(function*() {
      const dir = yield* tempDir
      const scope = yield* Scope.make()
      const path = Path.join(dir, "tokens.json")
      const store = yield* buildStore(path, { writeRetry }).pipe(Scope.extend(scope))
      disk.broken = true
      yield* store.set(token("1"))
      yield* Scope.close(scope, Exit.void)
      const lost = logs.lines.filter((l) => l.includes("closing with changes that could not be written"))
      assert.strictEqual(lost.length, 1)
      assert.include(lost[0]!, "level=ERROR")
      assert.include(lost[0]!, `store=${path}`)
      assert.include(lost[0]!, "ENOSPC")
    }).pipe(Effect.provide(Layer.merge(layer, logs.layer)))
  })
})

describe("TokenStore.layerFile writes", () => {
  /** NodeFileSystem recording the calls a write makes: `open <path> <flag>`, `sync <path>`, `rename <from> <to>`. */
  const recordingFileSystem = (calls: Array<string>): Layer.Layer<FileSystem.FileSystem> =>
    Layer.effect(
      FileSystem.FileSystem,
      Effect.map(FileSystem.FileSystem, (fs): FileSystem.FileSystem => ({
        ...fs,
        open: (path, options) =>
          Effect.map(fs.open(path, options), (file): FileSystem.File => {
            calls.push(`open ${path} ${options?.flag ?? "r"}`)
            return {
              ...file,
              sync: Effect.zipLeft(file.sync, Effect.sync(() => calls.push(`sync ${path}`))),
              writeAll: (buffer) => file.writeAll(buffer),
              write: (buffer) => file.write(buffer),
              truncate: (length) => file.truncate(length)
            }
          }),
        rename: (from, to) => Effect.zipLeft(fs.rename(from, to), Effect.sync(() => calls.push(`rename ${from} ${to}`)))
      }))
    ).pipe(Layer.provide(NodeFileSystem.layer))

  it.scoped("the temp file is fsynced before it replaces the file, and the directory after (durable rename)", () => {
    const calls: Array<string> = []
    return Effect.gen(function*() {
      const dir = Fs.realpathSync(yield* tempDir)
      const path = Path.join(dir, "tokens.json")
      yield* withFileStore(path, (s) => Effect.sync(() => calls.splice(0)).pipe(Effect.zipRight(s.set(token("1")))))
      const tmp = calls[0]!.split(" ")[1]!
      assert.match(Path.basename(tmp), /^tokens\.json\.[0-9a-z]+\.tmp$/)
      assert.deepStrictEqual(calls, [
        `open ${tmp} wx`,
        `sync ${tmp}`,
        `rename ${tmp} ${path}`,
        `open ${dir} r`,
        `sync ${dir}`
      ])
    }).pipe(Effect.provide(recordingFileSystem(calls)))
  })
})

describe("TokenStore.layerFile: targets that cannot be renamed over", () => {
  it.scoped("EXDEV (another device) is written in place too, however the file system reports it", () => {
    let target = ""
    let mode: "description" | "cause" = "description"
    const fsLayer = layerFaultyFileSystem({
      rename: (_from, to) => {
        if (to !== target) return undefined
        return mode === "description"
          ? systemError("rename", to, "EXDEV")
          : new SystemError({
            reason: "Unknown",
            module: "FileSystem",
            method: "rename",
            pathOrDescriptor: to,
            description: "cross-device link not permitted",
            cause: Object.assign(new Error("cross-device"), { code: "EXDEV" })
          })
      }
    })
    return Effect.gen(function*() {
      const dir = yield* tempDir
      for (const how of ["description", "cause"] as const) {
        mode = how
        target = Path.join(dir, `${how}.json`)
        writeStoreFile(target, [token("1")])
        const inode = Fs.statSync(target).ino
        yield* withFileStore(target, (s) => s.set(token("2")))
        assert.deepStrictEqual(storedIds(target), ["1", "2"], how)
        assert.strictEqual(Fs.statSync(target).ino, inode, `${how}: the same file, not a replacement`)
      }
      assert.deepStrictEqual(Fs.readdirSync(dir).sort(), ["cause.json", "description.json"])
    }).pipe(Effect.provide(fsLayer))
  })

  it.scoped("any other failed rename fails the write: the previous file stays, no temp file, no journal", () => {
    let target = ""
    const fsLayer = layerFaultyFileSystem({
      rename: (_from, to) => (to === target ? systemError("rename", to, "EACCES", "PermissionDenied") : undefined)
    })
    return Effect.gen(function*() {
      const dir = yield* tempDir
      target = Path.join(dir, "tokens.json")
      writeStoreFile(target, [token("1")])
      const before = Fs.readFileSync(target, "utf8")
      const error = yield* Effect.flip(
        Effect.flatMap(TokenStore.TokenStore, (s) => s.set(token("2"))).pipe(
          Effect.provide(TokenStore.layerFile(target, { writeRetry: false }))
        )
      )
      assert.strictEqual(error.reason, "Io")
      assert.strictEqual(Fs.readFileSync(target, "utf8"), before)
      assert.deepStrictEqual(Fs.readdirSync(dir), ["tokens.json"])
    }).pipe(Effect.provide(fsLayer))
  })

  it.scoped("a journal whose target is gone recreates it (0600) at the next start, with a warning", () => {
    const logs = captureLogs()
    return Effect.gen(function*() {
      const dir = yield* tempDir
      const path = Path.join(dir, "tokens.json")
      writeStoreFile(`${path}.pending`, [token("1")])
      const users = yield* withFileStore(path, (s) => s.list)
      assert.deepStrictEqual(users.map((u) => u.userId), ["1"])
      assert.deepStrictEqual(storedIds(path), ["1"])
      assert.strictEqual(Fs.statSync(path).mode & 0o777, 0o600)
      assert.deepStrictEqual(Fs.readdirSync(dir), ["tokens.json"])
      const warnings = logs.lines.filter((l) => l.includes("level=WARN"))
      assert.strictEqual(warnings.length, 1, "created 0600: no warning about its mode")
      assert.include(warnings[0]!, "interrupted in-place write")
      assert.include(warnings[0]!, `store=${path}`)
    }).pipe(Effect.provide(Layer.merge(NodeFileSystem.layer, logs.layer)))
  })
})

describe("TokenStore.layerFile at start", () => {
  const startWith = (path: string) => withFileStore(path, (s) => s.list)

  it.scoped("an ordinary start logs nothing", () => {
    const logs = captureLogs()
    return Effect.gen(function*() {
      const dir = yield* tempDir
      const path = Path.join(dir, "tokens.json")
      writeStoreFile(path, [token("1")])
      assert.strictEqual((yield* startWith(path)).length, 1)
      assert.deepStrictEqual(logs.lines, [])
    }).pipe(Effect.provide(Layer.merge(NodeFileSystem.layer, logs.layer)), Logger.withMinimumLogLevel(LogLevel.All))
  })

  it.scoped("a file that exists but cannot be read or stat-ed is an Io error, never an empty store", () => {
    let target = ""
    let failing: "stat" | "readFileString" = "stat"
    const denied = (method: string) => (path: string) =>
      failing === method && path === target ? systemError(method, path, "EACCES", "PermissionDenied") : undefined
    const fsLayer = layerFaultyFileSystem({ stat: denied("stat"), readFileString: denied("readFileString") })
    return Effect.gen(function*() {
      const dir = yield* tempDir
      for (const method of ["stat", "readFileString"] as const) {
        failing = method
        target = Path.join(dir, `${method}.json`)
        writeStoreFile(target, [token("1")])
        const error = yield* Effect.flip(startWith(target))
        assert.strictEqual(error.reason, "Io", method)
        assert.include(error.message, "TokenStore.load: Io: ")
        assert.include(error.message, "EACCES")
        assert.deepStrictEqual(storedIds(target), ["1"], `${method}: the file was left alone`)
      }
    }).pipe(Effect.provide(fsLayer))
  })

  it.scoped("a path that cannot be resolved (a symlink loop) is an Io error naming it", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = Path.join(dir, "tokens.json")
      Fs.symlinkSync("tokens.json", path)
      const error = yield* Effect.flip(startWith(path))
      assert.strictEqual(error.reason, "Io")
      assert.include(error.message, `TokenStore.load: Io: cannot resolve ${path}`)
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.scoped("a journal that cannot be read fails the start (Io) instead of being ignored", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = Path.join(dir, "tokens.json")
      writeStoreFile(path, [token("1")])
      Fs.mkdirSync(`${path}.pending`)
      const error = yield* Effect.flip(startWith(path))
      assert.strictEqual(error.reason, "Io")
      assert.include(error.message, `TokenStore.load: Io: cannot complete an interrupted write of ${path}`)
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.scoped("without a lock file (read-only directory) the store works, with a warning", () => {
    const logs = captureLogs()
    let lock = ""
    const fsLayer = layerFaultyFileSystem({
      open: (path) => (path === lock ? systemError("open", path, "EROFS") : undefined)
    })
    return Effect.gen(function*() {
      const dir = yield* tempDir
      const path = Path.join(dir, "tokens.json")
      lock = `${path}.lock`
      yield* withFileStore(path, (s) => s.set(token("1")))
      assert.deepStrictEqual(storedIds(path), ["1"])
      const warnings = logs.lines.filter((l) => l.includes("level=WARN"))
      assert.strictEqual(warnings.length, 1)
      assert.include(warnings[0]!, "cannot create the lock file")
      assert.include(warnings[0]!, `store=${path}`)
      assert.include(warnings[0]!, "EROFS")
    }).pipe(Effect.provide(Layer.merge(fsLayer, logs.layer)))
  })

  it.scoped("a directory that cannot be listed (stale temp files stay) does not stop the start", () => {
    const logs = captureLogs()
    let dir = ""
    const fsLayer = layerFaultyFileSystem({
      readDirectory: (
        path
      ) => (path === dir ? systemError("readDirectory", path, "EACCES", "PermissionDenied") : undefined)
    })
    return Effect.gen(function*() {
      dir = yield* tempDir
      const path = Path.join(dir, "tokens.json")
      writeStoreFile(path, [token("1")])
      assert.strictEqual((yield* startWith(path)).length, 1)
      const warnings = logs.lines.filter((l) => l.includes("level=WARN"))
      assert.strictEqual(warnings.length, 1)
      assert.include(warnings[0]!, "cannot remove stale temp files")
      assert.include(warnings[0]!, `store=${path}`)
      assert.include(warnings[0]!, "EACCES")
    }).pipe(Effect.provide(Layer.merge(fsLayer, logs.layer)))
  })

  it.scoped("in a directory that does not exist: an empty store, one warning (no lock file), writes fail Io", () => {
    const logs = captureLogs()
    return Effect.gen(function*() {
      const dir = yield* tempDir
      const path = Path.join(dir, "missing", "tokens.json")
      const error = yield* Effect.flip(
        Effect.flatMap(TokenStore.TokenStore, (s) =>
          Effect.gen(function*() {
            assert.strictEqual((yield* s.list).length, 0)
            return yield* s.set(token("1"))
          })).pipe(Effect.provide(TokenStore.layerFile(path, { writeRetry: false })))
      )
      assert.strictEqual(error.reason, "Io")
      assert.include(error.message, `TokenStore.persist: Io: cannot write ${path}`)
      const warnings = logs.lines.filter((l) => l.includes("level=WARN"))
      assert.strictEqual(warnings.length, 1)
      assert.include(warnings[0]!, "cannot create the lock file")
    }).pipe(Effect.provide(Layer.merge(NodeFileSystem.layer, logs.layer)))
  })

  it.scoped("a file readable by others whose mode cannot be changed: the store starts, with a warning", () => {
    const logs = captureLogs()
    let target = ""
    const fsLayer = layerFaultyFileSystem({
      chmod: (path) => (path === target ? systemError("chmod", path, "EPERM", "PermissionDenied") : undefined)
    })
    return Effect.gen(function*() {
      const dir = yield* tempDir
      target = Path.join(dir, "tokens.json")
      writeStoreFile(target, [token("1")])
      Fs.chmodSync(target, 0o644)
      assert.strictEqual((yield* startWith(target)).length, 1)
      const warnings = logs.lines.filter((l) => l.includes("level=WARN"))
      assert.strictEqual(warnings.length, 1)
      assert.include(warnings[0]!, "readable by others and its mode cannot be set to 0600")
      assert.include(warnings[0]!, `store=${target}`)
      assert.include(warnings[0]!, "mode=644")
      assert.include(warnings[0]!, "EPERM")
    }).pipe(Effect.provide(Layer.merge(fsLayer, logs.layer)))
  })
})
