// Users: Get Users from the simulator's users (email only with user:read:email, for the token's own user).
import { helixError, json } from "../http.js"
import type { Handler } from "./context.js"
import { sync } from "./context.js"

const MAX_IDS = 100

const getUsers = sync((ctx) => {
  const ids = ctx.params.getAll("id")
  const logins = ctx.params.getAll("login")
  if (ids.length + logins.length > MAX_IDS) {
    return helixError(400, "The sum of the id and login parameters must not exceed 100")
  }
  if (ids.length + logins.length === 0 && ctx.token.userId === null) {
    return helixError(400, "The id or login query parameter is required unless the request uses a user token")
  }
  const wanted = ids.length + logins.length === 0 ? [ctx.token.userId!] : ids
  const seen = new Set<string>()
  const users = [...wanted.map((id) => ctx.state.userById(id)), ...logins.map((l) => ctx.state.userByLogin(l))]
    .filter((u): u is NonNullable<typeof u> => u !== undefined && !seen.has(u.id) && (seen.add(u.id), true))
  const data = users.map(({ email, ...rest }) =>
    ctx.token.userId === rest.id && ctx.token.scopes.includes("user:read:email") ? { ...rest, email } : rest
  )
  return json({ data })
})

/** The token's user with the new description (the only field Twitch lets a user change here). */
const updateUser = sync((ctx) => {
  const user = ctx.state.userById(ctx.token.userId!)
  if (user === undefined) return helixError(401, "The user in the access token does not exist")
  const description = ctx.params.get("description")
  const updated = description === undefined ? user : ctx.state.putUser({ ...user, description })
  const { email, ...rest } = updated
  return json({ data: [ctx.token.scopes.includes("user:read:email") ? { ...rest, email } : rest] })
})

/** @internal */
export const operations: Readonly<Record<string, Handler>> = { "get-users": getUsers, "update-user": updateUser }
