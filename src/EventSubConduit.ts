/**
 * EventSub over a conduit: one app, any number of processes, up to 20,000 shards. `layer` provides the
 * same `EventSub` service as the WebSocket transport (`subscribe(definition, condition)`, `follows`, …)
 * plus `EventSubConduit` (the conduit id, the shards served):
 *
 * ```ts
 * import * as EventSubConduit from "effect-twitch/EventSubConduit"
 *
 * // process 2 of 3, six shards: serves shards 1 and 4 (shard % total === index)
 * const Conduit = EventSubConduit.layer({ shardCount: 6, shards: { index: 1, total: 3 } }).pipe(
 *   Layer.provide(EventSubConduit.layerStaticLeases) // or EventSubConduitSql.layerLeasesPg({ url }): takeover
 * )
 * ```
 *
 * What it does at start (with the app token, `Helix.withApp`):
 * - finds the conduit: `conduitId` if given (a conduit that does not exist: `EventSubConduitNotFound`),
 *   else the app's first conduit, else a new one; sets its shard count to `shardCount` if it differs
 *   (lowering it disables the top shards). With `EventSubConduitSql` this runs under a database lock, so
 *   processes starting together find one conduit, not one each.
 * - takes its shards from the `ShardLeases` service: exactly the configured ones (`layerStaticLeases`), or
 *   leases in PostgreSQL (`EventSubConduitSql`): a process also takes over the shards of a peer whose lease
 *   expired (killed, hung), and gives them back when that peer returns. Two processes configured with the
 *   same shard ids: the second fails at start with `EventSubConduitShardConflict`.
 * - opens one WebSocket session per shard and assigns it to its shard right after the welcome (Twitch closes
 *   a session not assigned within 10 seconds), again after every reconnect; a lost session is reopened with
 *   backoff. It subscribes to `conduit.shard.disabled` for the conduit and reopens a shard of its own that
 *   Twitch disabled.
 *
 * Webhook shards instead of sessions: `layerWebhook({ …, callback, secret })` assigns the shards the process
 * serves to its callback and provides `EventSubWebhook` too (mount its handler as for `EventSubWebhook.layer`;
 * the same checks: signature, replay window, dedupe, bounded buffer).
 *
 * Subscriptions are created once, with the transport `{ method: "conduit", conduit_id }`: before creating,
 * the app's subscriptions on the conduit are listed and one of the same type, version and condition is
 * adopted, so a restart (or a peer) does not duplicate it. Every process that wants events of a
 * subscription subscribes to it (Twitch routes each notification to one shard, by channel id, whichever
 * process serves it). A stream that ends leaves its Twitch subscription in place (peers may consume it):
 * delete it with `Helix.deleteEventsubSubscription`, or delete the conduit.
 *
 * Twitch's rules to know: a notification whose shard is disabled goes to one other shard, and is dropped if
 * that one is disabled too (no replay); a conduit whose shards all stay disabled for 72 hours is deleted
 * with its subscriptions (a restart after that creates a new conduit and subscribes anew); 5 conduits per
 * client; subscriptions on a conduit need the app token and count against the app's cost like webhooks.
 *
 * @since 0.2.0
 */
import type * as Socket from "@effect/platform/Socket"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import * as EventSub from "./EventSub.js"
import type { EventSubError } from "./EventSubError.js"
import * as EventSubTypes from "./EventSubTypes.js"
import * as EventSubWebhook from "./EventSubWebhook.js"
import * as Helix from "./Helix.js"
import * as ConduitsApi from "./Helix/Conduits.js"
import { TaggedError } from "./internal/errors.js"
import { appCreate, appList } from "./internal/eventsubAppApi.js"
import * as Engine from "./internal/eventsubConduit.js"
import type { EventDecoder } from "./internal/eventsubRegistry.js"
import * as Service from "./internal/eventsubService.js"
import * as Webhook from "./internal/eventsubWebhook.js"
import * as WebhookHttp from "./internal/eventsubWebhookHttp.js"
import { TwitchConfig } from "./TwitchConfig.js"

const Tagged = TaggedError("EventSubConduit")

/**
 * The conduit named by `conduitId` does not exist (or belongs to another client).
 *
 * @since 0.2.0
 * @category errors
 */
