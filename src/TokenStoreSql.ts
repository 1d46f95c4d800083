/**
 * A `TokenStore` in a SQL database through `@effect/sql`: PostgreSQL, shared by any number of
 * processes (one refresh per user across all of them, changes announced with `LISTEN/NOTIFY`), or
 * SQLite, embedded, for one process.
 *
 * The SQL packages are optional peer dependencies of `effect-twitch`, needed only by this module:
 * `@effect/sql` and `@effect/experimental`, plus `@effect/sql-pg` for {@link layerPg} or
 * `@effect/sql-sqlite-node` for {@link layerSqlite} (their Effect 3 releases: `@effect/sql@0.52`,
 * `@effect/sql-pg@0.53`, `@effect/sql-sqlite-node@0.53`).
 *
 * @since 0.1.0
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Queue from "effect/Queue"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { describeParseError } from "./internal/errors.js"
import { makeKeyedLock } from "./internal/keyedLock.js"
import { UserToken } from "./Token.js"
import type { TokenChange } from "./TokenStore.js"
import { changesCapacity, defaultWriteRetry, TokenStore, TokenStoreError } from "./TokenStore.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * The table holding one row per user: a lower-case name, optionally schema-qualified
   * (`twitch.tokens`), at most 40 characters (default `effect_twitch_tokens`). Migrations are
   * recorded in `<table>_migrations`; on PostgreSQL, changes are announced on the channel
   * `<table>_changes`.
   */
  readonly table?: string | undefined
  /**
   * How a failed write is retried in the background (default `TokenStore.defaultWriteRetry`).
   * `false`: no write-behind; a failed write fails `set` / `remove` and changes nothing.
   */
  readonly writeRetry?: Schedule.Schedule<unknown, TokenStoreError> | false | undefined
  /**
   * How taking a user's lock is retried while the database cannot be reached (default: 4 more
   * tries over about 3 seconds).
   */
  readonly lockRetry?: Schedule.Schedule<unknown, TokenStoreError> | undefined
  /**
   * How long to wait for another process holding a user's lock, i.e. refreshing that user's token
   * (PostgreSQL `lock_timeout`; default 30 seconds). Past it, the call fails with `Locked`.
   */
  readonly lockTimeout?: Duration.DurationInput | undefined
  /**
   * Re-read the table on this interval to catch changes whose notification was missed (a dropped
   * `LISTEN` connection) and, on SQLite, changes written by other processes (default 1 minute;
   * `false`: never).
   */
  readonly resyncInterval?: Duration.DurationInput | false | undefined
}

/**
 * A PostgreSQL connection for {@link layerPg}.
 *
 * @since 0.1.0
 * @category models
 */
export interface PgOptions extends Options {
  /** `postgres://user:password@host:port/database`; the password never appears in an error. */
  readonly url: Redacted.Redacted<string> | string
  /** Pool size (default 10). */
  readonly maxConnections?: number | undefined
  /** How long to wait for the first connection (default 5 seconds). */
  readonly connectTimeout?: Duration.DurationInput | undefined
}

/**
 * The default table name.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultTable = "effect_twitch_tokens"

const TABLE_NAME = /^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$/

// ------------------------------------------------------------------------------------------------ rows

const Int = Schema.Union(Schema.Number, Schema.NumberFromString) // PostgreSQL sends bigint as text
const Millis = Schema.compose(Int, Schema.DateTimeUtcFromNumber)

/** A row as the database holds it; decoded into a `UserToken` with its tokens `Redacted`. */
const Row = Schema.Struct({
  user_id: Schema.String,
  login: Schema.String,
  scopes: Schema.parseJson(Schema.Array(Schema.String)),
  access_token: Schema.Redacted(Schema.String),
  refresh_token: Schema.OptionFromNullOr(Schema.Redacted(Schema.String)),
  expires_at: Schema.OptionFromNullOr(Millis),
  obtained_at: Millis,
  version: Int
})
const decodeRow = Schema.decodeUnknownEither(Row)

interface Entry {
  readonly token: UserToken
  /** The row's version when read or written; 0 for a change not written yet. */
  readonly version: number
}

