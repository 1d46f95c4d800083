/**
 * The Vitest config of mutation runs (`npm run mutate`, see stryker.config.mjs): the usual one, with room for
 * Stryker's instrumented code, which runs several times slower (the 100,000-id dedupe test takes minutes).
 * `MUTATE_TEST_TIMEOUT` (ms) bounds each test for groups whose tests are all short: a mutant that makes a test
 * wait forever then fails that test, instead of holding the run until Stryker's own timeout restarts Vitest.
 */
import { defineConfig, mergeConfig } from "vitest/config"
import base from "./vitest.config.js"

const testTimeout = Number(process.env.MUTATE_TEST_TIMEOUT ?? 300_000)

export default mergeConfig(base, defineConfig({ test: { testTimeout, hookTimeout: testTimeout } }))
