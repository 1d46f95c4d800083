/**
 * Where user tokens live: get / set / remove / list by user id, and a `changes` stream.
 *
 * @since 0.1.0
 */
import type * as PlatformError from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { recoverPending, removeStaleTemps, resolveSibling, writeAtomic } from "./internal/atomicFile.js"
import { describeParseError, TaggedError } from "./internal/errors.js"
import { acquireLock } from "./internal/fileLock.js"
import { parseJson } from "./internal/json.js"
import { UserToken } from "./Token.js"

/**
 * @since 0.1.0
 * @category tags
 */
export class TokenStore extends Context.Tag("effect-twitch/TokenStore")<TokenStore, TokenStore.Service>() {}

/**
 * @since 0.1.0
 */
export declare namespace TokenStore {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    readonly get: (userId: string) => Effect.Effect<Option.Option<UserToken>, TokenStoreError>
    /**
     * Adds or replaces the user's token; emits `Added` or `Refreshed` on `changes` once written.
     *
     * A token in hand is never dropped because the backend cannot write it (a refreshed pair's
     * old refresh token may already be spent): when the write fails, the change still takes effect
     * in this process, `changes` gets a `WriteFailed`, and the store keeps retrying in the
     * background (`WriteRecovered` once written). `set` fails only when nothing changed.
     */
    readonly set: (token: UserToken) => Effect.Effect<void, TokenStoreError>
    /** Removes the user's token (no-op when absent); emits `Removed` when there was one. Writes as `set`. */
    readonly remove: (userId: string) => Effect.Effect<void, TokenStoreError>
    readonly list: Effect.Effect<ReadonlyArray<UserToken>, TokenStoreError>
    /**
     * Every change after subscription, in write order: how users persist rotated tokens elsewhere.
     *
     * Backed by a bounded `PubSub` (capacity {@link changesCapacity}) with back-pressure: a
     * subscriber that falls that far behind makes writers (`set` / `remove`) wait until it catches
     * up. Nothing is dropped. Consume promptly, or buffer on your side.
     */
    readonly changes: Stream.Stream<TokenChange>
    /**
     * Present on stores that several processes share (`TokenStoreSql` on PostgreSQL): runs `effect`
     * holding the user's lock in every process that shares the store, e.g. a row lock taken in a
     * transaction. `get` inside `effect` sees the user's latest stored token, and a `set` of that
     * user inside `effect` is written before the lock is released. A process that dies holding the
     * lock releases it with its database session.
     *
     * `AccessTokens` refreshes a user's token under this lock, so exactly one process refreshes
     * and the others read the pair it saved.
     */
    readonly lock?: <A, E, R>(
      userId: string,
      effect: Effect.Effect<A, E, R>
    ) => Effect.Effect<A, E | TokenStoreError, R>
  }
}

/**
 * A change of the store, published on `changes` in write order.
 *
 * - `Added`, `Refreshed`, `Removed`: the change is in effect (and written, unless a `WriteFailed`
 *   follows it).
 * - `WriteFailed`: the backend could not write (disk full, read-only file system, …). The store
 *   now holds changes that are not persisted; it keeps them and retries the write on a schedule.
 *   Published on the first failure of a streak, not on every retry.
 * - `WriteRecovered`: everything is written again after a `WriteFailed`.
 *
 * @since 0.1.0
 * @category models
 */
export type TokenChange =
  | { readonly _tag: "Added"; readonly token: UserToken }
  | { readonly _tag: "Refreshed"; readonly token: UserToken }
  | { readonly _tag: "Removed"; readonly userId: string }
  | { readonly _tag: "WriteFailed"; readonly error: TokenStoreError }
  | { readonly _tag: "WriteRecovered" }

const Tagged = TaggedError("TokenStore")

/**
 * The store could not be read or written (`Io`: also a database that cannot be reached), its file
 * or a row is corrupt (`Corrupt`: never treated as an empty store), or another process holds the
 * token file, or a user's lock past its timeout (`Locked`).
 *
 * @since 0.1.0
 * @category errors
 */
export class TokenStoreError extends Tagged<TokenStoreError>()("TokenStoreError", {
  method: Schema.String,
  reason: Schema.Literal("Io", "Corrupt", "Locked"),
  description: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `TokenStore.${this.method}: ${this.reason}: ${this.description}`
  }
}

