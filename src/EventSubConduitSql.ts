/**
 * Shard leases for `EventSubConduit` in PostgreSQL through `@effect/sql`: processes sharing a conduit
 * coordinate through one table, one row per shard, holding two leases with an expiry:
 * - `home`: the live process configured with the shard. A second process configured with a shard whose
 *   home lease is held (and renewed) by another fails at start with `EventSubConduitShardConflict` after
 *   waiting one lease period (a restart of the same process waits for its old lease to expire instead).
 * - `holder`: the process serving it. A shard whose home and holder leases expired (the process was
 *   killed or hangs) is taken over by a live peer, claimed with `FOR UPDATE SKIP LOCKED` so that peers
 *   take different shards; the orphans are shared out among the live processes. When the home process
 *   returns, the peer gives the shard back at its next renewal.
 *
 * Renewals and claims run every `leaseDuration / 4` on the database's clock (`now()`), so clock skew
 * between machines does not matter. A process that cannot reach the database keeps serving what it holds
 * and tries again; a lease it lost meanwhile is dropped at the next renewal. Takeover time is at most the
 * lease duration plus one renewal period (plus the shard's WebSocket welcome and assignment).
 *
 * The SQL packages are optional peer dependencies, needed only by this module (`@effect/sql`, and
 * `@effect/sql-pg` for `layerPg`).
 *
 * @since 0.2.0
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as SubscriptionRef from "effect/SubscriptionRef"
import { EventSubConduitError, EventSubConduitShardConflict, ShardLeases } from "./EventSubConduit.js"
import { displayUrl } from "./TokenStoreSql.js"

/**
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** The lease table: a lower-case name, optionally schema-qualified (default `effect_twitch_conduit_shards`). */
  readonly table?: string | undefined
  /** How long a lease lives without renewal (default 4 seconds; renewed every quarter of it). */
  readonly leaseDuration?: Duration.DurationInput | undefined
}

/**
 * @since 0.2.0
 * @category models
 */
export interface PgOptions extends Options {
  /** `postgres://user:password@host:port/database`; the password never appears in an error. */
  readonly url: string | Redacted.Redacted<string>
}

const TABLE = /^[a-z_][a-z0-9_]{0,39}(\.[a-z_][a-z0-9_]{0,39})?$/

const dbError = (operation: string) => (cause: unknown) =>
  new EventSubConduitError({
    operation,
    description: cause instanceof Error ? cause.message : String(cause),
    cause
  })

interface ShardRow {
  readonly shard_id: number
}

interface HomeRow {
  readonly shard_id: number
  readonly home: string
}

