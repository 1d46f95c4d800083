import * as Path from "node:path"
import { defineConfig } from "vitest/config"

const src = (file: string) => Path.join(import.meta.dirname, "src", file)

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
    include: ["test/**/*.test.ts"],
    setupFiles: ["./test/setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
})