const toEntry = (row: unknown): Either.Either<Entry, TokenStoreError> =>
  decodeRow(row).pipe(
    Either.map((r): Entry => ({
      token: new UserToken({
        userId: r.user_id,
        login: r.login,
        scopes: r.scopes,
        accessToken: r.access_token,
        refreshToken: r.refresh_token,
        expiresAt: r.expires_at,
        obtainedAt: r.obtained_at
      }),
      version: r.version
    })),
    Either.mapLeft((e) => {
      const userId = typeof row === "object" && row !== null && "user_id" in row ? String(row.user_id) : "?"
      return new TokenStoreError({
        method: "load",
        reason: "Corrupt",
        description: `the row of user ${userId}: ${describeParseError(e, "unexpected content")}`
      })
    })
  )

// ------------------------------------------------------------------------------------------------ errors

const causeText = (error: SqlError.SqlError): string => {
  const cause = error.cause
  if (cause instanceof AggregateError && cause.errors.length > 0) {
    return cause.errors.map((e) => (e instanceof Error ? e.message : String(e))).join("; ")
  }
  return cause instanceof Error && cause.message !== "" ? cause.message : String(cause ?? "")
}

const sqlCode = (error: SqlError.SqlError): string | undefined => {
  const cause: unknown = error.cause
  return typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string"
    ? cause.code
    : undefined
}

const ioError = (method: string, error: SqlError.SqlError) =>
  new TokenStoreError({ method, reason: "Io", description: `${error.message}: ${causeText(error)}`, cause: error })

/**
 * A connection URL as it may be shown: without its password (or `<the configured database>` when
 * it is not a URL).
 *
 * @since 0.1.0
 * @category utils
 */
export const displayUrl = (url: Redacted.Redacted<string> | string): string => {
  try {
    const parsed = new URL(Redacted.isRedacted(url) ? Redacted.value(url) : url)
    parsed.password = ""
    parsed.search = "" // may hold a password too
    return parsed.toString()
  } catch {
    return "<the configured database>"
  }
}

// ------------------------------------------------------------------------------------------------ schema

const migrations = (table: string, dialect: "pg" | "sqlite") => {
  const channel = `${table}_changes`
  const createTable = Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`CREATE TABLE ${sql(table)} (
      user_id text PRIMARY KEY NOT NULL,
      login text NOT NULL,
      scopes text NOT NULL,
      access_token text NOT NULL,
      refresh_token text,
      expires_at bigint,
      obtained_at bigint NOT NULL,
      version bigint NOT NULL
    )`
    if (dialect === "pg") {
      yield* sql`CREATE SEQUENCE ${sql(`${table}_version`)}`
      // every write, by any process (or by hand), announces the user id; readers re-read the row
      yield* sql.unsafe(`CREATE FUNCTION ${quoteIdent(`${table}_notify`)}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          PERFORM pg_notify('${channel}', COALESCE(NEW.user_id, OLD.user_id));
          RETURN NULL;
        END $$`)
      yield* sql.unsafe(`CREATE TRIGGER ${quoteIdent(`${table.split(".").pop()}_notify`)}
        AFTER INSERT OR UPDATE OR DELETE ON ${quoteIdent(table)}
        FOR EACH ROW EXECUTE FUNCTION ${quoteIdent(`${table}_notify`)}()`)
    }
  })
  return Migrator.fromRecord({ "1_create_tokens": createTable })
}

/** `a.b` → `"a"."b"`; names are checked against {@link TABLE_NAME} first. */
const quoteIdent = (name: string): string => name.split(".").map((part) => `"${part}"`).join(".")

// ------------------------------------------------------------------------------------------------ make

interface Deps {
  readonly sql: SqlClient.SqlClient
  readonly dialect: "pg" | "sqlite"
  readonly table: string
  readonly listen: Option.Option<(channel: string) => Stream.Stream<string, SqlError.SqlError>>
}

const pgListen = (
  sql: SqlClient.SqlClient
): Option.Option<(channel: string) => Stream.Stream<string, SqlError.SqlError>> =>
  "listen" in sql && typeof sql.listen === "function"
    ? Option.some(sql.listen as (channel: string) => Stream.Stream<string, SqlError.SqlError>)
    : Option.none()

