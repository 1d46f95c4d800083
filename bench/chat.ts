/**
 * The chat send queue under a burst: N messages (default 200) sent at once as a viewer (neither
 * broadcaster, moderator nor VIP) through `ChatSender`, against the simulator enforcing Twitch's chat
 * limits (20 per 30 s, one per second). Goal: 0 refused for rate, total time ≤ 1.1× the ideal those
 * limits allow (`ChatSender.idealMillis`: 289 s for 200 on Twitch's clock).
 *
 * The limits run on a faster clock (BENCH_CHAT_SCALE, default 1/30: a 1 s window, 33 ms between
 * messages), the same for the simulator and the queue, so the run takes ~10 s while the ratio to the
 * ideal is the one Twitch's limits give (`ChatSender.scaleTime` multiplies the window and the
 * interval; the counts stay). The baseline in the same run: the same burst as another viewer straight
 * through Helix, without the queue.
 *
 * `npm run bench -- chat` (BENCH_CHAT_MESSAGES to change N). Last line: one JSON object.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Clock, Effect, Layer } from "effect"
import { AccessTokens, ChatSender, Helix, OAuth, TokenStore, TwitchConfig } from "../src/index.js"
import * as Simulator from "../src/testing/Simulator.js"

const messages = Number(process.env.BENCH_CHAT_MESSAGES ?? 200)
/** `1/30` or `0.0333` */
const parseScale = (text: string): number => {
  const [a, b] = text.split("/").map(Number)
  return b === undefined ? a! : a! / b
}
const scale = parseScale(process.env.BENCH_CHAT_SCALE ?? "1/30")
const limits = ChatSender.scaleTime(ChatSender.twitchLimits, scale)
const idealMs = ChatSender.idealMillis(limits, messages)

const burst = (send: (text: string) => Effect.Effect<unknown, Helix.HelixFailure>) =>
  Effect.gen(function*() {
    const start = yield* Clock.currentTimeMillis
    const results = yield* Effect.forEach(
      Array.from({ length: messages }, (_, i) => `burst message ${i}`),
      (text) => Effect.either(send(text)),
      { concurrency: "unbounded" }
    )
    const ms = (yield* Clock.currentTimeMillis) - start
    return { ms, failed: results.filter((r) => r._tag === "Left").length }
  })

const program = Effect.gen(function*() {
  const sim = yield* Simulator.Simulator
  const store = yield* TokenStore.TokenStore
  const helix = yield* Helix.Helix
  const channel = sim.users.broadcaster
  const naiveViewer = yield* sim.addUser({ login: "naiveviewer" })
  for (const userId of [sim.users.viewer, naiveViewer.id]) {
    yield* store.set(yield* Simulator.userToken({ userId, scopes: ["user:write:chat"] }))
  }
  process.stdout.write(
    `${messages} messages as a viewer; limits ×${scale.toFixed(4)} (window ${limits.windowMillis} ms, ` +
      `${limits.minIntervalMillis.toFixed(1)} ms apart); ideal ${idealMs.toFixed(0)} ms ` +
      `(${(idealMs / scale / 1000).toFixed(0)} s on Twitch's clock)\n`
  )

  // baseline: straight through Helix, no queue
  const naive = yield* burst((text) => ChatSender.sendNow(helix, { sender: naiveViewer.id, channel, text }))
  const naiveRefused = (yield* sim.counters).chatRateLimited
  process.stdout.write(`without the queue: ${naiveRefused} of ${messages} refused for rate, ${naive.ms} ms\n`)

  const chat = yield* ChatSender.make({ sender: sim.users.viewer, limits })
  const queued = yield* burst((text) => chat.send({ channel, text }))
  const refused = (yield* sim.counters).chatRateLimited - naiveRefused
  const sent = (yield* sim.chatMessages).filter((m) => m.sender_id === sim.users.viewer && m.is_sent).length
  const ratio = queued.ms / idealMs
  process.stdout.write(
    `through ChatSender: ${sent} sent, ${refused} refused for rate, ${queued.failed} failed, ${queued.ms} ms = ` +
      `${ratio.toFixed(3)}× the ideal (goal ≤ 1.1×, 0 refused)\n`
  )
  process.stdout.write(
    JSON.stringify({
      bench: "chat",
      messages,
      refused,
      ms: queued.ms,
      idealMs: Math.round(idealMs),
      ratio: Number(ratio.toFixed(3)),
      scale: Number(scale.toFixed(5)),
      naiveRefused
    }) + "\n"
  )
})

/** Helix (tokens in memory) against the simulator, the simulator enforcing the scaled limits. */
const library = Layer.unwrapEffect(Effect.map(Simulator.Simulator, (sim) =>
  Helix.layer({ maxConcurrency: 100 }).pipe(
    Layer.provideMerge(AccessTokens.layer({ validateInterval: false })),
    Layer.provide(OAuth.layer()),
    Layer.provideMerge(TokenStore.layerMemory()),
    Layer.provide(TwitchConfig.layer({ clientId: sim.clientId, authUrl: sim.authUrl, helixUrl: sim.helixUrl })),
    Layer.provide(NodeHttpClient.layerUndici)
  )))

Effect.runPromise(
  program.pipe(
    Effect.scoped,
    Effect.provide(library.pipe(Layer.provideMerge(Simulator.layer({ chatLimits: limits }))))
  )
).then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${String(error)}\n`)
    process.exit(1)
  }
)
