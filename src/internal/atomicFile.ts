// Crash-safe file replacement.
//
// Normal path: write a temp file `<name>.<random>.tmp` (created 0600 with O_EXCL, never chmod-ed
// later) next to the target, fsync it, rename it over the target, then (best effort) fsync the
// directory so the rename itself is durable. A crash leaves the old or the new file, and at most a
// stale temp file, which `removeStaleTemps` deletes at the next start.
//
// When the target cannot be renamed over (EBUSY: a single file bind-mounted into a container;
// EXDEV: the target is on another device), the file is written in place, recoverably: the complete,
// fsynced temp file is first renamed to `<name>.pending` (the journal), then its bytes are copied
// over the target (no truncation before the new bytes are written; truncated to length, fsynced),
// then the journal is removed. A crash in between may leave the target torn, but the journal holds
// the whole new content and `recoverPending` copies it in at the next start. Until then, a reader
// that ignores the journal can see a torn file: only this module's owner should read the target.
import type * as PlatformError from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"

/** @internal */
export const dirname = (path: string): string => {
  const i = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"))
  // a root keeps its separator: `/`, `\`, and a drive's `C:\` (`C:` alone is that drive's current directory)
  const root = i === 0 || (i === 2 && /^[A-Za-z]:/.test(path))
  return i < 0 ? "." : path.slice(0, root ? i + 1 : i)
}

/** @internal */
export const basename = (path: string): string =>
  path.slice(Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\")) + 1)

/** A sibling path of `path` in the same directory. @internal */
export const resolveSibling = (path: string, relative: string): string =>
  relative.startsWith("/") || /^[A-Za-z]:[\\/]/.test(relative) ? relative : `${dirname(path)}/${relative}`

/** The journal of an in-place write of `path`. @internal */
export const pendingPath = (path: string): string => `${path}.pending`

const tempPath = (path: string, suffix: string): string => `${path}.${suffix}.tmp`

/** Whether `name` (a directory entry) is a temp file of `path`. @internal */
export const isTempOf = (path: string, name: string): boolean => {
  const base = basename(path)
  return name.startsWith(`${base}.`) && name.endsWith(".tmp") &&
    /^[0-9a-z]{1,16}$/.test(name.slice(base.length + 1, -".tmp".length))
}

/** Whether a failed rename can never work on this target, so an in-place write is needed. */
const renameImpossible = (error: PlatformError.PlatformError): boolean =>
  error._tag === "SystemError" &&
  (error.reason === "Busy" || (error.description ?? "").startsWith("EXDEV") ||
    (error.cause as { readonly code?: unknown } | undefined)?.code === "EXDEV")

const syncDirectory = (fs: FileSystem.FileSystem, path: string) =>
  // Durability of a rename (POSIX); not supported everywhere, so best effort.
  Effect.ignore(Effect.scoped(Effect.flatMap(fs.open(dirname(path), { flag: "r" }), (dir) => dir.sync)))

/**
 * Overwrites `path` with `bytes` without replacing the file (same inode, mode, owner, links): the
 * old bytes are overwritten, not truncated first. Creates it (0600) when missing.
 */
const overwriteInPlace = (fs: FileSystem.FileSystem, path: string, bytes: Uint8Array) =>
  Effect.scoped(Effect.gen(function*() {
    yield* fs.writeFile(path, new Uint8Array(0), { flag: "a", mode: 0o600 })
    const file = yield* fs.open(path, { flag: "r+" })
    yield* file.writeAll(bytes)
    yield* file.truncate(bytes.length)
    yield* file.sync
  }))

/** The journalled in-place write of a complete, fsynced temp file `tmp` over `path` (see above). */
const writeInPlace = (fs: FileSystem.FileSystem, path: string, tmp: string, bytes: Uint8Array) =>
  Effect.gen(function*() {
    const journal = pendingPath(path)
    yield* fs.rename(tmp, journal)
    yield* syncDirectory(fs, journal)
    yield* overwriteInPlace(fs, path, bytes)
    yield* fs.remove(journal)
  })

/** @internal */
export const writeAtomic = (
  path: string,
  content: string,
  mode: number
): Effect.Effect<void, PlatformError.PlatformError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const suffix = yield* Effect.sync(() => Math.random().toString(36).slice(2, 10) || "0")
    const tmp = tempPath(path, suffix)
    const bytes = new TextEncoder().encode(content)
    yield* Effect.scoped(Effect.gen(function*() {
      const file = yield* fs.open(tmp, { flag: "wx", mode })
      yield* file.writeAll(bytes)
      yield* file.sync
    })).pipe(
      Effect.zipRight(
        fs.rename(tmp, path).pipe(
          Effect.catchIf(renameImpossible, () => writeInPlace(fs, path, tmp, bytes))
        )
      ),
      // the temp file is ours: remove it when anything before the rename failed
      Effect.tapError(() => Effect.ignore(fs.remove(tmp)))
    )
    yield* syncDirectory(fs, path)
  })

/**
 * Completes an in-place write interrupted by a crash: copies the journal over `path` and removes
 * it. Returns whether there was one.
 *
 * @internal
 */
export const recoverPending = (
  path: string
): Effect.Effect<boolean, PlatformError.PlatformError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const journal = pendingPath(path)
    if (!(yield* fs.exists(journal))) return false
    const bytes = yield* fs.readFile(journal)
    yield* overwriteInPlace(fs, path, bytes)
    yield* fs.remove(journal)
    return true
  })

/**
 * Removes the temp files of `path` that a crashed writer left behind; returns how many. Only the
 * process that owns `path` (holds its lock) may call this: a live writer's temp file looks the same.
 *
 * @internal
 */
export const removeStaleTemps = (
  path: string
): Effect.Effect<number, PlatformError.PlatformError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const dir = dirname(path)
    const names = yield* fs.readDirectory(dir).pipe(
      Effect.catchIf((e) => e._tag === "SystemError" && e.reason === "NotFound", () => Effect.succeed([]))
    )
    const stale = names.filter((name) => isTempOf(path, name))
    yield* Effect.forEach(stale, (name) => fs.remove(`${dir}/${name}`), { discard: true })
    return stale.length
  })
