import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeSocket from "@effect/platform-node/NodeSocket"
import * as FileSystem from "@effect/platform/FileSystem"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Context, Effect, Exit, Fiber, Layer, Option, Redacted, Scope, Stream, TestClock } from "effect"
import * as AccessTokens from "../src/AccessTokens.js"
import * as Bot from "../src/Bot.js"
import * as DeviceAuth from "../src/DeviceAuth.js"
import * as EventSub from "../src/EventSub.js"
import * as Helix from "../src/Helix.js"
import * as Chat from "../src/Helix/Chat.js"
import * as Streams from "../src/Helix/Streams.js"
import * as OAuth from "../src/OAuth.js"
import * as Simulator from "../src/testing/Simulator.js"
import * as TokenStore from "../src/TokenStore.js"
import * as Capture from "./fixtures/capture.js"
import { userById } from "./fixtures/helix.js"

const { broadcaster, moderator, viewer } = Simulator.defaultUsers
const SCOPES = ["user:write:chat", "user:manage:whispers", "moderator:read:followers", "user:read:chat"]

const platform = Layer.mergeAll(
  Simulator.layerTwitchConfig,
  NodeHttpClient.layerUndici,
  NodeSocket.layerWebSocketConstructor
)

/** Simulator + platform + memory store; the bot itself is built per test with `start`. */
const base = Layer.mergeAll(platform, TokenStore.layerMemory()).pipe(Layer.provideMerge(Simulator.layer()))

const start = (options: Bot.Options = { accessTokens: { validateInterval: false } }) => Layer.build(Bot.layer(options))

const issue = (userId: string, scopes: ReadonlyArray<string> = SCOPES, clientId?: string) =>
  Effect.flatMap(Simulator.Simulator, (sim) => sim.issueUserToken({ userId, scopes, clientId }))

const realPause = (ms: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms)))

/** Three users registered with the bot; returns their issued tokens by user id. */
const registerThree = (bot: Bot.Bot.Service) =>
  Effect.gen(function*() {
    const tokens = new Map<string, { readonly accessToken: string; readonly refreshToken: string }>()
    for (const userId of [broadcaster, moderator, viewer]) {
      const issued = yield* issue(userId)
      yield* bot.register({ accessToken: issued.accessToken, refreshToken: Redacted.make(issued.refreshToken) })
      tokens.set(userId, issued)
    }
    return tokens
  })

