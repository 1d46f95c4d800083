#!/usr/bin/env node
// `npm run smoke` (after `npm run build`): the package as a consumer gets it. Packs it, installs the
// tarball into a fresh project under the system's temporary directory (with effect, @effect/platform,
// @effect/platform-node, typescript and @types/node at this repository's installed versions, from the
// npm cache), and checks, printing one line per check:
//   contents   the tarball holds the build, README and LICENSE, and no tests, benches, examples,
//              scripts or token files
//   runtime    plain `node` imports every entry point of `exports`, and a Client works against the
//              simulator from `effect-twitch/testing` (scripts/consumer/client.mjs)
//   types      a bot using the public API (scripts/consumer/bot.ts) typechecks under strict consumer
//              settings, NodeNext and Bundler resolution, without skipLibCheck
//   privacy    internal paths fail with ERR_PACKAGE_PATH_NOT_EXPORTED
//   bin        `npx effect-twitch-simulator --port 0` gets ready (time to its "listening" line); `npx effect-twitch`
//              prints its overview (exit 0) and refuses an unknown operation (exit 2)
//   lazy cli   with @effect/cli removed from node_modules, every entry point of `exports` still imports
//              (the library never loads the command-line tool's dependency)
//   peers      a project on effect 4 is refused by npm (ERESOLVE naming effect)
// Ends with `N passed, N failed`; exits 1 on any failure; removes its temporary directories.
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Consumer from "./consumer/project.mjs"

const started = performance.now()
const tally = { passed: 0, failed: 0 }

/** Runs one check and prints its line: `ok`, with what was seen, or `FAIL`, with why. */
const check = async (name, body) => {
  const t0 = performance.now()
  try {
    const detail = await body()
    tally.passed++
    console.log(`ok    ${name}${detail ? `: ${detail}` : ""} (${Math.round(performance.now() - t0)} ms)`)
    return true
  } catch (error) {
    tally.failed++
    console.log(`FAIL  ${name}: ${error instanceof Error ? error.message : String(error)}`)
    return false
  }
}

const skip = (name, why) => console.log(`skip  ${name}: ${why}`)

const assert = (condition, message) => {
  if (!condition) throw new Error(message)
}

const indent = (text) => text.trim().split("\n").map((line) => `        ${line}`).join("\n")

/** A command's failure, readable: its status and the end of its output. */
const failure = (result) =>
  `${result.timedOut ? "timed out" : `exit ${result.status}`}\n${indent((result.stdout + result.stderr).slice(-3000))}`

const manifest = JSON.parse(Fs.readFileSync(Path.join(Consumer.root, "package.json"), "utf8"))

// --- contents ------------------------------------------------------------------------------------

