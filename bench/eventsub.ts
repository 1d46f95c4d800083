/**
 * EventSub ingest: the simulator pushes N `channel.chat.message` notifications (~1.5 KB each) to
 * (a) this library (decoded, validated, deduplicated, typed Stream) consumed with `Stream.runForEach`
 * (`ours`) and with `Stream.runFold` (`ours-fold`, no Effect per event), (b) Twurple's
 * EventSubWsListener, (c) the floor: a bare `ws` client doing JSON.parse of each frame.
 * Each client runs in its own process, as plain JavaScript (the client file is bundled with esbuild first,
 * packages left external: no TypeScript loader in the measured process, whose ~150 MB would dwarf the
 * clients' own memory); we report its CPU µs per event (the figure that tells clients apart, see
 * shared/BENCHMARKS.md), events/s and peak RSS. Last line: one JSON object.
 *
 * `npm run bench -- eventsub` (BENCH_EVENTS to change N, default 200000; BENCH_CLIENTS=ours,floor to run some;
 * BENCH_ROUNDS runs of each, interleaved, the median reported (default 3); BENCH_NODE_FLAGS extra node flags
 * for every client; BENCH_DEDUPE our dedupe window, to measure what dedupe costs;
 * BENCH_PROFILE=ours to write that client's `--cpu-prof` profile to BENCH_PROFILE_DIR, default /tmp/prof;
 * BENCH_CHILD_LOG=<dir> keeps each client's stdout there (with BENCH_NODE_FLAGS=--trace-gc, say);
 * BENCH_WRAP a command prefix for every client, e.g. `valgrind --tool=callgrind
 * --callgrind-out-file=/tmp/cg/%q{BENCH_ROW}.%p` to count instructions, repeatable under load;
 * BENCH_BASE=<git ref> adds the row `ours-base`: the `ours` client built from that commit's sources, to
 * compare an engine change with its base in the same run).
 *
 * Webhook ingest (after the WebSocket rows; `_webhook-load.ts`): BENCH_WEBHOOK_EVENTS notifications
 * (default 20000) signed in advance, POSTed over keep-alive connections, BENCH_WEBHOOK_CONCURRENCY in
 * flight (default 16), to ours (`EventSubWebhook`'s Node handler) and to Twurple's `@twurple/eventsub-http`
 * middleware, each on a plain Node http.Server in its own process, interleaved, BENCH_ROUNDS rounds:
 * the listener's CPU µs/event, peak RSS, p50/p99 time to the 2xx answer. BENCH_PARTS=ws or =webhook runs
 * one part only.
 */
import { Effect, Schedule } from "effect"
import * as esbuild from "esbuild"
import { execFileSync, spawn } from "node:child_process"
import { createWriteStream, mkdtempSync, rmSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import * as Simulator from "../src/testing/Simulator.js"
import { runWebhookListener, type WebhookResult } from "./_webhook-load.js"

const events = Number(process.env.BENCH_EVENTS ?? 200_000)
const here = dirname(fileURLToPath(import.meta.url))

interface Result {
  readonly kind: string
  readonly events: number
  readonly usPerEvent: number
  readonly eps: number
  readonly peakRssMB: number
}

/**
 * bundles a client file (and this library's sources) into one ES module; packages stay external.
 * With `ref`, the client and sources of that commit (extracted next to this file).
 */
const buildClient = (name: string, ref?: string) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      // next to the sources, so that the bundle resolves packages from this project's node_modules
      const dir = mkdtempSync(join(here, ".client-"))
      const outfile = join(dir, `${name}.mjs`)
      let entry = join(here, `${name}.ts`)
      if (ref !== undefined) {
        const archive = execFileSync("git", ["archive", ref, "src", `bench/${name}.ts`], {
          cwd: join(here, ".."),
          maxBuffer: 1 << 28
        })
        execFileSync("tar", ["-x", "-C", dir], { input: archive })
        entry = join(dir, "bench", `${name}.ts`)
      }
      await esbuild.build({
        entryPoints: [entry],
        bundle: true,
        platform: "node",
        format: "esm",
        packages: "external",
        outfile,
        logLevel: "warning"
      })
      return outfile
    }),
    (outfile) => Effect.sync(() => rmSync(dirname(outfile), { recursive: true, force: true }))
  )