export class EventSubConduitNotFound extends Tagged<EventSubConduitNotFound>()("EventSubConduitNotFound", {
  conduitId: Schema.String
}) {
  /**
   * @since 0.2.0
   */
  override get message(): string {
    return `EventSub conduit ${this.conduitId} does not exist (Get Conduits does not list it for this client)`
  }
}

/**
 * Another live process is configured with some of the same shard ids (its lease on them did not expire
 * within the wait): check each process's `shards`.
 *
 * @since 0.2.0
 * @category errors
 */
export class EventSubConduitShardConflict extends Tagged<EventSubConduitShardConflict>()(
  "EventSubConduitShardConflict",
  { conduitId: Schema.String, shards: Schema.Array(Schema.Number), holder: Schema.String }
) {
  /**
   * @since 0.2.0
   */
  override get message(): string {
    return `EventSub conduit ${this.conduitId}: shard(s) ${this.shards.join(", ")} are configured in another ` +
      `live process too (${this.holder}); give each process its own shard ids`
  }
}

/**
 * Bad options (a shard id outside the conduit, a bad `index/total`), or a Helix or database failure at
 * start.
 *
 * @since 0.2.0
 * @category errors
 */
export class EventSubConduitError extends Tagged<EventSubConduitError>()("EventSubConduitError", {
  operation: Schema.String,
  description: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {
  /**
   * @since 0.2.0
   */
  override get message(): string {
    return `EventSub conduit ${this.operation}: ${this.description}`
  }
}

/**
 * @since 0.2.0
 * @category errors
 */
export type EventSubConduitFailure = EventSubConduitNotFound | EventSubConduitShardConflict | EventSubConduitError

/**
 * Which shards this process serves, and how that changes.
 *
 * @since 0.2.0
 * @category tags
 */
export class ShardLeases extends Context.Tag("effect-twitch/EventSubConduit/ShardLeases")<
  ShardLeases,
  ShardLeases.Service
>() {}

/**
 * @since 0.2.0
 */
export declare namespace ShardLeases {
  /**
   * @since 0.2.0
   * @category models
   */
  export interface Join {
    readonly conduitId: string
    readonly shardCount: number
    /** the shards this process is configured with */
    readonly shards: ReadonlyArray<number>
    /** this process's name in leases and errors */
    readonly instance: string
  }

  /**
   * @since 0.2.0
   * @category models
   */
  export interface Service {
    /** `true`: peers are coordinated (leases); `false`: each process serves its configured shards only */
    readonly coordinated: boolean
    /** runs the conduit lookup so that processes starting together do not each create a conduit */
    readonly exclusive: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | EventSubConduitError, R>
    /** the shards to serve, now and as they change, until the scope closes (then they are given up) */
    readonly join: (
      join: Join
    ) => Effect.Effect<
      SubscriptionRef.SubscriptionRef<ReadonlySet<number>>,
      EventSubConduitShardConflict | EventSubConduitError,
      Scope.Scope
    >
  }
}

/**
 * No coordination: each process serves exactly its configured shards. At start, a configured shard that
 * Twitch still shows enabled on a session after 15 seconds (time for Twitch to notice a dead process's
 * session) fails with `EventSubConduitShardConflict`: another process serves it. Nobody takes over a dead process's shards: use `EventSubConduitSql` for that.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerStaticLeases: Layer.Layer<ShardLeases> = Layer.succeed(ShardLeases, {
  coordinated: false,
  exclusive: (effect) => effect,
  join: (join) => SubscriptionRef.make<ReadonlySet<number>>(new Set(join.shards))
})

/**
 * @since 0.2.0
 * @category tags
 */
export class EventSubConduit extends Context.Tag("effect-twitch/EventSubConduit")<
  EventSubConduit,
  EventSubConduit.Service
>() {}

/**
 * @since 0.2.0
 */
export declare namespace EventSubConduit {
  /**
   * @since 0.2.0
   * @category models
   */
  export interface Service {
    readonly conduitId: string
    readonly shardCount: number
    /** the shards this process is configured with */
    readonly configured: ReadonlyArray<number>
    /** the shards it serves now (configured ones, and any taken over from a dead peer) */
    readonly served: Effect.Effect<ReadonlySet<number>>
    /** the WebSocket session each served shard is assigned to now */
    readonly sessions: Effect.Effect<ReadonlyMap<number, string>>
  }
}

/**
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** Use this conduit (it must exist); default: the app's first conduit, else a new one. */
  readonly conduitId?: string | undefined
  /** Set the conduit's shard count to this (default: keep it; 1 for a new conduit). */
  readonly shardCount?: number | undefined
  /** This process's shards: explicit ids, or `{ index, total }` (the shards with `id % total === index`). */
  readonly shards: ReadonlyArray<number> | { readonly index: number; readonly total: number }
  /** This process's name in leases and errors (default `<hostname>:<pid>`). */
  readonly instance?: string | undefined
  /** Used only to fill conditions that name a user (`follows`' moderator, `chatMessages`' reader). */
  readonly defaultUser?: string | undefined
  /** Ask Twitch for this keepalive (10–600 s; default Twitch's 10). */
  readonly keepaliveTimeoutSeconds?: number | undefined
  /** Events buffered per stream before delivery waits (default 1024). */
  readonly consumerBuffer?: number | undefined
  /** Message ids remembered for dedupe: at least this many, at most twice (default 50,000). */
  readonly dedupeWindow?: number | undefined
  /** Delays between attempts to reopen a shard's session (default exponential from 500 ms, jittered). */
  readonly reconnectSchedule?: Schedule.Schedule<unknown, unknown> | undefined
}

/**
 * Shards served by a webhook callback instead of WebSocket sessions (see `layerWebhook`).
 *
 * @since 0.2.0
 * @category models
 */
export interface WebhookOptions extends Options {
  /** The public HTTPS URL Twitch posts to (where `EventSubWebhook`'s handler is mounted). */
  readonly callback: string
  /** 10–100 ASCII characters; signs every message. Never logged, never in an error or URL. */
  readonly secret: Redacted.Redacted<string>
}

const helixError = (operation: string) => (error: Helix.HelixFailure) =>
  new EventSubConduitError({ operation, description: error.message, cause: error })

const conduitApi = (helix: Helix.Helix.Service, conduitId: string): Engine.ConduitApi => ({
  create: appCreate(helix, () => ({ method: "conduit", conduit_id: conduitId })),
  list: appList(helix, (t) => t.method === "conduit" && t.conduit_id === conduitId),
  assign: (shard, sessionId) =>
    helix.request(ConduitsApi.updateConduitShards, {
      conduit_id: conduitId,
      shards: [{ id: String(shard), transport: { method: "websocket", session_id: sessionId } }]
    }).pipe(
      Helix.withApp,
      Effect.mapError((error) => error.message),
      Effect.flatMap((answer) =>
        answer.errors.length === 0 ? Effect.void : Effect.fail(answer.errors.map((e) => e.message).join("; "))
      )
    )
})

/** The webhook engine's Helix side for conduit subscriptions (a stream that ends deletes nothing: peers share them). */
const conduitWebhookApi = (api: Engine.ConduitApi): Webhook.WebhookApi => ({
  create: api.create,
  list: api.list,
  delete: () => Effect.void
})

/** Webhook shards: each served shard assigned to the callback (up to 100 per call), re-assigned when disabled. */
const makeWebhookShards = (helix: Helix.Helix.Service, conduitId: string, options: WebhookOptions) =>
  Effect.gen(function*() {
    const served = new Set<number>()
    const lock = yield* Effect.makeSemaphore(1)
    const transport = { method: "webhook", callback: options.callback, secret: Redacted.value(options.secret) }
    const assign = (ids: ReadonlyArray<number>) =>
      Effect.forEach(chunksOf(ids, 100), (chunk) =>
        helix.request(ConduitsApi.updateConduitShards, {
          conduit_id: conduitId,
          shards: chunk.map((id) => ({ id: String(id), transport }))
        }).pipe(
          Helix.withApp,
          Effect.flatMap((answer) =>
            answer.errors.length === 0
              ? Effect.void
              : Effect.fail(`shard(s) ${answer.errors.map((e) => `${e.id}: ${e.message}`).join("; ")}`)
          ),
          Effect.mapError((e) => typeof e === "string" ? e : e.message),
          Effect.retry(Schedule.exponential("500 millis").pipe(Schedule.intersect(Schedule.recurs(6)))),
          Effect.catchAll((reason) => Effect.logWarning(`EventSub conduit ${conduitId}: assigning ${reason}`))
        ), { discard: true })
    return {
      serve: (wanted: ReadonlySet<number>) =>
        lock.withPermits(1)(Effect.gen(function*() {
          const added = [...wanted].filter((id) => !served.has(id))
          served.clear()
          for (const id of wanted) served.add(id)
          if (added.length > 0) yield* assign(added)
        })),
      restart: (shard: number) =>
        Effect.suspend(() =>
          served.has(shard)
            ? Effect.zipRight(
              Effect.logWarning(`EventSub conduit shard ${shard}: disabled by Twitch; assigning the callback again`),
              assign([shard])
            )
            : Effect.void
        ),
      served: Effect.sync(() => new Set(served) as ReadonlySet<number>),
      sessions: Effect.sync(() => new Map([...served].map((id) => [id, options.callback] as const)))
    }
  })

const chunksOf = <A>(items: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, i * size + size))