const forbidden = [
  [/^package\/(test|bench|examples|scripts|codegen|\.ci|\.changeset)\//, "a test, bench, example or script"],
  [/(^|\/)\.?twitch-tokens[^/]*$|(^|\/)\.env/, "a token or env file"],
  [/\.(tgz|tsbuildinfo|cpuprofile)$/, "a build or profiling artifact"]
]

const checkContents = async (tarball) => {
  const listing = await Consumer.run("tar", ["-tzf", tarball])
  assert(listing.status === 0, `tar -tzf: ${failure(listing)}`)
  const files = listing.stdout.trim().split("\n")
  const bad = files.flatMap((file) =>
    forbidden.flatMap(([pattern, what]) => pattern.test(file) ? [`${file} (${what})`] : [])
  )
  const more = bad.length > 5 ? `, … ${bad.length - 5} more` : ""
  assert(bad.length === 0, `must not ship: ${bad.slice(0, 5).join(", ")}${more}`)
  const targetsOf = (entry) =>
    entry === null ? [] : typeof entry === "string" ? [entry] : Object.values(entry).flatMap(targetsOf)
  const targets = targetsOf(manifest.exports).filter((target) => !target.includes("*"))
  const required = [
    "dist/index.js",
    "dist/index.d.ts",
    "README.md",
    "LICENSE",
    "package.json",
    ...Object.values(manifest.bin),
    ...targets
  ]
  const missing = [...new Set(required.map((f) => `package/${f.replace(/^\.\//, "")}`))].filter((f) =>
    !files.includes(f)
  )
  assert(missing.length === 0, `missing: ${missing.join(", ")}`)
  return `${files.length} files, none from test/ bench/ examples/ scripts/, no token file; every exports target present`
}

// --- runtime ---------------------------------------------------------------------------------------

const checkClient = async (app) => {
  Fs.copyFileSync(Consumer.fixture("client.mjs"), Path.join(app, "client.mjs"))
  const result = await Consumer.run(process.execPath, ["client.mjs"], { cwd: app, timeoutMs: 60_000 })
  assert(result.status === 0, failure(result))
  const lines = result.stdout.trim().split("\n")
  const imports = lines.filter((l) => l.startsWith("import "))
  console.log(indent(lines.filter((l) => !l.startsWith("import ")).join("\n")))
  return `${imports.length} entry points imported by plain node; getUserById and a triggered follow received`
}

// --- types -----------------------------------------------------------------------------------------

const typecheckSettings = ["NodeNext", "Bundler/Preserve"]

const checkTypes = (app) => {
  Fs.copyFileSync(Consumer.fixture("bot.ts"), Path.join(app, "bot.ts"))
  // the two in parallel: each is one process on one core
  return Promise.all(
    typecheckSettings.map((name) =>
      check(`types: bot.ts, tsc --noEmit, ${name}, strict, skipLibCheck false`, async () => {
        const options = { ...Consumer.strictOptions, ...Consumer.moduleSettings[name] }
        const result = await Consumer.tsc(app, Consumer.writeTsconfig(app, name, ["bot.ts"], options))
        assert(result.status === 0, failure(result))
        return "clean"
      })
    )
  )
}

// --- privacy ---------------------------------------------------------------------------------------

const internalPaths = [
  "effect-twitch/internal/errors",
  "effect-twitch/internal/errors.js",
  "effect-twitch/dist/internal/errors.js",
  "effect-twitch/dist/index.js",
  "effect-twitch/testing/internal/state",
  "effect-twitch/bin/simulator",
  "effect-twitch/dist/bin/simulator.js",
  "effect-twitch/dist/cli/main.js",
  "effect-twitch/cli/main",
  "effect-twitch/src/Client.ts"
]

const checkPrivate = async (app) => {
  const program = `for (const specifier of ${JSON.stringify(internalPaths)}) {
    try { await import(specifier); console.log(specifier + " imported") }
    catch (error) { console.log(specifier + " " + error.code) }
  }`
  const result = await Consumer.run(process.execPath, ["--input-type=module", "-e", program], { cwd: app })
  assert(result.status === 0, failure(result))
  const outcomes = new Map(result.stdout.trim().split("\n").map((line) => line.split(" ")))
  for (const specifier of internalPaths) {
    await check(`private: import("${specifier}")`, () => {
      const code = outcomes.get(specifier)
      assert(code === "ERR_PACKAGE_PATH_NOT_EXPORTED", `expected ERR_PACKAGE_PATH_NOT_EXPORTED, got ${code}`)
      return code
    })
  }
}

// --- bin -------------------------------------------------------------------------------------------

const checkBin = async (app) => {
  // `--no`: never fetch a package of that name; `--`: the rest goes to the bin, not to npm
  const ready = await Consumer.timeUntilLine("npx", ["--no", "--", "effect-twitch-simulator", "--port", "0"], {
    cwd: app,
    pattern: /listening on http/
  })
  const port = Number(ready.line.match(/:(\d+)/)?.[1])
  assert(port > 0 && port !== 8080, `--port 0 should pick a free port, got: ${ready.line}`)
  return `ready in ${ready.ms} ms: "${ready.line}"`
}

const checkCliBin = async (app) => {
  const overview = await Consumer.run("npx", ["--no", "--", "effect-twitch", "--help"], { cwd: app, timeoutMs: 30_000 })
  assert(overview.status === 0 && overview.stdout.includes("Exit codes"), failure(overview))
  const wrong = await Consumer.run("npx", ["--no", "--", "effect-twitch", "api", "getUser"], { cwd: app })
  assert(wrong.status === 2 && wrong.stderr.includes("getUsers"), `expected exit 2 naming getUsers: ${failure(wrong)}`)
  return "--help exit 0; `api getUser` exit 2 (did you mean getUsers)"
}

// --- lazy cli --------------------------------------------------------------------------------------

const checkLazyCli = async (app) => {
  const cli = Path.join(app, "node_modules/@effect/cli")
  const hidden = Path.join(app, "node_modules/@effect/.cli-hidden")
  Fs.renameSync(cli, hidden)
  try {
    const program = `import { createRequire } from "node:module"
      const manifest = createRequire(import.meta.url)("effect-twitch/package.json")
      let n = 0
      for (const [key, target] of Object.entries(manifest.exports)) {
        if (key.endsWith(".json") || key.includes("*") || target === null) continue
        await import(key === "." ? manifest.name : manifest.name + "/" + key.slice(2)); n++
      }
      console.log(n)`
    const result = await Consumer.run(process.execPath, ["--input-type=module", "-e", program], { cwd: app })
    assert(result.status === 0, failure(result))
    return `${result.stdout.trim()} entry points imported without @effect/cli installed`
  } finally {
    Fs.renameSync(hidden, cli)
  }
}

// --- peers -----------------------------------------------------------------------------------------

const checkEffect4 = async (dir, tarball) => {
  const view = await Consumer.run("npm", ["view", "effect", "version", "--prefer-offline"], { timeoutMs: 30_000 })
  const latest = view.stdout.trim()
  if (view.status !== 0) return skip("peers: effect 4 refused", `npm view effect version failed: ${failure(view)}`)
  if (Number(latest.split(".")[0]) < 4) return skip("peers: effect 4 refused", `the registry's latest is ${latest}`)
  await check(`peers: installing beside effect@${latest} fails with ERESOLVE`, async () => {
    Consumer.createProject(dir)
    const result = await Consumer.npmInstall(dir, [tarball, `effect@${latest}`], ["--package-lock-only"])
    assert(result.status !== 0, "npm install succeeded")
    const lines = result.stderr.split("\n").map((l) => l.replace(/^npm (error|ERR!)\s*/, "").trim())
    const conflict = lines.find((l) => /^peer effect@"[^"]*" from /.test(l))
    assert(result.stderr.includes("ERESOLVE") && conflict !== undefined, failure(result))
    assert(
      result.stderr.includes("from effect-twitch@"),
      `the conflict does not lead to effect-twitch: ${failure(result)}`
    )
    return conflict.includes("from effect-twitch@")
      ? conflict
      : `${conflict}, a peer of effect-twitch (which wants effect ${manifest.peerDependencies.effect})`
  })
}

// --- main ------------------------------------------------------------------------------------------

const main = async (tmp) => {
  if (!Fs.existsSync(Path.join(Consumer.root, "dist/index.js"))) {
    return check("dist/ built", () => assert(false, "dist/index.js is missing: run `npm run build` first"))
  }
  let packed
  await check("npm pack", async () => {
    packed = await Consumer.pack(tmp)
    return `${Path.basename(packed.tarball)}, ${packed.files.length} files, ${(packed.size / 1024).toFixed(0)} kB`
  })
  if (packed === undefined) return
  await check("contents: tarball", () => checkContents(packed.tarball))
  const app = Path.join(tmp, "app")
  const installed = await check("install: tarball + peers, --prefer-offline", async () => {
    const result = await Consumer.installConsumer(app, packed.tarball)
    const added = result.stdout.match(/added \d+ packages?/)?.[0] ?? "installed"
    return `${added}: ${Consumer.companions.map(Consumer.installedSpec).join(" ")}`
  })
  if (!installed) return
  await check("runtime: node imports every export; Client ↔ simulator", () => checkClient(app))
  await checkPrivate(app)
  await check("bin: npx effect-twitch-simulator --port 0", () => checkBin(app)) // timed: nothing else runs
  await check("bin: npx effect-twitch --help, and a usage error", () => checkCliBin(app))
  await check("lazy cli: the library imports without @effect/cli", () => checkLazyCli(app))
  await Promise.all([checkTypes(app), checkEffect4(Path.join(tmp, "effect4"), packed.tarball)])
}

const tmp = Consumer.tempDir("effect-twitch-smoke-")
const cleanUp = () => tmp.remove()
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    cleanUp()
    process.exit(1)
  })
}
try {
  await main(tmp.path)
} catch (error) {
  await check("smoke test", () => {
    throw error
  })
} finally {
  cleanUp()
}
console.log(`(${Math.round((performance.now() - started) / 1000)} s, ${manifest.name}@${manifest.version})`)
console.log(`${tally.passed} passed, ${tally.failed} failed`)
process.exit(tally.failed === 0 ? 0 : 1)