/**
 * Builds the store over the `SqlClient` in context (PostgreSQL or SQLite), after running its
 * migrations.
 *
 * - Reads (`get`, `list`) are served from memory, loaded at start and kept current by this
 *   process's writes, by notifications of other processes' writes (PostgreSQL `LISTEN/NOTIFY`, sent
 *   by a trigger) and by a periodic re-read (`resyncInterval`). They keep working while the database
 *   is down.
 * - Writes touch one row (`INSERT … ON CONFLICT`, `DELETE`). A write that fails (database down)
 *   loses nothing: the change takes effect in this process, `changes` gets `WriteFailed`, and one
 *   background fiber writes it on `writeRetry` (`WriteRecovered`), as the file store does.
 * - `changes` carries this process's writes and, on PostgreSQL, every other process's too, so the
 *   `Bot`'s `registrations` see users registered anywhere.
 * - `lock` (PostgreSQL): `SELECT … FOR UPDATE` of the user's row in a transaction on a connection of
 *   its own; the transaction commits the writes made under it, so a refreshed pair is saved before the
 *   lock is released. A process killed while holding it loses its session, and the lock with it.
 *   SQLite has no `lock`: one process per database file.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<TokenStore.Service, TokenStoreError, SqlClient.SqlClient | Scope.Scope> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const table = options.table ?? defaultTable
    if (!TABLE_NAME.test(table) || table.length > 40) {
      return yield* new TokenStoreError({
        method: "make",
        reason: "Io",
        description: `invalid table name ${
          JSON.stringify(table)
        } (lower-case letters, digits and _, optionally schema.table, at most 40 characters)`
      })
    }
    const dialect = sql.onDialectOrElse({
      pg: () => "pg" as const,
      sqlite: () => "sqlite" as const,
      orElse: () => undefined
    })
    if (dialect === undefined) {
      return yield* new TokenStoreError({
        method: "make",
        reason: "Io",
        description: "only PostgreSQL and SQLite are supported"
      })
    }
    yield* migrate(sql, table, dialect)
    return yield* makeStore({ sql, dialect, table, listen: dialect === "pg" ? pgListen(sql) : Option.none() }, options)
  })

const migrate = (sql: SqlClient.SqlClient, table: string, dialect: "pg" | "sqlite") =>
  Migrator.make({})({ loader: migrations(table, dialect), table: `${table}_migrations` }).pipe(
    // two processes creating the migrations table at the same instant: the loser tries again
    Effect.retry({ times: 2, schedule: Schedule.spaced("100 millis") }),
    Effect.provideService(SqlClient.SqlClient, sql),
    Effect.mapError((e) =>
      e._tag === "SqlError"
        ? ioError("migrate", e)
        : new TokenStoreError({ method: "migrate", reason: "Io", description: e.message, cause: e })
    )
  )

/** The queries on the store's table, built once. */
const queriesOf = ({ dialect, sql, table }: Deps) => {
  const t = sql(table)
  const columns = sql.literal("user_id, login, scopes, access_token, refresh_token, expires_at, obtained_at, version")
  const nextVersion = sql.literal(
    dialect === "pg"
      ? `nextval('${table}_version')`
      : `(SELECT COALESCE(MAX(version), 0) + 1 FROM ${quoteIdent(table)})`
  )
  const rowsToEntries = (rows: ReadonlyArray<unknown>) => Effect.forEach(rows, (row) => toEntry(row))
  return {
    columns,
    t,
    rowsToEntries,
    selectAll: sql`SELECT ${columns} FROM ${t}`.pipe(Effect.flatMap(rowsToEntries)),
    selectMany: (userIds: ReadonlyArray<string>) =>
      sql`SELECT ${columns} FROM ${t} WHERE ${sql.in("user_id", userIds)}`.pipe(Effect.flatMap(rowsToEntries)),
    versions: sql<{ readonly user_id: string; readonly version: unknown }>`SELECT user_id, version FROM ${t}`,
    upsert: (token: UserToken) =>
      sql<{ readonly version: unknown }>`INSERT INTO ${t} (${columns}) VALUES (
        ${token.userId}, ${token.login}, ${JSON.stringify(token.scopes)}, ${Redacted.value(token.accessToken)},
        ${Option.getOrNull(Option.map(token.refreshToken, Redacted.value))},
        ${Option.getOrNull(Option.map(token.expiresAt, (at) => at.epochMillis))},
        ${token.obtainedAt.epochMillis}, ${nextVersion})
      ON CONFLICT (user_id) DO UPDATE SET login = excluded.login, scopes = excluded.scopes,
        access_token = excluded.access_token, refresh_token = excluded.refresh_token,
        expires_at = excluded.expires_at, obtained_at = excluded.obtained_at, version = excluded.version
      RETURNING version`.pipe(Effect.map((rows) => Number(rows[0]?.version ?? 0))),
    deleteRow: (userId: string) =>
      sql`DELETE FROM ${t} WHERE user_id = ${userId} RETURNING user_id`.pipe(Effect.map((rows) => rows.length > 0))
  }
}