/** The conduit to use, with its shard count set. */
const resolveConduit = (helix: Helix.Helix.Service, options: Options) =>
  Effect.gen(function*() {
    const listed = yield* Effect.mapError(
      Helix.withApp(helix.request(ConduitsApi.getConduits, {})),
      helixError("get conduits")
    )
    let conduit = options.conduitId === undefined
      ? listed.data[0]
      : listed.data.find((c) => c.id === options.conduitId)
    if (conduit === undefined && options.conduitId !== undefined) {
      return yield* new EventSubConduitNotFound({ conduitId: options.conduitId })
    }
    if (conduit === undefined) {
      const created = yield* Effect.mapError(
        Helix.withApp(helix.request(ConduitsApi.createConduits, { shard_count: options.shardCount ?? 1 })),
        helixError("create conduit")
      )
      conduit = created.data[0]
      if (conduit === undefined) {
        return yield* new EventSubConduitError({ operation: "create conduit", description: "no data" })
      }
      yield* Effect.logInfo(`EventSub conduit: created ${conduit.id} with ${conduit.shard_count} shards`)
    }
    if (options.shardCount !== undefined && conduit.shard_count !== options.shardCount) {
      yield* Effect.mapError(
        Helix.withApp(helix.request(ConduitsApi.updateConduits, { id: conduit.id, shard_count: options.shardCount })),
        helixError("update conduit")
      )
      conduit = { id: conduit.id, shard_count: options.shardCount }
    }
    return conduit
  })