/**
 * How many changes a `changes` subscriber may lag behind before writers wait for it.
 *
 * @since 0.1.0
 * @category constants
 */
export const changesCapacity = 1024

interface Backend {
  readonly load: Effect.Effect<ReadonlyMap<string, UserToken>, TokenStoreError>
  readonly persist: (tokens: ReadonlyMap<string, UserToken>) => Effect.Effect<void, TokenStoreError>
}

/** How a store whose backend can fail retries its writes: in a fiber of `scope`, on `schedule`. */
interface WriteBehind {
  readonly schedule: Schedule.Schedule<unknown, TokenStoreError>
  readonly scope: Scope.Scope
  /** Names the backend in log lines (a path; never token text). */
  readonly name: string
}

interface StoreState {
  readonly backend: Backend
  readonly state: Ref.Ref<ReadonlyMap<string, UserToken>>
  readonly lock: Effect.Semaphore
  readonly pubsub: PubSub.PubSub<TokenChange>
}

/**
 * The write side of a store: `commit(next, change)`, called under `lock`, writes `next` through
 * the backend, then makes it the state and publishes `change`. Without `writeBehind`, a failed
 * write changes nothing and fails. With it, the change is kept in memory (`WriteFailed`), the whole
 * map is written again on the schedule by one fiber in the scope (`WriteRecovered`), and once more
 * when the scope closes.
 */
const makeCommit = ({ backend, lock, pubsub, state }: StoreState, writeBehind: WriteBehind | undefined) =>
  Effect.gen(function*() {
    // Read and written under `lock` only.
    let unwritten = false // memory holds changes the backend has not written
    let retrying = false // a retry fiber runs; it stops under `lock`, so no failure goes unretried

    const recovered = Effect.suspend(() => {
      if (!unwritten) return Effect.void
      unwritten = false
      return Effect.zipRight(
        PubSub.publish(pubsub, { _tag: "WriteRecovered" }),
        Effect.logInfo("TokenStore: written again after failed writes")
      )
    })
    const writeUnwritten = Effect.suspend(() =>
      unwritten ? Effect.flatMap(Ref.get(state), backend.persist).pipe(Effect.zipRight(recovered)) : Effect.void
    )
    const logged = (wb: WriteBehind, error: TokenStoreError) =>
      Effect.annotateLogs({ store: wb.name, error: error.message })

    const retryWrites = (wb: WriteBehind) =>
      lock.withPermits(1)(Effect.zipRight(writeUnwritten, Effect.sync(() => (retrying = false)))).pipe(
        Effect.tapError((error) => logged(wb, error)(Effect.logDebug("TokenStore: write retry failed"))),
        Effect.retry(wb.schedule),
        Effect.catchAll((error) =>
          Effect.zipRight(
            lock.withPermits(1)(Effect.sync(() => (retrying = false))),
            logged(wb, error)(
              Effect.logError("TokenStore: stopped retrying a failed write; the next change writes again")
            )
          )
        )
      )

    const writeFailed = (wb: WriteBehind, error: TokenStoreError) =>
      Effect.gen(function*() {
        if (!unwritten) {
          unwritten = true
          yield* PubSub.publish(pubsub, { _tag: "WriteFailed", error })
          yield* logged(wb, error)(
            Effect.logWarning("TokenStore: write failed; the change is kept in memory and the write retried")
          )
        }
        if (!retrying) {
          retrying = true
          yield* Effect.forkIn(retryWrites(wb), wb.scope)
        }
      })

    if (writeBehind !== undefined) {
      // closing with unwritten changes: one last try, and say so when they are lost
      yield* Scope.addFinalizer(
        writeBehind.scope,
        lock.withPermits(1)(writeUnwritten).pipe(
          Effect.catchAll((error) =>
            logged(writeBehind, error)(Effect.logError("TokenStore: closing with changes that could not be written"))
          )
        )
      )
    }

    return (next: ReadonlyMap<string, UserToken>, change: TokenChange): Effect.Effect<void, TokenStoreError> =>
      Effect.gen(function*() {
        const written = yield* Effect.either(backend.persist(next))
        if (Either.isLeft(written) && writeBehind === undefined) return yield* Effect.fail(written.left)
        yield* Ref.set(state, next)
        yield* PubSub.publish(pubsub, change)
        if (Either.isRight(written)) yield* recovered
        else if (writeBehind !== undefined) yield* writeFailed(writeBehind, written.left)
      })
  })