const runClient = (sim: Simulator.Simulator.Service, client: string, row: string, token: string) =>
  Effect.gen(function*() {
    // `ours-base` runs the `ours` client of the BENCH_BASE build
    const kind = row === "ours-base" ? "ours" : row
    // BENCH_PROFILE=ours (comma list of kinds): that client writes a V8 CPU profile to BENCH_PROFILE_DIR
    const profile = (process.env.BENCH_PROFILE ?? "").split(",").includes(kind)
      ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR ?? "/tmp/prof"}`]
      : []
    // BENCH_NODE_FLAGS: extra node/V8 flags for every client (same for all, e.g. --no-allocation-site-pretenuring)
    const flags = (process.env.BENCH_NODE_FLAGS ?? "").split(" ").filter((f) => f !== "")
    // BENCH_WRAP: a command every client runs under, e.g. valgrind --tool=callgrind (instructions, not seconds)
    const wrap = (process.env.BENCH_WRAP ?? "").split(" ").filter((w) => w !== "")
    const command = [...wrap, process.execPath, ...flags, ...profile, client, kind]
    const child = spawn(command[0]!, command.slice(1), {
      env: {
        ...process.env,
        BENCH_ROW: row,
        TWURPLE_MOCK_API_PORT: String(sim.port),
        BENCH_COUNT: String(events),
        BENCH_CLIENT_ID: sim.clientId,
        BENCH_TOKEN: token,
        BENCH_USER_ID: sim.users.broadcaster,
        BENCH_AUTH_URL: sim.authUrl,
        BENCH_HELIX_URL: sim.helixUrl,
        BENCH_WS_URL: sim.eventSubWsUrl
      },
      stdio: ["ignore", "pipe", "inherit"]
    })
    let out = ""
    child.stdout.on("data", (chunk) => {
      out += String(chunk)
    })
    // BENCH_CHILD_LOG=<dir>: each client's stdout (e.g. what --trace-gc prints) is kept there
    const logDir = process.env.BENCH_CHILD_LOG
    if (logDir !== undefined) child.stdout.pipe(createWriteStream(join(logDir, `${row}-${Date.now()}.log`)))
    const exited = new Promise<number>((resolve) => child.on("exit", (code) => resolve(code ?? 1)))
    // wait for the client's subscription to be enabled on a live session
    const subscription = yield* sim.eventSub.subscriptions.pipe(
      Effect.flatMap((subs) => {
        const found = subs.find((s) => s.type === "channel.chat.message" && s.status === "enabled")
        return found === undefined ? Effect.fail(`${kind}: no subscription yet`) : Effect.succeed(found)
      }),
      Effect.retry(Schedule.spaced("50 millis").pipe(Schedule.upTo("300 seconds")))
    )
    yield* Effect.sleep("300 millis")
    yield* sim.eventSub.burst({ subscriptionId: subscription.id, count: events })
    const code = yield* Effect.promise(() => exited)
    if (code !== 0) return yield* Effect.dieMessage(`${kind} client exited with ${code}`)
    const line = out.trim().split("\n").pop() ?? ""
    return { ...(JSON.parse(line) as Result), kind: row }
  })

const parts = (process.env.BENCH_PARTS ?? "ws,webhook").split(",")
const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3))

const wsPart = Effect.gen(function*() {
  const outfile = yield* buildClient("_eventsub-client")
  const base = process.env.BENCH_BASE
  const baseOutfile = base === undefined || base === "" ? undefined : yield* buildClient("_eventsub-client", base)
  const sim = yield* Simulator.make({ eventSub: { keepaliveSeconds: 30 } })
  const { accessToken } = yield* sim.issueUserToken({ userId: sim.users.broadcaster, scopes: ["user:read:chat"] })
  // the machine is shared: every client runs `rounds` times, interleaved, and its median run is reported
  const kinds = (process.env.BENCH_CLIENTS ?? "floor,twurple,ours,ours-fold").split(",")
  if (baseOutfile !== undefined && !kinds.includes("ours-base")) kinds.push("ours-base")
  const runs: Record<string, Array<Result>> = {}
  for (let round = 0; round < rounds; round++) {
    for (const kind of kinds) {
      const client = kind === "ours-base" ? baseOutfile : outfile
      if (client === undefined) return yield* Effect.dieMessage("ours-base needs BENCH_BASE=<git ref>")
      ;(runs[kind] ??= []).push(yield* runClient(sim, client, kind, accessToken))
      // let the simulator notice the closed session before the next client subscribes
      yield* Effect.sleep("500 millis")
    }
  }
  const results: Record<string, Result> = {}
  for (const kind of kinds) results[kind] = median(runs[kind]!, (r) => r.usPerEvent)
  const range = (kind: string, f: (r: Result) => number, digits: number) => {
    const values = runs[kind]!.map(f)
    return `${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}`
  }
  const row = (r: Result) =>
    `${r.kind.padEnd(9)} ${r.usPerEvent.toFixed(2).padStart(6)} µs/event (${range(r.kind, (x) => x.usPerEvent, 2)}) ${
      String(r.eps).padStart(6)
    } events/s ${r.peakRssMB.toFixed(0).padStart(4)} MB peak RSS (${range(r.kind, (x) => x.peakRssMB, 0)})`
  process.stdout.write(
    `EventSub ingest, ${events} channel.chat.message notifications, client CPU per event: median of ${rounds} ` +
      `interleaved rounds (min–max); ours = Stream.runForEach with an Effect per event (the README's consumer)\n`
  )
  for (const r of Object.values(results)) process.stdout.write(row(r) + "\n")
  const { floor, ours, twurple } = results as Partial<Record<"floor" | "ours" | "twurple", Result>>
  const oursFold = results["ours-fold"]
  const oursBase = results["ours-base"]
  if (floor === undefined || ours === undefined || twurple === undefined) return undefined
  const vsTwurple = ours.usPerEvent / twurple.usPerEvent
  const vsFloor = ours.usPerEvent / floor.usPerEvent
  // the same round's runs side by side: the ratio per round shows how far the load moved it
  const perRound = (kind: string) =>
    runs[kind]!.map((r, i) => (r.usPerEvent / runs.twurple![i]!.usPerEvent).toFixed(2)).join(" ")
  const vs = (r: Result, name: string) =>
    `${name}/twurple ${(r.usPerEvent / twurple.usPerEvent).toFixed(2)}x (rounds: ${perRound(r.kind)}), ` +
    `${name}/floor ${(r.usPerEvent / floor.usPerEvent).toFixed(2)}x, ` +
    `RSS ${name}/twurple ${(r.peakRssMB / twurple.peakRssMB).toFixed(2)}x\n`
  process.stdout.write(
    `ours/twurple ${vsTwurple.toFixed(2)}x (goal ≤ 1.00; rounds: ${perRound("ours")}), ours/floor ` +
      `${vsFloor.toFixed(2)}x (goal ≤ 1.50), RSS ours/twurple ${(ours.peakRssMB / twurple.peakRssMB).toFixed(2)}x ` +
      `(goal < 1)\n` +
      (oursFold === undefined ? "" : vs(oursFold, "ours-fold")) +
      (oursBase === undefined ? "" : vs(oursBase, `ours-base(${process.env.BENCH_BASE})`))
  )
  const figures = (r: Result) => ({
    eps: r.eps,
    peakRssMB: round(r.peakRssMB),
    usPerEvent: round(r.usPerEvent),
    runs: runs[r.kind]!.map((x) => ({ usPerEvent: round(x.usPerEvent), peakRssMB: round(x.peakRssMB) }))
  })
  return {
    events,
    ours: figures(ours),
    twurple: figures(twurple),
    floor: figures(floor),
    ...(oursFold === undefined ? {} : { oursFold: figures(oursFold) }),
    ...(oursBase === undefined ? {} : { oursBase: { ...figures(oursBase), ref: process.env.BENCH_BASE } }),
    vsTwurple: round(vsTwurple),
    vsFloor: round(vsFloor),
    rssVsTwurple: round(ours.peakRssMB / twurple.peakRssMB)
  }
})

