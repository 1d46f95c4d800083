// The stream schedule: settings (vacation, time zone) and segments (create / update / cancel / delete).
import { empty, helixError, json } from "../http.js"
import type { Body, Ctx, Handler } from "./context.js"
import { bad, bool, broadcasterOf, iso, str, sync, userRef } from "./context.js"
import { pagination, paging } from "./paging.js"

interface Segment {
  readonly id: string
  startTime: number
  durationMinutes: number
  title: string
  categoryId: string | null
  isRecurring: boolean
  canceled: boolean
}

/** @internal */
export interface Schedule {
  timezone: string
  vacation: { readonly start: string; readonly end: string } | null
  readonly segments: Map<string, Segment>
}

const scheduleOf = (ctx: Ctx): Schedule => {
  const id = broadcasterOf(ctx)
  let schedule = ctx.store.schedules.get(id)
  if (schedule === undefined) {
    schedule = { timezone: "UTC", vacation: null, segments: new Map() }
    ctx.store.schedules.set(id, schedule)
  }
  return schedule
}

const segmentView = (s: Segment) => {
  const end = iso(s.startTime + s.durationMinutes * 60_000)
  return {
    id: s.id,
    start_time: iso(s.startTime),
    end_time: end,
    title: s.title,
    canceled_until: s.canceled ? end : null,
    category: s.categoryId === null ? null : { id: s.categoryId, name: `Game ${s.categoryId}` },
    is_recurring: s.isRecurring
  }
}

const scheduleView = (ctx: Ctx, schedule: Schedule, segments: ReadonlyArray<Segment>) => ({
  segments: segments.map(segmentView),
  ...userRef(ctx.state, broadcasterOf(ctx), "broadcaster"),
  vacation: schedule.vacation === null ? null : { start_time: schedule.vacation.start, end_time: schedule.vacation.end }
})

const getSchedule = sync((ctx) => {
  const schedule = ctx.store.schedules.get(broadcasterOf(ctx))
  if (schedule === undefined || schedule.segments.size === 0) {
    return helixError(404, "The broadcaster has not created a streaming schedule")
  }
  const ids = ctx.params.getAll("id")
  const from = ctx.params.get("start_time")
  const all = [...schedule.segments.values()]
    .filter((s) => (ids.length === 0 || ids.includes(s.id)) && (from === undefined || s.startTime >= Date.parse(from)))
    .sort((a, b) => a.startTime - b.startTime)
  const window = paging(ctx.params, 20, 25)
  if (!("offset" in window)) return window
  const segments = all.slice(window.offset, window.offset + window.count)
  return json({
    data: scheduleView(ctx, schedule, segments),
    pagination: pagination(window.offset, segments.length, all.length)
  })
})

const updateSettings = sync((ctx) => {
  const schedule = scheduleOf(ctx)
  const enabled = ctx.params.get("is_vacation_enabled")
  const start = ctx.params.get("vacation_start_time")
  const end = ctx.params.get("vacation_end_time")
  if (enabled === "true") {
    if (start === undefined || end === undefined) {
      return bad("The vacation_start_time and vacation_end_time are required")
    }
    schedule.vacation = { start, end }
  }
  if (enabled === "false") schedule.vacation = null
  schedule.timezone = ctx.params.get("timezone") ?? schedule.timezone
  return empty(204)
})

const segmentProblem = (body: Body): string | undefined => {
  const start = str(body, "start_time")
  const duration = str(body, "duration")
  if (start !== undefined && Number.isNaN(Date.parse(start))) return "The start_time field is not valid"
  if (duration !== undefined && !/^\d+$/.test(duration)) return "The duration field is not valid"
  if (duration !== undefined && (Number(duration) < 30 || Number(duration) > 1380)) {
    return "The duration field must be from 30 to 1380 minutes"
  }
  if ((str(body, "title") ?? "").length > 140) return "The title field may contain at most 140 characters"
  return undefined
}

const createSegment = sync((ctx) => {
  const problem = segmentProblem(ctx.body)
  if (problem !== undefined) return bad(problem)
  const recurring = bool(ctx.body, "is_recurring") ?? true
  if (!recurring && ctx.state.userById(broadcasterOf(ctx))?.broadcaster_type === "") {
    return helixError(403, "Only partners and affiliates may add non-recurring broadcast segments")
  }
  const schedule = scheduleOf(ctx)
  const segment: Segment = {
    id: ctx.store.nextId(),
    startTime: Date.parse(str(ctx.body, "start_time")!),
    durationMinutes: Number(str(ctx.body, "duration")),
    title: str(ctx.body, "title") ?? "",
    categoryId: str(ctx.body, "category_id") ?? null,
    isRecurring: recurring,
    canceled: false
  }
  schedule.timezone = str(ctx.body, "timezone") ?? schedule.timezone
  schedule.segments.set(segment.id, segment)
  return json({ data: scheduleView(ctx, schedule, [segment]) })
})

const updateSegment = sync((ctx) => {
  const schedule = scheduleOf(ctx)
  const segment = schedule.segments.get(ctx.params.get("id")!)
  if (segment === undefined) return helixError(404, "The specified broadcast segment was not found")
  const problem = segmentProblem(ctx.body)
  if (problem !== undefined) return bad(problem)
  const start = str(ctx.body, "start_time")
  if (start !== undefined) segment.startTime = Date.parse(start)
  const duration = str(ctx.body, "duration")
  if (duration !== undefined) segment.durationMinutes = Number(duration)
  segment.title = str(ctx.body, "title") ?? segment.title
  segment.categoryId = str(ctx.body, "category_id") ?? segment.categoryId
  segment.canceled = bool(ctx.body, "is_canceled") ?? segment.canceled
  schedule.timezone = str(ctx.body, "timezone") ?? schedule.timezone
  return json({ data: scheduleView(ctx, schedule, [segment]) })
})

const deleteSegment = sync((ctx) => {
  scheduleOf(ctx).segments.delete(ctx.params.get("id")!)
  return empty(204)
})

/** @internal */
export const operations: Readonly<Record<string, Handler>> = {
  "get-channel-stream-schedule": getSchedule,
  "update-channel-stream-schedule": updateSettings,
  "create-channel-stream-schedule-segment": createSegment,
  "update-channel-stream-schedule-segment": updateSegment,
  "delete-channel-stream-schedule-segment": deleteSegment
}