/**
 * What the steps of one store share. Memory: the rows as last read or written, and the changes not
 * written yet (a token, or null for a removal). A user's entries change under `keyed(userId)` only.
 */
interface Store {
  readonly deps: Deps
  readonly q: ReturnType<typeof queriesOf>
  readonly writeRetry: Schedule.Schedule<unknown, TokenStoreError> | false
  readonly cache: Map<string, Entry>
  readonly pending: Map<string, UserToken | null>
  readonly keyed: ReturnType<typeof makeKeyedLock>
  readonly pubsub: PubSub.PubSub<TokenChange>
  readonly wake: Queue.Queue<void>
  /** The users written under the current `lock` (to requeue them if its commit fails). */
  readonly lockWrites: FiberRef.FiberRef<Set<string> | undefined>
  /** a WriteFailed was published, no WriteRecovered since */
  unwritten: boolean
}

const makeStoreState = (deps: Deps, options: Options): Effect.Effect<Store> =>
  Effect.gen(function*() {
    return {
      deps,
      q: queriesOf(deps),
      writeRetry: options.writeRetry === undefined ? defaultWriteRetry : options.writeRetry,
      cache: new Map(),
      pending: new Map(),
      keyed: makeKeyedLock(),
      pubsub: yield* PubSub.bounded<TokenChange>(changesCapacity),
      wake: yield* Queue.sliding<void>(1),
      lockWrites: FiberRef.unsafeMake<Set<string> | undefined>(undefined),
      unwritten: false
    }
  })

const publish = (st: Store, change: TokenChange) => PubSub.publish(st.pubsub, change)

const logged = (st: Store, what: string) => <A>(effect: Effect.Effect<A, TokenStoreError | SqlError.SqlError>) =>
  Effect.catchAll(effect, (error) =>
    Effect.logWarning(`TokenStoreSql: ${what} failed`).pipe(
      Effect.annotateLogs({ table: st.deps.table, error: error.message }),
      Effect.asVoid
    ))

// ------------------------------------------------------------------------------------------------ write-behind

const recoveredIfClean = (st: Store) =>
  Effect.suspend(() => {
    if (!st.unwritten || st.pending.size > 0) return Effect.void
    st.unwritten = false
    return Effect.zipRight(
      publish(st, { _tag: "WriteRecovered" }),
      Effect.logInfo("TokenStoreSql: written again after failed writes")
    )
  })

const writeFailed = (st: Store, error: TokenStoreError) =>
  Effect.gen(function*() {
    if (!st.unwritten) {
      st.unwritten = true
      yield* publish(st, { _tag: "WriteFailed", error })
      yield* Effect.logWarning("TokenStoreSql: write failed; the change is kept in memory and the write retried")
        .pipe(Effect.annotateLogs({ table: st.deps.table, error: error.message }))
    }
    yield* Queue.offer(st.wake, undefined)
  })

const flushOne = (st: Store, userId: string) =>
  st.keyed(
    userId,
    Effect.suspend(() => {
      const value = st.pending.get(userId)
      if (value === undefined) return Effect.void
      const write = value === null
        ? Effect.asVoid(st.q.deleteRow(userId))
        : Effect.map(st.q.upsert(value), (version) => void st.cache.set(userId, { token: value, version }))
      return Effect.tap(write, () => Effect.sync(() => st.pending.delete(userId)))
    })
  )

