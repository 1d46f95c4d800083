// Running the tool as a Node program: the platform layers, and the process' exit code from the command's.
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import { ExitCode } from "./exit.js"
import * as Cli from "./main.js"

/**
 * Runs the tool with these arguments (those after node and the script) and exits with its code.
 *
 * @internal
 */
export const runMain = (args: ReadonlyArray<string>): void =>
  NodeRuntime.runMain(
    Cli.run([process.argv[0] ?? "node", process.argv[1] ?? "effect-twitch", ...args]).pipe(
      Effect.provide(Layer.merge(NodeContext.layer, NodeHttpClient.layerUndici))
    ),
    {
      teardown: (exit, onExit) =>
        onExit(
          Exit.isSuccess(exit)
            ? typeof exit.value === "number" ? exit.value : ExitCode.ok
            : Cause.isInterruptedOnly(exit.cause)
            ? ExitCode.interrupted
            : ExitCode.twitch
        )
    }
  )
