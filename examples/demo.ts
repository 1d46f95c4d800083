/**
 * The demo: a local Twitch (the simulator) with two bots on it, driven through a short story.
 *
 *   npm run demo
 *
 * No credentials needed. `simbroadcaster` runs the follow announcer (examples/follow-announcer.ts),
 * `simbot` runs the invite bot (examples/invite-bot.ts). The demo then plays Twitch: a viewer
 * follows, types `!invite`, approves the device code; EventSub asks every connection to reconnect
 * mid-way; another follow proves nothing was lost. Beside them, a service that holds no socket receives
 * the same follows over EventSub webhooks (examples/webhook-follows.ts), signed and verified. It prints
 * what happened and exits.
 */
import { Console, Duration, Effect, Layer, LogLevel, Stream, SubscriptionRef } from "effect"
import { TokenStore } from "effect-twitch"
import * as NodeTwitch from "effect-twitch/NodeTwitch"
import { Simulator } from "effect-twitch/testing"
import * as FollowAnnouncer from "./follow-announcer.js"
import * as Env from "./internal/env.js"
import * as InviteBot from "./invite-bot.js"
import * as WebhookFollows from "./webhook-follows.js"

const main = Effect.gen(function*() {
  const started = Date.now()
  const sim = yield* Simulator.Simulator
  const store = yield* TokenStore.TokenStore
  const { bot, broadcaster, moderator, viewer } = sim.users
  const channel = broadcaster

  // Both bots' users authorized the app already: their tokens are in the store.
  yield* store.set(yield* Simulator.userToken({ userId: broadcaster, scopes: FollowAnnouncer.scopes }))
  yield* store.set(yield* Simulator.userToken({ userId: bot, scopes: InviteBot.botScopes }))

  // The transcript: what the bots report is printed and kept, so each step can wait for the reaction.
  const transcript = yield* SubscriptionRef.make<ReadonlyArray<string>>([]) // a dozen lines: unbounded is fine
  const say = (line: string) =>
    Effect.zipRight(Console.log(`    ${line}`), SubscriptionRef.update(transcript, (lines) => [...lines, line]))
  const step = (line: string) => Console.log(`▸ ${line}`)
  const reaction = (fragment: string) =>
    transcript.changes.pipe(
      Stream.filter((lines) => lines.some((line) => line.includes(fragment))),
      Stream.runHead,
      Effect.timeoutFail({
        duration: Duration.seconds(20),
        onTimeout: () => new Env.ExampleError({ message: `the bots never reported "${fragment}"` })
      })
    )

  const announcer = FollowAnnouncer.announceFollows(channel).pipe(
    Stream.runForEach(({ text }) => say(`bot said: ${text}`)),
    Effect.provide(NodeTwitch.layerClient({ userId: broadcaster, scopes: FollowAnnouncer.scopes }))
  )
  const webhook = WebhookFollows.follows(channel).pipe(
    Stream.runForEach((follow) => say(`webhook listener: ${follow.user_login} followed`)),
    Effect.provide(WebhookFollows.layerWebhook(WebhookFollows.localCallback()))
  )
  const inviteBot = InviteBot.inviteBot({ botUserId: bot, channelId: channel, say }).pipe(
    Effect.scoped,
    Effect.provide(NodeTwitch.layerBot({ defaultUser: bot }))
  )

  const story = Effect.gen(function*() {
    yield* Env.awaitSubscription(sim, "channel.follow", 2) // the announcer's (WebSocket) and the webhook's
    yield* Env.awaitSubscription(sim, "channel.chat.message")

    yield* step("simviewer follows simbroadcaster")
    yield* Env.simulateFollow(sim, channel, viewer)
    yield* reaction("Thanks for the follow, SimViewer")
    yield* reaction("webhook listener: simviewer followed")

    yield* step("simviewer writes \"!invite\" in chat")
    yield* Env.simulateChat(sim, channel, viewer, "!invite")
    yield* reaction("bot whispered simviewer: To invite me")

    const device = yield* Env.approveNextDevice(sim, viewer)
    yield* step(`simviewer approves the code ${device.userCode} at twitch.tv/activate`)

    yield* step("Twitch asks every EventSub connection to reconnect (session_reconnect)")
    const moved = yield* Effect.orDie(sim.eventSub.reconnect())
    yield* awaitHandover(sim, moved.map((m) => m.sessionId))
    yield* say(`EventSub: ${moved.length} connections moved to new sessions, still receiving`)

    yield* step("simmoderator follows simbroadcaster")
    yield* Env.simulateFollow(sim, channel, moderator)
    yield* reaction("Thanks for the follow, SimModerator")
    yield* reaction("webhook listener: simmoderator followed")

    // the bot's next device poll (every 5 s) picks up the approval
    yield* reaction("registered simviewer")
    yield* reaction("you are registered")
  })

  yield* Console.log("effect-twitch demo: a local Twitch (the simulator) with two bots on it")
  yield* Console.log("  the follow announcer runs as simbroadcaster, the invite bot as simbot,")
  yield* Console.log("  and a webhook listener receives the channel's follows without a socket\n")
  // the story ends the demo; a bot failing ends it too (with its error)
  yield* Effect.raceFirst(story, Effect.all([announcer, inviteBot, webhook], { concurrency: 3, discard: true }))
  yield* Console.log(`\ndone in ${((Date.now() - started) / 1000).toFixed(1)} s`)
})

/** Waits until each old session is closed and the one that replaced it is connected. */
const awaitHandover = (sim: Simulator.Simulator.Service, sessionIds: ReadonlyArray<string>) =>
  sim.eventSub.sessions.pipe(
    Effect.filterOrFail(
      (sessions) =>
        sessionIds.every((id) => {
          const old = sessions.find((s) => s.id === id)
          const next = sessions.find((s) => s.id === old?.reconnectedTo)
          return old?.status === "closed" && next?.status === "connected"
        }),
      () => new Env.ExampleError({ message: "EventSub did not move to the new sessions" })
    ),
    Effect.retry(Env.polling)
  )

/** The simulator in-process (approving no device code by itself), the app's config pointing at it, tokens in memory. */
const TwitchSimulator = Layer.merge(Simulator.layerTwitchConfig, TokenStore.layerMemory()).pipe(
  Layer.provideMerge(Simulator.layer())
)

const demo = main.pipe(
  Effect.provide(TwitchSimulator),
  Effect.timeoutFail({
    duration: Duration.seconds(60),
    onTimeout: () => new Env.ExampleError({ message: "the demo took longer than 60 s" })
  })
)

// LogLevel.None: library warnings (none expected) would clutter the transcript; LOG_LEVEL=debug shows them
Env.run(demo, { logLevel: LogLevel.None })