const webhookPart = Effect.gen(function*() {
  const client = yield* buildClient("_webhook-client")
  const count = Number(process.env.BENCH_WEBHOOK_EVENTS ?? 20_000)
  const concurrency = Number(process.env.BENCH_WEBHOOK_CONCURRENCY ?? 16)
  const nodeFlags = (process.env.BENCH_NODE_FLAGS ?? "").split(" ").filter((f) => f !== "")
  const kinds = ["twurple", "ours"] as const
  const runs: Record<string, Array<WebhookResult>> = {}
  for (let r = 0; r < rounds; r++) {
    for (const kind of kinds) {
      const result = yield* Effect.promise(() =>
        runWebhookListener({ client, kind, count, concurrency, userId: "141981764", nodeFlags })
      )
      ;(runs[kind] ??= []).push(result)
      yield* Effect.sleep("300 millis")
    }
  }
  const ours = median(runs.ours!, (x) => x.usPerEvent)
  const twurple = median(runs.twurple!, (x) => x.usPerEvent)
  const spread = (kind: string, f: (x: WebhookResult) => number, digits: number) => {
    const values = runs[kind]!.map(f)
    return `${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}`
  }
  const line = (x: WebhookResult) =>
    `${x.kind.padEnd(9)} ${x.usPerEvent.toFixed(1).padStart(6)} µs/event (${spread(x.kind, (y) => y.usPerEvent, 1)}) ` +
    `p50 ${x.p50Ms.toFixed(2)} ms p99 ${x.p99Ms.toFixed(2)} ms (p99 ${spread(x.kind, (y) => y.p99Ms, 2)}) ` +
    `${String(x.eps).padStart(6)} events/s ${x.peakRssMB.toFixed(0).padStart(4)} MB peak RSS, resent ${x.resent}`
  process.stdout.write(
    `Webhook ingest, ${count} signed channel.chat.message notifications (${
      runs.ours![0]!.bodyBytes
    } B bodies), ${concurrency} keep-alive connections, listener CPU per event: median of ${rounds} (min–max)\n` +
      `${line(twurple)}\n${line(ours)}\n` +
      `webhook ours/twurple ${(ours.usPerEvent / twurple.usPerEvent).toFixed(2)}x CPU (rounds: ${
        runs.ours!.map((x, i) => (x.usPerEvent / runs.twurple![i]!.usPerEvent).toFixed(2)).join(" ")
      }), p99 ${(ours.p99Ms / twurple.p99Ms).toFixed(2)}x, RSS ${(ours.peakRssMB / twurple.peakRssMB).toFixed(2)}x\n`
  )
  const figures = (x: WebhookResult, kind: string) => ({
    usPerEvent: round(x.usPerEvent),
    p50Ms: round(x.p50Ms),
    p99Ms: round(x.p99Ms),
    peakRssMB: round(x.peakRssMB),
    eps: x.eps,
    resent: x.resent,
    runs: runs[kind]!.map((y) => ({ usPerEvent: round(y.usPerEvent), p99Ms: round(y.p99Ms) }))
  })
  return {
    events: count,
    concurrency,
    ours: figures(ours, "ours"),
    twurple: figures(twurple, "twurple"),
    vsTwurple: round(ours.usPerEvent / twurple.usPerEvent)
  }
})

const program = Effect.gen(function*() {
  const ws = parts.includes("ws") ? yield* wsPart : undefined
  const webhook = parts.includes("webhook") ? yield* webhookPart : undefined
  process.stdout.write(
    JSON.stringify({ bench: "eventsub", rounds, ...ws, ...(webhook === undefined ? {} : { webhook }) }) + "\n"
  )
})

/** the run with the median of `f` */
const median = <A>(values: ReadonlyArray<A>, f: (a: A) => number): A =>
  [...values].sort((a, b) => f(a) - f(b))[Math.floor(values.length / 2)]!

const round = (n: number) => Math.round(n * 100) / 100

Effect.runPromise(Effect.scoped(program)).then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`bench failed: ${String(error)}\n`)
    process.exit(1)
  }
)