const flush = (st: Store) =>
  Effect.suspend(() => Effect.forEach(Array.from(st.pending.keys()), (id) => flushOne(st, id), { discard: true }))
    .pipe(
      Effect.mapError((e) => ioError("persist", e)),
      Effect.zipRight(recoveredIfClean(st))
    )

/** The background writer (woken by a failed write, retrying on `writeRetry`) and the flush at close. */
const startWriteBehind = (st: Store, writeRetry: Schedule.Schedule<unknown, TokenStoreError>) =>
  Effect.gen(function*() {
    const table = st.deps.table
    yield* Queue.take(st.wake).pipe(
      Effect.zipRight(
        flush(st).pipe(
          Effect.tapError((error) =>
            Effect.logDebug("TokenStoreSql: write retry failed").pipe(Effect.annotateLogs({ error: error.message }))
          ),
          Effect.retry(writeRetry),
          Effect.catchAll((error) =>
            Effect.logError("TokenStoreSql: stopped retrying a failed write; the next change writes again").pipe(
              Effect.annotateLogs({ table, error: error.message })
            )
          )
        )
      ),
      Effect.forever,
      Effect.interruptible,
      Effect.forkScoped
    )
    yield* Effect.addFinalizer(() =>
      flush(st).pipe(
        Effect.catchAll((error) =>
          Effect.logError("TokenStoreSql: closing with changes that could not be written").pipe(
            Effect.annotateLogs({ table, error: error.message })
          )
        )
      )
    )
  })

// ------------------------------------------------------------------------------------------------ writes

const noteLockWrite = (st: Store, userId: string) =>
  Effect.map(FiberRef.get(st.lockWrites), (writes) => void writes?.add(userId))

const set = (st: Store) => (token: UserToken): Effect.Effect<void, TokenStoreError> =>
  st.keyed(
    token.userId,
    Effect.gen(function*() {
      const userId = token.userId
      const before = st.cache.get(userId)
      const change: TokenChange = before === undefined ? { _tag: "Added", token } : { _tag: "Refreshed", token }
      const written = yield* Effect.either(st.q.upsert(token))
      if (Either.isLeft(written) && st.writeRetry === false) return yield* Effect.fail(ioError("set", written.left))
      yield* noteLockWrite(st, userId)
      if (Either.isRight(written)) {
        st.cache.set(userId, { token, version: written.right })
        st.pending.delete(userId)
        yield* publish(st, change)
        return yield* recoveredIfClean(st)
      }
      st.cache.set(userId, { token, version: before?.version ?? 0 })
      st.pending.set(userId, token)
      yield* publish(st, change)
      yield* writeFailed(st, ioError("set", written.left))
    })
  ).pipe(Effect.withSpan("TokenStoreSql.set"))

const remove = (st: Store) => (userId: string): Effect.Effect<void, TokenStoreError> =>
  st.keyed(
    userId,
    Effect.gen(function*() {
      const had = st.cache.has(userId)
      const deleted = yield* Effect.either(st.q.deleteRow(userId))
      if (Either.isLeft(deleted) && st.writeRetry === false) return yield* Effect.fail(ioError("remove", deleted.left))
      yield* noteLockWrite(st, userId)
      st.cache.delete(userId)
      if (Either.isRight(deleted)) {
        st.pending.delete(userId)
        if (had || deleted.right) yield* publish(st, { _tag: "Removed", userId })
        return yield* recoveredIfClean(st)
      }
      if (!had) return
      st.pending.set(userId, null)
      yield* publish(st, { _tag: "Removed", userId })
      yield* writeFailed(st, ioError("remove", deleted.left))
    })
  ).pipe(Effect.withSpan("TokenStoreSql.remove"))

// ------------------------------------------------------------------------------------------------ other processes' writes

