// `npm run build`: dist/ from src/ (ESM, .d.ts with stripInternal, declaration and source maps), plus
// the data file the simulator reads at run time and an executable simulator bin.
import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"

const root = Path.resolve(import.meta.dirname, "..")
const dist = Path.join(root, "dist")
Fs.rmSync(dist, { recursive: true, force: true })
execFileSync(process.execPath, [Path.join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], {
  cwd: root,
  stdio: "inherit"
})
for (const file of ["testing/internal/eventsubExamples.json", "testing/internal/helixRoutes.json"]) {
  Fs.copyFileSync(Path.join(root, "src", file), Path.join(dist, file))
}
Fs.chmodSync(Path.join(dist, "bin/simulator.js"), 0o755)
console.log("built dist/")
