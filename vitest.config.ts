import * as Fs from "node:fs"
import { defineConfig } from "vitest/config"

/** What tests print (e.g. the WARN lines that fault tests provoke) goes here, not to the console. */
const LOG_FILE = "build/test-output.log"
Fs.mkdirSync("build", { recursive: true })
Fs.writeFileSync(LOG_FILE, "")

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["./test/setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    onConsoleLog: (log, type) => {
      Fs.appendFileSync(LOG_FILE, `[${type}] ${log}`)
      return false
    }
  }
})