/** Takes in a row read from the database (None: no row); under `keyed(userId)`. */
const absorb = (st: Store, userId: string, row: Option.Option<Entry>): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (st.pending.has(userId)) return Effect.void // ours, not written yet, wins
    const cached = st.cache.get(userId)
    if (Option.isNone(row)) {
      if (cached === undefined) return Effect.void
      st.cache.delete(userId)
      return publish(st, { _tag: "Removed", userId })
    }
    const entry = row.value
    if (cached !== undefined && entry.version <= cached.version) return Effect.void
    st.cache.set(userId, entry)
    return publish(
      st,
      cached === undefined ? { _tag: "Added", token: entry.token } : { _tag: "Refreshed", token: entry.token }
    )
  })

/** Re-reads some users' rows: one query, then each user under its lock. */
const reread = (st: Store, userIds: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    if (userIds.length === 0) return
    const found = new Map((yield* st.q.selectMany(userIds)).map((e) => [e.token.userId, e] as const))
    yield* Effect.forEach(userIds, (userId) => {
      const entry = found.get(userId)
      return entry !== undefined
        ? st.keyed(userId, absorb(st, userId, Option.some(entry)))
        // gone: confirm under the lock (a local write may have added it since)
        : st.keyed(
          userId,
          Effect.flatMap(st.q.selectMany([userId]), (rows) => absorb(st, userId, Option.fromNullable(rows[0])))
        )
    }, { discard: true })
  })

/** Compares every row's version with memory and re-reads what differs. */
const resync = (st: Store) =>
  Effect.gen(function*() {
    const versions = yield* st.q.versions
    const inDb = new Map(versions.map((r) => [r.user_id, Number(r.version)] as const))
    const differing = versions.filter((r) => st.cache.get(r.user_id)?.version !== Number(r.version))
      .map((r) => r.user_id)
    const gone = Array.from(st.cache.keys()).filter((userId) => !inDb.has(userId))
    yield* reread(st, [...differing, ...gone])
  }).pipe(Effect.mapError((e) => (e._tag === "SqlError" ? ioError("resync", e) : e)))

/**
 * LISTEN for other processes' changes (PostgreSQL): notifications carry the user id, a chunk of them is
 * re-read in one query; after a failure (database down) listen again and resync what was missed. Returns
 * once LISTEN is in place (a ping of our own heard): before the first read, so no change falls between.
 */
const startListening = (st: Store, listen: (channel: string) => Stream.Stream<string, SqlError.SqlError>) =>
  Effect.gen(function*() {
    const channel = `${st.deps.table}_changes`
    const ping = `@ping:${Math.random().toString(36).slice(2)}`
    const listening = yield* Deferred.make<void>()
    yield* listen(channel).pipe(
      Stream.runForEachChunk((chunk) => {
        const userIds = new Set(chunk)
        const pinged = userIds.delete(ping)
        return Effect.zipRight(
          pinged ? Deferred.succeed(listening, undefined) : Effect.void,
          logged(st, "re-read after a notification")(
            reread(st, Array.from(userIds).filter((id) => !id.startsWith("@ping:")))
          )
        )
      }),
      Effect.zipRight(Effect.logWarning("TokenStoreSql: LISTEN ended")),
      Effect.tapError((error) =>
        Effect.logWarning("TokenStoreSql: LISTEN failed").pipe(
          Effect.annotateLogs({ table: st.deps.table, error: error.message })
        )
      ),
      Effect.ignore,
      Effect.zipRight(Effect.sleep("5 seconds")),
      Effect.zipRight(logged(st, "resync")(resync(st))),
      Effect.forever,
      Effect.interruptible,
      Effect.forkScoped
    )
    yield* Deferred.await(listening).pipe(
      // ping until heard: LISTEN may not be in place for the first pings
      Effect.race(st.deps.sql`SELECT pg_notify(${channel}, ${ping})`.pipe(
        Effect.zipRight(Effect.sleep("50 millis")),
        Effect.forever
      )),
      Effect.timeoutFail({
        duration: "5 seconds",
        onTimeout: () => new TokenStoreError({ method: "make", reason: "Io", description: "LISTEN did not start" })
      }),
      logged(st, "LISTEN")
    )
  })

// ------------------------------------------------------------------------------------------------ the user's lock

