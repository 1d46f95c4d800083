// `npm run build`: dist/ from src/ (ESM, .d.ts with stripInternal, declaration and source maps), plus
// the data files the simulator (and `effect-twitch event trigger`) read at run time, and the executable bins.
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
for (const bin of ["bin/simulator.js", "bin/effect-twitch.js"]) Fs.chmodSync(Path.join(dist, bin), 0o755)
console.log("built dist/")
