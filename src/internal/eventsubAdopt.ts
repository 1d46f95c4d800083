// Subscriptions made once for a whole app (webhook callbacks, conduits): before creating one, the app's
// subscriptions are listed, and one of the same type + version + condition that still delivers is adopted,
// so a restart (or a peer on the same conduit) does not duplicate it; a 409 on create is resolved the same way.
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Schedule from "effect/Schedule"
import { type EventSubError, EventSubLimitExceeded, EventSubSubscribeError } from "../EventSubError.js"
import type { HelixFailure } from "../Helix.js"
import { Dedupe } from "./eventsubDedupe.js"
import { Ingress, WarningGate } from "./eventsubDispatcher.js"
import { type CreateFailure, failConsumers, Registry, sameCondition, type Subscription } from "./eventsubRegistry.js"
import { AgeGuard, type RouterState } from "./eventsubRouter.js"

/** A subscription as Get EventSub Subscriptions lists it. @internal */
export interface Listed {
  readonly id: string
  readonly status: string
  readonly version: string
  readonly condition: Readonly<Record<string, unknown>>
}

/** What adopting needs from a transport. @internal */
export interface AdoptContext<S extends Subscription> {
  readonly api: {
    readonly create: (request: {
      readonly type: string
      readonly version: string
      readonly condition: Readonly<Record<string, unknown>>
    }) => Effect.Effect<{ readonly id: string }, CreateFailure>
    readonly list: (type: string) => Effect.Effect<ReadonlyArray<Listed>, EventSubError>
  }
  readonly options: { readonly createSchedule: Schedule.Schedule<unknown, unknown> }
  readonly registry: Registry<S>
  readonly byKey: Map<string, S>
}

/** How one transport adopts: which listed statuses still deliver, and its log prefix. @internal */
export interface Adopting {
  readonly liveStatuses: ReadonlySet<string>
  readonly label: string
}

const findListed = <S extends Subscription>(ctx: AdoptContext<S>, adopting: Adopting, entry: S) =>
  Effect.map(
    Effect.mapError(ctx.api.list(entry.decoder.type), (error): CreateFailure => ({ kind: "transient", error })),
    (listed) =>
      listed.find((s) =>
        adopting.liveStatuses.has(s.status) && s.version === entry.decoder.version &&
        sameCondition(entry.condition, s.condition)
      )
  )

const adoptOrCreate = <S extends Subscription>(
  ctx: AdoptContext<S>,
  adopting: Adopting,
  entry: S
): Effect.Effect<string, CreateFailure> =>
  Effect.gen(function*() {
    const existing = yield* findListed(ctx, adopting, entry)
    if (existing !== undefined) {
      yield* Effect.logDebug(`${adopting.label}: adopted ${entry.decoder.type} subscription ${existing.id}`)
      return existing.id
    }
    const request = { type: entry.decoder.type, version: entry.decoder.version, condition: entry.condition }
    const created = yield* Effect.catchIf(
      ctx.api.create(request),
      (f) => f.kind === "conflict",
      (conflict) =>
        Effect.flatMap(
          findListed(ctx, adopting, entry),
          (found) =>
            found === undefined ? Effect.fail({ ...conflict, kind: "transient" as const }) : Effect.succeed(found)
        )
    )
    return created.id
  })

/** Creates (or adopts) the entry's subscription once; transient failures are retried on `createSchedule`. @internal */
export const ensureCreated = <S extends Subscription>(
  ctx: AdoptContext<S>,
  adopting: Adopting,
  entry: S
): Effect.Effect<void, EventSubError> =>
  entry.lock.withPermits(1)(Effect.suspend(() => {
    if (entry.twitchId !== null || entry.ended || entry.removed) return Effect.void
    return adoptOrCreate(ctx, adopting, entry).pipe(
      Effect.retry({ schedule: ctx.options.createSchedule, while: (failure) => failure.kind === "transient" }),
      Effect.map((id) => ctx.registry.setTwitchId(entry, id)),
      Effect.mapError((failure) => failure.error)
    )
  }))

/** The entry's streams fail with `error` after what came before; it leaves the registry. @internal */
export const endEntry = <S extends Subscription>(
  ctx: AdoptContext<S>,
  entry: S,
  error: EventSubError
): Effect.Effect<void> =>
  Effect.sync(() => {
    if (entry.ended) return
    ctx.registry.delete(entry)
    if (ctx.byKey.get(entry.key) === entry) ctx.byKey.delete(entry.key)
    failConsumers(entry, error)
  })

/** How a failed create is handled: a 409 is adopted; timeouts, 5xx and network errors are retried; the rest end the stream. @internal */
export const failureKind = (error: HelixFailure): CreateFailure["kind"] =>
  error._tag === "HelixConflict"
    ? "conflict"
    : error._tag === "HelixTimeout" || error._tag === "HelixTransportError" || error._tag === "HelixServerError"
    ? "transient"
    : "fatal"

/** A subscribe or delete with the app token (webhooks, conduits) failed. @internal */
export const appSubscribeError = (
  type: string | undefined,
  operation: "subscribe" | "delete",
  error: HelixFailure
): EventSubSubscribeError =>
  new EventSubSubscribeError({
    userId: "app",
    operation,
    ...(type === undefined ? {} : { type }),
    description: error.message,
    cause: error
  })

/** A create with the app token failed: Twitch's limits end the stream, the rest as {@link failureKind}. @internal */
export const appCreateFailure = (type: string, error: HelixFailure): CreateFailure =>
  error._tag === "HelixRateLimited"
    ? { kind: "fatal", error: new EventSubLimitExceeded({ userId: "app", limit: "cost", description: error.message }) }
    : { kind: failureKind(error), error: appSubscribeError(type, "subscribe", error) }

/**
 * What an app-level transport (webhooks, conduits) starts with: the registry (entries wait for their
 * Twitch id), the router's state (dedupe, age guard), the ingress and the warning gate. @internal
 */
export const routingOf = <S extends Subscription>(options: {
  readonly dedupeWindow: number
  readonly maxMessageAge: Duration.Duration
  readonly warningInterval: Duration.Duration
}) => {
  const registry = new Registry<S>((entry) => entry.twitchId === null)
  const router: RouterState<S> = {
    now: 0,
    dedupe: new Dedupe(options.dedupeWindow),
    ageGuard: new AgeGuard(Duration.toMillis(options.maxMessageAge)),
    find: (s) => registry.find(s)
  }
  return {
    registry,
    byKey: new Map<string, S>(),
    ingress: new Ingress<S>(),
    router,
    warnings: new WarningGate(Duration.toMillis(options.warningInterval))
  }
}
