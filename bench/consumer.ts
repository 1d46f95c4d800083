/**
 * What a consumer pays, against the package as published (packed and installed into a fresh project
 * outside the repository; run `npm run build` first):
 *
 * 1. Typecheck time of a ~100-line bot on the package (`scripts/consumer/bot.ts`) beside an Effect
 *    program of the same size and shape without it (`scripts/consumer/plain.ts`): `tsc --noEmit`,
 *    cold (a fresh process, no build info), strict consumer settings, NodeNext; with
 *    `skipLibCheck: false` (every .d.ts checked, as the smoke test does) and `true` (the common
 *    setting). Median of 3, the two programs interleaved. Goal: bot ≤ 2× plain. The ratio is of CPU
 *    time (user + system of the tsc process: steady on a shared machine); wall time is printed beside.
 *    And a consumer that calls 20 Helix operations (`scripts/consumer/helix20.ts`), cold, same settings:
 *    issue 12's goal is ≤ 2 s; the plain program's time is the floor Effect itself costs.
 * 2. Simulator start to ready (spawn → its "listening" line), median of 5, interleaved: the built bin
 *    (`node dist/bin/simulator.js`), the installed bin (`npx effect-twitch-simulator`) and
 *    `npm run simulator` (tsx on src/).
 *
 * `npm run bench -- consumer` (BENCH_QUICK=1: one run each). Last line: one JSON object.
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Consumer from "../scripts/consumer/project.mjs"

const quick = process.env.BENCH_QUICK === "1"
const tscRuns = quick ? 1 : 3
const startRuns = quick ? 1 : 5

interface Typecheck {
  readonly cpuMs: number
  readonly wallMs: number
  readonly checkMs: number
  readonly types: number
  readonly files: number
  readonly memoryMB: number
}

/** The figures of `tsc --extendedDiagnostics`, and the wall time from spawn to exit. */
const typecheck = async (app: string, tsconfig: string): Promise<Typecheck> => {
  const result = await Consumer.tsc(app, tsconfig, ["--extendedDiagnostics"])
  if (result.status !== 0) throw new Error(`tsc -p ${tsconfig} failed:\n${result.stdout.slice(-3000)}`)
  const figure = (label: string) => Number(result.stdout.match(new RegExp(`${label}:\\s+([\\d.]+)`))?.[1] ?? NaN)
  return {
    cpuMs: result.cpuMs,
    wallMs: result.ms,
    checkMs: Math.round(figure("Check time") * 1000),
    types: figure("Types"),
    files: figure("Files"),
    memoryMB: Math.round(figure("Memory used") / 1024)
  }
}

const medianOf = (runs: ReadonlyArray<Typecheck>): Typecheck => ({
  cpuMs: Consumer.median(runs.map((r) => r.cpuMs)),
  wallMs: Consumer.median(runs.map((r) => r.wallMs)),
  checkMs: Consumer.median(runs.map((r) => r.checkMs)),
  types: runs[0]!.types,
  files: runs[0]!.files,
  memoryMB: Consumer.median(runs.map((r) => r.memoryMB))
})

const row = (name: string, t: Typecheck) =>
  `  ${name.padEnd(7)} ${String(t.cpuMs).padStart(6)} ms CPU ${String(t.wallMs).padStart(6)} ms wall ${
    String(t.checkMs).padStart(6)
  } ms check ` +
  `${String(t.types).padStart(7)} types ${String(t.files).padStart(4)} files ${String(t.memoryMB).padStart(4)} MB\n`

