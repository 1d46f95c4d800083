// The `effect-twitch` command: its subcommands, and `run`, which parses a command line, runs it and answers the
// exit code (printing a failure as one line on stderr). The bin (src/bin/effect-twitch.ts) runs it on Node.
//
// The overview pages (`effect-twitch`, `effect-twitch token`, …) are written here: @effect/cli's own lists every
// descendant's full usage padded to the longest one. A leaf's `--help` is @effect/cli's.
import type * as CliApp from "@effect/cli/CliApp"
import * as Command from "@effect/cli/Command"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Api from "./api.js"
import * as Event from "./event.js"
import { describe, ExitCode } from "./exit.js"
import * as Simulator from "./simulator.js"
import * as Token from "./token.js"

/** @internal */
export const VERSION = "0.1.0"

const NAME = "effect-twitch"

/** @internal */
export const command = Command.make(NAME).pipe(
  Command.withDescription("Twitch from the command line"),
  Command.withSubcommands([Simulator.command, Token.command, Api.command, Event.command])
)

const overview: ReadonlyArray<readonly [group: string, usage: string, description: string]> = [
  ["simulator", "simulator [--port 8080]", "Run the local Twitch simulator until Ctrl-C"],
  ["token", "token device --scopes a,b", "Get a user token (Device Code flow) into the token file"],
  ["token", "token validate [--user id]", "Is the stored token still valid? (exit 4: no)"],
  ["token", "token refresh [--user id]", "Refresh a stored token now"],
  ["token", "token revoke [--user id]", "Revoke a stored token and remove it from the file"],
  ["token", "token list", "The stored tokens (redacted)"],
  ["api", "api", "List the Helix operations"],
  ["api", "api <operation> [--param value …]", "Call a Helix operation; JSON on stdout"],
  ["event", "event trigger <type>", "Deliver an EventSub event: simulator, or a signed --webhook POST"],
  ["event", "event types", "The EventSub types `event trigger` knows"]
]

const footer = [
  "",
  "Common options: --simulator (a simulator at http://localhost:8080) or --simulator-url URL; --tokens FILE",
  "(default .twitch-tokens.json); --user ID (act with that user's stored token). `<command> --help` shows all.",
  "",
  "Environment: TWITCH_CLIENT_ID, TWITCH_CLIENT_SECRET, TWITCH_AUTH_URL, TWITCH_HELIX_URL, TWITCH_EVENTSUB_WS_URL,",
  "TWITCH_TOKEN_FILE, TWITCH_WEBHOOK_SECRET, SIM_URL, SIM_PORT.",
  "",
  "Exit codes: 0 ok · 1 Twitch (or the simulator, or the webhook) answered an error · 2 usage · 3 configuration",
  "(client id or secret, token file, no stored token) · 4 token invalid, expired or revoked · 5 network · 130 interrupted."
]

const help = (group: string | undefined): Effect.Effect<void> => {
  const rows = overview.filter(([g]) => group === undefined || g === group)
  const width = Math.max(...rows.map(([, usage]) => usage.length))
  return Console.log([
    `${NAME} ${VERSION}: Twitch from the command line`,
    "",
    "Usage:",
    ...rows.map(([, usage, description]) => `  ${NAME} ${usage.padEnd(width)}  ${description}`),
    ...footer
  ].join("\n"))
}

const GROUPS = new Set(["token", "api", "event"])
const isHelp = (arg: string | undefined): boolean => arg === "--help" || arg === "-h"

const cli = <Name extends string, R, E, A>(root: Command.Command<Name, R, E, A>) =>
  Command.run(root, { name: NAME, version: VERSION })

/** @internal */
export type Environment = CliApp.CliApp.Environment | HttpClient.HttpClient | FileSystem.FileSystem

const dispatch = (argv: ReadonlyArray<string>): Effect.Effect<void, unknown, Environment> => {
  const [first, second] = argv.slice(2)
  if (first === undefined || isHelp(first)) return help(undefined)
  if (first === "api" && (second === undefined || isHelp(second))) return Api.listing
  if (GROUPS.has(first) && (second === undefined || isHelp(second))) return help(first)
  if (first === "api" && second !== undefined && !second.startsWith("-")) {
    return Either.match(Api.commandFor(second), {
      onLeft: Effect.fail,
      onRight: (api) => cli(Command.make(NAME).pipe(Command.withSubcommands([api])))(argv)
    })
  }
  return cli(command)(argv)
}

/**
 * Runs one command line (`process.argv`: the first two entries are node and the script) and answers its exit code.
 *
 * @internal
 */
export const run = (argv: ReadonlyArray<string>): Effect.Effect<ExitCode, never, Environment> =>
  dispatch(argv).pipe(
    Effect.as(ExitCode.ok),
    Effect.catchAll((error) => {
      const { code, line } = describe(error)
      return Effect.as(line === "" ? Effect.void : Console.error(`${NAME}: ${line}`), code)
    })
  )
