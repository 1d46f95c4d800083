import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeSocket from "@effect/platform-node/NodeSocket"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Context, Effect, Fiber, Layer, Option, Redacted, Stream } from "effect"
import * as ChatSender from "../src/ChatSender.js"
import * as Client from "../src/Client.js"
import * as Helix from "../src/Helix.js"
import * as NodeTwitch from "../src/NodeTwitch.js"
import * as BotTest from "../src/testing/BotTest.js"
import * as Simulator from "../src/testing/Simulator.js"
import * as TokenStore from "../src/TokenStore.js"
import * as Capture from "./fixtures/capture.js"

const { broadcaster, viewer } = Simulator.defaultUsers
const ALL = ["user:write:chat", "user:manage:whispers", "moderator:read:followers", "user:read:chat"]

/** Simulator, its TwitchConfig, Node HTTP + WebSocket, a memory TokenStore. */
const base = Layer.mergeAll(
  Simulator.layerTwitchConfig,
  NodeHttpClient.layerUndici,
  NodeSocket.layerWebSocketConstructor,
  TokenStore.layerMemory()
).pipe(Layer.provideMerge(Simulator.layer()))

const issue = (userId: string, scopes: ReadonlyArray<string> = ALL, clientId?: string) =>
  Effect.flatMap(Simulator.Simulator, (sim) => sim.issueUserToken({ userId, scopes, clientId }))

/** Builds `Client.layer(options)` in the test's scope and returns its context. */
const start = (options: Client.Options) => Layer.build(Client.layer(options))

const realPause = (ms: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms)))

/** Waits (real time, bounded) until the simulator holds `n` enabled subscriptions. */
const awaitSubscriptions = (n: number) =>
  Effect.gen(function*() {
    const sim = yield* Simulator.Simulator
    for (let i = 0; i < 200; i++) {
      const subs = yield* sim.eventSub.subscriptions
      if (subs.filter((s) => s.status === "enabled").length >= n) return subs
      yield* realPause(10)
    }
    return assert.fail(`fewer than ${n} subscriptions became enabled`)
  })

