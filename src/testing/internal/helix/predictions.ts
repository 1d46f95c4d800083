// Predictions: create (ACTIVE; LOCKED once the window closed), end (RESOLVED with a winner, CANCELED, LOCKED);
// `channel.prediction.begin` / `.lock` / `.end` to subscribers (the lock also when the window closes, as Twitch
// sends it).
import * as Effect from "effect/Effect"
import { helixError } from "../http.js"
import type { Ctx, Handler } from "./context.js"
import { bad, broadcasterOf, data, eventUser, int, iso, str, sync, userRef } from "./context.js"
import { pageAnswer } from "./paging.js"
import { nested } from "./store.js"

type Status = "ACTIVE" | "LOCKED" | "RESOLVED" | "CANCELED"

/** @internal */
export interface Prediction {
  readonly id: string
  readonly broadcasterId: string
  readonly title: string
  readonly outcomes: ReadonlyArray<{ readonly id: string; readonly title: string; readonly color: "BLUE" | "PINK" }>
  readonly window: number
  readonly createdAt: number
  status: Status
  winningOutcomeId: string | null
  lockedAt: number | null
  endedAt: number | null
}

/** when the prediction window closes */
const locksAt = (p: Prediction): number => p.createdAt + p.window * 1000

const settle = (p: Prediction, now: number): Prediction => {
  const lockAt = locksAt(p)
  if (p.status === "ACTIVE" && now >= lockAt) {
    p.status = "LOCKED"
    p.lockedAt = lockAt
  }
  return p
}

const view = (ctx: Ctx, p: Prediction) => ({
  id: p.id,
  ...userRef(ctx.state, p.broadcasterId, "broadcaster"),
  title: p.title,
  winning_outcome_id: p.winningOutcomeId,
  outcomes: p.outcomes.map((o) => ({ ...o, users: 0, channel_points: 0, top_predictors: null })),
  prediction_window: p.window,
  status: p.status,
  created_at: iso(p.createdAt),
  ended_at: p.endedAt === null ? null : iso(p.endedAt),
  locked_at: p.lockedAt === null ? null : iso(p.lockedAt)
})

const event = (ctx: Ctx, p: Prediction) => ({
  id: p.id,
  ...eventUser(ctx.state, p.broadcasterId, "broadcaster"),
  title: p.title,
  outcomes: p.outcomes.map((o) => ({ id: o.id, title: o.title, color: o.color.toLowerCase() })),
  started_at: iso(p.createdAt),
  ...(p.status === "ACTIVE" ? { locks_at: iso(locksAt(p)) } : {}),
  ...(p.lockedAt === null ? {} : { locked_at: iso(p.lockedAt) }),
  ...(p.endedAt === null
    ? {}
    : { ended_at: iso(p.endedAt), status: p.status.toLowerCase(), winning_outcome_id: p.winningOutcomeId })
})

const predictionsOf = (ctx: Ctx, broadcasterId: string) => nested(ctx.store.predictions, broadcasterId)

const getPredictions = sync((ctx) => {
  const ids = ctx.params.getAll("id")
  const list = [...predictionsOf(ctx, broadcasterOf(ctx)).values()]
    .filter((p) => ids.length === 0 || ids.includes(p.id))
    .reverse()
    .map((p) => view(ctx, settle(p, ctx.now)))
  return pageAnswer(ctx, list)
})

const createProblem = (ctx: Ctx): string | undefined => {
  const title = str(ctx.body, "title")!
  const outcomes = ctx.body.outcomes as ReadonlyArray<{ readonly title: string }>
  const window = int(ctx.body, "prediction_window")!
  if (title === "" || title.length > 45) return "The title field must contain 1 to 45 characters"
  if (outcomes.length < 2 || outcomes.length > 10) return "The prediction must contain from 2 to 10 outcomes"
  if (outcomes.some((o) => o.title === "" || o.title.length > 25)) {
    return "Each outcome title must contain 1 to 25 characters"
  }
  if (window < 30 || window > 1800) return "The prediction_window field must be from 30 to 1800 seconds"
  return undefined
}

