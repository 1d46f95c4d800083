/**
 * Webhook follows: every follow of a channel, received over EventSub webhooks (no socket held open).
 *
 *   npx tsx examples/webhook-follows.ts
 *
 * Without TWITCH_CLIENT_ID it runs against the local simulator: it listens on a free local port, the
 * simulator verifies the callback and posts two follows, and the example ends.
 *
 * Against Twitch, set:
 * - TWITCH_CLIENT_ID, TWITCH_CLIENT_SECRET: the app (webhook subscriptions are made with the app token);
 * - TWITCH_CHANNEL: the channel's login; its broadcaster must have authorized the app with
 *   moderator:read:followers once (e.g. `npx effect-twitch token device --scopes moderator:read:followers`);
 * - TWITCH_WEBHOOK_SECRET: 10–100 characters, signs every message Twitch posts;
 * - TWITCH_WEBHOOK_CALLBACK: the public HTTPS URL Twitch posts to (a tunnel or proxy to PORT, path /eventsub);
 * - PORT: where this listens (default 8080); TWITCH_*_URL as for every example.
 * It prints `<login> followed` once per follow (retries are deduplicated) until you stop it, and a line
 * naming the reason if Twitch revokes the subscription.
 */
import { Config, Console, Effect, Layer, Option, Redacted, Stream } from "effect"
import type { Scopes } from "effect-twitch"
import { AccessTokens, EventSub, Helix, HelixApi, OAuth } from "effect-twitch"
import * as EventSubWebhook from "effect-twitch/EventSubWebhook"
import * as NodeTwitch from "effect-twitch/NodeTwitch"
import type { Simulator } from "effect-twitch/testing"
import * as Env from "./internal/env.js"

export const scopes: ReadonlyArray<Scopes.Scope> = ["moderator:read:followers"]

/** The channel's follows over webhooks; a revocation ends the stream after a line naming Twitch's reason. */
export const follows = (broadcasterId: string) =>
  Stream.unwrap(Effect.map(EventSub.EventSub, (eventSub) => eventSub.follows(broadcasterId))).pipe(
    Stream.catchTag(
      "EventSubRevoked",
      (revoked) =>
        Stream.fromEffect(Console.log(`Twitch revoked the subscription: ${revoked.status}`)).pipe(Stream.drain)
    )
  )

const printFollows = (broadcasterId: string) =>
  follows(broadcasterId).pipe(Stream.tap((follow) => Console.log(`${follow.user_login} followed`)))

/** The channel's broadcaster id, from its login, with the app token. */
const broadcasterOf = (login: string) =>
  Effect.flatMap(
    HelixApi.Users.getUsers({ login: [login] }).pipe(Helix.withApp),
    ([user]) =>
      user === undefined
        ? new Env.ExampleError({ message: `TWITCH_CHANNEL: there is no Twitch user named ${login}` })
        : Effect.succeed(user.id)
  )

/** Helix with the app token: what webhook subscriptions are made with. */
const layerHelix = Helix.layer().pipe(
  Layer.provideMerge(AccessTokens.layer()),
  Layer.provide(OAuth.layer()),
  Layer.provide(NodeTwitch.layerPlatform)
)

/** The webhook transport and its server (POST /eventsub on `port`), over Helix with the app token. */
export const layerWebhook = (options: { readonly port: number; readonly callback: string }) =>
  NodeTwitch.layerWebhookServer({ port: options.port, path: "/eventsub" }).pipe(
    Layer.provideMerge(EventSubWebhook.layerConfig({
      callback: Config.succeed(options.callback),
      secret: Config.redacted("TWITCH_WEBHOOK_SECRET").pipe(
        Config.orElse(() => Config.succeed(Redacted.make("simulator-webhook-secret")))
      )
    })),
    Layer.provideMerge(layerHelix)
  )

/** A free-enough local port for the simulator runs (the simulator posts only to loopback callbacks). */
export const localCallback = () => {
  const port = 20_000 + Math.floor(Math.random() * 20_000)
  return { port, callback: `http://127.0.0.1:${port}/eventsub` }
}

/** Against Twitch: until stopped. */
const onTwitch = Effect.gen(function*() {
  const login = yield* Config.nonEmptyString("TWITCH_CHANNEL")
  const callback = yield* Config.nonEmptyString("TWITCH_WEBHOOK_CALLBACK")
  const port = yield* Config.withDefault(Config.port("PORT"), 8080)
  const broadcasterId = yield* broadcasterOf(login).pipe(Effect.provide(layerHelix))
  yield* Console.log(`Listening on :${port}/eventsub for follows of ${login} (Twitch posts to ${callback})…`)
  yield* Stream.runDrain(printFollows(broadcasterId)).pipe(Effect.provide(layerWebhook({ port, callback })))
})

/** Against the simulator: its broadcaster authorizes the app, two viewers follow, then the example ends. */
const onSimulator = (sim: Simulator.Simulator.Service) =>
  Effect.gen(function*() {
    const { callback, port } = localCallback()
    const broadcasterId = sim.users.broadcaster
    yield* sim.issueUserToken({ userId: broadcasterId, scopes })
    yield* Console.log(`Listening on ${callback} for follows of simbroadcaster…`)
    const followers = [sim.users.viewer, sim.users.moderator]
    const stage = Env.awaitSubscription(sim, "channel.follow").pipe(
      Effect.zipRight(Effect.forEach(followers, (userId) => Env.simulateFollow(sim, broadcasterId, userId)))
    )
    yield* Effect.all(
      [Stream.runDrain(Stream.take(printFollows(broadcasterId), followers.length)), stage],
      { concurrency: 2, discard: true }
    ).pipe(
      Effect.provide(layerWebhook({ port, callback })),
      Effect.timeoutFail({
        duration: "30 seconds",
        onTimeout: () => new Env.ExampleError({ message: "no follows seen" })
      })
    )
  })

const main = Effect.gen(function*() {
  const sim = yield* Env.simulator
  return yield* Option.isNone(sim) ? onTwitch : onSimulator(sim.value)
})

if (Env.isMain(import.meta.url)) {
  // TwitchConfig (the simulator's, or TWITCH_* with the client secret) and a TokenStore
  Env.run(main.pipe(Effect.provide(Env.layerTwitch)))
}
