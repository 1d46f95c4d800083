#!/usr/bin/env node
/**
 * `npx effect-twitch-simulator [--port 8080]` (in this repository: `npm run simulator`): the same as
 * `effect-twitch simulator [--port 8080]`, the local Twitch simulator until Ctrl-C.
 *
 * Port: `--port <n>` or `SIM_PORT`, default 8080 (any free port if 8080 is taken).
 *
 * @since 0.1.0
 */
import { runMain } from "../cli/node.js"

runMain(["simulator", ...process.argv.slice(2)])
