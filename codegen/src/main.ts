// `npm run codegen`: runs every generator over the pinned inputs (codegen/inputs/) and the reviewed corrections
// (codegen/overrides/), then lint-fixes the TypeScript it wrote, so that the committed output is lint-clean and
// regenerating it changes nothing (`npm run codegen:check`).
import { spawnSync } from "node:child_process"
import * as Path from "node:path"
import { makeContext } from "./emit.js"
import { generateEventSub } from "./eventsub.js"
import { generateHelix } from "./helix/index.js"
import { generateScopes } from "./scopes.js"

const root = Path.resolve(import.meta.dirname, "..", "..")
const ctx = makeContext(root)

generateScopes(ctx)
generateEventSub(ctx)
generateHelix(ctx)

// As `npm run lint-fix`: two runs, dprint last (see eslint.config.mjs).
const written = ctx.written.filter((file) => file.endsWith(".ts"))
const eslint = Path.join(root, "node_modules", "eslint", "bin", "eslint.js")
const lintFix = (...args: ReadonlyArray<string>) =>
  spawnSync(process.execPath, [eslint, "--fix", ...args, ...written], { cwd: root, stdio: "inherit" }).status
lintFix("--rule", "@effect/dprint: off")
if (lintFix() !== 0) {
  console.error("codegen: the generated code is not lint-clean (see above)")
  process.exit(1)
}
console.log(`codegen: wrote ${ctx.written.join(", ")}`)