/**
 * The leases over the `SqlClient` you provide (PostgreSQL).
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<ShardLeases, EventSubConduitError, SqlClient.SqlClient> =>
  Layer.effect(ShardLeases, make(options))

/**
 * The leases service over the `SqlClient` in context; creates the table if needed.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<ShardLeases["Type"], EventSubConduitError, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const table = options.table ?? "effect_twitch_conduit_shards"
    if (!TABLE.test(table)) {
      return yield* new EventSubConduitError({ operation: "leases", description: `bad table name ${table}` })
    }
    const ttlMs = Math.max(1000, Duration.toMillis(Duration.decode(options.leaseDuration ?? Duration.seconds(4))))
    const t = sql(table)
    const ttl = sql.literal(`interval '${ttlMs} milliseconds'`)
    // one creator at a time (CREATE TABLE IF NOT EXISTS races on the catalog)
    yield* sql.withTransaction(Effect.gen(function*() {
      yield* sql`SELECT pg_advisory_xact_lock(hashtext(${table}))`
      yield* sql`CREATE TABLE IF NOT EXISTS ${t} (
        conduit_id text NOT NULL,
        shard_id integer NOT NULL,
        home text,
        home_expires timestamptz,
        holder text,
        holder_expires timestamptz,
        PRIMARY KEY (conduit_id, shard_id)
      )`
    })).pipe(Effect.mapError(dbError("create lease table")))

    // a transaction-scoped advisory lock: it goes with the transaction's connection, whatever happens
    const exclusive: ShardLeases["Type"]["exclusive"] = (effect) =>
      sql.withTransaction(
        Effect.zipRight(
          Effect.mapError(sql`SELECT pg_advisory_xact_lock(hashtext(${table + ":conduit"}))`, dbError("conduit lock")),
          effect
        )
      ).pipe(
        Effect.catchIf(
          (e): e is SqlError.SqlError => typeof e === "object" && e !== null && "_tag" in e && e._tag === "SqlError",
          (e) => Effect.fail(dbError("conduit lock")(e))
        )
      )

    /** Takes the home lease of every configured shard, or names the live process holding one. */
    const claimHome = (conduitId: string, shards: ReadonlyArray<number>, me: string) =>
      sql.withTransaction(Effect.gen(function*() {
        if (shards.length === 0) return [] as ReadonlyArray<HomeRow>
        const held = yield* sql<HomeRow>`SELECT shard_id, home FROM ${t}
          WHERE conduit_id = ${conduitId} AND ${sql.in("shard_id", shards)}
            AND home IS NOT NULL AND home <> ${me} AND home_expires > now()
          FOR UPDATE`
        if (held.length > 0) return held
        yield* sql`UPDATE ${t} SET home = ${me}, home_expires = now() + ${ttl}
          WHERE conduit_id = ${conduitId} AND ${sql.in("shard_id", shards)}`
        return [] as ReadonlyArray<HomeRow>
      }))

    /** One renewal: the shards this process serves afterwards (orphans taken over only if `takeOver`). */
    const tick = (conduitId: string, shardCount: number, me: string, takeOver: boolean) =>
      Effect.gen(function*() {
        yield* sql`UPDATE ${t} SET home_expires = now() + ${ttl} WHERE conduit_id = ${conduitId} AND home = ${me}`
        // give back what a live home process wants again
        yield* sql`UPDATE ${t} SET holder = NULL, holder_expires = NULL
          WHERE conduit_id = ${conduitId} AND holder = ${me}
            AND home IS NOT NULL AND home <> ${me} AND home_expires > now()`
        const kept = yield* sql<ShardRow>`UPDATE ${t} SET holder_expires = now() + ${ttl}
          WHERE conduit_id = ${conduitId} AND holder = ${me} AND holder_expires > now() RETURNING shard_id`
        const home = yield* sql<ShardRow>`UPDATE ${t} SET holder = ${me}, holder_expires = now() + ${ttl}
          WHERE conduit_id = ${conduitId} AND home = ${me} AND shard_id < ${shardCount}
            AND (holder IS NULL OR holder = ${me} OR holder_expires < now()) RETURNING shard_id`
        // orphans (home and holder expired): each live process takes its share
        const taken = !takeOver ? [] : yield* sql.withTransaction(Effect.gen(function*() {
          const [live] = yield* sql<{ readonly n: number }>`SELECT count(DISTINCT home)::int AS n FROM ${t}
            WHERE conduit_id = ${conduitId} AND home_expires > now()`
          const [orphans] = yield* sql<{ readonly n: number }>`SELECT count(*)::int AS n FROM ${t}
            WHERE conduit_id = ${conduitId} AND shard_id < ${shardCount}
              AND (holder IS NULL OR holder_expires < now()) AND (home IS NULL OR home_expires < now())`
          const share = Math.ceil((orphans?.n ?? 0) / Math.max(1, live?.n ?? 1))
          if (share === 0) return [] as ReadonlyArray<ShardRow>
          const free = yield* sql<ShardRow>`SELECT shard_id FROM ${t}
            WHERE conduit_id = ${conduitId} AND shard_id < ${shardCount}
              AND (holder IS NULL OR holder_expires < now()) AND (home IS NULL OR home_expires < now())
            ORDER BY shard_id LIMIT ${share} FOR UPDATE SKIP LOCKED`
          if (free.length === 0) return free
          return yield* sql<ShardRow>`UPDATE ${t} SET holder = ${me}, holder_expires = now() + ${ttl}
            WHERE conduit_id = ${conduitId} AND ${sql.in("shard_id", free.map((r) => r.shard_id))}
            RETURNING shard_id`
        }))
        if (taken.length > 0) {
          yield* Effect.logInfo(
            `EventSub conduit ${conduitId}: took over shard(s) ${taken.map((r) => r.shard_id).join(", ")}`
          )
        }
        return new Set([...kept, ...home, ...taken].map((r) => r.shard_id)) as ReadonlySet<number>
      })

    const release = (conduitId: string, me: string) =>
      Effect.ignore(Effect.all([
        sql`UPDATE ${t} SET holder = NULL, holder_expires = NULL WHERE conduit_id = ${conduitId} AND holder = ${me}`,
        sql`UPDATE ${t} SET home = NULL, home_expires = NULL WHERE conduit_id = ${conduitId} AND home = ${me}`
      ], { discard: true }))

    const join: ShardLeases["Type"]["join"] = ({ conduitId, instance, shardCount, shards }) =>
      Effect.gen(function*() {
        // a name of its own per run: a restarted process must not renew its previous run's leases
        const me = `${instance}#${Math.random().toString(36).slice(2, 8)}`
        yield* sql`INSERT INTO ${t} (conduit_id, shard_id)
          SELECT ${conduitId}, g FROM generate_series(0, ${shardCount - 1}) AS g
          ON CONFLICT DO NOTHING`.pipe(Effect.mapError(dbError("lease rows")))
        // a live home elsewhere: wait one lease period (it may be our own previous run's), then give up
        const deadline = (yield* Clock.currentTimeMillis) + ttlMs + 1000
        while (true) {
          const held = yield* Effect.mapError(claimHome(conduitId, shards, me), dbError("claim shards"))
          if (held.length === 0) break
          if ((yield* Clock.currentTimeMillis) > deadline) {
            return yield* new EventSubConduitShardConflict({
              conduitId,
              shards: held.map((r) => r.shard_id),
              holder: held[0]!.home.replace(/#[a-z0-9]*$/, "")
            })
          }
          yield* Effect.sleep(Duration.millis(250))
        }
        yield* Effect.addFinalizer(() => release(conduitId, me))
        // no takeover during the first lease period: peers starting with us claim their own shards first
        const joinedAt = yield* Clock.currentTimeMillis
        const first = yield* Effect.mapError(tick(conduitId, shardCount, me, false), dbError("claim shards"))
        const ref = yield* SubscriptionRef.make(first)
        yield* Effect.flatMap(Clock.currentTimeMillis, (now) => tick(conduitId, shardCount, me, now - joinedAt > ttlMs))
          .pipe(
            Effect.flatMap((owned) =>
              SubscriptionRef.update(ref, (current) => sameSet(current, owned) ? current : owned)
            ),
            Effect.catchAll((error) => Effect.logWarning(`EventSub conduit leases: ${error.message}; retrying`)),
            Effect.repeat(Schedule.spaced(Duration.millis(ttlMs / 4))),
            Effect.delay(Duration.millis(ttlMs / 4)),
            Effect.interruptible,
            Effect.forkScoped
          )
        return ref
      })

    return { coordinated: true, exclusive, join }
  })

