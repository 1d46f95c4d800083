/**
 * The app-token Helix calls the webhook and conduit transports share: create one subscription for a transport,
 * and list the app's subscriptions of a type that use a given transport.
 *
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { type EventSubError, EventSubSubscribeError } from "../EventSubError.js"
import * as Helix from "../Helix.js"
import * as EventSubApi from "../Helix/EventSub.js"
import { appCreateFailure, appSubscribeError } from "./eventsubAdopt.js"
import type { CreateFailure } from "./eventsubRegistry.js"

type Transport = EventSubApi.CreateEventsubSubscriptionParams["transport"]
type ListedTransport = EventSubApi.EventSubSubscription["transport"]

/** A subscription as Get EventSub Subscriptions lists it (the app's, on a conduit or a webhook callback). @internal */
export interface AppSubscription {
  readonly id: string
  readonly status: string
  readonly version: string
  readonly condition: Readonly<Record<string, unknown>>
}

/** Creates one subscription with the app token; an answer without data is a transient failure. @internal */
export const appCreate = (helix: Helix.Helix.Service, transport: () => Transport) =>
(request: {
  readonly type: string
  readonly version: string
  readonly condition: Readonly<Record<string, unknown>>
}): Effect.Effect<{ readonly id: string }, CreateFailure> =>
  Effect.suspend(() => helix.request(EventSubApi.createEventsubSubscription, { ...request, transport: transport() }))
    .pipe(
      Helix.withApp,
      Effect.mapError((error) => appCreateFailure(request.type, error)),
      Effect.flatMap((created) =>
        created.data[0] === undefined
          ? Effect.fail<CreateFailure>({
            kind: "transient",
            error: new EventSubSubscribeError({
              userId: "app",
              operation: "subscribe",
              type: request.type,
              description: "no data"
            })
          })
          : Effect.succeed({ id: created.data[0].id })
      )
    )

/** The app's subscriptions of `type` whose transport `mine` accepts, every page. @internal */
export const appList =
  (helix: Helix.Helix.Service, mine: (transport: ListedTransport) => boolean) =>
  (type: string): Effect.Effect<ReadonlyArray<AppSubscription>, EventSubError> =>
    helix.paginate(EventSubApi.getEventsubSubscriptions, { type }).pipe(
      Stream.filter((s) => mine(s.transport)),
      Stream.map((s): AppSubscription => ({ id: s.id, status: s.status, version: s.version, condition: s.condition })),
      Stream.runCollect,
      Effect.map(Chunk.toReadonlyArray),
      Helix.withApp,
      Effect.mapError((error) => appSubscribeError(type, "subscribe", error))
    )
