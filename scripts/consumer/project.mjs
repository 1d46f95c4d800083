// A consumer's view of the package, shared by `scripts/consumer-smoke.mjs` and `bench/consumer.ts`:
// the package packed as npm would publish it, a fresh project outside the repository that installs
// it (with the peers at the versions this repository has installed, from the npm cache), TypeScript
// configurations a strict consumer might use, and timing a command until it prints a line.
import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

/** The repository root. */
export const root = Path.resolve(import.meta.dirname, "../..")

/** The fixtures next to this file (the bot, the plain Effect program, the client program). */
export const fixture = (name) => Path.join(import.meta.dirname, name)

/** What a consumer installs beside the package: its peers, and TypeScript with Node's types. */
export const companions = ["effect", "@effect/platform", "@effect/platform-node", "typescript", "@types/node"]

/** `name@version` as installed in this repository's node_modules (so the npm cache already holds it). */
export const installedSpec = (name) => {
  const manifest = JSON.parse(Fs.readFileSync(Path.join(root, "node_modules", name, "package.json"), "utf8"))
  return `${name}@${manifest.version}`
}

/**
 * The child's environment: `npm run` exports the repository's package and prefix to its scripts;
 * an npm started from here must see the temporary project instead.
 */
const childEnv = () =>
  Object.fromEntries(
    Object.entries(process.env).filter(([key]) =>
      !/^npm_(package_|lifecycle_|config_(local_prefix|prefix|global_prefix)$)/.test(key) && key !== "INIT_CWD"
    )
  )

/** Runs a command to its end (killed after `timeoutMs`); resolves to status, output and wall time. */
export const run = (command, args, options = {}) =>
  new Promise((resolve) => {
    const started = performance.now()
    const child = spawn(command, args, { cwd: options.cwd ?? root, env: childEnv(), stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk) => stdout += chunk)
    child.stderr.setEncoding("utf8").on("data", (chunk) => stderr += chunk)
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill("SIGKILL")
    }, options.timeoutMs ?? 120_000)
    const done = (status, error) => {
      clearTimeout(timer)
      resolve({
        status,
        timedOut,
        stdout,
        stderr: error ? `${stderr}${error.message}` : stderr,
        ms: Math.round(performance.now() - started)
      })
    }
    child.once("error", (error) => done(null, error))
    child.once("close", (status) => done(status))
  })

/** A fresh directory under the system's temporary directory; `remove` deletes it. */
export const tempDir = (prefix) => {
  const path = Fs.mkdtempSync(Path.join(Os.tmpdir(), prefix))
  return { path, remove: () => Fs.rmSync(path, { recursive: true, force: true }) }
}

/** `npm pack` into `dir`: the tarball's path and the files it holds. */
export const pack = async (dir) => {
  const result = await run("npm", ["pack", "--json", "--pack-destination", dir])
  if (result.status !== 0) throw new Error(`npm pack failed: ${result.stderr.trim()}`)
  const [info] = JSON.parse(result.stdout)
  return { tarball: Path.join(dir, info.filename), files: info.files.map((f) => f.path), size: info.size }
}

/** An empty ESM project at `dir` (created if missing). */
export const createProject = (dir) => {
  Fs.mkdirSync(dir, { recursive: true })
  const manifest = { name: "effect-twitch-consumer", version: "0.0.0", private: true, type: "module" }
  Fs.writeFileSync(Path.join(dir, "package.json"), JSON.stringify(manifest, null, 2) + "\n")
}

/** `npm install` of `specs` in `dir`, preferring the npm cache (the registry only for what it lacks). */
export const npmInstall = (dir, specs, extra = []) =>
  run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--no-progress", ...extra, ...specs], {
    cwd: dir
  })

/** A project at `dir` with the packed package and its companions installed; throws if npm fails. */
export const installConsumer = async (dir, tarball) => {
  createProject(dir)
  const result = await npmInstall(dir, [tarball, ...companions.map(installedSpec)])
  if (result.status !== 0) throw new Error(`npm install failed: ${result.stderr.trim().slice(-2000)}`)
  return result
}

