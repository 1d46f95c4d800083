/**
 * Conduits across processes: P processes (default 3) share a conduit of S shards (default 6) with
 * PostgreSQL leases (test/fixtures/conduit-worker.ts), every process subscribed to `stream.online` of 12
 * channels. The simulator triggers a steady stream of events (one every BENCH_INTERVAL_MS, default 10,
 * for BENCH_SECONDS, default 20); one process is SIGKILLed a third of the way in.
 *
 * Counted at the simulator: `events` triggered, and `droppedWhileDisabled`, those Twitch's rule drops
 * (the channel's shard and the one other tried were both disabled). Counted from the processes' output:
 * `delivered` (distinct events received) and `duplicates` (received more than once). `lostInFlight`:
 * sent by the simulator to the killed process's socket as it died. `takeoverMs`: from the kill to the
 * survivors serving every shard. Goal: 0 duplicates, delivered = events − droppedWhileDisabled −
 * lostInFlight, takeover ≤ 10 s.
 *
 * `npm run bench -- conduit` (the database: TWITCH_TEST_DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/test). Last line: one JSON object.
 */
import { Effect } from "effect"
import * as Simulator from "../src/testing/Simulator.js"
import { dropTable, killAll, spawnWorker, uniqueTable, type Worker } from "../test/fixtures/sql.js"

const databaseUrl = process.env.TWITCH_TEST_DATABASE_URL || "postgres://postgres@127.0.0.1:5432/test"
process.env.TWITCH_TEST_DATABASE_URL = databaseUrl // for the fixtures
const processes = Number(process.env.BENCH_PROCESSES ?? 3)
const shards = Number(process.env.BENCH_SHARDS ?? 6)
const intervalMs = Number(process.env.BENCH_INTERVAL_MS ?? 10)
const seconds = Number(process.env.BENCH_SECONDS ?? 20)
const channels = Array.from({ length: 12 }, (_, i) => String(5000 + i))

const print = (line: string) => Effect.sync(() => process.stdout.write(`${line}\n`))

const servedBy = (w: Worker): ReadonlyArray<number> => {
  const last = [...w.lines].reverse().find((l) => l.startsWith("serving"))
  return last === undefined || last === "serving " ? [] : last.slice(8).split(",").map(Number)
}

const until = (check: () => boolean, ms: number, what: string) =>
  Effect.gen(function*() {
    const deadline = Date.now() + ms
    while (!check()) {
      if (Date.now() > deadline) return yield* Effect.dieMessage(`not in ${ms} ms: ${what}`)
      yield* Effect.sleep("20 millis")
    }
  })

const program = Effect.gen(function*() {
  const sim = yield* Simulator.Simulator
  const table = uniqueTable("conduitbench")
  yield* Effect.addFinalizer(() => dropTable(table))
  const workers = Array.from({ length: processes }, (_, i) =>
    spawnWorker({
      WORKER_CLIENT_ID: sim.clientId,
      WORKER_CLIENT_SECRET: sim.clientSecret,
      WORKER_AUTH_URL: sim.authUrl,
      WORKER_HELIX_URL: sim.helixUrl,
      WORKER_WS_URL: sim.eventSubWsUrl,
      WORKER_DATABASE_URL: databaseUrl,
      WORKER_TABLE: table,
      WORKER_SHARD_COUNT: String(shards),
      WORKER_SHARDS: `${i}/${processes}`,
      WORKER_CHANNELS: channels.join(","),
      WORKER_INSTANCE: `p${i}`
    }, "conduit-worker.ts"))
  yield* Effect.addFinalizer(() => killAll(workers))
  // every shard served, each by its home process
  const settled = () =>
    workers.flatMap(servedBy).length === shards && new Set(workers.flatMap(servedBy)).size === shards &&
    workers.every((w) => servedBy(w).length > 0)
  yield* until(settled, 60_000, "every shard served by its process")
  const conduitSubs = Effect.map(
    sim.eventSub.subscriptions,
    (subs) => subs.filter((s) => s.transport === "conduit" && s.type === "stream.online").length
  )
  let subscribed = 0
  while (subscribed < channels.length) {
    subscribed = yield* conduitSubs
    yield* Effect.sleep("50 millis")
  }
  yield* print(`conduit: ${processes} processes serve ${shards} shards, ${subscribed} subscriptions; triggering`)

  const victim = workers[processes - 1]!
  const total = Math.round((seconds * 1000) / intervalMs)
  const killAt = Math.round(total / 3)
  let dropped = 0
  let killedAt = 0
  let takeoverMs = -1
  const sentAfterKill: Array<string> = []
  for (let seq = 0; seq < total; seq++) {
    if (seq === killAt) {
      victim.child.kill("SIGKILL")
      killedAt = Date.now()
    }
    if (killedAt > 0 && takeoverMs < 0 && new Set(workers.slice(0, -1).flatMap(servedBy)).size === shards) {
      takeoverMs = Date.now() - killedAt
    }
    const id = `e${seq}`
    const sent = yield* sim.eventSub.trigger({
      type: "stream.online",
      condition: { broadcaster_user_id: channels[seq % channels.length]! },
      event: { id }
    })
    if (sent.length === 0) dropped++
    else if (killedAt > 0 && Date.now() - killedAt < 1000) sentAfterKill.push(id)
    yield* Effect.sleep(intervalMs)
  }
  if (takeoverMs < 0) {
    yield* until(() => new Set(workers.slice(0, -1).flatMap(servedBy)).size === shards, 30_000, "takeover")
    takeoverMs = Date.now() - killedAt
  }
  yield* Effect.sleep("1 second") // the last events on their way
  const received = workers.flatMap((w) => w.lines.filter((l) => l.startsWith("event ")).map((l) => l.split(" ")[2]!))
  const distinct = new Set(received)
  const victimIds = new Set(victim.lines.filter((l) => l.startsWith("event ")).map((l) => l.split(" ")[2]!))
  const lostInFlight = sentAfterKill.filter((id) => !distinct.has(id) && !victimIds.has(id)).length
  const result = {
    bench: "conduit",
    processes,
    shards,
    events: total,
    delivered: distinct.size,
    duplicates: received.length - distinct.size,
    droppedWhileDisabled: dropped,
    lostInFlight,
    takeoverMs
  }
  yield* print(
    `conduit: ${total} events, ${distinct.size} delivered, ${result.duplicates} duplicates, ${dropped} dropped ` +
      `while their shards were disabled, ${lostInFlight} lost in flight to the killed process, takeover ${takeoverMs} ms`
  )
  if (process.env.BENCH_DEBUG) {
    for (const w of workers) yield* print(w.lines.filter((l) => !l.startsWith("event")).join(" | "))
  }
  yield* print(JSON.stringify(result))
}).pipe(Effect.provide(Simulator.layer()), Effect.scoped)

Effect.runPromise(program).then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${String(error)}\n`)
    process.exit(1)
  }
)
