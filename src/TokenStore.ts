/**
 * Where user tokens live: get / set / remove / list by user id, and a `changes` stream.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as PubSub from "effect/PubSub"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { writeAtomic } from "./internal/atomicFile.js"
import { TaggedError } from "./internal/errors.js"
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
    /** Adds or replaces the user's token; emits `Added` or `Refreshed` on `changes` once written. */
    readonly set: (token: UserToken) => Effect.Effect<void, TokenStoreError>
    /** Removes the user's token (no-op when absent); emits `Removed` when there was one. */
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
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export type TokenChange =
  | { readonly _tag: "Added"; readonly token: UserToken }
  | { readonly _tag: "Refreshed"; readonly token: UserToken }
  | { readonly _tag: "Removed"; readonly userId: string }

const Tagged = TaggedError("TokenStore")

/**
 * The store could not be read or written (I/O failure, corrupt file, …). A corrupt file is never
 * treated as an empty store.
 *
 * @since 0.1.0
 * @category errors
 */
export class TokenStoreError extends Tagged<TokenStoreError>()("TokenStoreError", {
  method: Schema.String,
  reason: Schema.Literal("Io", "Corrupt"),
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

/**
 * Builds a store over a backend that loads once and persists the whole map on every write.
 * Writes are serialised by a semaphore (a write never loses a concurrent one), persisted before the
 * in-memory view changes, and published on `changes` in write order.
 */
const makeWith = (backend: Backend): Effect.Effect<TokenStore.Service, TokenStoreError, never> =>
  Effect.gen(function*() {
    const initial = yield* backend.load
    const state = yield* Ref.make<ReadonlyMap<string, UserToken>>(initial)
    const lock = yield* Effect.makeSemaphore(1)
    const pubsub = yield* PubSub.bounded<TokenChange>(changesCapacity)

    const set = (token: UserToken) =>
      lock.withPermits(1)(Effect.gen(function*() {
        const current = yield* Ref.get(state)
        const next = new Map(current)
        next.set(token.userId, token)
        yield* backend.persist(next)
        yield* Ref.set(state, next)
        yield* PubSub.publish(
          pubsub,
          current.has(token.userId) ? { _tag: "Refreshed", token } : { _tag: "Added", token }
        )
      })).pipe(Effect.withSpan("TokenStore.set"))

    const remove = (userId: string) =>
      lock.withPermits(1)(Effect.gen(function*() {
        const current = yield* Ref.get(state)
        if (!current.has(userId)) return
        const next = new Map(current)
        next.delete(userId)
        yield* backend.persist(next)
        yield* Ref.set(state, next)
        yield* PubSub.publish(pubsub, { _tag: "Removed", userId })
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
const parseJson = Schema.decodeUnknownEither(Schema.parseJson())

/** Paths of the failing fields only: values may be tokens. */
const describeIssues = (error: ParseResult.ParseError): string => {
  const paths = ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) =>
    issue.path.length === 0 ? "<root>" : issue.path.join(".")
  )
  return `unexpected content at ${Array.from(new Set(paths)).slice(0, 5).join(", ")}`
}

/**
 * A store kept in one JSON file (mode 0600), loaded when the layer is built and rewritten
 * atomically (temp file in the same directory, fsync, rename) on every change, so a crash leaves
 * either the old or the new file. A missing file is an empty store; an unreadable or corrupt file
 * fails with `TokenStoreError` (reason `Io` / `Corrupt`) and is never treated as empty.
 *
 * One process should own the file: writes are serialised within the process, not across processes,
 * and changes made by another process after the load are not seen (and would be overwritten).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeFile = (path: string): Effect.Effect<TokenStore.Service, TokenStoreError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const load = fs.readFileString(path).pipe(
      Effect.map(Option.some),
      Effect.catchIf(
        (e) => e._tag === "SystemError" && e.reason === "NotFound",
        () => Effect.succeed(Option.none<string>())
      ),
      Effect.mapError((cause) =>
        new TokenStoreError({ method: "load", reason: "Io", description: `cannot read ${path}: ${cause.message}` })
      ),
      Effect.flatMap((content) =>
        Option.match(content, {
          onNone: () => Effect.succeed(new Map<string, UserToken>()),
          onSome: (text) =>
            parseJson(text).pipe(
              Either.mapLeft(() => `${path} is not valid JSON`),
              Either.flatMap((json) => Either.mapLeft(decodeStoreFile(json), (e) => `${path}: ${describeIssues(e)}`)),
              Either.match({
                onLeft: (description) =>
                  Effect.fail(new TokenStoreError({ method: "load", reason: "Corrupt", description })),
                onRight: (file) => Effect.succeed(new Map(Object.entries(file.tokens)))
              })
            )
        })
      )
    )
    const persist = (tokens: ReadonlyMap<string, UserToken>) =>
      encodeStoreFile({ version: 1, tokens: Object.fromEntries(tokens) }).pipe(
        Either.mapLeft((e) =>
          new TokenStoreError({ method: "persist", reason: "Corrupt", description: describeIssues(e) })
        ),
        Effect.flatMap((encoded) =>
          writeAtomic(path, JSON.stringify(encoded, null, 2) + "\n", 0o600).pipe(
            Effect.mapError((cause) =>
              new TokenStoreError({
                method: "persist",
                reason: "Io",
                description: `cannot write ${path}: ${cause.message}`
              })
            ),
            Effect.provideService(FileSystem.FileSystem, fs)
          )
        )
      )
    return yield* makeWith({ load, persist })
  })

/**
 * The file store as a layer; provide a `FileSystem` (e.g. `NodeFileSystem.layer` from
 * `@effect/platform-node`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFile = (path: string): Layer.Layer<TokenStore, TokenStoreError, FileSystem.FileSystem> =>
  Layer.effect(TokenStore, makeFile(path))