/**
 * Builds a store over a backend that loads once and persists the whole map on every write.
 * Writes are serialised by a semaphore (a write never loses a concurrent one), and published on
 * `changes` in write order. See {@link makeCommit} for failed writes.
 */
const makeWith = (
  backend: Backend,
  writeBehind?: WriteBehind
): Effect.Effect<TokenStore.Service, TokenStoreError, never> =>
  Effect.gen(function*() {
    const state = yield* Ref.make<ReadonlyMap<string, UserToken>>(yield* backend.load)
    const lock = yield* Effect.makeSemaphore(1)
    const pubsub = yield* PubSub.bounded<TokenChange>(changesCapacity)
    const commit = yield* makeCommit({ backend, state, lock, pubsub }, writeBehind)

    const set = (token: UserToken) =>
      lock.withPermits(1)(Effect.gen(function*() {
        const current = yield* Ref.get(state)
        const next = new Map(current)
        next.set(token.userId, token)
        yield* commit(next, current.has(token.userId) ? { _tag: "Refreshed", token } : { _tag: "Added", token })
      })).pipe(Effect.withSpan("TokenStore.set"))

    const remove = (userId: string) =>
      lock.withPermits(1)(Effect.gen(function*() {
        const current = yield* Ref.get(state)
        if (!current.has(userId)) return
        const next = new Map(current)
        next.delete(userId)
        yield* commit(next, { _tag: "Removed", userId })
      })).pipe(Effect.withSpan("TokenStore.remove"))

    return TokenStore.of({
      get: (userId) => Effect.map(Ref.get(state), (m) => Option.fromNullable(m.get(userId))),
      set,
      remove,
      list: Effect.map(Ref.get(state), (m) => Array.from(m.values())),
      changes: Stream.fromPubSub(pubsub)
    })
  })

/**
 * An in-memory store (tests, short-lived programs), optionally seeded.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = (seed: Iterable<UserToken> = []): Effect.Effect<TokenStore.Service> =>
  makeWith({
    load: Effect.sync(() => new Map(Array.from(seed, (t) => [t.userId, t] as const))),
    persist: () => Effect.void
  }).pipe(Effect.orDie) // the memory backend cannot fail

/**
 * An in-memory store (tests, short-lived programs), optionally seeded.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory = (seed: Iterable<UserToken> = []): Layer.Layer<TokenStore> =>
  Layer.effect(TokenStore, makeMemory(seed))

/**
 * The on-disk format: `{ "version": 1, "tokens": { "<userId>": <UserToken encoded> } }`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const StoreFile = Schema.Struct({
  version: Schema.Literal(1),
  tokens: Schema.Record({ key: Schema.String, value: UserToken })
})

const decodeStoreFile = Schema.decodeUnknownEither(StoreFile)
const encodeStoreFile = Schema.encodeEither(StoreFile)

/**
 * @since 0.1.0
 * @category models
 */
export interface FileOptions {
  /**
   * How a failed write is retried in the background (default {@link defaultWriteRetry}). `false`:
   * no write-behind; a failed write fails `set` / `remove` and changes nothing.
   */
  readonly writeRetry?: Schedule.Schedule<unknown, TokenStoreError> | false | undefined
}

/**
 * The default retry of a failed token-file write: from 1 second, doubling, jittered, at most a
 * minute apart, until it succeeds.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultWriteRetry: Schedule.Schedule<unknown, unknown> = Schedule.exponential("1 second").pipe(
  Schedule.jittered,
  Schedule.union(Schedule.spaced("1 minute"))
)

const isNotFound = (error: PlatformError.PlatformError): boolean =>
  error._tag === "SystemError" && error.reason === "NotFound"

const ioError = (method: string, description: string) => new TokenStoreError({ method, reason: "Io", description })

/** Where writes go: a symlink's target (so the link survives), followed even when it does not exist yet. */
const resolveTarget = (fs: FileSystem.FileSystem, path: string) =>
  fs.realPath(path).pipe(
    Effect.catchIf(isNotFound, () =>
      fs.readLink(path).pipe(
        Effect.map((link) => resolveSibling(path, link)),
        Effect.orElseSucceed(() => path)
      )),
    Effect.mapError((e) => ioError("load", `cannot resolve ${path}: ${e.message}`))
  )

