/**
 * Conduits across processes, against the real PostgreSQL (TWITCH_TEST_DATABASE_URL) and the simulator:
 * three processes share a conduit of six shards; one is SIGKILLed and its shards are taken over; a
 * restarted process gets its shards back and adopts the subscriptions (none duplicated at the simulator);
 * a process configured with shards a live one holds fails at start with a clear error.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Simulator from "../src/testing/Simulator.js"
import { databaseUrl, howToRun, killAll, scopedTable, spawnWorker, type Worker } from "./fixtures/sql.js"

if (databaseUrl === undefined) process.stderr.write(`${howToRun}\n`)
const pg = databaseUrl === undefined ? describe.skip : describe

const CHANNELS = Array.from({ length: 12 }, (_, i) => String(5000 + i))
const served = (w: Worker): ReadonlyArray<number> => {
  const last = [...w.lines].reverse().find((l) => l.startsWith("serving"))
  return last === undefined || last === "serving " ? [] : last.slice(8).split(",").map(Number)
}
const events = (workers: ReadonlyArray<Worker>) => workers.flatMap((w) => w.lines.filter((l) => l.startsWith("event ")))

const until = (check: () => boolean, ms: number, what: string) =>
  Effect.gen(function*() {
    const deadline = Date.now() + ms
    while (!check()) {
      if (Date.now() > deadline) return yield* Effect.dieMessage(`not in ${ms} ms: ${what}`)
      yield* Effect.sleep("50 millis")
    }
  })

pg("EventSubConduit across processes (PostgreSQL leases)", () => {
  it.live(
    "3 processes, 6 shards: a SIGKILLed one's shards are taken over; a restart adopts, duplicates nothing",
    () =>
      Effect.gen(function*() {
        const sim = yield* Simulator.Simulator
        const table = yield* scopedTable("conduit")
        const workers: Array<Worker> = []
        yield* Effect.addFinalizer(() => killAll(workers))
        const spawn = (shards: string, instance: string) => {
          const w = spawnWorker({
            WORKER_CLIENT_ID: sim.clientId,
            WORKER_CLIENT_SECRET: sim.clientSecret,
            WORKER_AUTH_URL: sim.authUrl,
            WORKER_HELIX_URL: sim.helixUrl,
            WORKER_WS_URL: sim.eventSubWsUrl,
            WORKER_DATABASE_URL: databaseUrl!,
            WORKER_TABLE: table,
            WORKER_SHARD_COUNT: "6",
            WORKER_SHARDS: shards,
            WORKER_CHANNELS: CHANNELS.join(","),
            WORKER_INSTANCE: instance
          }, "conduit-worker.ts")
          workers.push(w)
          return w
        }
        const conduitSubs = Effect.map(
          sim.eventSub.subscriptions,
          (subs) => subs.filter((s) => s.transport === "conduit" && s.type === "stream.online")
        )
        const trigger = (round: string) =>
          Effect.forEach(CHANNELS, (channel) =>
            sim.eventSub.trigger({
              type: "stream.online",
              condition: { broadcaster_user_id: channel },
              event: { id: `${round}-${channel}` }
            }), { discard: true })

        const [a, b, c] = [spawn("0/3", "a"), spawn("1/3", "b"), spawn("2/3", "c")]
        yield* until(() => [a, b, c].every((w) => served(w).length === 2), 30_000, "each process serves 2 shards")
        assert.deepStrictEqual(served(a), [0, 3])
        let subs = yield* conduitSubs
        yield* until(
          () => subs.length === CHANNELS.length,
          10_000,
          "12 subscriptions"
        ).pipe(
          Effect.zipLeft(Effect.flatMap(conduitSubs, (s) => Effect.sync(() => (subs = s)))),
          Effect.repeat({ until: () => subs.length === CHANNELS.length, times: 100 })
        )
        yield* trigger("r1")
        yield* until(() => events([a, b, c]).length === CHANNELS.length, 10_000, "12 events delivered")

        // SIGKILL c: its shards 2 and 5 go to a and b
        const killedAt = Date.now()
        c.child.kill("SIGKILL")
        yield* until(() => new Set([...served(a), ...served(b)]).size === 6, 20_000, "a and b serve all 6 shards")
        const takeoverMs = Date.now() - killedAt
        assert.isBelow(takeoverMs, 10_000, `takeover took ${takeoverMs} ms`)
        const before = events([a, b]).length
        yield* trigger("r2")
        yield* until(() => events([a, b]).length === before + CHANNELS.length, 10_000, "12 more events delivered")

        // c comes back: it gets 2 and 5 again, adopts the subscriptions, duplicates none
        const c2 = spawn("2/3", "c")
        yield* until(
          () => served(c2).length === 2 && served(a).length === 2 && served(b).length === 2,
          30_000,
          "c serves its shards again"
        )
        assert.deepStrictEqual(served(c2), [2, 5])
        assert.strictEqual((yield* conduitSubs).length, CHANNELS.length, "no subscription duplicated")
        const all = [a, b, c2]
        const seen = events(all).length
        yield* trigger("r3")
        yield* until(() => events(all).length === seen + CHANNELS.length, 10_000, "12 more events after the restart")
        const ids = events(all).map((l) => l.split(" ")[2])
        assert.strictEqual(new Set(ids).size, ids.length, "no event delivered twice")

        // a fourth process configured with a's shards: a clear start-up error
        const d = spawn("0/3", "d")
        const failed = yield* Effect.promise(() => d.waitFor((l) => l.startsWith("failed")).catch((e) => String(e)))
        assert.match(failed, /EventSubConduitShardConflict: .*shard\(s\) 0, 3 .*another live process too \(a\)/)
        assert.strictEqual(yield* Effect.promise(() => d.exited), 1)
      }).pipe(Effect.provide(Simulator.layer()), Effect.scoped),
    120_000
  )
})
