// Conduits: per client id, with shards (`enabled` once a transport is assigned; disabled when its WebSocket
// session drops). Twitch's limits: 5 conduits per client, 1–20,000 shards, at most 100 shards per update call;
// a WebSocket shard needs a connected session ("The websocket session is not connected."). The state lives in
// the EventSub part (../eventsub/conduits.ts), which routes notifications to the shards.
import type { Conduit, Shard } from "../eventsub/conduits.js"
import { shardView } from "../eventsub/conduits.js"
import { empty, helixError, json } from "../http.js"
import type { Answer, Ctx, Handler } from "./context.js"
import { bad, data, int, missing, str, sync } from "./context.js"

const MAX_CONDUITS = 5
const MAX_SHARDS = 20_000
const MAX_SHARDS_PER_UPDATE = 100
const PAGE_SIZE = 1000
const SECRET = /^[\x20-\x7e]{10,100}$/

/** A shard with no transport assigned yet (Twitch lists such shards as disconnected websockets). */
const unassigned = (id: number, now: number): Shard => ({
  id: String(id),
  status: "websocket_disconnected",
  disabledSinceMs: now,
  transport: null
})
const resized = (shards: ReadonlyArray<Shard>, count: number, now: number): Array<Shard> =>
  Array.from({ length: count }, (_, i) => shards[i] ?? unassigned(i, now))
const view = (c: Conduit) => ({ id: c.id, shard_count: c.shards.length })
const ownedBy = (ctx: Ctx) => {
  ctx.store.conduits.expire()
  return [...ctx.store.conduits.byId.values()].filter((c) => c.clientId === ctx.token.clientId)
}
const findConduit = (ctx: Ctx, id: string | undefined): Conduit | undefined => {
  ctx.store.conduits.expire()
  const conduit = id === undefined ? undefined : ctx.store.conduits.byId.get(id)
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
  if (ownedBy(ctx).length >= MAX_CONDUITS) return helixError(429, "Conduit limit reached")
  const conduit: Conduit = { id: ctx.store.nextId(), clientId: ctx.token.clientId, shards: resized([], count, ctx.now) }
  ctx.store.conduits.byId.set(conduit.id, conduit)
  return data([view(conduit)])
})

const updateConduit = sync((ctx) => {
  const conduit = findConduit(ctx, str(ctx.body, "id"))
  if (conduit === undefined) return helixError(404, "Conduit not found")
  const count = shardCountOf(ctx)
  if (typeof count !== "number") return count
  conduit.shards = resized(conduit.shards, count, ctx.now)
  return data([view(conduit)])
})

const deleteConduit = sync((ctx) => {
  const conduit = findConduit(ctx, ctx.params.get("id"))
  if (conduit === undefined) return helixError(404, "Conduit not found")
  ctx.store.conduits.delete(conduit)
  return empty(204)
})

const getShards = sync((ctx) => {
  const conduit = findConduit(ctx, ctx.params.get("conduit_id"))
  if (conduit === undefined) return helixError(404, "Conduit not found")
  const status = ctx.params.get("status")
  const all = conduit.shards.filter((s) => status === undefined || s.status === status)
  const after = ctx.params.get("after")
  const offset = after === undefined ? 0 : Number(Buffer.from(after, "base64url").toString("utf8"))
  if (!Number.isSafeInteger(offset) || offset < 0) return bad("The cursor in \"after\" is not valid")
  const next = offset + PAGE_SIZE
  return data(all.slice(offset, next).map(shardView), {
    pagination: next < all.length ? { cursor: Buffer.from(String(next)).toString("base64url") } : {}
  })
})

interface ShardError {
  readonly id: string
  readonly message: string
  readonly code: string
}

/** One shard update: the shard assigned, or why not. */
const updateOne = (ctx: Ctx, conduit: Conduit, update: Readonly<Record<string, unknown>>): Shard | ShardError => {
  const id = typeof update.id === "string" ? update.id : String(update.id)
  const index = Number(id)
  if (id === "" || !Number.isInteger(index) || index < 0 || index >= conduit.shards.length) {
    return { id, message: "The shard id is outside of the conduit's range.", code: "invalid_parameter" }
  }
  const transport = typeof update.transport === "object" && update.transport !== null
    ? update.transport as Readonly<Record<string, unknown>>
    : {}
  const shard = conduit.shards[index]!
  if (transport.method === "websocket") {
    const session = typeof transport.session_id === "string"
      ? ctx.store.conduits.connectedSession(transport.session_id)
      : undefined
    if (session === undefined) {
      return { id, message: "The websocket session is not connected.", code: "websocket_session_not_connected" }
    }
    ctx.store.conduits.assignWebSocket(shard, session)
    return shard
  }
  if (transport.method === "webhook") {
    const { callback, secret } = transport
    if (typeof callback !== "string" || !URL.canParse(callback)) {
      return { id, message: "The callback URL is not valid.", code: "invalid_parameter" }
    }
    if (typeof secret !== "string" || !SECRET.test(secret)) {
      return { id, message: "The secret is not valid.", code: "invalid_parameter" }
    }
    ctx.store.conduits.assignWebhook(shard, { callback, secret })
    return shard
  }
  return { id, message: "The transport method is not valid.", code: "invalid_parameter" }
}

const updateShards = sync((ctx) => {
  const conduit = findConduit(ctx, str(ctx.body, "conduit_id"))
  if (conduit === undefined) return helixError(404, "Conduit not found")
  const updates = Array.isArray(ctx.body.shards) ? ctx.body.shards as ReadonlyArray<Record<string, unknown>> : []
  if (updates.length === 0) return missing("shards")
  if (updates.length > MAX_SHARDS_PER_UPDATE) return bad(`At most ${MAX_SHARDS_PER_UPDATE} shards per request`)
  const errors: Array<ShardError> = []
  const done: Array<Record<string, unknown>> = []
  for (const update of updates) {
    const result = updateOne(ctx, conduit, update)
    if ("code" in result) errors.push(result)
    else done.push(shardView(result))
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
