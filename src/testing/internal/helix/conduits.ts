// Conduits: per client id, with shards (`enabled` once a transport is assigned). Twitch's limits:
// 5 conduits per client, 1–20,000 shards, at most 100 shards per update call.
import { empty, helixError, json } from "../http.js"
import type { Answer, Ctx, Handler } from "./context.js"
import { bad, data, int, missing, str, sync } from "./context.js"

/** @internal */
export interface Shard {
  readonly id: string
  readonly status: string
  readonly transport: Readonly<Record<string, unknown>>
}

/** @internal */
export interface Conduit {
  readonly id: string
  readonly clientId: string
  shards: Array<Shard>
}

const MAX_CONDUITS = 5
const MAX_SHARDS = 20_000
const MAX_SHARDS_PER_UPDATE = 100

/** A shard with no transport assigned yet (Twitch lists such shards as disconnected websockets). */
const unassigned = (id: number): Shard => ({
  id: String(id),
  status: "websocket_disconnected",
  transport: { method: "websocket" }
})
const resized = (shards: ReadonlyArray<Shard>, count: number): Array<Shard> =>
  Array.from({ length: count }, (_, i) => shards[i] ?? unassigned(i))
const view = (c: Conduit) => ({ id: c.id, shard_count: c.shards.length })
const ownedBy = (ctx: Ctx) => [...ctx.store.conduits.values()].filter((c) => c.clientId === ctx.token.clientId)
const findConduit = (ctx: Ctx, id: string | undefined): Conduit | undefined => {
  const conduit = id === undefined ? undefined : ctx.store.conduits.get(id)
  return conduit?.clientId === ctx.token.clientId ? conduit : undefined
}
/** The requested shard count, or Twitch's 400. */
const shardCountOf = (ctx: Ctx): number | Answer => {
  const count = int(ctx.body, "shard_count")
  if (count === undefined) return missing("shard_count")
  return count < 1 || count > MAX_SHARDS ? bad(`The shard_count must be between 1 and ${MAX_SHARDS}`) : count
}

const getConduits = sync((ctx) => data(ownedBy(ctx).map(view)))

const createConduit = sync((ctx) => {
  const count = shardCountOf(ctx)
  if (typeof count !== "number") return count
  if (ownedBy(ctx).length >= MAX_CONDUITS) {
    return helixError(429, "The client already has the maximum number of conduits")
  }
  const conduit: Conduit = { id: ctx.store.nextId(), clientId: ctx.token.clientId, shards: resized([], count) }
  ctx.store.conduits.set(conduit.id, conduit)
  return data([view(conduit)])
})

const updateConduit = sync((ctx) => {
  const conduit = findConduit(ctx, str(ctx.body, "id"))
  if (conduit === undefined) return helixError(404, "Conduit not found")
  const count = shardCountOf(ctx)
  if (typeof count !== "number") return count
  conduit.shards = resized(conduit.shards, count)
  return data([view(conduit)])
})

const deleteConduit = sync((ctx) => {
  const conduit = findConduit(ctx, ctx.params.get("id"))
  if (conduit === undefined) return helixError(404, "Conduit not found")
  ctx.store.conduits.delete(conduit.id)
  return empty(204)
})

const getShards = sync((ctx) => {
  const conduit = findConduit(ctx, ctx.params.get("conduit_id"))
  if (conduit === undefined) return helixError(404, "Conduit not found")
  const status = ctx.params.get("status")
  return data(conduit.shards.filter((s) => status === undefined || s.status === status), { pagination: {} })
})

const updateShards = sync((ctx) => {
  const conduit = findConduit(ctx, str(ctx.body, "conduit_id"))
  if (conduit === undefined) return helixError(404, "Conduit not found")
  const updates = Array.isArray(ctx.body.shards) ? ctx.body.shards as ReadonlyArray<Record<string, unknown>> : []
  if (updates.length > MAX_SHARDS_PER_UPDATE) return bad(`At most ${MAX_SHARDS_PER_UPDATE} shards per request`)
  const errors: Array<{ id: string; message: string; code: string }> = []
  const done: Array<Shard> = []
  for (const update of updates) {
    const index = Number(update.id)
    if (!Number.isInteger(index) || index < 0 || index >= conduit.shards.length) {
      errors.push({
        id: String(update.id),
        message: "The shard id is outside the conduit's range",
        code: "invalid_parameter"
      })
      continue
    }
    const shard: Shard = { id: String(index), status: "enabled", transport: update.transport as Shard["transport"] }
    conduit.shards[index] = shard
    done.push(shard)
  }
  return json({ data: done, errors }, 202)
})

/** @internal */
export const operations: Readonly<Record<string, Handler>> = {
  "get-conduits": getConduits,
  "create-conduits": createConduit,
  "update-conduits": updateConduit,
  "delete-conduit": deleteConduit,
  "get-conduit-shards": getShards,
  "update-conduit-shards": updateShards
}
