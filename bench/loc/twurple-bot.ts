/**
 * The bot of issue 15 with Twurple 8 (@twurple/api, auth, eventsub-ws), for the lines-of-code
 * comparison (`npm run bench -- loc`): `!ping`, `!uptime`, thanks for follows and subscriptions, the
 * token in a token file (refreshed tokens written back), status logged, replies threaded, a failed
 * send or command logged without stopping the bot. Runs against Twitch (TWITCH_CLIENT_ID,
 * TWITCH_CLIENT_SECRET) as the broadcaster. Not shipped. It has no `!help`, no send queue (Twitch's
 * chat limits are not kept), no cooldowns or permissions: those would be more lines.
 */
import { ApiClient } from "@twurple/api"
import { RefreshingAuthProvider } from "@twurple/auth"
import { EventSubWsListener } from "@twurple/eventsub-ws"
import { promises as fs } from "node:fs"

const tokenFile = ".twitch-tokens.json"
const authProvider = new RefreshingAuthProvider({
  clientId: process.env.TWITCH_CLIENT_ID!,
  clientSecret: process.env.TWITCH_CLIENT_SECRET!
})
authProvider.onRefresh(async (_userId, token) => {
  await fs.writeFile(tokenFile, JSON.stringify(token, null, 2), { mode: 0o600 })
})
const userId = await authProvider.addUserForToken(JSON.parse(await fs.readFile(tokenFile, "utf8")), ["chat"])
const api = new ApiClient({ authProvider })
const listener = new EventSubWsListener({ apiClient: api })

const say = async (text: string, replyTo?: string) => {
  try {
    const sent = await api.chat.sendChatMessage(
      userId,
      text,
      replyTo === undefined ? {} : { replyParentMessageId: replyTo }
    )
    if (sent.isSent) console.log(`said: ${text}`)
    else console.warn(`dropped (${sent.dropReasonCode}): ${text}`)
  } catch (error) {
    console.warn(`not sent: ${String(error)}`)
  }
}

const uptime = async () => {
  const stream = await api.streams.getStreamByUserId(userId)
  if (stream === null) return "The stream is offline."
  const minutes = Math.floor((Date.now() - stream.startDate.getTime()) / 60_000)
  return `Live for ${Math.floor(minutes / 60)}h ${minutes % 60}m.`
}

listener.onChannelChatMessage(userId, userId, async (event) => {
  if (event.chatterId === userId) return
  const name = event.messageText.trim().split(/\s+/)[0]
  try {
    if (name === "!ping") await say("pong", event.messageId)
    else if (name === "!uptime") await say(await uptime(), event.messageId)
  } catch (error) {
    console.error(`${name} failed: ${String(error)}`)
  }
})
listener.onChannelFollow(userId, userId, (event) => say(`Thanks for the follow, ${event.userDisplayName}!`))
listener.onChannelSubscription(userId, (event) => say(`Thanks for subscribing, ${event.userDisplayName}!`))
listener.start()
console.log(`running as ${userId}`)
