import * as Fs from "node:fs"
import * as Path from "node:path"
import { defineConfig } from "vitest/config"

const src = (file: string) => Path.join(import.meta.dirname, "src", file)

/** What tests print (e.g. the WARN lines that fault tests provoke) goes here, not to the console. */
const LOG_FILE = "build/test-output.log"
Fs.mkdirSync("build", { recursive: true })
Fs.writeFileSync(LOG_FILE, "")

export default defineConfig({
  resolve: {
    // the package's own name resolves to its sources, as `paths` in tsconfig.base.json does for tsc and tsx
    alias: [
      { find: /^effect-twitch$/, replacement: src("index.ts") },
      { find: /^effect-twitch\/testing$/, replacement: src("testing/index.ts") },
      { find: /^effect-twitch\/(.+)$/, replacement: src("$1.ts") }
    ]
  },
  test: {
    include: ["test/**/*.test.ts", "examples/**/*.test.ts"],
    setupFiles: ["./test/setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    onConsoleLog: (log, type) => {
      Fs.appendFileSync(LOG_FILE, `[${type}] ${log}`)
      return false
    }
  }
})