describe("Client", () => {
  it.live("starts from a token, knows its user, and calls as that user", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const issued = yield* issue(broadcaster)
      const ctx = yield* start({ token: { accessToken: issued.accessToken, refreshToken: issued.refreshToken } })
      const client = Context.get(ctx, Client.Client)
      assert.strictEqual(client.user.id, broadcaster)
      assert.strictEqual(client.user.login, "simbroadcaster")
      // stored for the next start
      const stored = yield* (yield* TokenStore.TokenStore).get(broadcaster)
      assert.isTrue(Option.isSome(stored))

      const sent = yield* client.sendMessage("hello", { replyTo: "parent-1" })
      assert.isTrue(sent.is_sent)
      yield* client.sendMessage("over there", { channel: viewer })
      yield* client.whisper(viewer, "psst")
      const user = yield* client.getUserById(viewer)
      assert.strictEqual(Option.getOrThrow(user).login, "simviewer")
      const info = yield* client.channelInfo()
      assert.strictEqual(Option.getOrThrow(info).broadcaster_id, broadcaster)

      const messages = yield* sim.chatMessages
      assert.deepStrictEqual(
        messages.map((m) => [m.broadcaster_id, m.sender_id, m.message, m.reply_parent_message_id]),
        [[broadcaster, broadcaster, "hello", "parent-1"], [viewer, broadcaster, "over there", null]]
      )
      assert.deepStrictEqual(yield* sim.whispers, [{ from_user_id: broadcaster, to_user_id: viewer, message: "psst" }])
      // every Helix request carried the user's token
      const helixRequests = (yield* sim.requestLog).filter((e) => e.path.startsWith("/helix/"))
      assert.strictEqual(helixRequests.length, 5)
      assert.isTrue(helixRequests.every((e) => e.token === issued.accessToken && e.userId === broadcaster))

      // Helix from the same layer acts as the client's user by default
      const helix = Context.get(ctx, Helix.Helix)
      assert.strictEqual(Option.getOrUndefined(yield* helix.actingUserId), broadcaster)
    }).pipe(Effect.provide(base), Effect.scoped))

  it.live("a message Twitch drops (is_sent false) fails with ChatMessageDropped naming the reason", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const issued = yield* issue(broadcaster)
      const client = Context.get(yield* start({ token: { accessToken: issued.accessToken } }), Client.Client)
      yield* sim.setChatDrop({ code: "msg_rejected", message: "Your message is being checked by mods" })
      const error = yield* Effect.flip(client.sendMessage("hello", { channel: viewer }))
      assert.strictEqual(error._tag, "ChatMessageDropped")
      if (error._tag === "ChatMessageDropped") {
        assert.strictEqual(error.code, "msg_rejected")
        assert.strictEqual(error.reason, "Your message is being checked by mods")
        assert.strictEqual(error.broadcasterId, viewer)
        assert.strictEqual(error.endpoint, "POST /chat/messages")
        assert.include(error.message, "msg_rejected")
      }
      yield* sim.setChatDrop(false)
      assert.isTrue((yield* client.sendMessage("hello again")).is_sent)
    }).pipe(Effect.provide(base), Effect.scoped))

  it.live("sendMessage goes through the chat queue: a viewer's burst keeps Twitch's limits, long text is split", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const limits = ChatSender.scaleTime(ChatSender.twitchLimits, 1 / 100)
      yield* sim.setChatLimits(limits)
      const issued = yield* issue(viewer)
      const ctx = yield* start({ token: { accessToken: issued.accessToken }, chat: { limits } })
      const client = Context.get(ctx, Client.Client)
      yield* Effect.forEach(["a", "b", "c", "d", "e"], (text) => client.sendMessage(text, { channel: broadcaster }), {
        concurrency: "unbounded"
      })
      const long = Array.from({ length: 120 }, (_, i) => `word${i}`).join(" ")
      const first = yield* client.sendMessage(long, { channel: broadcaster })
      assert.isTrue(first.is_sent)
      assert.strictEqual((yield* sim.counters).chatRateLimited, 0)
      const texts = (yield* sim.chatMessages).filter((m) => m.sender_id === viewer).map((m) => m.message)
      assert.deepStrictEqual(texts.slice(0, 5), ["a", "b", "c", "d", "e"])
      assert.strictEqual(texts.slice(5).join(" "), long)
      assert.strictEqual(texts.length, 7)
      // the same client's queue is the ChatSender in the layer's context
      assert.strictEqual(Context.get(ctx, ChatSender.ChatSender).sender, viewer)
    }).pipe(Effect.provide(base), Effect.scoped))

  it.live("follows and chatMessages of the user's channel as Streams", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const issued = yield* issue(broadcaster)
      const ctx = yield* start({ token: { accessToken: issued.accessToken } })
      const client = Context.get(ctx, Client.Client)
      const follows = yield* client.follows().pipe(Stream.take(1), Stream.runCollect, Effect.fork)
      const chat = yield* client.chatMessages().pipe(Stream.take(1), Stream.runCollect, Effect.fork)
      const subs = yield* awaitSubscriptions(2)
      assert.isTrue(subs.every((s) => s.userId === broadcaster))
      yield* sim.eventSub.trigger({ type: "channel.follow", event: { user_name: "Newcomer" } })
      yield* sim.eventSub.trigger({ type: "channel.chat.message", event: { chatter_user_name: "Chatty" } })
      assert.strictEqual(Chunk.unsafeHead(yield* Fiber.join(follows)).user_name, "Newcomer")
      assert.strictEqual(Chunk.unsafeHead(yield* Fiber.join(chat)).chatter_user_name, "Chatty")
    }).pipe(Effect.provide(base), Effect.scoped))

  it.live("a stored token whose access token expired is refreshed at start; refreshes are announced", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const issued = yield* issue(broadcaster)
      yield* start({ token: { accessToken: issued.accessToken, refreshToken: issued.refreshToken } })
      yield* sim.expireToken(issued.accessToken)
      // a second client over the same store, by user id: the stored access token no longer works
      const ctx = yield* start({ userId: broadcaster })
      const client = Context.get(ctx, Client.Client)
      assert.strictEqual((yield* sim.counters).tokenRefreshes, 1)
      const refreshes = yield* client.refreshes.pipe(Stream.take(1), Stream.runCollect, Effect.fork)
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
      const current = Option.getOrThrow(yield* (yield* TokenStore.TokenStore).get(broadcaster))
      yield* sim.expireToken(Redacted.value(current.accessToken))
      yield* client.getUserById(viewer) // 401 → refresh → retry
      const refreshed = Chunk.unsafeHead(yield* Fiber.join(refreshes))
      assert.strictEqual(refreshed.userId, broadcaster)
      assert.notStrictEqual(Redacted.value(refreshed.accessToken), Redacted.value(current.accessToken))
    }).pipe(Effect.provide(base), Effect.scoped))

  it.live("the store's only token is the default user", () =>
    Effect.gen(function*() {
      const issued = yield* issue(viewer)
      yield* start({ token: { accessToken: issued.accessToken } })
      const client = Context.get(yield* start({}), Client.Client)
      assert.strictEqual(client.user.id, viewer)
    }).pipe(Effect.provide(base), Effect.scoped))

  it.live("NodeTwitch.layerClient: the Node platform built in", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const issued = yield* sim.issueUserToken({ userId: viewer, scopes: ALL })
      const live = NodeTwitch.layerClient({ token: { accessToken: issued.accessToken } }).pipe(
        Layer.provide(Layer.merge(TokenStore.layerMemory(), Simulator.layerTwitchConfig))
      )
      const login = yield* Client.use((client) => Effect.succeed(client.user.login)).pipe(Effect.provide(live))
      assert.strictEqual(login, "simviewer")
    }).pipe(Effect.provide(Simulator.layer())))

  describe("bad input: typed errors with readable messages", () => {
    it.live("a token for another client id → ClientIdMismatch", () =>
      Effect.gen(function*() {
        const sim = yield* Simulator.Simulator
        yield* sim.addClient({ clientId: "someotherclientid0000000000001", clientSecret: "other" })
        const issued = yield* issue(broadcaster, ALL, "someotherclientid0000000000001")
        const error = yield* Effect.flip(start({ token: { accessToken: issued.accessToken } }))
        assert.strictEqual(error._tag, "ClientIdMismatch")
        assert.include(error.message, "simbroadcaster")
        assert.include(error.message, "someotherclientid0000000000001")
        assert.include(error.message, sim.clientId)
        assert.notInclude(error.message, issued.accessToken)
        // nothing was stored
        assert.deepStrictEqual(yield* (yield* TokenStore.TokenStore).list, [])
      }).pipe(Effect.provide(base), Effect.scoped))

    it.live("missing scopes → MissingScopes naming them, at start and per operation", () =>
      Effect.gen(function*() {
        const issued = yield* issue(broadcaster, ["user:read:chat"])
        const atStart = yield* Effect.flip(
          start({ token: { accessToken: issued.accessToken }, scopes: ["user:read:chat", "user:write:chat"] })
        )
        assert.strictEqual(atStart._tag, "MissingScopes")
        if (atStart._tag === "MissingScopes") assert.deepStrictEqual(atStart.missing, ["user:write:chat"])
        assert.strictEqual(
          atStart.message,
          "Client: simbroadcaster (100000001) has not granted the scope user:write:chat: authorize again with it"
        )
        const client = Context.get(yield* start({ userId: broadcaster }), Client.Client)
        const sim = yield* Simulator.Simulator
        yield* sim.clearRequestLog
        const onSend = yield* Effect.flip(client.sendMessage("hi"))
        assert.strictEqual(onSend._tag, "MissingScopes")
        assert.include(onSend.message, "Client.sendMessage")
        const onFollows = yield* Effect.flip(Stream.runDrain(client.follows()))
        assert.strictEqual(onFollows._tag, "MissingScopes")
        assert.include(onFollows.message, "moderator:read:followers")
        assert.strictEqual(yield* sim.countRequests({ path: "/helix" }), 0, "nothing was sent")
      }).pipe(Effect.provide(base), Effect.scoped))

    it.live("an unknown user id → UnknownUser; no user and an empty store → NoUserToken", () =>
      Effect.gen(function*() {
        const unknown = yield* Effect.flip(start({ userId: "424242" }))
        assert.strictEqual(unknown._tag, "UnknownUser")
        assert.include(unknown.message, "424242")
        const none = yield* Effect.flip(start({}))
        assert.strictEqual(none._tag, "NoUserToken")
        assert.include(none.message, "holds no user token")
      }).pipe(Effect.provide(base), Effect.scoped))

    it.live("a token of another user than `userId` → TokenRejected naming both; a matching userId is accepted", () =>
      Effect.gen(function*() {
        const issued = yield* issue(broadcaster)
        const error = yield* Effect.flip(start({ token: { accessToken: issued.accessToken }, userId: viewer }))
        assert.strictEqual(error._tag, "TokenRejected")
        assert.strictEqual(
          error.message,
          `Client: the token of user ${viewer} is not usable: the token given belongs to simbroadcaster (${broadcaster})`
        )
        assert.deepStrictEqual(yield* (yield* TokenStore.TokenStore).list, [], "nothing was stored")
        const ctx = yield* start({ token: { accessToken: issued.accessToken }, userId: broadcaster })
        assert.strictEqual(Context.get(ctx, Client.Client).user.id, broadcaster)
      }).pipe(Effect.provide(base), Effect.scoped))

    it.live("no user given and several stored → NoUserToken (how many); by userId, the stored token is checked", () =>
      Effect.gen(function*() {
        const sim = yield* Simulator.Simulator
        yield* start({ token: { accessToken: (yield* issue(broadcaster)).accessToken } })
        yield* start({ token: { accessToken: (yield* issue(viewer)).accessToken } })
        const several = yield* Effect.flip(start({}))
        assert.strictEqual(several._tag, "NoUserToken")
        assert.strictEqual(several.message, "Client: the TokenStore holds 2 user tokens: choose one with `userId`")
        const client = Context.get(yield* start({ userId: viewer }), Client.Client)
        assert.deepStrictEqual([client.user.id, client.user.login], [viewer, "simviewer"])
        const missing = yield* Effect.flip(start({ userId: viewer, scopes: ["channel:read:redemptions"] }))
        assert.strictEqual(
          missing.message,
          `Client: simviewer (${viewer}) has not granted the scope channel:read:redemptions: authorize again with it`
        )
        const app = yield* Effect.flip(start({ token: { accessToken: (yield* sim.issueAppToken()).accessToken } }))
        assert.strictEqual(app.message, "Client: the token is not usable: this is an app token; a user token is needed")
        const unknown = yield* Effect.flip(start({ userId: "424242" }))
        assert.strictEqual(
          unknown.message,
          "Client: no token is stored for user 424242: register or authorize the user first"
        )
      }).pipe(Effect.provide(base), Effect.scoped))

    it.live("the start is traced", () => {
      const captured = Capture.make()
      return Effect.gen(function*() {
        yield* start({ token: { accessToken: (yield* issue(viewer)).accessToken } })
        assert.strictEqual(captured.spanNames().filter((name) => name === "Client.start").length, 1)
      }).pipe(Effect.provide(base), Effect.scoped, captured.around)
    })

    it.live("a revoked token without a working refresh token → TokenRejected", () =>
      Effect.gen(function*() {
        const sim = yield* Simulator.Simulator
        const issued = yield* issue(broadcaster)
        yield* sim.revokeToken(issued.accessToken)
        const error = yield* Effect.flip(
          start({ token: { accessToken: issued.accessToken, refreshToken: issued.refreshToken } })
        )
        assert.strictEqual(error._tag, "TokenRejected")
        assert.include(error.message, "rejected the refresh token")
      }).pipe(Effect.provide(base), Effect.scoped))
  })
})