/** Bot and plain program, `tscRuns` times each, interleaved (the order alternating per round). */
const compareTypecheck = async (app: string, skipLibCheck: boolean) => {
  const settings = { ...Consumer.strictOptions, ...Consumer.moduleSettings.NodeNext, skipLibCheck }
  const suffix = skipLibCheck ? "skip" : "full"
  const configs = {
    bot: Consumer.writeTsconfig(app, `bot-${suffix}`, ["bot.ts"], settings),
    plain: Consumer.writeTsconfig(app, `plain-${suffix}`, ["plain.ts"], settings),
    helix20: Consumer.writeTsconfig(app, `helix20-${suffix}`, ["helix20.ts"], settings)
  }
  const runs: Record<"bot" | "plain" | "helix20", Array<Typecheck>> = { bot: [], plain: [], helix20: [] }
  for (let i = 0; i < tscRuns; i++) {
    const order = ["bot", "plain", "helix20"] as const
    for (const name of i % 2 === 0 ? order : [...order].reverse()) {
      runs[name].push(await typecheck(app, configs[name]))
    }
  }
  const bot = medianOf(runs.bot)
  const plain = medianOf(runs.plain)
  const helix20 = medianOf(runs.helix20)
  const ratio = Math.round((bot.cpuMs / plain.cpuMs) * 100) / 100
  const wallRatio = Math.round((bot.wallMs / plain.wallMs) * 100) / 100
  process.stdout.write(`tsc --noEmit, NodeNext, strict, skipLibCheck ${skipLibCheck} (median of ${tscRuns}):\n`)
  process.stdout.write(row("bot", bot) + row("plain", plain) + row("helix20", helix20))
  process.stdout.write(
    `  bot/plain ${ratio}× CPU (goal ≤ 2), ${wallRatio}× wall, ${(bot.types / plain.types).toFixed(2)}× types\n`
  )
  process.stdout.write(
    `  helix20 (20 Helix operations): ${(helix20.cpuMs / 1000).toFixed(2)} s CPU, ${
      (helix20.wallMs / 1000).toFixed(2)
    } s wall (goal ≤ 2 s); plain ${(plain.wallMs / 1000).toFixed(2)} s wall\n`
  )
  return { skipLibCheck, bot, plain, helix20, ratio, wallRatio }
}

/** Start to ready of each way to run the simulator, `startRuns` times each, interleaved. */
const compareStart = async (app: string) => {
  const ways = [
    {
      name: "node dist/bin/simulator.js",
      command: process.execPath,
      args: ["--import", Consumer.reportCpu, "dist/bin/simulator.js"],
      cwd: Consumer.root
    },
    { name: "npx effect-twitch-simulator", command: "npx", args: ["--no", "--", "effect-twitch-simulator"], cwd: app },
    { name: "npm run simulator (tsx)", command: "npm", args: ["run", "simulator", "--"], cwd: Consumer.root }
  ]
  const runs: Array<Array<{ readonly ms: number; readonly cpuMs: number }>> = ways.map(() => [])
  for (let i = 0; i < startRuns; i++) {
    for (const [index, way] of ways.entries()) {
      const ready = await Consumer.timeUntilLine(way.command, [...way.args, "--port", "0"], {
        cwd: way.cwd,
        pattern: /listening on http/
      })
      runs[index]!.push({ ms: ready.ms, cpuMs: ready.cpuMs })
    }
  }
  process.stdout.write(`simulator start → "listening" (median of ${startRuns}; CPU: of the process, start to exit):\n`)
  return ways.map((way, index) => {
    const ms = Consumer.median(runs[index]!.map((r) => r.ms))
    const cpus = runs[index]!.map((r) => r.cpuMs).filter(Number.isFinite)
    const cpuMs = cpus.length > 0 ? Consumer.median(cpus) : null
    process.stdout.write(
      `  ${way.name.padEnd(28)} ${String(ms).padStart(6)} ms` + (cpuMs === null ? "" : `, ${cpuMs} ms CPU`) +
        `  (${runs[index]!.map((r) => r.ms).join(", ")})\n`
    )
    return { way: way.name, ms, cpuMs, runs: runs[index]!.map((r) => r.ms) }
  })
}

const main = async () => {
  if (!Fs.existsSync(Path.join(Consumer.root, "dist/index.js"))) throw new Error("no dist/: run `npm run build` first")
  const loadAtStart = Os.loadavg()[0]!.toFixed(1)
  const tmp = Consumer.tempDir("effect-twitch-bench-consumer-")
  try {
    const packed = await Consumer.pack(tmp.path)
    const app = Path.join(tmp.path, "app")
    await Consumer.installConsumer(app, packed.tarball)
    for (const file of ["bot.ts", "plain.ts", "helix20.ts"]) {
      Fs.copyFileSync(Consumer.fixture(file), Path.join(app, file))
    }
    process.stdout.write(`packed ${Path.basename(packed.tarball)} (${Math.round(packed.size / 1024)} kB), installed\n`)
    const typechecks = [await compareTypecheck(app, false), await compareTypecheck(app, true)]
    const starts = await compareStart(app)
    const load = Os.loadavg()[0]!.toFixed(1)
    process.stdout.write(`machine: ${Os.availableParallelism()} cores, load average ${loadAtStart} → ${load}\n`)
    process.stdout.write(
      JSON.stringify({
        bench: "consumer",
        ratio: typechecks[0]!.ratio,
        helix20WallMs: typechecks[1]!.helix20.wallMs,
        typecheck: typechecks,
        simulatorStart: starts,
        machine: { cores: Os.availableParallelism(), loadAverage: [Number(loadAtStart), Number(load)] }
      }) + "\n"
    )
  } finally {
    tmp.remove()
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exit(1)
  }
)
