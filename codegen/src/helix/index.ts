/**
 * The Helix generator: the typed client modules and the simulator's route table.
 */
import { join } from "node:path"
import { emitClient } from "./emitClient.js"
import { emitRoutes } from "./emitRoutes.js"
import { modelOf } from "./ir.js"
import { readOverrides } from "./overrides.js"
import { readSpec } from "./spec.js"

/** Every file the Helix generator writes, by path relative to the repository root. */
export const helixFiles = (root: string): Map<string, string> => {
  const model = modelOf(
    readSpec(join(root, "codegen/inputs/helix-openapi.json")),
    readOverrides(join(root, "codegen/overrides/helix.json"))
  )
  const files = emitClient(model)
  files.set("src/testing/internal/helixRoutes.json", emitRoutes(model))
  return files
}
