// The command-line tool's exit codes and its one error: every failure of a command becomes a `CliError` with
// a code a script can rely on and one readable line (never a secret: library errors name fields, not values).
import * as ValidationError from "@effect/cli/ValidationError"
import * as ConfigError from "effect/ConfigError"
import * as Schema from "effect/Schema"
import { TaggedError } from "../internal/errors.js"

/**
 * What `effect-twitch` exits with (documented in the README, "Command-line tool").
 *
 * @internal
 */
export const ExitCode = {
  /** the command did what it was asked */
  ok: 0,
  /** Twitch (or the simulator, or a webhook receiver) answered with an error */
  twitch: 1,
  /** the command line is wrong: unknown command, option or operation, a missing or malformed value */
  usage: 2,
  /** the setup is incomplete: no client id or secret, no stored token for the user, an unreadable token file */
  config: 3,
  /** the token is invalid, expired or revoked, or its refresh token was refused: authorize again */
  token: 4,
  /** the server could not be reached, or did not answer in time */
  network: 5,
  /** interrupted (Ctrl-C, SIGTERM) */
  interrupted: 130
} as const

/** @internal */
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

/** @internal */
export class CliError extends TaggedError("Cli")<CliError>()("CliError", {
  code: Schema.Number,
  description: Schema.String
}) {
  override get message(): string {
    return this.description
  }
}

/** @internal */
export const usage = (description: string): CliError => new CliError({ code: ExitCode.usage, description })

/** @internal */
export const config = (description: string): CliError => new CliError({ code: ExitCode.config, description })

const CONFIG = new Set([
  "MissingClientSecret",
  "InvalidClient",
  "ClientNotFound",
  "TokenNotFound",
  "TokenStoreError",
  "ClientIdMismatch",
  "NoUserToken",
  "UnknownUser"
])
const TOKEN = new Set([
  "InvalidAccessToken",
  "InvalidRefreshToken",
  "InvalidToken",
  "TokenDead",
  "TokenRejected",
  "HelixUnauthorized"
])
const NETWORK = new Set(["OAuthTransportError", "HelixTransportError", "HelixTimeout"])
const USAGE = new Set(["HelixUserRequired"])

const hint: Record<string, string> = {
  MissingClientSecret: "set TWITCH_CLIENT_SECRET (app tokens and confidential clients need it)",
  TokenNotFound: "get one with `effect-twitch token device --scopes …`, or name another --user",
  TokenDead: "authorize again: `effect-twitch token device --scopes …`",
  InvalidRefreshToken: "authorize again: `effect-twitch token device --scopes …`",
  HelixUserRequired: "this operation acts as a user: pass --user <id> (a user with a stored token)"
}

/**
 * The exit code and the line to print for anything a command can fail with.
 *
 * @internal
 */
export const describe = (error: unknown): { readonly code: ExitCode; readonly line: string } => {
  if (error instanceof CliError) return { code: error.code as ExitCode, line: error.description }
  if (ValidationError.isValidationError(error)) return { code: ExitCode.usage, line: "" } // @effect/cli printed it
  if (ConfigError.isConfigError(error)) {
    const missing = [...String(error).matchAll(/Missing data at ([A-Za-z0-9_.]+)/g)].map((m) => m[1])
    const what = missing.length > 0 ? `${missing.join(", ")} is not set` : String(error)
    return {
      code: ExitCode.config,
      line: `configuration: ${what} (Twitch needs TWITCH_CLIENT_ID, and TWITCH_CLIENT_SECRET for app tokens; ` +
        "or use a simulator: --simulator)"
    }
  }
  const tag = typeof error === "object" && error !== null && "_tag" in error ? String(error._tag) : ""
  const message = error instanceof Error ? error.message : String(error)
  const more = hint[tag] === undefined ? "" : ` (${hint[tag]})`
  const code = USAGE.has(tag)
    ? ExitCode.usage
    : CONFIG.has(tag)
    ? ExitCode.config
    : TOKEN.has(tag)
    ? ExitCode.token
    : NETWORK.has(tag)
    ? ExitCode.network
    : ExitCode.twitch
  return { code, line: `${message}${more}` }
}