/** The configured shard ids, checked against the shard count. */
const configuredShards = (
  shards: Options["shards"],
  shardCount: number
): Effect.Effect<ReadonlyArray<number>, EventSubConduitError> => {
  const bad = (description: string) => Effect.fail(new EventSubConduitError({ operation: "shards", description }))
  if (!Array.isArray(shards)) {
    const { index, total } = shards as { readonly index: number; readonly total: number }
    if (!Number.isInteger(total) || total < 1 || !Number.isInteger(index) || index < 0 || index >= total) {
      return bad(`index ${index} of ${total}: need 0 <= index < total`)
    }
    return Effect.succeed(Array.from({ length: shardCount }, (_, i) => i).filter((i) => i % total === index))
  }
  const ids = shards as ReadonlyArray<number>
  const outside = ids.filter((id) => !Number.isInteger(id) || id < 0 || id >= shardCount)
  if (outside.length > 0) return bad(`shard ids ${outside.join(", ")} are outside the conduit's 0..${shardCount - 1}`)
  return Effect.succeed([...new Set(ids)].sort((a, b) => a - b))
}

/** Without leases: a configured shard enabled on a connected session is another process's. */
const checkUnserved = (
  helix: Helix.Helix.Service,
  conduitId: string,
  shards: ReadonlyArray<number>,
  instance: string
) =>
  Effect.gen(function*() {
    const listed = yield* helix.paginate(ConduitsApi.getConduitShards, { conduit_id: conduitId, status: "enabled" })
      .pipe(Stream.runCollect, Helix.withApp, Effect.mapError(helixError("get conduit shards")))
    const mine = new Set(shards)
    const taken = Chunk.toReadonlyArray(listed).map((s) => Number(s.id)).filter((id) => mine.has(id))
    if (taken.length > 0) {
      return yield* new EventSubConduitShardConflict({
        conduitId,
        shards: taken,
        holder: `a connected session not of ${instance}`
      })
    }
  })

