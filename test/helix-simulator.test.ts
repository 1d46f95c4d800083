import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, DateTime, Effect, Layer, Option, Redacted, Schema, Stream } from "effect"
import * as AccessTokens from "../src/AccessTokens.js"
import * as Helix from "../src/Helix.js"
import * as Channels from "../src/Helix/Channels.js"
import * as Chat from "../src/Helix/Chat.js"
import * as EventSubApi from "../src/Helix/EventSub.js"
import * as Moderation from "../src/Helix/Moderation.js"
import * as Streams from "../src/Helix/Streams.js"
import * as Users from "../src/Helix/Users.js"
import * as Whispers from "../src/Helix/Whispers.js"
import * as OAuth from "../src/OAuth.js"
import * as Simulator from "../src/testing/Simulator.js"
import { UserToken } from "../src/Token.js"
import * as TokenStore from "../src/TokenStore.js"
import * as TwitchConfig from "../src/TwitchConfig.js"
import { userById } from "./fixtures/helix.js"

const { broadcaster, moderator, viewer } = Simulator.defaultUsers

/** The whole stack against a fresh simulator; `requestTimeout` in ms. */
const stack = (
  options: {
    readonly requestTimeout?: number
    readonly helix?: Helix.Options
    readonly simulator?: Simulator.Options
  } = {}
) => {
  const config = Layer.effect(
    TwitchConfig.TwitchConfig,
    Effect.map(Simulator.Simulator, (sim) =>
      TwitchConfig.make({
        clientId: sim.clientId,
        clientSecret: Redacted.make(sim.clientSecret),
        authUrl: sim.authUrl,
        helixUrl: sim.helixUrl,
        eventSubWsUrl: sim.eventSubWsUrl,
        requestTimeout: options.requestTimeout ?? 10_000
      }))
  )
  const base = Layer.mergeAll(config, NodeHttpClient.layerUndici, TokenStore.layerMemory())
  const tokens = AccessTokens.layer().pipe(Layer.provide(OAuth.layer()), Layer.provide(base))
  const helix = Helix.layer(options.helix).pipe(Layer.provide(tokens), Layer.provide(base))
  return Layer.mergeAll(helix, base).pipe(Layer.provideMerge(Simulator.layer(options.simulator)))
}

/** Issues a simulator token for the user and stores it; returns the access token text. */
const login = (userId: string, scopes: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const sim = yield* Simulator.Simulator
    const store = yield* TokenStore.TokenStore
    const issued = yield* sim.issueUserToken({ userId, scopes })
    const user = Option.getOrThrow(yield* sim.getUser(userId))
    const now = yield* DateTime.now
    yield* store.set(
      new UserToken({
        userId,
        login: user.login,
        scopes: issued.scopes,
        accessToken: Redacted.make(issued.accessToken),
        refreshToken: Option.some(Redacted.make(issued.refreshToken)),
        expiresAt: Option.some(DateTime.add(now, { seconds: issued.expiresIn })),
        obtainedAt: now
      })
    )
    return issued.accessToken
  })

const allScopes = [
  "moderator:read:followers",
  "moderator:read:chatters",
  "moderator:manage:announcements",
  "moderator:manage:chat_settings",
  "moderator:manage:banned_users",
  "channel:manage:broadcast",
  "user:write:chat",
  "user:manage:whispers"
]

