#!/usr/bin/env node
/**
 * `effect-twitch <command>`: the command-line tool (see the README, "Command-line tool", and
 * `effect-twitch --help`). Exits with the command's code: 0 ok, 1 Twitch answered an error, 2 usage,
 * 3 configuration, 4 token invalid or revoked, 5 network, 130 interrupted.
 *
 * @since 0.2.0
 */
import { runMain } from "../cli/node.js"

runMain(process.argv.slice(2))
