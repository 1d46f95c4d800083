// The Helix generator: the typed client modules (src/Helix/<Area>.ts, src/HelixApi.ts) and the simulator's
// route table (src/testing/internal/helixRoutes.json) and the command-line tool's parameter table
// (src/cli/internal/helixParameters.ts), from the pinned spec and the reviewed overrides.
import type { Context } from "../emit.js"
import { emitClient } from "./emitClient.js"
import { emitCliTable } from "./emitCliTable.js"
import { emitRoutes } from "./emitRoutes.js"
import { modelOf } from "./ir.js"
import type { Overrides } from "./overrides.js"
import type { Spec } from "./spec.js"

export const generateHelix = (ctx: Context): void => {
  const model = modelOf(ctx.readInput("helix-openapi.json") as Spec, ctx.readOverrides("helix.json") as Overrides)
  for (const [path, text] of emitClient(model)) ctx.writeGenerated(path, text)
  ctx.writeGenerated("src/testing/internal/helixRoutes.json", emitRoutes(model))
  ctx.writeGenerated("src/cli/internal/helixParameters.ts", emitCliTable(model))
}