const defaultInstance = (): string => {
  const host = typeof process === "undefined" ? "host" : process.env.HOSTNAME ?? "host"
  return `${host}:${typeof process === "undefined" ? 0 : process.pid}`
}

/** What both shard transports offer the common part. */
interface Shards {
  readonly subscribe: <A>(
    decoder: EventDecoder<A>,
    condition: Readonly<Record<string, unknown>>
  ) => Stream.Stream<A, EventSubError>
  readonly serve: (shards: ReadonlySet<number>) => Effect.Effect<void>
  readonly restart: (shard: number, sessionId: string | undefined) => Effect.Effect<void>
  readonly served: Effect.Effect<ReadonlySet<number>>
  readonly sessions: Effect.Effect<ReadonlyMap<number, string>>
  readonly status: Stream.Stream<EventSub.Status>
}

/** The common part: the conduit, the configured shards, the leases, `conduit.shard.disabled`, the services. */
const start = <E, R>(
  options: Options,
  transport: (
    conduitId: string,
    undecodable: (event: EventSub.Undecodable) => Effect.Effect<void>
  ) => Effect.Effect<Shards, E, R>
): Effect.Effect<
  { readonly eventSub: EventSub.EventSub.Service; readonly conduit: EventSubConduit.Service },
  EventSubConduitFailure | E,
  Helix.Helix | TwitchConfig | ShardLeases | Scope.Scope | R
> =>
  Effect.gen(function*() {
    const helix = yield* Helix.Helix
    const config = yield* TwitchConfig
    const leases = yield* ShardLeases
    const instance = options.instance ?? defaultInstance()
    const conduit = yield* leases.exclusive(resolveConduit(helix, options))
    const configured = yield* configuredShards(options.shards, conduit.shard_count)
    if (!leases.coordinated) {
      // a session of a process that just died may still look connected until Twitch notices: wait a while
      yield* checkUnserved(helix, conduit.id, configured, instance).pipe(
        Effect.retry({
          schedule: Schedule.spaced("1 second").pipe(Schedule.intersect(Schedule.recurs(15))),
          while: (e) => e._tag === "EventSubConduitShardConflict"
        })
      )
    }
    const sink = yield* Service.makeUndecodableSink(options.consumerBuffer ?? 1024)
    const shards = yield* transport(conduit.id, sink.publish)
    const owned = yield* leases.join({
      conduitId: conduit.id,
      shardCount: conduit.shard_count,
      shards: configured,
      instance
    })
    yield* Effect.forkScoped(Stream.runForEach(owned.changes, shards.serve))
    // Twitch disabled one of our shards (e.g. a half-open socket we have not noticed): serve it anew
    yield* shards.subscribe(Service.decoderFor(EventSubTypes.ConduitShardDisabledV1), {
      client_id: config.clientId,
      conduit_id: conduit.id
    }).pipe(
      Stream.runForEach((event) => shards.restart(Number(event.shard_id), event.transport.session_id)),
      Effect.catchAll((error) =>
        Effect.logWarning(`EventSub conduit: the conduit.shard.disabled stream ended: ${error.message}`)
      ),
      Effect.forkScoped
    )
    const eventSub = Service.makeService({
      needsUser: false,
      subscribe: (_userId, decoder, condition) => shards.subscribe(decoder, condition),
      status: shards.status,
      undecodable: sink.stream
    }, Service.resolveUserWith(helix.actingUserId, options.defaultUser))
    return {
      eventSub,
      conduit: {
        conduitId: conduit.id,
        shardCount: conduit.shard_count,
        configured,
        served: shards.served,
        sessions: shards.sessions
      }
    }
  })

const engineOptions = (options: Options) => ({
  consumerBuffer: options.consumerBuffer ?? 1024,
  dedupeWindow: options.dedupeWindow ?? 50_000,
  maxMessageAge: Duration.minutes(10),
  warningInterval: Duration.seconds(10),
  createSchedule: Schedule.exponential("500 millis").pipe(Schedule.jittered, Schedule.intersect(Schedule.recurs(5)))
})