describe("Bot", () => {
  it.live("three registered users: registrations announced, each call carries its own user's token", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const ctx = yield* start()
      const bot = Context.get(ctx, Bot.Bot)
      const helix = Context.get(ctx, Helix.Helix)
      const announced = yield* bot.registrations.pipe(Stream.take(3), Stream.runCollect, Effect.fork)
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow()

      const tokens = yield* registerThree(bot)
      assert.deepStrictEqual(
        Chunk.toReadonlyArray(yield* Fiber.join(announced)).map((r) => [r.userId, r.login, r.isNew]),
        [[broadcaster, "simbroadcaster", true], [moderator, "simmoderator", true], [viewer, "simviewer", true]]
      )
      const users = yield* bot.users
      assert.deepStrictEqual(users.map((u) => u.userId).sort(), [broadcaster, moderator, viewer])
      assert.deepStrictEqual([...users[0]!.scopes].sort(), [...SCOPES].sort())

      yield* sim.clearRequestLog
      for (const userId of tokens.keys()) {
        yield* userById(helix, broadcaster).pipe(bot.asUser(userId))
        yield* helix.request(Chat.sendChatMessage, { broadcaster_id: broadcaster, message: `hi from ${userId}` }).pipe(
          bot.asUser(userId)
        )
      }
      for (const [userId, issued] of tokens) {
        assert.strictEqual(yield* sim.countRequests({ token: issued.accessToken }), 2, `requests of ${userId}`)
        assert.strictEqual(yield* sim.countRequests({ userId }), 2)
      }
      assert.deepStrictEqual(
        (yield* sim.chatMessages).map((m) => m.sender_id),
        [broadcaster, moderator, viewer]
      )
    }).pipe(Effect.provide(base), Effect.scoped))

  it.live("EventSub streams run over each user's own connection", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const ctx = yield* start()
      const bot = Context.get(ctx, Bot.Bot)
      const eventSub = Context.get(ctx, EventSub.EventSub)
      yield* registerThree(bot)
      const streams = yield* Effect.forEach(
        [broadcaster, moderator],
        (userId) =>
          eventSub.chatMessages(broadcaster).pipe(bot.asUser(userId), Stream.take(1), Stream.runCollect, Effect.fork)
      )
      let subs = yield* sim.eventSub.subscriptions
      for (let i = 0; i < 200 && subs.filter((s) => s.status === "enabled").length < 2; i++) {
        yield* realPause(10)
        subs = yield* sim.eventSub.subscriptions
      }
      assert.deepStrictEqual(subs.map((s) => s.condition.user_id).sort(), [broadcaster, moderator])
      assert.deepStrictEqual(subs.map((s) => s.userId).sort(), [broadcaster, moderator])
      assert.strictEqual(new Set(subs.map((s) => s.sessionId)).size, 2, "one connection per user")
      yield* sim.eventSub.trigger({ type: "channel.chat.message", event: { chatter_user_name: "Someone" } })
      for (const fiber of streams) {
        assert.strictEqual(Chunk.unsafeHead(yield* Fiber.join(fiber)).chatter_user_name, "Someone")
      }
    }).pipe(Effect.provide(base), Effect.scoped))

  it.live("with a default user, bot.asUser(other) streams over the other user's connection with their token", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const tokens = yield* registerThree(Context.get(yield* start(), Bot.Bot))
      const ctx = yield* start({ defaultUser: broadcaster, accessTokens: { validateInterval: false } })
      const bot = Context.get(ctx, Bot.Bot)
      const eventSub = Context.get(ctx, EventSub.EventSub)
      const streams = yield* Effect.forEach(
        [eventSub.streamOnline(broadcaster), eventSub.streamOnline(broadcaster).pipe(bot.asUser(moderator))],
        (stream) => stream.pipe(Stream.take(1), Stream.runCollect, Effect.fork)
      )
      let subs = yield* sim.eventSub.subscriptions
      for (let i = 0; i < 200 && subs.filter((s) => s.status === "enabled").length < 2; i++) {
        yield* realPause(10)
        subs = yield* sim.eventSub.subscriptions
      }
      assert.deepStrictEqual(subs.map((s) => s.userId).sort(), [broadcaster, moderator], "created with whose token")
      assert.strictEqual(new Set(subs.map((s) => s.sessionId)).size, 2, "one connection per user")
      assert.strictEqual(
        yield* sim.countRequests({
          path: "/eventsub/subscriptions",
          method: "POST",
          token: tokens.get(moderator)!.accessToken
        }),
        1
      )
      yield* sim.eventSub.trigger({ type: "stream.online" })
      for (const fiber of streams) assert.strictEqual(Chunk.size(yield* Fiber.join(fiber)), 1)
    }).pipe(Effect.provide(base), Effect.scoped))

  it.live("one user's refresh failure leaves the others working", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const ctx = yield* start()
      const bot = Context.get(ctx, Bot.Bot)
      const helix = Context.get(ctx, Helix.Helix)
      const tokens = yield* registerThree(bot)
      // the moderator's token is revoked (its refresh token with it); the viewer's merely expired
      yield* sim.revokeToken(tokens.get(moderator)!.accessToken)
      yield* sim.expireToken(tokens.get(viewer)!.accessToken)

      const results = yield* Effect.forEach(
        [broadcaster, moderator, viewer],
        (userId) => Effect.either(userById(helix, broadcaster).pipe(bot.asUser(userId))),
        { concurrency: "unbounded" }
      )
      assert.isTrue(results[0]!._tag === "Right")
      assert.isTrue(results[1]!._tag === "Left" && results[1]!.left._tag === "TokenDead")
      assert.isTrue(results[2]!._tag === "Right", "the viewer's token was refreshed")
      const counters = yield* sim.counters
      assert.strictEqual(counters.tokenRefreshes, 1)
      assert.strictEqual(counters.tokenRefreshFailures, 1)
      // later calls: the dead user fails fast, the others go on
      assert.isTrue(Option.isSome(yield* userById(helix, viewer).pipe(bot.asUser(broadcaster))))
      assert.isTrue(Option.isSome(yield* userById(helix, viewer).pipe(bot.asUser(viewer))))
      const again = yield* Effect.flip(userById(helix, viewer).pipe(bot.asUser(moderator)))
      assert.strictEqual(again._tag, "TokenDead")
      assert.include(again.message, moderator)
      assert.strictEqual((yield* sim.counters).tokenRefreshFailures, 1)
    }).pipe(Effect.provide(base), Effect.scoped))

  it.live("unregister removes; with revoke the token no longer works at Twitch", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const ctx = yield* start()
      const bot = Context.get(ctx, Bot.Bot)
      const oauth = Context.get(ctx, OAuth.OAuth)
      const tokens = yield* registerThree(bot)

      yield* bot.unregister(moderator)
      yield* bot.unregister(viewer, { revoke: true })
      assert.deepStrictEqual((yield* bot.users).map((u) => u.userId), [broadcaster])
      const kept = Option.getOrThrow(yield* sim.tokenInfo(tokens.get(moderator)!.accessToken))
      assert.isFalse(kept.revoked, "without revoke the token stays valid")
      const revoked = Option.getOrThrow(yield* sim.tokenInfo(tokens.get(viewer)!.accessToken))
      assert.isTrue(revoked.revoked)
      const validate = yield* Effect.flip(oauth.validate(Redacted.make(tokens.get(viewer)!.accessToken)))
      assert.strictEqual(validate._tag, "InvalidAccessToken")

      // an expired access token: no working token (refresh token included) remains
      yield* sim.expireToken(tokens.get(broadcaster)!.accessToken)
      yield* bot.unregister(broadcaster, { revoke: true })
      assert.deepStrictEqual(yield* bot.users, [])
      const refresh = yield* Effect.flip(oauth.refresh(Redacted.make(tokens.get(broadcaster)!.refreshToken)))
      assert.strictEqual(refresh._tag, "InvalidRefreshToken")
    }).pipe(Effect.provide(base), Effect.scoped))

  describe("bad input: typed errors with readable messages", () => {
    it.live("a token for another client id → ClientIdMismatch, nothing stored or announced", () =>
      Effect.gen(function*() {
        const sim = yield* Simulator.Simulator
        const bot = Context.get(yield* start(), Bot.Bot)
        yield* sim.addClient({ clientId: "someotherclientid0000000000001", clientSecret: "other" })
        const issued = yield* issue(viewer, SCOPES, "someotherclientid0000000000001")
        const error = yield* Effect.flip(bot.register({ accessToken: issued.accessToken }))
        assert.strictEqual(error._tag, "ClientIdMismatch")
        assert.strictEqual(
          error.message,
          "The token of simviewer was issued for client id someotherclientid0000000000001, not for this app " +
            `(client id ${sim.clientId}): authorize the user with this app's client id`
        )
        assert.deepStrictEqual(yield* bot.users, [])
      }).pipe(Effect.provide(base), Effect.scoped))

    it.live("missing scopes, app tokens, unknown users", () =>
      Effect.gen(function*() {
        const sim = yield* Simulator.Simulator
        const ctx = yield* start({ scopes: ["user:read:chat"], accessTokens: { validateInterval: false } })
        const bot = Context.get(ctx, Bot.Bot)
        const helix = Context.get(ctx, Helix.Helix)

        const noChat = yield* issue(viewer, ["user:write:chat"])
        const missing = yield* Effect.flip(bot.register({ accessToken: noChat.accessToken }))
        assert.strictEqual(missing._tag, "MissingScopes")
        assert.include(missing.message, "Bot.register: simviewer (100000003) has not granted the scope user:read:chat")
        const alsoWhispers = yield* Effect.flip(
          bot.register({ accessToken: noChat.accessToken }, { scopes: ["user:manage:whispers"] })
        )
        assert.include(alsoWhispers.message, "scopes user:read:chat, user:manage:whispers")

        const app = yield* sim.issueAppToken()
        const appToken = yield* Effect.flip(bot.register({ accessToken: app.accessToken }))
        assert.strictEqual(appToken._tag, "TokenRejected")
        assert.strictEqual(
          appToken.message,
          "Bot.register: the token is not usable: this is an app token; a user token is needed"
        )

        const unknown = yield* Effect.flip(userById(helix, viewer).pipe(bot.asUser("424242")))
        assert.strictEqual(unknown._tag, "UnknownUser")
        assert.include(unknown.message, "no token is stored for user 424242")
        const unknownStream = yield* Effect.flip(
          Stream.runDrain(helix.paginate(Streams.getStreams, {}).pipe(bot.asUser("424242")))
        )
        assert.strictEqual(unknownStream._tag, "UnknownUser")
        assert.strictEqual((yield* Effect.flip(bot.unregister("424242")))._tag, "UnknownUser")
        assert.strictEqual((yield* Effect.flip(bot.user("424242")))._tag, "UnknownUser")
        assert.strictEqual(yield* sim.countRequests({ path: "/helix" }), 0, "nothing was sent for unknown users")
      }).pipe(Effect.provide(base), Effect.scoped))

    it.live("re-registering a user replaces the token and is announced with isNew: false", () =>
      Effect.gen(function*() {
        const bot = Context.get(yield* start(), Bot.Bot)
        const first = yield* issue(viewer)
        yield* bot.register({ accessToken: first.accessToken })
        const announced = yield* bot.registrations.pipe(Stream.take(1), Stream.runCollect, Effect.fork)
        for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
        const second = yield* issue(viewer)
        const registration = yield* bot.register({ accessToken: second.accessToken })
        assert.isFalse(registration.isNew)
        assert.isFalse(Chunk.unsafeHead(yield* Fiber.join(announced)).isNew)
        const stored = Option.getOrThrow(yield* (yield* TokenStore.TokenStore).get(viewer))
        assert.strictEqual(Redacted.value(stored.accessToken), second.accessToken)
      }).pipe(Effect.provide(base), Effect.scoped))
  })

  it.live("user, requireScopes and unknown users: each answer and error names the user and the operation", () =>
    Effect.gen(function*() {
      const bot = Context.get(yield* start(), Bot.Bot)
      yield* bot.register({ accessToken: (yield* issue(viewer, ["user:read:chat"])).accessToken })
      const expected = { userId: viewer, login: "simviewer", scopes: ["user:read:chat"] }
      assert.deepStrictEqual(yield* bot.user(viewer), expected)
      assert.deepStrictEqual(yield* bot.requireScopes(viewer, ["user:read:chat"]), expected)
      const missing = yield* Effect.flip(bot.requireScopes(viewer, ["user:read:chat", "user:write:chat"]))
      assert.strictEqual(
        missing.message,
        `Bot.requireScopes: simviewer (${viewer}) has not granted the scope user:write:chat: authorize again with it`
      )
      const named = yield* Effect.flip(bot.requireScopes(viewer, ["user:write:chat"], "greeter"))
      assert.include(named.message, "greeter: simviewer")
      const unknown = (operation: string) =>
        `${operation}: no token is stored for user 424242: register or authorize the user first`
      assert.strictEqual((yield* Effect.flip(bot.user("424242"))).message, unknown("Bot.user"))
      assert.strictEqual((yield* Effect.flip(bot.unregister("424242"))).message, unknown("Bot.unregister"))
      assert.strictEqual((yield* Effect.flip(bot.requireScopes("424242", []))).message, unknown("Bot.requireScopes"))
      assert.strictEqual(
        (yield* Effect.flip(bot.requireScopes("424242", [], "greeter"))).message,
        unknown("greeter")
      )
      assert.strictEqual(
        (yield* Effect.flip(Effect.void.pipe(bot.asUser("424242")))).message,
        unknown("Bot.asUser")
      )
      assert.strictEqual(
        (yield* Effect.flip(Stream.runDrain(Stream.make(1).pipe(bot.asUser("424242"))))).message,
        unknown("Bot.asUser")
      )
      // a registered user's effect and stream run as given
      assert.strictEqual(yield* Effect.succeed(7).pipe(bot.asUser(viewer)), 7)
      assert.deepStrictEqual(
        Chunk.toReadonlyArray(yield* Stream.runCollect(Stream.make(1, 2).pipe(bot.asUser(viewer)))),
        [1, 2]
      )
    }).pipe(Effect.provide(base), Effect.scoped))

  it.live("a refresh of a registered user's token is not announced as a registration", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const ctx = yield* start()
      const bot = Context.get(ctx, Bot.Bot)
      const helix = Context.get(ctx, Helix.Helix)
      const issued = yield* issue(viewer)
      yield* bot.register({ accessToken: issued.accessToken, refreshToken: Redacted.make(issued.refreshToken) })
      const announced = yield* bot.registrations.pipe(Stream.take(1), Stream.runCollect, Effect.fork)
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
      yield* sim.expireToken(issued.accessToken)
      yield* userById(helix, viewer).pipe(bot.asUser(viewer)) // 401 → refresh → retry
      assert.strictEqual((yield* sim.counters).tokenRefreshes, 1)
      yield* bot.register({ accessToken: (yield* issue(broadcaster)).accessToken })
      const first = Chunk.unsafeHead(yield* Fiber.join(announced))
      assert.deepStrictEqual([first.userId, first.isNew], [broadcaster, true])
    }).pipe(Effect.provide(base), Effect.scoped))

  it.live("unregister with revoke when Twitch takes neither token any more: the user is removed all the same", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const bot = Context.get(yield* start(), Bot.Bot)
      const issued = yield* issue(viewer)
      yield* bot.register({ accessToken: issued.accessToken, refreshToken: Redacted.make(issued.refreshToken) })
      yield* sim.revokeToken(issued.accessToken) // its refresh token with it
      yield* bot.unregister(viewer, { revoke: true })
      assert.deepStrictEqual(yield* bot.users, [])
      assert.strictEqual((yield* sim.counters).tokenRefreshFailures, 1, "the refresh token was tried")
    }).pipe(Effect.provide(base), Effect.scoped))

  /** The bot over an OAuth whose `revoke` first runs `before`, then fails as Twitch does for an unknown token. */
  const refusingRevoke = (before: (token: string) => Effect.Effect<void, never, TokenStore.TokenStore>) => {
    const revoked: Array<string> = []
    const oauth = Layer.effect(
      OAuth.OAuth,
      Effect.gen(function*() {
        const real = yield* OAuth.OAuth
        const store = yield* TokenStore.TokenStore
        return OAuth.OAuth.of({
          ...real,
          revoke: (token) =>
            Effect.suspend(() => {
              revoked.push(Redacted.value(token))
              return Effect.zipRight(
                Effect.provideService(before(Redacted.value(token)), TokenStore.TokenStore, store),
                Effect.fail(new OAuth.InvalidToken({ method: "revoke" }))
              )
            })
        })
      })
    ).pipe(Layer.provide(OAuth.layer()))
    const layer = Layer.effect(Bot.Bot, Bot.make()).pipe(
      Layer.provideMerge(AccessTokens.layer({ validateInterval: false })),
      Layer.provideMerge(oauth)
    )
    return { revoked, layer }
  }

  it.live("unregister with revoke: a refused access token → refresh and revoke the new one; refusals end there", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const refusing = refusingRevoke(() => Effect.void)
      const ctx = yield* Layer.build(refusing.layer)
      const bot = Context.get(ctx, Bot.Bot)
      const refreshed = yield* Context.get(ctx, AccessTokens.AccessTokens).refreshes.pipe(
        Stream.take(1),
        Stream.runCollect,
        Effect.fork
      )
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
      const issued = yield* issue(viewer)
      yield* bot.register({ accessToken: issued.accessToken, refreshToken: Redacted.make(issued.refreshToken) })
      yield* bot.unregister(viewer, { revoke: true })
      const fresh = Redacted.value(Chunk.unsafeHead(yield* Fiber.join(refreshed)).accessToken)
      assert.deepStrictEqual(refusing.revoked, [issued.accessToken, fresh], "the refreshed token was revoked too")
      assert.strictEqual((yield* sim.counters).tokenRefreshes, 1)
      assert.deepStrictEqual(yield* bot.users, [])
    }).pipe(Effect.provide(base), Effect.scoped))

  it.live("unregister with revoke: a user removed meanwhile (another unregister) is not an error", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const refusing = refusingRevoke(() =>
        Effect.flatMap(TokenStore.TokenStore, (store) => Effect.orDie(store.remove(viewer)))
      )
      const bot = Context.get(yield* Layer.build(refusing.layer), Bot.Bot)
      const issued = yield* issue(viewer)
      yield* bot.register({ accessToken: issued.accessToken, refreshToken: Redacted.make(issued.refreshToken) })
      yield* bot.unregister(viewer, { revoke: true })
      assert.deepStrictEqual(refusing.revoked, [issued.accessToken])
      assert.strictEqual((yield* sim.counters).tokenRefreshes, 0)
      assert.deepStrictEqual(yield* bot.users, [])
    }).pipe(Effect.provide(base), Effect.scoped))

  it.live("register and unregister are traced (unregister with the user id)", () => {
    const captured = Capture.make()
    return Effect.gen(function*() {
      const bot = Context.get(yield* start(), Bot.Bot)
      yield* bot.register({ accessToken: (yield* issue(viewer)).accessToken })
      yield* bot.unregister(viewer)
      const spans = captured.spans()
      assert.strictEqual(spans.filter((s) => s.name === "Bot.register").length, 1)
      assert.deepStrictEqual(
        spans.filter((s) => s.name === "Bot.unregister").map((s) => s.attributes.get("userId")),
        [viewer]
      )
    }).pipe(Effect.provide(base), Effect.scoped, captured.around)
  })

  it.scoped("a user authorized by a Device Code flow is announced as a registration", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const ctx = yield* start()
      const bot = Context.get(ctx, Bot.Bot)
      const deviceAuth = Context.get(ctx, DeviceAuth.DeviceAuth)
      const announced = yield* bot.registrations.pipe(Stream.take(1), Stream.runCollect, Effect.fork)
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
      const code = yield* deviceAuth.start(["user:read:chat"])
      yield* sim.approveDevice(code.userCode, viewer)
      const poll = yield* Effect.fork(deviceAuth.poll(code))
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
      yield* TestClock.adjust(`${code.interval} seconds`)
      yield* Fiber.join(poll)
      const registration = Chunk.unsafeHead(yield* Fiber.join(announced))
      assert.deepStrictEqual([registration.userId, registration.login, registration.isNew], [viewer, "simviewer", true])
      assert.deepStrictEqual((yield* bot.users).map((u) => u.userId), [viewer])
    }).pipe(Effect.provide(base)))

  it.live("registered users survive a restart through the file TokenStore", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const path = `${dir}/tokens.json`
      const sim = yield* Simulator.Simulator
      const stack = Bot.layer({ accessTokens: { validateInterval: false } }).pipe(
        Layer.provide(TokenStore.layerFile(path)),
        Layer.provide(Layer.mergeAll(platform, NodeFileSystem.layer))
      )
      const viewerToken = yield* issue(viewer)

      const first = yield* Scope.make()
      const bot1 = Context.get(yield* Layer.buildWithScope(stack, first), Bot.Bot)
      yield* bot1.register({ accessToken: (yield* issue(broadcaster)).accessToken })
      yield* bot1.register({ accessToken: viewerToken.accessToken, refreshToken: viewerToken.refreshToken })
      yield* Scope.close(first, Exit.void)

      const ctx = yield* Layer.build(stack)
      const bot2 = Context.get(ctx, Bot.Bot)
      const users = yield* bot2.users
      assert.deepStrictEqual(
        users.map((u) => [u.userId, u.login]).sort(),
        [[broadcaster, "simbroadcaster"], [viewer, "simviewer"]]
      )
      yield* sim.clearRequestLog
      yield* userById(Context.get(ctx, Helix.Helix), viewer).pipe(bot2.asUser(viewer))
      assert.strictEqual(yield* sim.countRequests({ token: viewerToken.accessToken }), 1)
    }).pipe(Effect.provide(Layer.merge(Simulator.layer(), NodeFileSystem.layer)), Effect.scoped))
})