describe("Helix against the simulator", () => {
  it.live("users by id and login, with the app token and a user token", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const token = yield* login(viewer, [])
      yield* sim.clearRequestLog
      const byId = yield* Users.getUsers({ id: [broadcaster] })
      assert.deepStrictEqual(byId.map((u) => u.login), ["simbroadcaster"])
      const byLogin = yield* Users.getUsers({ login: ["simmoderator"] }).pipe(Helix.withUser(viewer))
      assert.deepStrictEqual(byLogin.map((u) => u.id), [moderator])
      const none = yield* Users.getUsers({ login: ["nobody_here"] })
      assert.deepStrictEqual(none, [])
      const many = yield* Users.getUsers({ id: [broadcaster, moderator], login: ["simviewer"] })
      assert.deepStrictEqual(many.map((u) => u.id).sort(), [broadcaster, moderator, viewer].sort())
      const tokens = (yield* sim.requestLog).filter((e) => e.path.endsWith("/users")).map((e) => e.token === token)
      assert.deepStrictEqual(tokens, [false, true, false, false])
    }).pipe(Effect.provide(stack())))

  it.live("401 → one refresh → the retry succeeds", () =>
    Effect.gen(function*() {
      const helix = yield* Helix.Helix
      const sim = yield* Simulator.Simulator
      const first = yield* login(viewer, [])
      yield* sim.expireToken(first)
      yield* sim.clearRequestLog
      const user = yield* userById(helix, broadcaster).pipe(Helix.withUser(viewer))
      assert.isTrue(Option.isSome(user))
      const users = (yield* sim.requestLog).filter((entry) => entry.path.endsWith("/users"))
      assert.deepStrictEqual(users.map((entry) => entry.status), [401, 200])
      assert.strictEqual(yield* sim.countRequests({ path: "/oauth2/token" }), 1)
    }).pipe(Effect.provide(stack())))

  it.live("missing scope is a typed forbidden naming the scope (before sending, and as Twitch says it)", () =>
    Effect.gen(function*() {
      const helix = yield* Helix.Helix
      yield* login(broadcaster, ["user:read:chat"])
      const early = yield* Effect.flip(
        Chat.getChatters({ broadcaster_id: broadcaster }).pipe(Stream.runDrain, Helix.withUser(broadcaster))
      )
      assert.strictEqual(early._tag, "HelixForbidden")
      if (early._tag === "HelixForbidden") assert.deepStrictEqual(early.missingScopes, ["moderator:read:chatters"])

      // the same call with no scope declared: the simulator answers, the error still names the scope
      const unchecked = Helix.endpoint({
        name: "getChatters",
        method: "GET",
        path: "/chat/chatters",
        query: (input: { readonly broadcasterId: string }) => ({
          broadcaster_id: input.broadcasterId,
          moderator_id: input.broadcasterId
        }),
        response: Schema.Unknown
      })
      const late = yield* Effect.flip(
        helix.request(unchecked, { broadcasterId: broadcaster }).pipe(Helix.withUser(broadcaster))
      )
      assert.strictEqual(late._tag, "HelixForbidden")
      if (late._tag === "HelixForbidden") {
        assert.deepStrictEqual(late.missingScopes, ["moderator:read:chatters"])
        assert.include(late.message, "moderator:read:chatters")
      }
    }).pipe(Effect.provide(stack())))

  it.live("pagination over 1,000 followers yields each exactly once; the total", () =>
    Effect.gen(function*() {
      const helix = yield* Helix.Helix
      const sim = yield* Simulator.Simulator
      yield* sim.addFollowers(broadcaster, 1000)
      yield* login(broadcaster, allScopes)
      const followers = yield* Stream.runCollect(
        Channels.getChannelFollowers({ broadcaster_id: broadcaster }).pipe(Helix.withUser(broadcaster))
      )
      const ids = Chunk.toReadonlyArray(followers).map((f) => f.user_id)
      assert.strictEqual(ids.length, 1000)
      assert.strictEqual(new Set(ids).size, 1000)
      const page = yield* helix.request(Channels.getChannelFollowers, { broadcaster_id: broadcaster }).pipe(
        Helix.withUser(broadcaster)
      )
      assert.strictEqual(page.total, 1000)
      const three = yield* Stream.runCollect(
        helix.paginate(Channels.getChannelFollowers, { broadcaster_id: broadcaster }).pipe(
          Stream.take(3),
          Helix.withUser(broadcaster)
        )
      )
      assert.strictEqual(Chunk.size(three), 3)
    }).pipe(Effect.provide(stack())))

  it.live("Send Chat Message: a sent message, and a dropped one (is_sent false with the reason)", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      yield* login(broadcaster, allScopes)
      const [sent] = yield* Chat.sendChatMessage({ broadcaster_id: broadcaster, message: "hello" }).pipe(
        Helix.withUser(broadcaster)
      )
      assert.isTrue(sent!.is_sent)
      assert.deepStrictEqual((yield* sim.chatMessages).map((m) => m.sender_id), [broadcaster])
      yield* sim.setChatDrop({ code: "msg_rejected", message: "Your message is being checked by mods" })
      const [dropped] = yield* Chat.sendChatMessage({ broadcaster_id: broadcaster, message: "again" }).pipe(
        Helix.withUser(broadcaster)
      )
      assert.isFalse(dropped!.is_sent)
      assert.strictEqual(dropped!.drop_reason?.code, "msg_rejected")
    }).pipe(Effect.provide(stack())))

  it.live("a malformed body is a decode error, not a crash", () =>
    Effect.gen(function*() {
      const helix = yield* Helix.Helix
      const sim = yield* Simulator.Simulator
      yield* sim.injectFaults({ count: 1, kind: "malformed", pathPrefix: "/users" })
      const error = yield* Effect.flip(userById(helix, broadcaster))
      assert.strictEqual(error._tag, "HelixDecodeError")
      // and the next call is fine
      assert.isTrue(Option.isSome(yield* userById(helix, broadcaster)))
    }).pipe(Effect.provide(stack())))

  it.live("503 and 500 are retried; a 429 is waited out", () =>
    Effect.gen(function*() {
      const helix = yield* Helix.Helix
      const sim = yield* Simulator.Simulator
      yield* sim.clearRequestLog
      yield* sim.injectFaults({ count: 1, kind: 503 })
      assert.isTrue(Option.isSome(yield* userById(helix, broadcaster)))
      yield* sim.injectFaults({ count: 2, kind: 500 })
      assert.isTrue(Option.isSome(yield* userById(helix, broadcaster)))
      yield* sim.injectFaults({ count: 1, kind: 429 })
      assert.isTrue(Option.isSome(yield* userById(helix, broadcaster)))
      const statuses = (yield* sim.requestLog).filter((e) => e.path.endsWith("/users")).map((e) => e.status)
      assert.deepStrictEqual(statuses, [503, 200, 500, 500, 200, 429, 200])
    }).pipe(Effect.provide(stack({ helix: { retryBaseDelay: "10 millis" } }))))

  // Twitch's clock minutes off the client's, either way: 60 calls at once through a bucket of 10 points
  // refilled at 10 a second are paced by the bucket (read on the simulator's clock), none fails
  for (const skewSeconds of [-300, 300]) {
    it.live(`the simulator's clock ${skewSeconds < 0 ? "behind" : "ahead"} by 5 minutes: a burst has no failure`, () =>
      Effect.gen(function*() {
        const helix = yield* Helix.Helix
        const outcomes = yield* Effect.forEach(
          Array.from({ length: 60 }, () => broadcaster),
          (id) => Effect.either(userById(helix, id)),
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(outcomes.filter((outcome) => outcome._tag === "Left"), [])
      }).pipe(Effect.provide(stack({
        simulator: { clockSkewSeconds: skewSeconds, rateLimit: { capacity: 10, refillPerSecond: 10 } }
      }))))
  }

  it.live("a hung server ends in HelixTimeout", () =>
    Effect.gen(function*() {
      const helix = yield* Helix.Helix
      const sim = yield* Simulator.Simulator
      yield* sim.injectFaults({ count: 1, kind: { delayMs: 5_000 } })
      const error = yield* Effect.flip(userById(helix, broadcaster))
      assert.strictEqual(error._tag, "HelixTimeout")
    }).pipe(Effect.provide(stack({ requestTimeout: 300 }))))

  it.live("channels, chat settings, announcements, whispers, streams, bans", () =>
    Effect.gen(function*() {
      const helix = yield* Helix.Helix
      const sim = yield* Simulator.Simulator
      yield* login(broadcaster, allScopes)
      yield* Effect.gen(function*() {
        yield* Channels.modifyChannelInformation({ broadcaster_id: broadcaster, title: "New title", tags: ["English"] })
        const [channel] = yield* Channels.getChannelInformation({ broadcaster_id: [broadcaster] })
        assert.strictEqual(channel!.title, "New title")
        const [updated] = yield* Chat.updateChatSettings({
          broadcaster_id: broadcaster,
          slow_mode: true,
          slow_mode_wait_time: 30
        })
        assert.isTrue(updated!.slow_mode)
        const [settings] = yield* Chat.getChatSettings({ broadcaster_id: broadcaster })
        assert.strictEqual(settings!.slow_mode_wait_time, 30)
        yield* Chat.sendChatAnnouncement({ broadcaster_id: broadcaster, message: "hi all", color: "purple" })
        assert.strictEqual((yield* sim.announcements).length, 1)
        yield* Whispers.sendWhisper({ to_user_id: viewer, message: "psst" })
        assert.deepStrictEqual(yield* sim.whispers, [{
          from_user_id: broadcaster,
          to_user_id: viewer,
          message: "psst"
        }])
        const [ban] = yield* Moderation.banUser({
          broadcaster_id: broadcaster,
          data: { user_id: viewer, duration: 60, reason: "spam" }
        })
        assert.strictEqual(ban!.user_id, viewer)
        assert.isTrue(ban!.end_time !== null)
        yield* Moderation.unbanUser({ broadcaster_id: broadcaster, user_id: viewer })
        yield* sim.setStream(broadcaster, { title: "live now", viewerCount: 5 })
        const streams = yield* helix.request(Streams.getStreams, { user_id: [broadcaster] })
        assert.strictEqual(streams.data.length, 1)
        assert.strictEqual(streams.data[0]!.viewer_count, 5)
        const all = yield* Stream.runCollect(Streams.getStreams())
        assert.isAtLeast(Chunk.size(all), 1)
      }).pipe(Helix.withUser(broadcaster))
    }).pipe(Effect.provide(stack())))

  it.live("EventSub subscriptions: list is a stream; deleting an unknown one is HelixNotFound", () =>
    Effect.gen(function*() {
      yield* login(broadcaster, allScopes)
      const subs = yield* Stream.runCollect(EventSubApi.getEventsubSubscriptions().pipe(Helix.withUser(broadcaster)))
      assert.strictEqual(Chunk.size(subs), 0)
      const error = yield* Effect.flip(
        EventSubApi.deleteEventsubSubscription({ id: "nope" }).pipe(Helix.withUser(broadcaster))
      )
      assert.strictEqual(error._tag, "HelixNotFound")
    }).pipe(Effect.provide(stack())))
})
