// Blocked terms of a channel: list, add (2..500 characters; adding an existing term returns it), remove.
import { empty } from "../http.js"
import type { Ctx, Handler } from "./context.js"
import { bad, broadcasterOf, data, iso, str, sync } from "./context.js"
import { pageAnswer } from "./paging.js"
import { nested } from "./store.js"

/** @internal */
export interface BlockedTerm {
  readonly broadcaster_id: string
  readonly moderator_id: string
  readonly id: string
  readonly text: string
  readonly created_at: string
  readonly updated_at: string
  readonly expires_at: string | null
}

const termsOf = (ctx: Ctx) => nested(ctx.store.blockedTerms, broadcasterOf(ctx))

const getTerms = sync((ctx) => pageAnswer(ctx, [...termsOf(ctx).values()]))

const addTerm = sync((ctx) => {
  const text = str(ctx.body, "text")!
  if (text.length < 2 || text.length > 500) return bad("The text field must contain 2 to 500 characters")
  const terms = termsOf(ctx)
  const existing = [...terms.values()].find((t) => t.text.toLowerCase() === text.toLowerCase())
  if (existing !== undefined) return data([existing])
  const term: BlockedTerm = {
    broadcaster_id: broadcasterOf(ctx),
    moderator_id: ctx.params.get("moderator_id")!,
    id: ctx.store.nextId(),
    text,
    created_at: iso(ctx.now),
    updated_at: iso(ctx.now),
    expires_at: null
  }
  terms.set(term.id, term)
  return data([term])
})

/** Twitch answers 204 whether or not the term existed. */
const removeTerm = sync((ctx) => {
  termsOf(ctx).delete(ctx.params.get("id")!)
  return empty(204)
})

/** @internal */
export const operations: Readonly<Record<string, Handler>> = {
  "get-blocked-terms": getTerms,
  "add-blocked-term": addTerm,
  "remove-blocked-term": removeTerm
}
