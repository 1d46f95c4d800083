// An advisory lock file for one writer per file on one machine: `<file>.lock`, created with
// O_EXCL (mode 0600) and holding `{ "pid": …, "startedAt": "<ISO time the process started>" }`.
// A lock whose process is gone (or whose pid now belongs to a different process: same pid, other
// start time, as with pid 1 in a restarted container) is stale and taken over. Released (removed,
// if still ours) when the scope closes. Advisory: it guards writers that take it, nothing else;
// pids are only compared on one machine (one pid namespace).
//
// Known limit: two processes that find the same stale lock at the same moment may both take it
// over (remove + create is not atomic); the window is one unlink and one open.
import type * as PlatformError from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Scope from "effect/Scope"
import { parseJson } from "./json.js"

/** @internal */
export interface LockHolder {
  readonly pid: number
  readonly startedAt: string
}

/** @internal */
export type LockFailure =
  | { readonly _tag: "Held"; readonly holder: LockHolder | undefined }
  | { readonly _tag: "Io"; readonly error: PlatformError.PlatformError }

const self = (): LockHolder => ({ pid: process.pid, startedAt: new Date(performance.timeOrigin).toISOString() })

const sameHolder = (a: LockHolder, b: LockHolder): boolean => a.pid === b.pid && a.startedAt === b.startedAt

const decodeHolder = (text: string): LockHolder | undefined => {
  const json = Either.getOrUndefined(parseJson(text))
  if (typeof json !== "object" || json === null) return undefined
  const { pid, startedAt } = json as { readonly pid?: unknown; readonly startedAt?: unknown }
  return typeof pid === "number" && Number.isInteger(pid) && pid > 0 && typeof startedAt === "string"
    ? { pid, startedAt }
    : undefined
}

/** Whether the holder's process still runs (signal 0 checks without signalling). */
const isAlive = (holder: LockHolder): boolean => {
  const me = self()
  if (holder.pid === me.pid) return holder.startedAt === me.startedAt // else: a previous life of our pid
  try {
    process.kill(holder.pid, 0)
    return true
  } catch (error) {
    return (error as { readonly code?: unknown }).code === "EPERM" // exists, owned by another user
  }
}

const ioFailure = (error: PlatformError.PlatformError): LockFailure => ({ _tag: "Io", error })

/** Creates the lock file with our holder record; `false` when it already exists. */
const tryCreate = (fs: FileSystem.FileSystem, path: string, holder: LockHolder) =>
  Effect.scoped(Effect.gen(function*() {
    const file = yield* fs.open(path, { flag: "wx", mode: 0o600 })
    yield* file.writeAll(new TextEncoder().encode(JSON.stringify(holder) + "\n"))
    yield* file.sync
  })).pipe(
    Effect.as(true),
    Effect.catchIf((e) => e._tag === "SystemError" && e.reason === "AlreadyExists", () => Effect.succeed(false)),
    Effect.mapError(ioFailure)
  )

/** The current holder; `undefined` when the lock is gone, unreadable or garbage (a crash mid-create). */
const readHolder = (fs: FileSystem.FileSystem, path: string) =>
  fs.readFileString(path).pipe(
    Effect.map(decodeHolder),
    Effect.orElseSucceed(() => undefined)
  )

const release = (fs: FileSystem.FileSystem, path: string, holder: LockHolder) =>
  readHolder(fs, path).pipe(
    Effect.flatMap((current) =>
      current !== undefined && sameHolder(current, holder) ? Effect.ignore(fs.remove(path)) : Effect.void
    )
  )

/**
 * Takes the lock at `path` for the scope, taking over a stale one. Fails with `Held` (naming the
 * live holder) or `Io` (the lock file cannot be created: read-only directory, …).
 *
 * @internal
 */
export const acquireLock = (path: string): Effect.Effect<void, LockFailure, FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const me = self()
    const held = (holder: LockHolder | undefined) => Effect.fail<LockFailure>({ _tag: "Held", holder })
    if (!(yield* tryCreate(fs, path, me))) {
      const holder = yield* readHolder(fs, path)
      if (holder !== undefined && isAlive(holder)) return yield* held(holder)
      yield* fs.remove(path).pipe(
        Effect.catchIf((e) => e._tag === "SystemError" && e.reason === "NotFound", () => Effect.void),
        Effect.mapError(ioFailure)
      )
      // once: whoever created it in between holds it
      if (!(yield* tryCreate(fs, path, me))) return yield* Effect.flatMap(readHolder(fs, path), held)
    }
    yield* Effect.addFinalizer(() => release(fs, path, me))
  })