const sameSet = (a: ReadonlySet<number>, b: ReadonlySet<number>): boolean =>
  a.size === b.size && [...a].every((x) => b.has(x))

/**
 * The leases in PostgreSQL (needs `@effect/sql-pg`). The database down at start fails the layer with
 * `EventSubConduitError` naming the URL without its password.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerPg = (options: PgOptions): Layer.Layer<ShardLeases, EventSubConduitError> =>
  Layer.scoped(
    ShardLeases,
    Effect.gen(function*() {
      const PgClient = yield* Effect.tryPromise({
        try: () => import("@effect/sql-pg/PgClient"),
        catch: (cause) =>
          new EventSubConduitError({
            operation: "leases",
            description: "@effect/sql-pg is not installed (an optional peer dependency)",
            cause
          })
      })
      const url = typeof options.url === "string" ? Redacted.make(options.url) : options.url
      const client = yield* PgClient.make({
        url,
        maxConnections: 4,
        connectTimeout: Duration.seconds(5),
        applicationName: "effect-twitch-conduit"
      }).pipe(
        Effect.provide(Reactivity.layer),
        Effect.mapError((e) =>
          new EventSubConduitError({
            operation: "leases",
            description: `cannot connect to ${displayUrl(url)}: ${e.message}`
          })
        )
      )
      return yield* make(options).pipe(Effect.provideService(SqlClient.SqlClient, client))
    })
  )
