/**
 * A consumer that calls 20 Helix operations from the generated modules (`npm run bench -- consumer`
 * measures its typecheck time against the built package; issue 12's goal: ≤ 2 s).
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Chunk, Console, Effect, Layer, Stream } from "effect"
import { Helix, HelixApi, TwitchConfig } from "effect-twitch"
import * as NodeTwitch from "effect-twitch/NodeTwitch"

const { ChannelPoints, Channels, Chat, Clips, Games, Moderation, Polls, Predictions, Raids, Schedule, Streams, Users } =
  HelixApi

const broadcaster_id = "1"

const program = Effect.gen(function*() {
  const users = yield* Users.getUsers({ login: ["twitchdev", "twitch"] })
  const channels = yield* Channels.getChannelInformation({ broadcaster_id: users.map((u) => u.id) })
  yield* Channels.modifyChannelInformation({ broadcaster_id, title: channels[0]?.title ?? "" })
  const followers = yield* Stream.runCollect(Stream.take(Channels.getChannelFollowers({ broadcaster_id }), 10))
  const chatters = yield* Stream.runCollect(Chat.getChatters({ broadcaster_id }))
  const settings = yield* Chat.getChatSettings({ broadcaster_id })
  yield* Chat.updateChatSettings({ broadcaster_id, slow_mode: true, slow_mode_wait_time: 10 })
  const sent = yield* Chat.sendChatMessage({ broadcaster_id, message: "hello" })
  yield* Chat.sendChatAnnouncement({ broadcaster_id, message: "announcement", color: "purple" })
  const reward = yield* ChannelPoints.createCustomRewards({ broadcaster_id, title: "Hydrate", cost: 100 })
  const redemptions = yield* Stream.runCollect(
    ChannelPoints.getCustomRewardRedemption({ broadcaster_id, reward_id: reward[0]?.id ?? "", status: "UNFULFILLED" })
  )
  const poll = yield* Polls.createPoll({
    broadcaster_id,
    title: "Which?",
    choices: [{ title: "A" }, { title: "B" }],
    duration: 60
  })
  yield* Polls.endPoll({ broadcaster_id, id: poll[0]?.id ?? "", status: "TERMINATED" })
  const prediction = yield* Predictions.createPrediction({
    broadcaster_id,
    title: "Win?",
    outcomes: [{ title: "Yes" }, { title: "No" }],
    prediction_window: 120
  })
  yield* Moderation.banUser({ broadcaster_id, data: { user_id: "2", reason: "spam", duration: 600 } })
  const mods = yield* Stream.runCollect(Moderation.getModerators({ broadcaster_id }))
  yield* Raids.startARaid({ from_broadcaster_id: broadcaster_id, to_broadcaster_id: "3" })
  const schedule = yield* Schedule.getChannelStreamSchedule({ broadcaster_id })
  const streams = yield* Stream.runCollect(Stream.take(Streams.getStreams({ game_id: ["33214"] }), 100))
  const clips = yield* Stream.runCollect(Stream.take(Clips.getClips({ broadcaster_id }), 20))
  const games = yield* Games.getGames({ name: ["Fortnite"] })
  yield* Console.log(
    followers.pipe(Chunk.size),
    chatters.pipe(Chunk.size),
    settings[0]?.slow_mode,
    sent[0]?.is_sent,
    redemptions.pipe(Chunk.size),
    prediction[0]?.status,
    mods.pipe(Chunk.size),
    schedule.data.segments?.length,
    streams.pipe(Chunk.size),
    clips.pipe(Chunk.size),
    games[0]?.name
  )
}).pipe(Helix.withUser(broadcaster_id))

const MainLive = NodeTwitch.layerClient().pipe(
  Layer.provideMerge(NodeTwitch.layerTokenFile()),
  Layer.provide(TwitchConfig.layerConfig())
)

program.pipe(Effect.provide(MainLive), NodeRuntime.runMain)
