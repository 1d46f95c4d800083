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
 * BENCH_BASE=<git ref> adds the row `ours-base`: the `ours` client built from that commit's sources, to
 * compare an engine change with its base in the same run).
 */
import { Effect, Schedule } from "effect"
import * as esbuild from "esbuild"
import { execFileSync, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import * as Simulator from "../src/testing/Simulator.js"

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
 * bundles `_eventsub-client.ts` (and this library's sources) into one ES module; packages stay external.
 * With `ref`, the client and sources of that commit (extracted next to this file).
 */
const buildClient = (ref?: string) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      // next to the sources, so that the bundle resolves packages from this project's node_modules
      const dir = mkdtempSync(join(here, ".client-"))
      const outfile = join(dir, "eventsub-client.mjs")
      let entry = join(here, "_eventsub-client.ts")
      if (ref !== undefined) {
        const archive = execFileSync("git", ["archive", ref, "src", "bench/_eventsub-client.ts"], {
          cwd: join(here, ".."),
          maxBuffer: 1 << 28
        })
        execFileSync("tar", ["-x", "-C", dir], { input: archive })
        entry = join(dir, "bench", "_eventsub-client.ts")
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
    const child = spawn(process.execPath, [...flags, ...profile, client, kind], {
      env: {
        ...process.env,
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
    const exited = new Promise<number>((resolve) => child.on("exit", (code) => resolve(code ?? 1)))
    // wait for the client's subscription to be enabled on a live session
    const subscription = yield* sim.eventSub.subscriptions.pipe(
      Effect.flatMap((subs) => {
        const found = subs.find((s) => s.type === "channel.chat.message" && s.status === "enabled")
        return found === undefined ? Effect.fail(`${kind}: no subscription yet`) : Effect.succeed(found)
      }),
      Effect.retry(Schedule.spaced("50 millis").pipe(Schedule.upTo("60 seconds")))
    )
    yield* Effect.sleep("300 millis")
    yield* sim.eventSub.burst({ subscriptionId: subscription.id, count: events })
    const code = yield* Effect.promise(() => exited)
    if (code !== 0) return yield* Effect.dieMessage(`${kind} client exited with ${code}`)
    const line = out.trim().split("\n").pop() ?? ""
    return { ...(JSON.parse(line) as Result), kind: row }
  })

const program = Effect.gen(function*() {
  const outfile = yield* buildClient()
  const base = process.env.BENCH_BASE
  const baseOutfile = base === undefined || base === "" ? undefined : yield* buildClient(base)
  const sim = yield* Simulator.make({ eventSub: { keepaliveSeconds: 30 } })
  const { accessToken } = yield* sim.issueUserToken({ userId: sim.users.broadcaster, scopes: ["user:read:chat"] })
  // the machine is shared: every client runs `rounds` times, interleaved, and its median run is reported
  const kinds = (process.env.BENCH_CLIENTS ?? "floor,twurple,ours,ours-fold").split(",")
  if (baseOutfile !== undefined && !kinds.includes("ours-base")) kinds.push("ours-base")
  const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3))
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
  if (floor === undefined || ours === undefined || twurple === undefined) return
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
  process.stdout.write(
    JSON.stringify({
      bench: "eventsub",
      events,
      rounds,
      ours: figures(ours),
      twurple: figures(twurple),
      floor: figures(floor),
      ...(oursFold === undefined ? {} : { oursFold: figures(oursFold) }),
      ...(oursBase === undefined ? {} : { oursBase: { ...figures(oursBase), ref: process.env.BENCH_BASE } }),
      vsTwurple: round(vsTwurple),
      vsFloor: round(vsFloor),
      rssVsTwurple: round(ours.peakRssMB / twurple.peakRssMB)
    }) + "\n"
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
