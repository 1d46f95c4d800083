/**
 * Invite bot: a viewer types `!invite` in chat; the bot whispers them a link and a code to
 * authorize the app (Device Code flow), waits at most 2 minutes, and registers them with the bot.
 *
 *   npx tsx examples/invite-bot.ts
 *
 * Without TWITCH_CLIENT_ID it runs against the local simulator as `simbot` in `simbroadcaster`'s
 * channel: `simviewer` types `!invite` and approves the code, then the example ends. With
 * TWITCH_CLIENT_ID it runs against Twitch until you stop it (Ctrl-C); the bot's token needs
 * user:read:chat, user:write:chat and user:manage:whispers (README, "Examples", says where it comes
 * from), and invited users are stored in the same token file.
 */
import { Console, Duration, Effect, Option, Stream } from "effect"
import type { Client, Scopes } from "effect-twitch"
import { Bot, DeviceAuth, EventSub, HelixApi } from "effect-twitch"
import * as NodeTwitch from "effect-twitch/NodeTwitch"
import * as Env from "./internal/env.js"

/** What the bot's own account needs. */
export const botScopes: ReadonlyArray<Scopes.Scope> = ["user:read:chat", "user:write:chat", "user:manage:whispers"]
/** What invited users grant the bot. */
export const inviteScopes: ReadonlyArray<Scopes.Scope> = ["user:read:chat", "moderator:read:followers"]

export interface InviteBotOptions {
  readonly botUserId: string
  readonly channelId: string
  /** Stop after this many invites (default: never). */
  readonly maxInvites?: number | undefined
  /** Where the bot reports what it does (default: the console). */
  readonly say?: ((line: string) => Effect.Effect<void>) | undefined
}

export const inviteBot = (options: InviteBotOptions) =>
  Effect.gen(function*() {
    const bot = yield* Bot.Bot
    const auth = yield* DeviceAuth.DeviceAuth
    const eventSub = yield* EventSub.EventSub
    const say = options.say ?? Console.log
    const { botUserId, channelId } = options

    // Every new user, whichever way they arrived (the seeds' `on_user_register`).
    yield* bot.registrations.pipe(
      Stream.runForEach((user) => say(`registered ${user.login} (${user.scopes.join(", ")})`)),
      Effect.forkScoped
    )

    /** Answers in chat, as a reply to the chatter's message. */
    const reply = (message: Client.ChatMessage, text: string) =>
      HelixApi.Chat.sendChatMessage({
        broadcaster_id: channelId,
        message: text,
        reply_parent_message_id: message.message_id,
        sender_id: botUserId
      }).pipe(Effect.zipRight(say(`bot replied in chat: ${text}`)))

    /** Whispers the chatter; when Twitch refuses (no verified phone, whispers blocked…), replies in chat. */
    const tell = (message: Client.ChatMessage, text: string) =>
      HelixApi.Whispers.sendWhisper({ from_user_id: botUserId, to_user_id: message.chatter_user_id, message: text })
        .pipe(
          Effect.zipRight(say(`bot whispered ${message.chatter_user_login}: ${text}`)),
          Effect.catchTags({
            HelixForbidden: () => reply(message, `@${message.chatter_user_login} ${text}`),
            HelixUnauthorized: () => reply(message, `@${message.chatter_user_login} ${text}`)
          })
        )

    const invite = (message: Client.ChatMessage) =>
      Effect.gen(function*() {
        const code = yield* auth.start(inviteScopes)
        yield* tell(message, `To invite me, open ${code.verificationUri} and enter the code ${code.userCode}`)
        // `poll` stores the new token in the bot's TokenStore: that registers the user.
        const approved = yield* auth.poll(code).pipe(Effect.timeoutOption(Duration.minutes(2)))
        yield* Option.match(approved, {
          onNone: () => tell(message, "Your invite expired (2 minutes): type !invite to try again"),
          onSome: (token) => tell(message, `Thanks ${token.login}, you are registered!`)
        })
      }).pipe(
        // one failed invite must not stop the bot
        Effect.catchAll((error) => say(`invite of ${message.chatter_user_login} failed: ${error.message}`))
      )

    const invites = eventSub.chatMessages(channelId, { userId: botUserId }).pipe(
      Stream.filter((message) => message.message.text.trim().toLowerCase() === "!invite"),
      Stream.tap((message) => say(`bot heard ${message.chatter_user_login}: !invite`))
    )
    yield* (options.maxInvites === undefined ? invites : Stream.take(invites, options.maxInvites)).pipe(
      Stream.mapEffect(invite, { concurrency: 16, unordered: true }), // up to 16 invites wait at once
      Stream.runDrain
    )
  })

const main = (botUserId: string) =>
  Effect.gen(function*() {
    const me = yield* Bot.use((bot) => bot.requireScopes(botUserId, botScopes, "the invite bot"))
    const channel = yield* Env.channel({ id: me.userId, login: me.login })
    const simulator = yield* Env.simulator
    yield* Console.log(`${me.login} answers !invite in ${channel.login}'s chat…`)
    if (Option.isNone(simulator)) return yield* inviteBot({ botUserId, channelId: channel.id })

    // Simulator only: simviewer types !invite once we listen, then approves the code the bot whispered.
    const sim = simulator.value
    const stage = Effect.gen(function*() {
      yield* sim.setAutoApproveDevice(null) // simviewer approves, not the simulator
      yield* Env.awaitSubscription(sim, "channel.chat.message")
      yield* Env.simulateChat(sim, channel.id, sim.users.viewer, "!invite")
      yield* Env.awaitWhisper(sim, sim.users.viewer)
      const device = yield* Env.approveNextDevice(sim, sim.users.viewer)
      yield* Console.log(`(simviewer approved the code ${device.userCode})`)
    })
    const bot = inviteBot({ botUserId, channelId: channel.id, maxInvites: 1 })
    yield* Effect.all([bot, stage], { concurrency: 2, discard: true }).pipe(
      Effect.timeoutFail({
        duration: "30 seconds",
        onTimeout: () => new Env.ExampleError({ message: "no invite seen" })
      })
    )
  })

if (Env.isMain(import.meta.url)) {
  const program = Effect.gen(function*() {
    // whose token: the simulator's simbot, or see the README
    const userId = yield* Env.user({ scopes: botScopes, simulatorUser: "bot" })
    yield* main(userId).pipe(Effect.scoped, Effect.provide(NodeTwitch.layerBot({ defaultUser: userId })))
  })
  // TwitchConfig + TokenStore: `TwitchConfig.layerConfig()` + `NodeTwitch.layerTokenFile()`, or the simulator's
  Env.run(program.pipe(Effect.provide(Env.layerTwitch)))
}
