/**
 * Testing with your own TokenStore: the program under test uses `Client` as usual; the test swaps
 * in a `TokenStore` layer of its own (here: in memory, recording every write) and checks what the
 * program stored — e.g. that a refreshed token lands in the store, not in a log.
 *
 *   npx tsx examples/test-token-store.ts
 *
 * It is a test, so it always runs against the in-process simulator: the simulator expires the
 * user's access token mid-run, the library refreshes it, and the store sees the new token.
 * In vitest the same layers go to `Effect.provide` (see test/client.test.ts).
 */
import { Console, Effect, Layer, Option, Redacted, Ref } from "effect"
import type { Token } from "effect-twitch"
import { Client, TokenStore } from "effect-twitch"
import * as NodeTwitch from "effect-twitch/NodeTwitch"
import { Simulator } from "effect-twitch/testing"
import * as Env from "./internal/env.js"

// The program under test: it does not know where tokens live.
const greet = (text: string) => Client.use((client) => client.sendMessage(text))

/** A test TokenStore: in memory, seeded, and recording every write into `writes`. */
const layerRecordingStore = (
  seed: ReadonlyArray<Token.UserToken>,
  writes: Ref.Ref<ReadonlyArray<TokenStore.TokenChange>>
) =>
  Layer.effect(
    TokenStore.TokenStore,
    Effect.map(TokenStore.makeMemory(seed), (memory) =>
      TokenStore.TokenStore.of({
        ...memory,
        set: (token) =>
          Effect.gen(function*() {
            const before = yield* memory.get(token.userId)
            yield* memory.set(token)
            const change: TokenStore.TokenChange = Option.isSome(before)
              ? { _tag: "Refreshed", token }
              : { _tag: "Added", token }
            yield* Ref.update(writes, (w) => [...w, change])
          })
      }))
  )

const check = (ok: boolean, what: string) =>
  ok ? Console.log(`   ✓ ${what}`) : Effect.fail(new Env.ExampleError({ message: `expected: ${what}` }))

const main = Effect.gen(function*() {
  const sim = yield* Simulator.Simulator
  const seeded = yield* Simulator.userToken({ userId: sim.users.broadcaster, scopes: ["user:write:chat"] })
  const writes = yield* Ref.make<ReadonlyArray<TokenStore.TokenChange>>([])
  // the swap: the program runs on the test store instead of the token file
  const TestTwitch = NodeTwitch.layerClient({ scopes: ["user:write:chat"] }).pipe(
    Layer.provide(layerRecordingStore([seeded], writes)),
    Layer.provide(Simulator.layerTwitchConfig)
  )

  yield* Effect.gen(function*() {
    yield* greet("hello")
    yield* Console.log("1. the program said hello with the seeded token")
    yield* check((yield* Ref.get(writes)).length === 0, "nothing was written to the store")

    yield* sim.expireToken(Redacted.value(seeded.accessToken))
    yield* Console.log("2. the simulator expired the access token")

    yield* greet("hello again")
    yield* Console.log("3. the program said hello again (Twitch answered 401, the library refreshed the token)")
    const [write] = yield* Ref.get(writes)
    yield* check(write?._tag === "Refreshed", `the test store saw Refreshed for ${seeded.login}`)
    const fresh = write?._tag === "Refreshed" ? Redacted.value(write.token.accessToken) : ""
    yield* check(fresh !== "" && fresh !== Redacted.value(seeded.accessToken), "with a new access token")
    yield* check((yield* sim.counters).tokenRefreshes === 1, "refreshed exactly once")
  }).pipe(Effect.provide(TestTwitch))
})

Env.run(main.pipe(Effect.provide(Simulator.layer())))