/**
 * The `EventSub` service over a conduit whose shards are WebSocket sessions, and the conduit's state.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<
  { readonly eventSub: EventSub.EventSub.Service; readonly conduit: EventSubConduit.Service },
  EventSubConduitFailure,
  Helix.Helix | TwitchConfig | ShardLeases | Socket.WebSocketConstructor | Scope.Scope
> =>
  start(options, (conduitId, undecodable) =>
    Effect.gen(function*() {
      const helix = yield* Helix.Helix
      const config = yield* TwitchConfig
      return yield* Engine.make(conduitApi(helix, conduitId), {
        ...engineOptions(options),
        url: config.eventSubWsUrl,
        keepaliveTimeoutSeconds: options.keepaliveTimeoutSeconds,
        keepaliveGrace: Duration.seconds(2),
        openTimeout: config.requestTimeout,
        welcomeTimeout: Duration.sum(config.requestTimeout, Duration.seconds(5)),
        reconnectSchedule: options.reconnectSchedule ??
          Schedule.exponential("500 millis").pipe(Schedule.jittered, Schedule.intersect(Schedule.recurs(8))),
        ingressHighWater: 4096,
        releaseGrace: Duration.seconds(3)
      }, undecodable)
    }))

/**
 * The `EventSub` service over a conduit whose shards this process serves with its webhook callback, the
 * conduit's state, and the request handler to mount (as `EventSubWebhook.make`'s).
 *
 * @since 0.2.0
 * @category constructors
 */
export const makeWebhook = (options: WebhookOptions): Effect.Effect<
  {
    readonly eventSub: EventSub.EventSub.Service
    readonly conduit: EventSubConduit.Service
    readonly webhook: EventSubWebhook.EventSubWebhook.Service
  },
  EventSubConduitFailure,
  Helix.Helix | TwitchConfig | ShardLeases | Scope.Scope
> =>
  Effect.gen(function*() {
    if (!/^[\x20-\x7e]{10,100}$/.test(Redacted.value(options.secret)) || !URL.canParse(options.callback)) {
      return yield* new EventSubConduitError({
        operation: "webhook",
        description: "the secret must be 10–100 ASCII characters and the callback a URL"
      })
    }
    let handlers: WebhookHttp.Handlers | undefined
    const started = yield* start(options, (conduitId, undecodable) =>
      Effect.gen(function*() {
        const helix = yield* Helix.Helix
        const engine = yield* Webhook.make(conduitWebhookApi(conduitApi(helix, conduitId)), {
          ...engineOptions(options),
          secret: options.secret,
          bufferEvents: 2048
        }, undecodable)
        handlers = yield* WebhookHttp.handlers(engine, 1024 * 1024)
        const shards = yield* makeWebhookShards(helix, conduitId, options)
        return {
          ...shards,
          subscribe: engine.subscribe,
          restart: (shard: number) => shards.restart(shard),
          status: Stream.never
        }
      }))
    return { ...started, webhook: handlers! }
  })

/**
 * `EventSub` over a conduit, and `EventSubConduit`. Needs `Helix` (with an app token), `TwitchConfig`,
 * a `Socket.WebSocketConstructor` and `ShardLeases` (`layerStaticLeases`, or `EventSubConduitSql`).
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<
  EventSub.EventSub | EventSubConduit,
  EventSubConduitFailure,
  Helix.Helix | TwitchConfig | ShardLeases | Socket.WebSocketConstructor
> =>
  Layer.scopedContext(
    Effect.map(make(options), ({ conduit, eventSub }) =>
      Context.make(EventSub.EventSub, eventSub).pipe(Context.add(EventSubConduit, conduit)))
  )

/**
 * `EventSub` over a conduit whose shards are served by a webhook callback, `EventSubConduit`, and
 * `EventSubWebhook` (mount its handler as with `EventSubWebhook.layer`). Each process assigns the shards
 * it serves to its own callback; with `EventSubConduitSql` leases, a dead process's shards are assigned to
 * a live one's callback.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerWebhook = (
  options: WebhookOptions
): Layer.Layer<
  EventSub.EventSub | EventSubConduit | EventSubWebhook.EventSubWebhook,
  EventSubConduitFailure,
  Helix.Helix | TwitchConfig | ShardLeases
> =>
  Layer.scopedContext(
    Effect.map(makeWebhook(options), ({ conduit, eventSub, webhook }) =>
      Context.make(EventSub.EventSub, eventSub).pipe(
        Context.add(EventSubConduit, conduit),
        Context.add(EventSubWebhook.EventSubWebhook, webhook)
      ))
  )
