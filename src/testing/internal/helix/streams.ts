// Streams: Get Streams from the streams the simulator was told about (most viewers first).
import type { Handler } from "./context.js"
import { sync } from "./context.js"
import { pageAnswer } from "./paging.js"

const getStreams = sync((ctx) => {
  const userIds = ctx.params.getAll("user_id")
  const logins = ctx.params.getAll("user_login").map((l) => l.toLowerCase())
  const gameIds = ctx.params.getAll("game_id")
  const languages = ctx.params.getAll("language")
  const all = [...ctx.state.streams.values()]
    .filter((s) =>
      (userIds.length + logins.length === 0 || userIds.includes(s.user_id) || logins.includes(s.user_login)) &&
      (gameIds.length === 0 || gameIds.includes(s.game_id)) &&
      (languages.length === 0 || languages.includes(s.language))
    )
    .sort((a, b) => b.viewer_count - a.viewer_count)
  return pageAnswer(ctx, all)
})

/** @internal */
export const operations: Readonly<Record<string, Handler>> = { "get-streams": getStreams }
