/**
 * Follow announcer: every follow of the channel becomes a thank-you in its chat.
 *
 *   npx tsx examples/follow-announcer.ts
 *
 * Without TWITCH_CLIENT_ID it runs against the local simulator: two simulated viewers follow, the
 * bot thanks them, and the example ends. With TWITCH_CLIENT_ID it runs against Twitch until you
 * stop it (Ctrl-C); the token needs moderator:read:followers and user:write:chat (README, "Examples",
 * says where it comes from: the token file, TWITCH_ACCESS_TOKEN, or a device flow).
 */
import { Console, Effect, Option, Stream } from "effect"
import { Client, type Scopes } from "effect-twitch"
import * as NodeTwitch from "effect-twitch/NodeTwitch"
import * as Env from "./internal/env.js"

export const scopes: ReadonlyArray<Scopes.Scope> = ["moderator:read:followers", "user:write:chat"]

/** The whole bot, as a Stream pipeline: follows in, one chat message out per follow (one dropped ends nothing). */
export const announceFollows = (channelId: string) =>
  Stream.unwrap(Effect.map(Client.Client, (client) =>
    client.follows(channelId).pipe(
      Stream.mapEffect((follow) => {
        const text = `Thanks for the follow, ${follow.user_name}!`
        return client.sendMessage(text, { channel: channelId }).pipe(
          Effect.as({ follow, text }),
          // a message Twitch drops (AutoMod, slow mode …) is that message's answer, not the end of the bot
          Effect.catchTag("ChatMessageDropped", (dropped) =>
            Effect.succeed({ follow, text: `nothing (Twitch dropped it: ${dropped.reason})` }))
        )
      })
    )))

const main = Effect.gen(function*() {
  const channel = yield* Env.channel((yield* Client.Client).user)
  const simulator = yield* Env.simulator
  yield* Console.log(`Thanking every new follower of ${channel.login} in chat…`)
  const announced = announceFollows(channel.id)
  const print = Stream.runForEach(
    (a: Stream.Stream.Success<typeof announced>) => Console.log(`${a.follow.user_login} followed → said: ${a.text}`)
  )
  if (Option.isNone(simulator)) return yield* print(announced)

  // Simulator only: two viewers follow once we listen; the example stops after thanking them.
  const sim = simulator.value
  const followers = [sim.users.viewer, sim.users.moderator]
  const stage = Env.awaitSubscription(sim, "channel.follow").pipe(
    Effect.zipRight(Effect.forEach(followers, (userId) => Env.simulateFollow(sim, channel.id, userId)))
  )
  yield* Effect.all([print(Stream.take(announced, followers.length)), stage], { concurrency: 2, discard: true }).pipe(
    Effect.timeoutFail({
      duration: "30 seconds",
      onTimeout: () => new Env.ExampleError({ message: "no follows seen" })
    })
  )
})

if (Env.isMain(import.meta.url)) {
  const program = Effect.gen(function*() {
    const userId = yield* Env.user({ scopes }) // whose token: the simulator's simbroadcaster, or see the README
    yield* main.pipe(Effect.provide(NodeTwitch.layerClient({ userId, scopes })))
  })
  // TwitchConfig + TokenStore: `TwitchConfig.layerConfig()` + `NodeTwitch.layerTokenFile()`, or the simulator's
  Env.run(program.pipe(Effect.provide(Env.layerTwitch)))
}