/** The strictest options a consumer is likely to turn on. */
export const strictOptions = {
  target: "ES2022",
  lib: ["ES2022"],
  types: ["node"],
  strict: true,
  noUncheckedIndexedAccess: true,
  exactOptionalPropertyTypes: true,
  noPropertyAccessFromIndexSignature: true,
  skipLibCheck: false,
  noEmit: true
}

/** Module settings a consumer might build with: Node's own resolution, and a bundler's. */
export const moduleSettings = {
  NodeNext: { module: "NodeNext", moduleResolution: "NodeNext" },
  "Bundler/ESNext": { module: "ESNext", moduleResolution: "Bundler" },
  "Bundler/Preserve": { module: "Preserve", moduleResolution: "Bundler" }
}

/** Writes `tsconfig.<name>.json` in `dir` checking `files`; returns its file name. */
export const writeTsconfig = (dir, name, files, compilerOptions) => {
  const file = `tsconfig.${name.replace(/\W/g, "-")}.json`
  Fs.writeFileSync(Path.join(dir, file), JSON.stringify({ compilerOptions, files }, null, 2) + "\n")
  return file
}

/** `node --import <this>`: on exit, the process writes its CPU time (user + system) to stderr as `cpu-ms <n>`. */
export const reportCpu = "data:text/javascript,process.on('exit',()=>{const u=process.cpuUsage();" +
  "process.stderr.write('cpu-ms '+Math.round((u.user+u.system)/1000)+'\\n')})"

/**
 * `tsc -p <tsconfig>` with the project's own TypeScript, in a fresh process (cold: no build info);
 * `cpuMs` is the process's CPU time, steadier than wall time on a shared machine.
 */
export const tsc = async (dir, tsconfig, extra = []) => {
  const bin = Path.join(dir, "node_modules/typescript/bin/tsc")
  const result = await run(process.execPath, ["--import", reportCpu, bin, "-p", tsconfig, ...extra], {
    cwd: dir,
    timeoutMs: 300_000
  })
  return { ...result, cpuMs: Number(result.stderr.match(/cpu-ms (\d+)/)?.[1] ?? NaN) }
}

/**
 * Starts `command` in its own process group and waits until a line of its output matches
 * `pattern`; then stops the whole group. Resolves, once the group is gone, to the line, the
 * milliseconds from spawn to it, and `cpuMs` if the process reported it (see `reportCpu`).
 */
export const timeUntilLine = (command, args, { cwd = root, pattern, timeoutMs = 30_000 }) =>
  new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(command, args, { cwd, env: childEnv(), detached: true, stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    let outcome // the first of: ready, timed out, exited
    let killer
    const stop = (signal) => {
      try {
        process.kill(-child.pid, signal)
      } catch {
        // already gone
      }
    }
    const settle = (result) => {
      if (outcome !== undefined) return
      outcome = result
      clearTimeout(timer)
      stop("SIGTERM")
      killer = setTimeout(() => stop("SIGKILL"), 3_000)
    }
    const timer = setTimeout(
      () => settle({ error: new Error(`no line matching ${pattern} within ${timeoutMs} ms: ${output.slice(-500)}`) }),
      timeoutMs
    )
    child.stdout.setEncoding("utf8").on("data", (chunk) => {
      const ms = Math.round(performance.now() - started)
      output += chunk
      const line = output.split("\n").find((l) => pattern.test(l))
      if (line !== undefined) settle({ ms, line: line.trim() })
    })
    child.stderr.setEncoding("utf8").on("data", (chunk) => output += chunk)
    child.once("error", (error) => {
      settle({ error })
      reject(error)
    })
    child.once("close", (code) => {
      settle({ error: new Error(`exited (${code}) before ready: ${output.slice(-500)}`) })
      clearTimeout(killer)
      if ("error" in outcome) return reject(outcome.error)
      resolve({ ...outcome, cpuMs: Number(output.match(/cpu-ms (\d+)/)?.[1] ?? NaN) })
    })
  })

/** The median of a list of numbers. */
export const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid] : Math.round((sorted[mid - 1] + sorted[mid]) / 2)
}
