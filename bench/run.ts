/**
 * `npm run bench -- <name>`: runs bench/<name>.ts. Every benchmark prints its figures beside its
 * baselines (Twurple, a raw floor) measured in the same run, and ends with one JSON line.
 */
import { spawnSync } from "node:child_process"
import { existsSync, readdirSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
const available = readdirSync(here)
  .filter((f) => f.endsWith(".ts") && f !== "run.ts" && !f.startsWith("_"))
  .map((f) => f.slice(0, -3))
const names = process.argv.slice(2)
if (names.length === 0) {
  process.stderr.write(`usage: npm run bench -- <${available.join("|")}>\n`)
  process.exit(2)
}
for (const name of names) {
  const file = join(here, `${name}.ts`)
  if (!existsSync(file)) {
    process.stderr.write(`unknown benchmark "${name}"; available: ${available.join(", ")}\n`)
    process.exit(2)
  }
  const result = spawnSync(process.execPath, ["--import", "tsx", "--expose-gc", file], { stdio: "inherit" })
  if (result.status !== 0) process.exit(result.status ?? 1)
}