/** Refuses a FIFO, device, directory, … by its `stat`, without opening it (opening a FIFO blocks). */
const requireRegularFile = (fs: FileSystem.FileSystem, target: string) =>
  fs.stat(target).pipe(
    Effect.flatMap((info) =>
      info.type === "File"
        ? Effect.void
        : Effect.fail(ioError("load", `${target} is not a regular file (${info.type})`))
    ),
    Effect.catchTag("SystemError", (e) => isNotFound(e) ? Effect.void : Effect.fail(ioError("load", e.message))),
    Effect.catchTag("BadArgument", (e) => Effect.fail(ioError("load", e.message)))
  )

const lockTarget = (target: string) =>
  acquireLock(`${target}.lock`).pipe(
    Effect.catchAll((failure) =>
      failure._tag === "Held"
        ? Effect.fail(
          new TokenStoreError({
            method: "load",
            reason: "Locked",
            description: `${target} is in use by ${
              failure.holder === undefined
                ? "another process"
                : `process ${failure.holder.pid} (started ${failure.holder.startedAt})`
            } (lock file ${target}.lock); one process per token file`
          })
        )
        : Effect.logWarning("TokenStore: cannot create the lock file; writes are not guarded against other processes")
          .pipe(Effect.annotateLogs({ store: target, error: failure.error.message }))
    )
  )

/** Cleans up after a crashed writer: stale temp files, an interrupted in-place write. Under the lock. */
const tidyAfterCrash = (target: string) =>
  Effect.gen(function*() {
    const removed = yield* removeStaleTemps(target).pipe(
      Effect.catchAll((e) =>
        Effect.as(
          Effect.logWarning("TokenStore: cannot remove stale temp files").pipe(
            Effect.annotateLogs({ store: target, error: e.message })
          ),
          0
        )
      )
    )
    if (removed > 0) yield* Effect.logInfo(`TokenStore: removed ${removed} stale temp file(s)`)
    const recovered = yield* recoverPending(target).pipe(
      Effect.mapError((e) => ioError("load", `cannot complete an interrupted write of ${target}: ${e.message}`))
    )
    if (recovered) yield* Effect.logWarning("TokenStore: completed an interrupted in-place write")
  }).pipe(Effect.annotateLogs({ store: target }))

/** An existing file readable by others is fixed to 0600, with a warning. */
const fixMode = (fs: FileSystem.FileSystem, target: string) =>
  fs.stat(target).pipe(
    Effect.flatMap((info) =>
      (info.mode & 0o077) === 0 ? Effect.void : fs.chmod(target, 0o600).pipe(
        Effect.zipRight(Effect.logWarning("TokenStore: the token file was readable by others; mode set to 0600")),
        Effect.catchAll((e) =>
          Effect.logWarning("TokenStore: the token file is readable by others and its mode cannot be set to 0600")
            .pipe(Effect.annotateLogs({ error: e.message }))
        ),
        Effect.annotateLogs({ store: target, mode: (info.mode & 0o777).toString(8) })
      )
    ),
    Effect.orElse(() => Effect.void) // no file yet: it is created 0600
  )

/** Each entry must hold the token of the user it is keyed by. */
const checkOwners = (file: typeof StoreFile.Type): Either.Either<Map<string, UserToken>, string> => {
  const wrong = Object.entries(file.tokens).find(([key, token]) => key !== token.userId)
  return wrong === undefined
    ? Either.right(new Map(Object.entries(file.tokens)))
    : Either.left(`the entry of user ${wrong[0]} holds the token of user ${wrong[1].userId}`)
}

