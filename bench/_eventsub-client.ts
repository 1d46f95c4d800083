/**
 * One EventSub client of `bench/eventsub.ts`, in its own process so its CPU time is its own.
 * argv: <ours|twurple|floor>; env: BENCH_* (URLs, client id, token, user id, count).
 * Prints one JSON line: { kind, events, usPerEvent, eps, peakRssMB }.
 */
import { NodeHttpClient, NodeSocket } from "@effect/platform-node"
import { Effect, Layer, Option, Stream } from "effect"
import * as DateTime from "effect/DateTime"
import * as Redacted from "effect/Redacted"
import { readFileSync } from "node:fs"
import WebSocket from "ws"
import { AccessTokens, EventSub, Helix, OAuth, Token, TokenStore, TwitchConfig } from "../src/index.js"

const kind = process.argv[2] as "ours" | "ours-fold" | "twurple" | "floor"
const env = (name: string): string => {
  const value = process.env[name]
  if (value === undefined) throw new Error(`missing ${name}`)
  return value
}
const count = Number(env("BENCH_COUNT"))
const clientId = env("BENCH_CLIENT_ID")
const accessToken = env("BENCH_TOKEN")
const userId = env("BENCH_USER_ID")
const helixUrl = env("BENCH_HELIX_URL")
const wsUrl = env("BENCH_WS_URL")

// --- measurement: client CPU from the first event to the last -------------------------------
let seen = 0
let firstCpu: NodeJS.CpuUsage | undefined
let firstWall = 0
let textBytes = 0
let finish: () => void = () => {}
const done = new Promise<void>((resolve) => {
  finish = resolve
})
const onEvent = (text: string) => {
  if (seen === 0) {
    firstCpu = process.cpuUsage()
    firstWall = performance.now()
  }
  textBytes += text.length
  seen++
  if (seen === count) finish()
}
const report = () => {
  const cpu = process.cpuUsage(firstCpu)
  const wall = performance.now() - firstWall
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))
  const intervals = Math.max(seen - 1, 1)
  process.stdout.write(
    JSON.stringify({
      kind,
      events: seen,
      usPerEvent: (cpu.user + cpu.system) / intervals,
      eps: Math.round(intervals / (wall / 1000)),
      peakRssMB: hwm ? Number(hwm[1]) / 1024 : null,
      textBytes
    }) + "\n"
  )
  process.exit(0)
}
const ready = () => process.stdout.write("READY\n")

// --- floor: ws + JSON.parse of each frame ---------------------------------------------------
const floor = () => {
  const ws = new WebSocket(wsUrl)
  ws.on("message", (data) => {
    const frame = JSON.parse(String(data))
    const type = frame.metadata.message_type
    if (type === "notification") onEvent(frame.payload.event.message.text)
    else if (type === "session_welcome") {
      fetch(`${helixUrl}/eventsub/subscriptions`, {
        method: "POST",
        headers: { "Client-Id": clientId, Authorization: `Bearer ${accessToken}`, "Content-Type": "application/json" },
        body: JSON.stringify({
          type: "channel.chat.message",
          version: "1",
          condition: { broadcaster_user_id: userId, user_id: userId },
          transport: { method: "websocket", session_id: frame.payload.session.id }
        })
      }).then((r) => r.status === 202 ? ready() : process.exit(3))
    }
  })
  return done
}

// --- Twurple 8 EventSubWsListener (mock mode: TWURPLE_MOCK_API_PORT) -------------------------
const twurple = async () => {
  const { ApiClient } = await import("@twurple/api")
  const { StaticAuthProvider } = await import("@twurple/auth")
  const { EventSubWsListener } = await import("@twurple/eventsub-ws")
  const apiClient = new ApiClient({ authProvider: new StaticAuthProvider(clientId, accessToken) })
  const listener = new EventSubWsListener({ apiClient })
  const subscription = listener.onChannelChatMessage(userId, userId, (event) => onEvent(event.messageText))
  listener.onSubscriptionCreateSuccess(() => ready())
  listener.start()
  await done
  subscription.stop()
}

// --- ours: EventSub stream, every event Schema-validated, deduplicated and typed ----------------
// `ours` consumes with Stream.runForEach (an Effect per event, the idiomatic consumer); `ours-fold`
// with Stream.runFold (a synchronous consumer): the difference is the cost of Effect's sink runtime.
const ours = () => {
  const token = Token.UserToken.make({
    userId,
    login: "bench",
    scopes: ["user:read:chat"],
    accessToken: Redacted.make(accessToken),
    refreshToken: Option.none(),
    expiresAt: Option.none(),
    obtainedAt: DateTime.unsafeNow()
  })
  const Base = Layer.mergeAll(
    TwitchConfig.layer({
      clientId,
      authUrl: env("BENCH_AUTH_URL"),
      helixUrl,
      eventSubWsUrl: wsUrl
    }),
    TokenStore.layerMemory([token]),
    NodeHttpClient.layerUndici,
    NodeSocket.layerWebSocketConstructor
  )
  const Tokens = AccessTokens.layer({ validateInterval: false }).pipe(Layer.provide(OAuth.layer()))
  // knobs to measure what an option costs: BENCH_DEDUPE, BENCH_CONSUMER_BUFFER, BENCH_INGRESS_HIGH_WATER
  const knob = (name: string) => process.env[name] ? Number(process.env[name]) : undefined
  const Live = EventSub.layer({
    dedupeWindow: knob("BENCH_DEDUPE"),
    consumerBuffer: knob("BENCH_CONSUMER_BUFFER"),
    ingressHighWater: knob("BENCH_INGRESS_HIGH_WATER")
  }).pipe(
    Layer.provideMerge(Helix.layer({ defaultUser: userId })),
    Layer.provide(Tokens),
    Layer.provideMerge(Base)
  )
  const program = Effect.gen(function*() {
    const eventSub = yield* EventSub.EventSub
    yield* eventSub.status.pipe(
      Stream.filter((s) => s._tag === "Connected"),
      Stream.take(1),
      Stream.runDrain,
      Effect.zipRight(Effect.sleep("200 millis")),
      Effect.zipRight(Effect.sync(ready)),
      Effect.fork
    )
    const events = eventSub.chatMessages(userId).pipe(Stream.take(count))
    if (kind === "ours-fold") {
      yield* Stream.runFold(events, 0, (n, event) => {
        onEvent(event.message.text)
        return n + 1
      })
    } else {
      yield* Stream.runForEach(events, (event) => Effect.sync(() => onEvent(event.message.text)))
    }
  })
  return Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(Live)))
}

const run = kind === "floor" ? floor : kind === "twurple" ? twurple : ours
run().then(report, (error) => {
  process.stderr.write(`${kind} client failed: ${String(error)}\n`)
  process.exit(1)
})
