/**
 * Lines of code of the same bot (issue 15: `!ping`, `!uptime`, thanks for follows and subscriptions,
 * a token file, status logging) with effect-twitch and with Twurple: bench/loc/*.ts, both formatted by
 * the project's lint. Counted: lines that are neither blank nor comments. Goal: fewer than Twurple's.
 *
 * `npm run bench -- loc`. Last line: one JSON object.
 */
import { readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))

/** Non-blank lines outside comments (`//` lines and `/* … *\/` blocks). */
export const countLines = (source: string): number => {
  const withoutBlocks = source.replace(/\/\*[\s\S]*?\*\//g, (block) => block.replace(/[^\n]/g, ""))
  return withoutBlocks.split("\n").filter((line) => {
    const trimmed = line.trim()
    return trimmed !== "" && !trimmed.startsWith("//")
  }).length
}

const count = (file: string) => countLines(readFileSync(join(here, "loc", file), "utf8"))
const effectTwitch = count("effect-twitch-bot.ts")
const twurple = count("twurple-bot.ts")
process.stdout.write(
  `the same bot: effect-twitch ${effectTwitch} lines, Twurple ${twurple} lines ` +
    `(${effectTwitch < twurple ? "fewer" : "not fewer"}; goal: fewer than Twurple's)\n`
)
process.stdout.write(JSON.stringify({ bench: "loc", effectTwitch, twurple }) + "\n")
