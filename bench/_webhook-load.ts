/**
 * The webhook ingest row of `bench/eventsub.ts`: a listener (`_webhook-client.ts`: ours, or Twurple's
 * `@twurple/eventsub-http` middleware, each on a plain Node `http.Server`, in its own process) receives N
 * `channel.chat.message` notifications signed in advance, POSTed over keep-alive connections with a fixed
 * concurrency. Reported: the listener's CPU µs per event (its own `process.cpuUsage()`, from its first
 * request to its last event delivered), its peak RSS, and p50/p99 of the time from sending a request to its
 * 2xx answer (the status line, as seen by the sender). A 503 (ours: buffer full) or 410 is sent again, as
 * Twitch would, and counted.
 */
import { spawn } from "node:child_process"
import { createHmac, randomUUID } from "node:crypto"
import { readFileSync } from "node:fs"
import { Agent, request } from "node:http"

export interface WebhookResult {
  readonly kind: string
  readonly events: number
  readonly usPerEvent: number
  readonly eps: number
  readonly peakRssMB: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly resent: number
  readonly bodyBytes: number
}

interface Ready {
  readonly port: number
  readonly path: string
  readonly subscriptionId: string
}

interface Prepared {
  readonly headers: Record<string, string | number>
  readonly body: Buffer
}

const chatEvent = (userId: string): Record<string, unknown> => {
  const catalogue = JSON.parse(
    readFileSync(new URL("../src/testing/internal/eventsubExamples.json", import.meta.url), "utf8")
  ) as { types: Array<{ type: string; version: string; event: Record<string, unknown> }> }
  const example = catalogue.types.find((t) => t.type === "channel.chat.message" && t.version === "1")
  if (example === undefined) throw new Error("no channel.chat.message v1 example")
  return { ...example.event, broadcaster_user_id: userId }
}

/** N notifications for the listener's subscription, signed with `secret`, each with its own message id */
const prepare = (ready: Ready, count: number, secret: string, userId: string): Array<Prepared> => {
  const event = chatEvent(userId)
  const subscription = {
    id: ready.subscriptionId,
    status: "enabled",
    type: "channel.chat.message",
    version: "1",
    cost: 0,
    condition: { broadcaster_user_id: userId, user_id: userId },
    transport: { method: "webhook", callback: `https://bench.example${ready.path}` },
    created_at: new Date().toISOString()
  }
  const timestamp = new Date().toISOString()
  const out: Array<Prepared> = []
  for (let i = 0; i < count; i++) {
    const id = randomUUID()
    const body = Buffer.from(JSON.stringify({ subscription, event: { ...event, message_id: randomUUID() } }))
    const signature = createHmac("sha256", secret).update(id + timestamp).update(body).digest("hex")
    out.push({
      headers: {
        "content-type": "application/json",
        "content-length": body.length,
        "twitch-eventsub-message-id": id,
        "twitch-eventsub-message-retry": "0",
        "twitch-eventsub-message-type": "notification",
        "twitch-eventsub-message-signature": `sha256=${signature}`,
        "twitch-eventsub-message-timestamp": timestamp,
        "twitch-eventsub-subscription-type": "channel.chat.message",
        "twitch-eventsub-subscription-version": "1"
      },
      body
    })
  }
  return out
}

/** POSTs every request with `concurrency` in flight over keep-alive connections; the time to each 2xx */
const load = async (ready: Ready, prepared: ReadonlyArray<Prepared>, concurrency: number) => {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency })
  const times = new Float64Array(prepared.length)
  let next = 0
  let resent = 0
  const send = (message: Prepared) =>
    new Promise<{ status: number; ms: number }>((resolve, reject) => {
      const start = performance.now()
      const req = request(
        { agent, host: "127.0.0.1", port: ready.port, path: ready.path, method: "POST", headers: message.headers },
        (res) => {
          const ms = performance.now() - start
          res.resume()
          res.on("end", () => resolve({ status: res.statusCode ?? 0, ms }))
        }
      )
      req.on("error", reject)
      req.end(message.body)
    })
  const worker = async () => {
    while (next < prepared.length) {
      const i = next++
      for (let attempt = 0;; attempt++) {
        const { ms, status } = await send(prepared[i]!)
        if (status >= 200 && status < 300) {
          times[i] = ms
          break
        }
        if ((status !== 503 && status !== 410) || attempt > 50) throw new Error(`answer ${status} to request ${i}`)
        resent++
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  agent.destroy()
  const sorted = times.sort()
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
  return { p50Ms: at(0.5), p99Ms: at(0.99), resent }
}

/** One listener process: start it, wait until it listens, load it, read its figures. */
export const runWebhookListener = async (options: {
  readonly client: string
  readonly kind: "ours" | "twurple"
  readonly count: number
  readonly concurrency: number
  readonly userId: string
  readonly nodeFlags: ReadonlyArray<string>
}): Promise<WebhookResult> => {
  const secret = `bench-webhook-secret-${randomUUID()}`
  const child = spawn(process.execPath, [...options.nodeFlags, options.client, options.kind], {
    env: {
      ...process.env,
      BENCH_COUNT: String(options.count),
      BENCH_SECRET: secret,
      BENCH_USER_ID: options.userId
    },
    stdio: ["ignore", "pipe", "inherit"]
  })
  let out = ""
  let onReady: (ready: Ready) => void = () => {}
  const readyPromise = new Promise<Ready>((resolve) => {
    onReady = resolve
  })
  child.stdout.on("data", (chunk) => {
    out += String(chunk)
    const match = /^READY (.*)$/m.exec(out)
    if (match !== null) onReady(JSON.parse(match[1]!) as Ready)
  })
  const exited = new Promise<number>((resolve) => child.on("exit", (code) => resolve(code ?? 1)))
  const ready = await Promise.race([readyPromise, exited.then((code) => Promise.reject(new Error(`exited ${code}`)))])
  const prepared = prepare(ready, options.count, secret, options.userId)
  const latency = await load(ready, prepared, options.concurrency)
  const timeout = setTimeout(() => child.kill(), 60_000)
  const code = await exited
  clearTimeout(timeout)
  if (code !== 0) throw new Error(`${options.kind} webhook listener exited with ${code}`)
  const line = out.trim().split("\n").pop() ?? ""
  const result = JSON.parse(line) as Omit<WebhookResult, "p50Ms" | "p99Ms" | "resent" | "bodyBytes">
  return { ...result, ...latency, bodyBytes: prepared[0]!.body.length }
}
