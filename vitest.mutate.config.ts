/**
 * The Vitest config of mutation runs (`npm run mutate`, see stryker.config.mjs): the usual one, with room for
 * Stryker's instrumented code, which runs several times slower (the 100,000-id dedupe test takes minutes).
 */
import { defineConfig, mergeConfig } from "vitest/config"
import base from "./vitest.config.js"

export default mergeConfig(base, defineConfig({ test: { testTimeout: 300_000, hookTimeout: 300_000 } }))
