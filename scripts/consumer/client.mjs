// Run by `scripts/consumer-smoke.mjs` with plain `node` inside a fresh project that installed the
// packed package: every entry point of `exports` imports, and a Client talks to the simulator from
// `effect-twitch/testing` (a Helix call, then a follow triggered through the simulator's control API).
// Prints one line per step; exits 0 when all worked, 1 otherwise, and never runs longer than 30 s.
import { Data, Effect, Fiber, Layer, Option, Schedule, Stream } from "effect"
import { Client } from "effect-twitch"
import * as NodeTwitch from "effect-twitch/NodeTwitch"
import { Simulator } from "effect-twitch/testing"
import { createRequire } from "node:module"

setTimeout(() => {
  console.error("timed out after 30 s")
  process.exit(1)
}, 30_000).unref()

class SmokeError extends Data.TaggedError("SmokeError") {}

/** Entry points that need optional peer dependencies (the root import needs none of them). */
const optionalPeerEntries = { "./TokenStoreSql": "@effect/sql" }

const installed = (name) => {
  try {
    createRequire(import.meta.url).resolve(`${name}/package.json`)
    return true
  } catch {
    return false
  }
}

const entryPoints = async () => {
  const manifest = createRequire(import.meta.url)("effect-twitch/package.json")
  for (const [key, target] of Object.entries(manifest.exports)) {
    if (key.endsWith(".json") || key.includes("*") || target === null) continue // data, patterns, blocked paths
    const specifier = key === "." ? manifest.name : `${manifest.name}/${key.slice(2)}`
    if (optionalPeerEntries[key] !== undefined && !installed(optionalPeerEntries[key])) {
      // an entry point over optional peers the consumer did not install: it must name what is missing
      const refused = await import(specifier).then(() => undefined, (error) => error)
      if (refused?.code !== "ERR_MODULE_NOT_FOUND" || !refused.message.includes(optionalPeerEntries[key])) {
        throw new Error(`${specifier} without ${optionalPeerEntries[key]}: ${refused?.message ?? "imported"}`)
      }
      console.log(`import ${specifier}: needs the optional peer ${optionalPeerEntries[key]} (not installed), refused`)
      continue
    }
    const module = await import(specifier)
    const names = Object.keys(module)
    if (names.length === 0) throw new Error(`${specifier} exports nothing`)
    console.log(`import ${specifier}: ${names.length} exports`)
  }
}

/** Polls the simulator until an enabled subscription of `type` exists (the client listens). */
const subscribed = (sim, type) =>
  sim.eventSub.subscriptions.pipe(
    Effect.filterOrFail(
      (subs) => subs.some((s) => s.type === type && s.status === "enabled"),
      () => new SmokeError({ message: `no enabled ${type} subscription at the simulator` })
    ),
    Effect.retry(Schedule.spaced("20 millis").pipe(Schedule.upTo("10 seconds")))
  )

const program = Effect.gen(function*() {
  const sim = yield* Simulator.Simulator
  const client = yield* Client.Client
  const found = yield* client.getUserById(sim.users.viewer)
  if (Option.isNone(found)) return yield* new SmokeError({ message: `getUserById(${sim.users.viewer}): no user` })
  const viewer = found.value
  console.log(`client.getUserById(${viewer.id}) → ${viewer.login} (${viewer.display_name})`)

  const follow = yield* Effect.fork(Stream.runHead(client.follows()))
  yield* subscribed(sim, "channel.follow")
  const sent = yield* sim.eventSub.trigger({
    type: "channel.follow",
    event: { user_id: viewer.id, user_login: viewer.login, user_name: viewer.display_name }
  })
  const received = yield* Fiber.join(follow)
  const expected = { user_login: viewer.login, broadcaster_user_id: client.user.id }
  if (Option.isNone(received) || Object.entries(expected).some(([key, value]) => received.value[key] !== value)) {
    return yield* new SmokeError({
      message: `follows(): expected ${JSON.stringify(expected)}, got ${JSON.stringify(received)}`
    })
  }
  console.log(
    `client.follows() ← ${received.value.user_name} followed channel ${received.value.broadcaster_user_id} (${sent.length} sent)`
  )
})

const MainLive = NodeTwitch.layerClient().pipe(
  Layer.provide(Simulator.layerTokenStore()),
  Layer.provide(Simulator.layerTwitchConfig),
  Layer.provideMerge(Simulator.layer())
)

try {
  await entryPoints()
  await Effect.runPromise(
    program.pipe(
      Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => new SmokeError({ message: "timed out" }) }),
      Effect.provide(MainLive)
    )
  )
  process.exit(0)
} catch (error) {
  console.error(String(error?.message ?? error))
  process.exit(1)
}
