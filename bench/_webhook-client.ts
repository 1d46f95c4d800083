/**
 * One webhook listener of the webhook ingest row of `bench/eventsub.ts`, in its own process so its CPU time
 * is its own. Both listeners sit on the same plain Node `http.Server`:
 * - `ours`: `EventSubWebhook`'s `nodeHandler`, events read with `Stream.runForEach` (the README's consumer);
 *   the subscription is created through a stand-in Helix (no network: creating it is not measured);
 * - `twurple`: `@twurple/eventsub-http`'s `EventSubMiddleware` (unmanaged: Twurple creates nothing), its
 *   routes mounted on a minimal router (`post(path, handler)` with `req.params.id`, what it asks of Express).
 * argv: <ours|twurple>; env: BENCH_COUNT, BENCH_SECRET, BENCH_USER_ID.
 * Prints `READY {port, path, subscriptionId}` once listening, then one JSON line:
 * { kind, events, usPerEvent, eps, peakRssMB } (CPU from the first request to the last event delivered).
 */
import { Effect, Layer, Option, Redacted, Stream } from "effect"
import { readFileSync } from "node:fs"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import * as EventSubWebhook from "../src/EventSubWebhook.js"
import { EventSub, Helix } from "../src/index.js"

const kind = process.argv[2] as "ours" | "twurple"
const env = (name: string): string => {
  const value = process.env[name]
  if (value === undefined) throw new Error(`missing ${name}`)
  return value
}
const count = Number(env("BENCH_COUNT"))
const secret = env("BENCH_SECRET")
const userId = env("BENCH_USER_ID")
const SUBSCRIPTION_ID = "bench-webhook-subscription"

// --- measurement: listener CPU from the first request to the last event delivered ----------------
let seen = 0
let firstCpu: NodeJS.CpuUsage | undefined
let firstWall = 0
let finish: () => void = () => {}
const done = new Promise<void>((resolve) => {
  finish = resolve
})
const onRequest = () => {
  if (firstCpu === undefined) {
    firstCpu = process.cpuUsage()
    firstWall = performance.now()
  }
}
const onEvent = (text: string) => {
  if (text.length === 0) return
  seen++
  if (seen === count) finish()
}
const report = () => {
  const cpu = process.cpuUsage(firstCpu)
  const wall = performance.now() - firstWall
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))
  process.stdout.write(
    JSON.stringify({
      kind,
      events: seen,
      usPerEvent: (cpu.user + cpu.system) / seen,
      eps: Math.round(seen / (wall / 1000)),
      peakRssMB: hwm ? Number(hwm[1]) / 1024 : null
    }) + "\n"
  )
  process.exit(0)
}

const listen = (handler: (request: IncomingMessage, response: ServerResponse) => void) =>
  new Promise<number>((resolve) => {
    const server = createServer({ keepAliveTimeout: 60_000 }, (request, response) => {
      onRequest()
      handler(request, response)
    })
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port))
  })

const ready = (port: number, path: string) =>
  process.stdout.write(`READY ${JSON.stringify({ port, path, subscriptionId: SUBSCRIPTION_ID })}\n`)

// --- ours: EventSubWebhook on a plain Node server ------------------------------------------------
const ours = () => {
  let port = 0
  // a stand-in Helix: lists nothing, creates the subscription with a known id (then the stream is ready)
  const helix = Layer.mock(Helix.Helix, {
    request: ((endpoint: { readonly name: string }) =>
      endpoint.name === "createEventsubSubscription"
        ? Effect.sync(() => {
          setTimeout(() => ready(port, "/twitch/eventsub"), 100)
          return { data: [{ id: SUBSCRIPTION_ID }] }
        })
        : Effect.void) as unknown as Helix.Helix.Service["request"],
    paginate: (() => Stream.empty) as unknown as Helix.Helix.Service["paginate"],
    actingUserId: Effect.succeed(Option.none())
  })
  const Live = EventSubWebhook.layer({
    callback: "https://bench.example/twitch/eventsub",
    secret: Redacted.make(secret),
    defaultUser: userId
  }).pipe(Layer.provide(helix))
  const program = Effect.gen(function*() {
    const eventSub = yield* EventSub.EventSub
    const webhook = yield* EventSubWebhook.EventSubWebhook
    port = yield* Effect.promise(() => listen(webhook.nodeHandler))
    const events = eventSub.chatMessages(userId).pipe(Stream.take(count))
    yield* Stream.runForEach(events, (event) => Effect.sync(() => onEvent(event.message.text)))
  })
  return Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(Live)))
}

// --- Twurple: EventSubMiddleware on the same kind of server -----------------------------------------
type Handler = (
  request: IncomingMessage & { params?: Record<string, string> },
  response: ServerResponse,
  next: (error?: unknown) => void
) => void

const twurple = async () => {
  const { EventSubMiddleware } = await import("@twurple/eventsub-http")
  const routes: Array<{ method: string; pattern: RegExp; handler: Handler }> = []
  const add = (method: string) => (path: string, handler: Handler) => {
    const pattern = new RegExp(`^${path.replace(/:id/, "([^/?]+)")}(?:\\?.*)?$`)
    routes.push({ method, pattern, handler })
  }
  const router = { post: add("POST"), get: add("GET") }
  const middleware = new EventSubMiddleware({
    managed: false,
    hostName: "bench.example",
    pathPrefix: "/twitch",
    secret
  })
  middleware.apply(router as never)
  const subscription = middleware.onChannelChatMessage(userId, userId, (event) => onEvent(event.messageText))
  await middleware.markAsReady()
  const port = await listen((request, response) => {
    for (const route of routes) {
      const match = request.method === route.method ? route.pattern.exec(request.url ?? "") : null
      if (match === null) continue
      ;(request as { params?: Record<string, string> }).params = { id: decodeURIComponent(match[1] ?? "") }
      route.handler(request, response, (error) => {
        response.writeHead(error === undefined ? 404 : 500)
        response.end()
      })
      return
    }
    response.writeHead(404)
    response.end()
  })
  ready(port, `/twitch/event/${subscription.id}`)
  await done
}

const run = kind === "twurple" ? twurple : ours
Promise.race([run(), done]).then(report, (error) => {
  process.stderr.write(`${kind} webhook listener failed: ${String(error)}\n`)
  process.exit(1)
})