/** BEGIN (then `begun`), wait for the user's row (FOR UPDATE), read it: another process may have refreshed meanwhile. */
const lockRow = (st: Store, userId: string, lockTimeoutMs: number, begun: () => void) => {
  const { sql } = st.deps
  return Effect.gen(function*() {
    yield* sql`BEGIN`
    begun()
    yield* sql.unsafe(`SET LOCAL lock_timeout = ${lockTimeoutMs}`)
    return yield* sql`SELECT ${st.q.columns} FROM ${st.q.t} WHERE user_id = ${userId} FOR UPDATE`
  }).pipe(
    Effect.mapError((e) =>
      sqlCode(e) === "55P03"
        ? new TokenStoreError({
          method: "lock",
          reason: "Locked",
          description: `user ${userId}: another process held the lock longer than ${lockTimeoutMs} ms`
        })
        : ioError("lock", e)
    )
  )
}

/** The writes made under a lock whose commit failed are not in the database: keep them, write them later. */
const requeue = (st: Store, writes: ReadonlySet<string>, error: TokenStoreError) =>
  Effect.gen(function*() {
    for (const written of writes) {
      yield* st.keyed(
        written,
        Effect.sync(() => {
          const cached = st.cache.get(written)
          if (!st.pending.has(written)) st.pending.set(written, cached === undefined ? null : cached.token)
        })
      )
    }
    if (writes.size > 0) yield* writeFailed(st, error)
  })