/**
 * When the prediction window closes: LOCKED, and the lock sent (once: Get Predictions may have locked it a moment
 * before, without sending; one locked or ended by the broadcaster before was sent its event then).
 */
const lockOnTime = (ctx: Ctx, p: Prediction): Effect.Effect<void> => {
  const lockAt = locksAt(p)
  return ctx.later(
    p.window * 1000,
    Effect.suspend(() =>
      settle(p, lockAt).status === "LOCKED" && p.lockedAt === lockAt
        ? ctx.emit("channel.prediction.lock", { broadcaster_user_id: p.broadcasterId }, event(ctx, p))
        : Effect.void
    )
  )
}

const createPrediction: Handler = (ctx) =>
  Effect.suspend(() => {
    const problem = createProblem(ctx)
    if (problem !== undefined) return Effect.succeed(bad(problem))
    const broadcasterId = broadcasterOf(ctx)
    const list = predictionsOf(ctx, broadcasterId)
    if ([...list.values()].some((p) => ["ACTIVE", "LOCKED"].includes(settle(p, ctx.now).status))) {
      return Effect.succeed(bad("The broadcaster already has a prediction that's running"))
    }
    const titles = ctx.body.outcomes as ReadonlyArray<{ readonly title: string }>
    const prediction: Prediction = {
      id: ctx.store.nextId(),
      broadcasterId,
      title: str(ctx.body, "title")!,
      outcomes: titles.map((o, i) => ({
        id: ctx.store.nextId(),
        title: o.title,
        color: titles.length === 2 && i === 1 ? "PINK" : "BLUE"
      })),
      window: int(ctx.body, "prediction_window")!,
      createdAt: ctx.now,
      status: "ACTIVE",
      winningOutcomeId: null,
      lockedAt: null,
      endedAt: null
    }
    list.set(prediction.id, prediction)
    return ctx.emit("channel.prediction.begin", { broadcaster_user_id: broadcasterId }, event(ctx, prediction)).pipe(
      Effect.zipRight(lockOnTime(ctx, prediction)),
      Effect.as(data([view(ctx, prediction)]))
    )
  })

const transition = (ctx: Ctx, p: Prediction, status: Status): string | undefined => {
  const current = settle(p, ctx.now).status
  if (current === "RESOLVED" || current === "CANCELED") return "The prediction has already ended"
  if (status === "LOCKED" && current !== "ACTIVE") return "The prediction must be active to lock it"
  if (status === "RESOLVED") {
    const winner = str(ctx.body, "winning_outcome_id")
    if (winner === undefined) return "The winning_outcome_id field is required to resolve a prediction"
    if (!p.outcomes.some((o) => o.id === winner)) return "The winning_outcome_id is not one of the outcomes"
  }
  return undefined
}

const endPrediction: Handler = (ctx) =>
  Effect.suspend(() => {
    const broadcasterId = broadcasterOf(ctx)
    const p = predictionsOf(ctx, broadcasterId).get(str(ctx.body, "id")!)
    if (p === undefined) return Effect.succeed(helixError(404, "The prediction in the id field was not found"))
    const status = str(ctx.body, "status") as Status
    const problem = transition(ctx, p, status)
    if (problem !== undefined) return Effect.succeed(bad(problem))
    p.status = status
    if (status === "LOCKED") p.lockedAt = ctx.now
    else p.endedAt = ctx.now
    if (status === "RESOLVED") p.winningOutcomeId = str(ctx.body, "winning_outcome_id")!
    const type = status === "LOCKED" ? "channel.prediction.lock" : "channel.prediction.end"
    return Effect.as(
      ctx.emit(type, { broadcaster_user_id: broadcasterId }, event(ctx, p)),
      data([view(ctx, p)])
    )
  })

/** @internal */
export const operations: Readonly<Record<string, Handler>> = {
  "get-predictions": getPredictions,
  "create-prediction": createPrediction,
  "end-prediction": endPrediction
}