describe("Client: the streams a bot author expects", () => {
  const BroadcasterLive = NodeTwitch.layerClient({ userId: broadcaster }).pipe(
    Layer.provideMerge(BotTest.layer({ users: [broadcaster] }))
  )

  /** Collects the first event of `stream` once its subscription exists, after `trigger`. */
  const firstAfter = <A, E>(stream: Stream.Stream<A, E>, trigger: Effect.Effect<unknown, unknown, BotTest.BotTest>) =>
    Effect.gen(function*() {
      const fiber = yield* stream.pipe(Stream.runHead, Effect.fork)
      yield* trigger
      return Option.getOrThrow(yield* Fiber.join(fiber))
    })

  it.scopedLive("new subscriptions, gifts, resubscriptions, cheers, raids and redemptions, each its own stream", () =>
    Effect.gen(function*() {
      const client = yield* Client.Client
      const sub = yield* firstAfter(
        client.newSubscriptions(),
        BotTest.trigger({ type: "channel.subscribe", event: { user_name: "Newbie", tier: "2000" } })
      )
      assert.strictEqual(sub.user_name, "Newbie")
      const tier: "1000" | "2000" | "3000" | (string & {}) = sub.tier
      assert.strictEqual(tier, "2000")
      const gift = yield* firstAfter(
        client.subscriptionGifts(),
        BotTest.trigger({ type: "channel.subscription.gift", event: { total: 5 } })
      )
      assert.strictEqual(gift.total, 5)
      const resub = yield* firstAfter(
        client.resubscriptions(),
        BotTest.trigger({ type: "channel.subscription.message", event: { cumulative_months: 12 } })
      )
      assert.strictEqual(resub.cumulative_months, 12)
      const cheer = yield* firstAfter(client.cheers(), BotTest.trigger({ type: "channel.cheer", event: { bits: 100 } }))
      assert.strictEqual(cheer.bits, 100)
      const raid = yield* firstAfter(client.raids(), BotTest.trigger({ type: "channel.raid", event: { viewers: 42 } }))
      assert.strictEqual(raid.viewers, 42)
      assert.strictEqual(raid.to_broadcaster_user_id, broadcaster)
      const redemption = yield* firstAfter(
        client.redemptions(),
        BotTest.trigger({
          type: "channel.channel_points_custom_reward_redemption.add",
          event: { user_input: "hydrate" }
        })
      )
      assert.strictEqual(redemption.user_input, "hydrate")
      // every subscription was created as the broadcaster, for the broadcaster's channel
      const subs = yield* (yield* BotTest.BotTest).simulator.eventSub.subscriptions
      assert.isTrue(subs.every((s) => s.userId === broadcaster))
    }).pipe(Effect.provide(BroadcasterLive)))

  it.live("a stream whose scope the user has not granted fails before any request, naming the scope and the user", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const issued = yield* issue(broadcaster, ["user:read:chat"])
      const ctx = yield* start({ token: { accessToken: issued.accessToken, refreshToken: issued.refreshToken } })
      const client = Context.get(ctx, Client.Client)
      yield* sim.clearRequestLog
      const error = yield* Effect.flip(Stream.runDrain(client.cheers()))
      assert.strictEqual(error._tag, "EventSubUnauthorized")
      assert.include(error.message, "bits:read")
      assert.include(error.message, "simbroadcaster")
      const redemptions = yield* Effect.flip(Stream.runDrain(client.redemptions()))
      assert.include(redemptions.message, "channel:read:redemptions or channel:manage:redemptions")
      // another broadcaster's subscriptions: Twitch takes them only with that broadcaster's token
      const other = yield* Effect.flip(Stream.runDrain(client.newSubscriptions(viewer)))
      assert.strictEqual(other._tag, "EventSubUnauthorized")
      assert.strictEqual(yield* sim.countRequests({ path: "/eventsub" }), 0, "nothing was sent")
    }).pipe(Effect.provide(base), Effect.scoped))

  it.effect("forEachEvent: a failing handler is logged and the stream goes on; the stream's own failure ends it", () =>
    Effect.gen(function*() {
      const handled: Array<number> = []
      yield* Stream.make(1, 2, 3).pipe(
        Client.forEachEvent((n) =>
          n === 2 ? Effect.fail(new Error("dropped")) : Effect.sync(() => {
            handled.push(n)
          })
        )
      )
      assert.deepStrictEqual(handled, [1, 3])
      const ended = yield* Effect.flip(
        Stream.concat(Stream.make(1), Stream.fail("revoked")).pipe(Client.forEachEvent(() => Effect.void))
      )
      assert.strictEqual(ended, "revoked")
    }))
})
