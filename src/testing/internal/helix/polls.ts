// Polls: create (ACTIVE), get (COMPLETED once the duration ran out), end (TERMINATED / ARCHIVED);
// `channel.poll.begin` / `channel.poll.end` to subscribers (the end when the poll is ended, or when its time
// runs out, as Twitch sends it: status `completed`).
import * as Effect from "effect/Effect"
import { helixError } from "../http.js"
import type { Ctx, Handler } from "./context.js"
import { bad, broadcasterOf, data, eventUser, int, iso, str, sync, userRef } from "./context.js"
import { pageAnswer } from "./paging.js"
import { nested } from "./store.js"

/** @internal */
export interface Poll {
  readonly id: string
  readonly broadcasterId: string
  readonly title: string
  readonly choices: ReadonlyArray<{ readonly id: string; readonly title: string }>
  readonly duration: number
  readonly channelPointsVotingEnabled: boolean
  readonly channelPointsPerVote: number
  readonly startedAt: number
  status: "ACTIVE" | "COMPLETED" | "TERMINATED" | "ARCHIVED"
  endedAt: number | null
}

/** when the poll's time runs out */
const endsAt = (poll: Poll): number => poll.startedAt + poll.duration * 1000

/** An active poll whose time ran out is COMPLETED. */
const settle = (poll: Poll, now: number): Poll => {
  const end = endsAt(poll)
  if (poll.status === "ACTIVE" && now >= end) {
    poll.status = "COMPLETED"
    poll.endedAt = end
  }
  return poll
}

const view = (ctx: Ctx, poll: Poll) => ({
  id: poll.id,
  ...userRef(ctx.state, poll.broadcasterId, "broadcaster"),
  title: poll.title,
  choices: poll.choices.map((c) => ({ ...c, votes: 0, channel_points_votes: 0, bits_votes: 0 })),
  bits_voting_enabled: false,
  bits_per_vote: 0,
  channel_points_voting_enabled: poll.channelPointsVotingEnabled,
  channel_points_per_vote: poll.channelPointsPerVote,
  status: poll.status,
  duration: poll.duration,
  started_at: iso(poll.startedAt),
  ended_at: poll.endedAt === null ? null : iso(poll.endedAt)
})

const event = (ctx: Ctx, poll: Poll) => ({
  id: poll.id,
  ...eventUser(ctx.state, poll.broadcasterId, "broadcaster"),
  title: poll.title,
  choices: poll.choices.map((c) => ({ id: c.id, title: c.title, votes: 0, channel_points_votes: 0, bits_votes: 0 })),
  bits_voting: { is_enabled: false, amount_per_vote: 0 },
  channel_points_voting: { is_enabled: poll.channelPointsVotingEnabled, amount_per_vote: poll.channelPointsPerVote },
  started_at: iso(poll.startedAt),
  ...(poll.endedAt === null
    ? { ends_at: iso(endsAt(poll)) }
    : { status: poll.status.toLowerCase(), ended_at: iso(poll.endedAt) })
})

const pollsOf = (ctx: Ctx, broadcasterId: string) => nested(ctx.store.polls, broadcasterId)

const sendEnd = (ctx: Ctx, poll: Poll): Effect.Effect<void> =>
  ctx.emit("channel.poll.end", { broadcaster_user_id: poll.broadcasterId }, event(ctx, poll))

/**
 * When the poll's time runs out: COMPLETED, and its end sent (once: Get Polls may have completed it a moment
 * before, without sending; a poll ended by the broadcaster was sent its end then, and is not COMPLETED).
 */
const completeOnTime = (ctx: Ctx, poll: Poll): Effect.Effect<void> =>
  ctx.later(
    poll.duration * 1000,
    Effect.suspend(() =>
      settle(poll, endsAt(poll)).status === "COMPLETED"
        ? sendEnd(ctx, poll)
        : Effect.void
    )
  )

const getPolls = sync((ctx) => {
  const ids = ctx.params.getAll("id")
  const polls = [...pollsOf(ctx, broadcasterOf(ctx)).values()]
    .filter((p) => ids.length === 0 || ids.includes(p.id))
    .reverse()
    .map((p) => view(ctx, settle(p, ctx.now)))
  return pageAnswer(ctx, polls)
})

const createProblem = (ctx: Ctx): string | undefined => {
  const title = str(ctx.body, "title")!
  const choices = ctx.body.choices as ReadonlyArray<{ readonly title: string }>
  const duration = int(ctx.body, "duration")!
  if (title === "" || title.length > 60) return "The title field must contain 1 to 60 characters"
  if (choices.length < 2 || choices.length > 5) return "The poll must contain from 2 to 5 choices"
  if (choices.some((c) => c.title === "" || c.title.length > 25)) {
    return "Each choice title must contain 1 to 25 characters"
  }
  if (duration < 15 || duration > 1800) return "The duration field must be from 15 to 1800 seconds"
  return undefined
}

const createPoll: Handler = (ctx) =>
  Effect.suspend(() => {
    const problem = createProblem(ctx)
    if (problem !== undefined) return Effect.succeed(bad(problem))
    const broadcasterId = broadcasterOf(ctx)
    const polls = pollsOf(ctx, broadcasterId)
    if ([...polls.values()].some((p) => settle(p, ctx.now).status === "ACTIVE")) {
      return Effect.succeed(bad("The broadcaster already has a poll that's running"))
    }
    const poll: Poll = {
      id: ctx.store.nextId(),
      broadcasterId,
      title: str(ctx.body, "title")!,
      choices: (ctx.body.choices as ReadonlyArray<{ readonly title: string }>).map((c) => ({
        id: ctx.store.nextId(),
        title: c.title
      })),
      duration: int(ctx.body, "duration")!,
      channelPointsVotingEnabled: ctx.body.channel_points_voting_enabled === true,
      channelPointsPerVote: int(ctx.body, "channel_points_per_vote") ?? 0,
      startedAt: ctx.now,
      status: "ACTIVE",
      endedAt: null
    }
    polls.set(poll.id, poll)
    return ctx.emit("channel.poll.begin", { broadcaster_user_id: broadcasterId }, event(ctx, poll)).pipe(
      Effect.zipRight(completeOnTime(ctx, poll)),
      Effect.as(data([view(ctx, poll)]))
    )
  })

const endPoll: Handler = (ctx) =>
  Effect.suspend(() => {
    const broadcasterId = broadcasterOf(ctx)
    const poll = pollsOf(ctx, broadcasterId).get(str(ctx.body, "id")!)
    if (poll === undefined) return Effect.succeed(helixError(404, "The poll in the id field was not found"))
    const status = str(ctx.body, "status") as "TERMINATED" | "ARCHIVED"
    if (settle(poll, ctx.now).status !== "ACTIVE" && status === "TERMINATED") {
      return Effect.succeed(bad("The poll must be active to terminate it"))
    }
    const wasActive = poll.status === "ACTIVE"
    poll.status = status
    poll.endedAt = poll.endedAt ?? ctx.now
    const answer = data([view(ctx, poll)])
    return wasActive ? Effect.as(sendEnd(ctx, poll), answer) : Effect.succeed(answer)
  })

/** @internal */
export const operations: Readonly<Record<string, Handler>> = {
  "get-polls": getPolls,
  "create-poll": createPoll,
  "end-poll": endPoll
}