const decodeText = (target: string, text: string) =>
  parseJson(text).pipe(
    Either.mapLeft((problem) => `${target} is ${problem}`),
    Either.flatMap((json) =>
      Either.mapLeft(decodeStoreFile(json), (e) => `${target}: ${describeParseError(e, "unexpected content")}`)
    ),
    Either.flatMap((file) => Either.mapLeft(checkOwners(file), (problem) => `${target}: ${problem}`)),
    Either.mapLeft((description) => new TokenStoreError({ method: "load", reason: "Corrupt", description }))
  )

const loadFile = (fs: FileSystem.FileSystem, target: string) =>
  fs.readFileString(target).pipe(
    Effect.map(Option.some),
    Effect.catchIf(isNotFound, () => Effect.succeed(Option.none<string>())),
    Effect.mapError((cause) => ioError("load", `cannot read ${target}: ${cause.message}`)),
    Effect.flatMap(Option.match({
      onNone: () => Effect.succeed(new Map<string, UserToken>()),
      onSome: (text) => decodeText(target, text)
    }))
  )

const persistFile = (fs: FileSystem.FileSystem, target: string) => (tokens: ReadonlyMap<string, UserToken>) =>
  encodeStoreFile({ version: 1, tokens: Object.fromEntries(tokens) }).pipe(
    Either.mapLeft((e) =>
      new TokenStoreError({ method: "persist", reason: "Corrupt", description: describeParseError(e) })
    ),
    Effect.flatMap((encoded) =>
      writeAtomic(target, JSON.stringify(encoded, null, 2) + "\n", 0o600).pipe(
        Effect.mapError((cause) => ioError("persist", `cannot write ${target}: ${cause.message}`)),
        Effect.provideService(FileSystem.FileSystem, fs)
      )
    )
  )

/**
 * A store kept in one JSON file (mode 0600), loaded when the layer is built and rewritten on every
 * change. What it handles:
 *
 * - Crashes: writes are atomic (temp file `<file>.<random>.tmp`, created 0600, in the same
 *   directory; fsync; rename), so a crash leaves the old or the new file. Temp files left by a
 *   crash are removed at the next start.
 * - A target that cannot be renamed over (a single file bind-mounted into a container: `EBUSY`;
 *   another device: `EXDEV`) is written in place behind a journal (`<file>.pending`), which
 *   completes an interrupted write at the next start.
 * - A failed write (disk full, read-only file system) loses nothing: the change stays in effect in
 *   memory, `changes` gets `WriteFailed`, a warning is logged, and the file is written again on
 *   `writeRetry` until it succeeds (`WriteRecovered`).
 * - A symlink is written through (its target is replaced, the link stays).
 * - An existing file readable by others is set to 0600, with a warning.
 * - A missing file is an empty store. A corrupt file (invalid JSON, wrong shape, an entry holding
 *   another user's token) fails with `Corrupt` and is never treated as empty; a path that is not a
 *   regular file (FIFO, directory, device) fails with `Io` without being opened.
 * - One process per file: an advisory lock file `<file>.lock` (O_EXCL, holding the pid and start
 *   time) is taken for the layer's lifetime; a second process fails with `Locked` naming the first.
 *   A lock left by a dead process is taken over. To share tokens between processes, use a
 *   database-backed store.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeFile = (
  path: string,
  options: FileOptions = {}
): Effect.Effect<TokenStore.Service, TokenStoreError, FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const target = yield* resolveTarget(fs, path)
    yield* requireRegularFile(fs, target)
    yield* lockTarget(target)
    yield* tidyAfterCrash(target).pipe(Effect.provideService(FileSystem.FileSystem, fs))
    yield* fixMode(fs, target)
    const writeBehind = options.writeRetry === false
      ? undefined
      : { schedule: options.writeRetry ?? defaultWriteRetry, scope: yield* Effect.scope, name: target }
    return yield* makeWith({ load: loadFile(fs, target), persist: persistFile(fs, target) }, writeBehind)
  })

/**
 * The file store as a layer (see {@link makeFile}); provide a `FileSystem` (e.g.
 * `NodeFileSystem.layer` from `@effect/platform-node`). The lock and the write retries live in the
 * layer's scope.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFile = (
  path: string,
  options: FileOptions = {}
): Layer.Layer<TokenStore, TokenStoreError, FileSystem.FileSystem> => Layer.scoped(TokenStore, makeFile(path, options))
