// Crash-safe file replacement: write a temp file in the same directory, fsync it, rename it over
// the target, then (best effort) fsync the directory so the rename itself is durable.
import type * as PlatformError from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"

/** @internal */
export const dirname = (path: string): string => {
  const i = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"))
  return i < 0 ? "." : i === 0 ? path.slice(0, 1) : path.slice(0, i)
}

/** @internal */
export const writeAtomic = (
  path: string,
  content: string,
  mode: number
): Effect.Effect<void, PlatformError.PlatformError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const suffix = yield* Effect.sync(() => Math.random().toString(36).slice(2, 10))
    const tmp = `${path}.${suffix}.tmp`
    const bytes = new TextEncoder().encode(content)
    yield* Effect.scoped(Effect.gen(function*() {
      const file = yield* fs.open(tmp, { flag: "wx", mode })
      yield* file.writeAll(bytes)
      yield* file.sync
    })).pipe(
      Effect.zipRight(fs.rename(tmp, path)),
      // the temp file is ours: remove it when anything before the rename failed
      Effect.tapError(() => Effect.ignore(fs.remove(tmp)))
    )
    // Durability of the rename (POSIX); not supported everywhere, so best effort.
    yield* Effect.ignore(Effect.scoped(Effect.flatMap(fs.open(dirname(path), { flag: "r" }), (dir) => dir.sync)))
  })