/** `TokenStore.lock` on PostgreSQL: a row lock in a transaction on a connection of its own. */
const lockOf = (st: Store, options: Options) => {
  const { sql } = st.deps
  const lockTimeoutMs = Math.max(1, Math.round(Duration.toMillis(Duration.decode(options.lockTimeout ?? "30 seconds"))))
  const lockRetry = options.lockRetry ??
    Schedule.exponential("200 millis").pipe(Schedule.jittered, Schedule.intersect(Schedule.recurs(4)))
  return <A, E, R>(userId: string, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | TokenStoreError, R> =>
    Effect.scoped(Effect.gen(function*() {
      const conn = yield* sql.reserve.pipe(Effect.mapError((e) => ioError("lock", e)), Effect.retry(lockRetry))
      const onConn = Effect.provideService(SqlClient.TransactionConnection, [conn, 0] as const)
      let open = false
      yield* Effect.addFinalizer(() => open ? Effect.ignore(onConn(sql`ROLLBACK`)) : Effect.void)
      const rows = yield* onConn(lockRow(st, userId, lockTimeoutMs, () => {
        open = true
      }))
      const [entry] = yield* st.q.rowsToEntries(rows)
      yield* st.keyed(userId, absorb(st, userId, Option.fromNullable(entry)))

      const writes = new Set<string>()
      const result = yield* onConn(Effect.locally(effect, st.lockWrites, writes)).pipe(Effect.exit)
      if (Exit.isFailure(result)) return yield* result // rolled back by the finalizer
      const committed = yield* Effect.either(onConn(sql`COMMIT`))
      open = false
      if (Either.isLeft(committed)) {
        const error = ioError("lock", committed.left)
        if (st.writeRetry === false) return yield* Effect.fail(error)
        yield* requeue(st, writes, error)
      }
      return result.value
    })).pipe(Effect.withSpan("TokenStoreSql.lock", { attributes: { userId } }))
}

// ------------------------------------------------------------------------------------------------ make

const makeStore = (deps: Deps, options: Options): Effect.Effect<TokenStore.Service, TokenStoreError, Scope.Scope> =>
  Effect.gen(function*() {
    const st = yield* makeStoreState(deps, options)
    if (st.writeRetry !== false) yield* startWriteBehind(st, st.writeRetry)
    if (Option.isSome(deps.listen)) yield* startListening(st, deps.listen.value)
    const initial = yield* st.q.selectAll.pipe(Effect.mapError((e) => (e._tag === "SqlError" ? ioError("load", e) : e)))
    for (const entry of initial) st.cache.set(entry.token.userId, entry)
    if (options.resyncInterval !== false) {
      yield* logged(st, "resync")(resync(st)).pipe(
        Effect.delay(Duration.decode(options.resyncInterval ?? Duration.minutes(1))),
        Effect.forever,
        Effect.interruptible,
        Effect.forkScoped
      )
    }
    const service: TokenStore.Service = {
      get: (userId) => Effect.sync(() => Option.map(Option.fromNullable(st.cache.get(userId)), (e) => e.token)),
      set: set(st),
      remove: remove(st),
      list: Effect.sync(() => Array.from(st.cache.values(), (e) => e.token)),
      changes: Stream.fromPubSub(st.pubsub)
    }
    return TokenStore.of(deps.dialect === "pg" ? { ...service, lock: lockOf(st, options) } : service)
  })

// ------------------------------------------------------------------------------------------------ layers

/**
 * The store over the `SqlClient` you provide (PostgreSQL or SQLite; e.g. your application's own
 * `PgClient.layer`). On PostgreSQL through `@effect/sql-pg`, changes of other processes arrive by
 * `LISTEN`; over another PostgreSQL client, by the periodic re-read only.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<TokenStore, TokenStoreError, SqlClient.SqlClient> =>
  Layer.scoped(TokenStore, make(options))

const missingPeer = (name: string) => (cause: unknown) =>
  new TokenStoreError({
    method: "make",
    reason: "Io",
    description: `${name} is not installed (npm install ${name}); it is an optional peer dependency`,
    cause
  })

/**
 * The store in PostgreSQL (needs `@effect/sql-pg`). The database down at start fails the layer with
 * `TokenStoreError` (`Io`) naming the URL without its password.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import * as TokenStoreSql from "effect-twitch/TokenStoreSql"
 *
 * const Tokens = TokenStoreSql.layerPg({ url: "postgres://postgres@127.0.0.1:5432/postgres" })
 * // Layer.provide(Tokens) where a TokenStore is needed
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerPg = (options: PgOptions): Layer.Layer<TokenStore, TokenStoreError> =>
  Layer.scoped(
    TokenStore,
    Effect.gen(function*() {
      const PgClient = yield* Effect.tryPromise({
        try: () => import("@effect/sql-pg/PgClient"),
        catch: missingPeer("@effect/sql-pg")
      })
      const url = typeof options.url === "string" ? Redacted.make(options.url) : options.url
      const client = yield* PgClient.make({
        url,
        maxConnections: options.maxConnections ?? 10,
        connectTimeout: options.connectTimeout ?? Duration.seconds(5),
        applicationName: "effect-twitch"
      }).pipe(
        Effect.provide(Reactivity.layer),
        Effect.mapError((e) =>
          new TokenStoreError({
            method: "make",
            reason: "Io",
            description: `cannot connect to ${displayUrl(url)}: ${causeText(e)}`
          })
        )
      )
      return yield* make(options).pipe(Effect.provideService(SqlClient.SqlClient, client))
    })
  )

/**
 * {@link layerPg} from `Config`, e.g. `{ url: Config.redacted("DATABASE_URL") }`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerPgConfig = (
  config: Config.Config.Wrap<PgOptions>
): Layer.Layer<TokenStore, TokenStoreError | ConfigError.ConfigError> =>
  Layer.unwrapEffect(Effect.map(Config.unwrap(config), layerPg))

/**
 * The store in a SQLite file (needs `@effect/sql-sqlite-node`, which builds `better-sqlite3`):
 * embedded, for one process. It offers no cross-process lock; other processes' writes are seen at
 * the periodic re-read only.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerSqlite = (
  filename: string,
  options: Options = {}
): Layer.Layer<TokenStore, TokenStoreError> =>
  Layer.scoped(
    TokenStore,
    Effect.gen(function*() {
      const SqliteClient = yield* Effect.tryPromise({
        try: () => import("@effect/sql-sqlite-node/SqliteClient"),
        catch: missingPeer("@effect/sql-sqlite-node")
      })
      const client = yield* SqliteClient.make({ filename }).pipe(
        Effect.provide(Reactivity.layer),
        Effect.mapError((e) =>
          new TokenStoreError({ method: "make", reason: "Io", description: `cannot open ${filename}: ${causeText(e)}` })
        )
      )
      return yield* make(options).pipe(Effect.provideService(SqlClient.SqlClient, client))
    })
  )
