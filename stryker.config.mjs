// @ts-check
/**
 * Mutation testing (StrykerJS + its Vitest runner): `npm run mutate` (not part of CI).
 *
 * The core modules are split into groups, each mutated against the test files that exercise it:
 *
 *   MUTATE=dedupe npm run mutate          # one group (see `groups` below)
 *   MUTATE=all npm run mutate             # every group at once (default; long: see README/report)
 *   MUTATE_CONCURRENCY=2 MUTATE=... npm run mutate
 *   MUTATE=eventsubws npx stryker run --mutate src/internal/eventsubWebSocket.ts:1-300 \
 *     --incrementalFile reports/inc-ws-1.json     # a slice, with a results file of its own
 *
 * Runs are incremental (one results file per group under reports/, gitignored): a re-run only tests the
 * mutants whose code or tests changed. The HTML report is reports/mutation/<group>.html.
 */
import { readFileSync } from "node:fs"

/** Ranges `between` could not find, by the placeholder it returned: an error only when their group is run. */
/** @type {Map<string, string>} */
const unresolved = new Map()

/**
 * `file:first-last`: the lines from the first line matching `from` up to (not including) the next line
 * matching `to`, so the range follows the code as lines move.
 *
 * @param {string} file
 * @param {RegExp} from
 * @param {RegExp} to
 */
const between = (file, from, to) => {
  const lines = readFileSync(new URL(file, import.meta.url), "utf8").split("\n")
  const first = lines.findIndex((line) => from.test(line))
  const end = lines.findIndex((line, i) => i > first && to.test(line))
  if (first >= 0 && end >= 0) return `${file}:${first + 1}-${end}`
  const placeholder = `${file}:unresolved-${unresolved.size}`
  unresolved.set(placeholder, `stryker.config.mjs: cannot find ${from} … ${to} in ${file}`)
  return placeholder
}

/** @type {Record<string, { readonly mutate: ReadonlyArray<string>, readonly testFiles: ReadonlyArray<string> }>} */
const groups = {
  dedupe: {
    // Known survivors, equivalent (2026-11-26):
    // - the table size `slots < 2 * capacity` → `<=`: a table twice as large (memory only).
    // - hex `code >= 48` → true: a code below 48 gives `code - 48 < 0`, rejected as a digit either way.
    mutate: ["src/internal/eventsubDedupe.ts"],
    // not eventsub-dedupe-scale (100,000 UUIDs: minutes per mutant) nor the socket tests of eventsub.test.ts
    testFiles: ["test/eventsub-dedupe.test.ts"]
  },
  tokenstore: {
    // Known survivors, equivalent or unreachable (2026-11-26):
    // - TokenStore commit: `else if (writeBehind !== undefined)` → true: without write-behind a failure returned above.
    // - isNotFound / removeStaleTemps' NotFound test: `_tag === "SystemError"` → true: other errors have no `reason`.
    // - requireRegularFile's BadArgument branch: a path stat rejects as BadArgument already failed in resolveTarget.
    // - lockTarget's "another process" (Held without a holder): only two processes racing for one stale lock.
    // - persistFile's encode failure: a map of UserToken instances always encodes.
    // - renameImpossible `_tag === "SystemError"` → true, `?? ""` → other text: BadArgument never says Busy / EXDEV.
    // - syncDirectory `{ flag: "r" }` → `{}`: "r" is the default; the suffix fallback "0": Math.random() is never 0.
    // - overwriteInPlace flag "a" → "" (Node's default "w"): the target is cut before, not after, the overwrite;
    //   torn either way until the journal is removed, and only the owner reads it.
    // - removeStaleTemps: `[]` → ["Stryker was here"] (not a temp name); `{ discard: true }` → `{}` (result unused).
    mutate: ["src/TokenStore.ts", "src/internal/atomicFile.ts"],
    testFiles: ["test/token-store.test.ts", "test/atomic-file.test.ts"]
  },
  accesstokens: {
    // Known survivors, equivalent (2026-11-26):
    // - validateAll's forEach `discard: true` → false: the collected voids are never read (the round's result is
    //   dropped by the repeat), so only allocation differs.
    mutate: ["src/AccessTokens.ts"],
    testFiles: ["test/access-tokens.test.ts", "test/secrets.test.ts", "test/bot.test.ts"]
  },
  oauth: {
    // Known survivors, equivalent or not worth a test (2026-11-26):
    // - OAuth form("refresh" | "appToken" | "exchangeCode" | "devicePoll") → "": form only picks the path for
    //   "revoke" / "deviceStart"; every other name posts to /token.
    // - classify `getOrElse(serverMessage, () => "")` → "Stryker was here!": the fallback only has to match no
    //   known message, which either text does.
    // - optionalSecret `onNone: () => ({})` → `() => undefined`: spreading undefined adds no field either.
    // - execute's connectFailed `error._tag === "RequestError"` → true: a ResponseError's reason is never
    //   "Transport", so the next test is false for it anyway.
    // - connectionNeverOpened `typeof code === "string"` → true: NOT_CONNECTED_CODES.has is false for every
    //   non-string anyway.
    // - connectionNeverOpened `depth < 6` → `depth <= 6`: a bound on the walk (cycles are covered); only a
    //   cause chain 7 deep could tell, and undici nests 2-3.
    // - revoke's `response.status >= 200` → true: no HttpClient gives a final answer below 200 (1xx are interim).
    mutate: ["src/OAuth.ts", "src/DeviceAuth.ts"],
    testFiles: ["test/oauth.test.ts", "test/device-auth.test.ts", "test/secrets.test.ts"]
  },
  // the EventSub engine, split in two groups so that each runs in reasonable time
  eventsub: {
    // routing, dispatch to consumers, the per-consumer inbox, the registry and the age / size guard
    // Known survivors, equivalent (2026-11-26, router and registry):
    // - Registry delete / setTwitchId: `entry.twitchId !== null` → true: the id map has string keys, get(null) is no entry.
    // - Registry find: `typeof id === "string"` → true: a non-string id is never a key of the id map either.
    // - AgeGuard: `threshold = ""` → other text, `computedAt = -Infinity` → +Infinity: the first call computes both.
    // - AgeGuard: `now < this.computedAt` → `<=`: recomputed at the same millisecond, the edge is the same.
    // - keepaliveSecondsOf: `typeof value === "number"` → true: Number.isFinite is false for every non-number.
    // Known survivors of eventsubInbox.ts / eventsubDispatcher.ts, equivalent (2026-11-26):
    // - handChunkConstructor `backing === null` → false: Object.keys(null) throws in sameKeys, the catch falls back.
    // - its prototype null / Object.prototype checks (4): such a prototype lacks Chunk's TypeId, so the behaviour
    //   check's Equal.equals fails (or throws) and it falls back all the same.
    // - the behaviour check's clauses up to `Chunk.unsafeGet(made, 2) === 3` → true (and `&&` → `||` there), the
    //   toArray / unsafeHead ones: they read only the fields the constructor writes, so only another Effect could fail
    //   them; isChunk is implied by the reverse Equal.equals (it checks isChunk(that)).
    // - handChunkConstructor's catch block → {}: falling off the end returns undefined as well.
    // - take's `takers.delete` on interruption → {}, the dispatcher's `waiter = undefined` on interruption → {}: a
    //   stale resume of an interrupted fiber is ignored and the slot cleared at the next wake (memory until then).
    // - offer `events.length === 0` → false: an empty offer copies nothing and returns at once (a spurious wake at most);
    //   `offset === events.length` → false: an offer that fitted goes through the wait's second fill, which finds it
    //   done and resumes at once (slower only).
    // - takeNow's `offers.size > 0` → true / `>=`: a refill over no offers does nothing.
    // - wakeTakers `takers.size === 0` → false: the loop over an empty set does nothing.
    // - dispatchTurn's `….length > 0` → true / `>= 0` (3 × 2): a fresh empty array in place of an empty one (allocation).
    // - the "schema" warning kind → "": the kind only keys the warning gate, no other warning uses "" or "schema".
    // Known survivors of eventsubInbox.ts that are NOT equivalent (left: no test can place the race):
    // - take's check of the inbox state after registering a taker (4), offer's after queueing (1) and its second fill
    //   there: they close the window between a check and the wait's registration, where a fiber yield would lose a
    //   wake-up (the second fill, added 2026-11-27, replaced takeNow's refill of an empty buffer, which could not help
    //   a consumer already waiting).
    // Known survivors of eventsubGuard.ts (the fast type guards), equivalent (2026-11-26):
    // - literals `[]` → ["Stryker was here"]: indices are taken after each push (length - 1), a prefilled entry is never read.
    // - the UndefinedKeyword case without its return: falls through to Literal, whose `ast.literal` is undefined there too.
    // - `members.length === 0` → false and its "false": Union.make never builds a union of fewer than 2 members.
    // - `default:` without its return (both compilers): falling off the switch returns undefined as well.
    // - `known !== undefined` → false: only the cache of shared AST nodes; compiling one twice gives the same function.
    // - the placeholder `""` → other text: overwritten on success; a failure propagates to the root, nothing is built.
    // - `entry === undefined` → false: the source then ends in `return undefined`, generateGuard still returns undefined.
    // - `functions.join("\n")` → join(""): function declarations need no separator.
    // - the catch block → {}: falling out of it returns undefined as `return undefined` does (the CSP test covers it).
    // - `members.length === 2` → false, its block → {}: the two-member fast path; the general loop answers the same.
    // - optional field `value === undefined` → true: that is the decoder's own rule (`hasOwn`); the original differs only
    //   for an inherited value of an absent optional key, where its false falls back to the full decoder (speed only).
    mutate: [
      "src/internal/eventsubRouter.ts",
      "src/internal/eventsubDispatcher.ts",
      "src/internal/eventsubInbox.ts",
      "src/internal/eventsubRegistry.ts",
      "src/internal/eventsubGuard.ts"
    ],
    // the unit tests only: every router and registry mutant is covered by each socket test of eventsub.test.ts,
    // eventsub-limits and eventsub-faults (a minute per mutant, ten hours for the group)
    testFiles: ["test/eventsub-router.test.ts", "test/eventsub-inbox.test.ts", "test/eventsub-guard.test.ts"]
  },
  eventsubws: {
    // the WebSocket transport: sessions, keepalive, reconnect, and its subscriptions
    // Known survivors of eventsubWebSocket.ts, equivalent or unreachable (Stryker, 2026-11-27: 2 passes, see README):
    // - describeEnd `Option.isSome(failure)` is killed; its `"interrupted"` / `"socket defect"` texts are not: a socket
    //   fiber is interrupted only by stopSocket, after the race that watched it ended, and the frame handler never throws.
    // - socketEnded's onSuccess (`() => undefined`, "socket closed"): closeCodeIsError is always true, runRaw never succeeds.
    // - openSocket `typeof data === "string"` → true: Twitch (and the simulator) send text frames only.
    // - openSocket `raw?.pause`, `raw?.resume?.()` optional chains (3): raw is set before the first frame.
    // - setupSession `later.length > 0` → `>= 0` / true: a retry fiber over no entries ends at once.
    // - watchdog `session.current?.isPaused` → `.isPaused`: openSession sets current before the watchdog starts.
    // - runSession's drain forEach `{ discard: true }` → `{}` / false: its result is unused.
    // - reconnectLoop's `while` test (`||`, `size > 0` → true / `>= 0`) and its `break` test (→ false, `&&`,
    //   `size === 0` → false): a connection emptied by release is marked closed and interrupted there, and one emptied
    //   by endEntry is interrupted by its consumers' release; the loop's own checks only end it sooner.
    // - reconnectLoop `{ welcomedAt: -1 }` → `{}`: `undefined >= 0` is false, as `-1 >= 0` is (never welcomed).
    // - connectionEnded `!conn.sessionReady` → true: failing a deferred that is done already is a no-op.
    // - getUser `knownSessions: []` → ["Stryker was here"]: no session of Twitch's is named that.
    // - the registry's pending test `entry.generation !== conn.generation` → true: a session carries only the
    //   subscriptions created on it, one per type + condition (a second gets 409), so a notification with an id we do
    //   not know never matches a created entry.
    // Statements removed by hand (Stryker makes no such mutants), not caught, equivalent:
    // - handover's failure branch without stopSocket: the session ends right after and closes every socket.
    // - stopSocket without `sessions.delete`: resuming and interrupting a stopped socket again are no-ops.
    // - stopSocket without `handle.resume()` (NOT equivalent, accepted): it matters only for an old socket paused during
    //   a handover, whose last frames then wait for the session's end; no test could set that up reliably.
    // Known survivors of eventsubWsSubscriptions.ts, equivalent (Stryker, a pass against eventsub-websocket.test.ts, 2026-11-26):
    // - endEntry `if (entry.ended)` → false: ending twice repeats idempotent steps (unregister checks identity,
    //   Inbox.fail ignores a closed inbox).
    // - markClosed `if (conn.closed)` → false, `index >= 0` → true: a connection leaves user.conns only here, once.
    // - waitCreated `if (entry.ended)` → false: an ended entry is out of user.entries; ensureCreated skips it, so it
    //   returns void as well, only after the next welcome.
    // - waitCreated `entry.generation >= 0` → `> 0`: generations count from 1, an entry's is -1 or ≥ 1.
    // - the warning kind "resubscribe" → "": the gate throttles per kind, no other warning of the engine uses "".
    // - resolveConflict `kind: "transient"` → "": only "fatal" and "conflict" are ever compared (a create's own).
    // - resolveConflict `s.sessionId !== undefined &&` → true: isLostSession(undefined) is false (never known).
    // - resolveConflict's forEach `{ discard: true }` → `{}` / false: its result is unused.
    // - createAll's / recreateLater's forEach `discard: true` → false: their results are unused.
    // - recreateLater `Option.isNone(ref)` → false: the retries run in the session's scope, interrupted before the
    //   session is replaced or failed; within a session the deferred only succeeds.
    // - release `!entry.removed || entry.refCount > 0` (`&&`, `refCount > 0` → false): after the locked block an entry
    //   is either kept (refCount > 0) or removed with refCount 0, so every form agrees.
    // - release `toClose.fiber !== undefined` → true: newConn sets conn.fiber before register returns.
    // - markClosed `conn.closed = true` → false (NOT equivalent, accepted): it matters only at engine shutdown, where a
    //   waiter whose create failed after a lost session retries once more and fails with "the connection was closed"
    //   instead of the create's error.
    mutate: ["src/internal/eventsubWebSocket.ts", "src/internal/eventsubWsSubscriptions.ts"],
    // the files that drive the transport (eventsub-limits' 900 subscriptions took 35 s per mutant: the
    // limits are pinned with small ones in eventsub-websocket; bot / client add no coverage of their own)
    // (run with MUTATE_TEST_TIMEOUT=30000: every test here takes seconds, a mutant that hangs one fails it)
    testFiles: ["test/eventsub-websocket.test.ts", "test/eventsub.test.ts", "test/eventsub-faults.test.ts"]
  },
  helix: {
    // the runtime: request execution, retries, rate limits, pagination (not the endpoint and schema declarations).
    // The limiter is tested on its own on the TestClock (helix-rate-limiter); the burst tests (helix-ratelimit) and
    // the simulator's (helix-simulator, real sockets) are left out: they cover nothing more and cost minutes per mutant.
    // Known survivors of src/internal/helixRateLimiter.ts, equivalent (2026-11-26; a Timeout of any of these is the
    // busy machine: each passes the limiter's tests by hand in seconds):
    // - advance / nextPointAt `mode !== "Known"` → false: before a bucket's first headers, limit, level, rate and reset are
    //   0 (nextPointAt's last line then gives undefined too: `0 - inFlight >= 1` is false).
    // - nextPointAt's passed-reset test `limit - inFlight >= 1` → true / `limit + inFlight`: with every point in flight it
    //   arms a 10 ms poll that releases nothing; the level rises only when a release or give-back frees a point, and
    //   those pump themselves.
    // - canSend `>= 1 - 1e-9` → `>`: the level is never exactly 1 - 1e-9.
    // - giveBack `mode === "Known"` → true: only a permit granted while Known is charged, and a bucket never leaves Known.
    // - giveBack `charged && mode === "Known"` → true / `||` (NOT equivalent, accepted): they differ only for a permit
    //   granted while Unlimited and given back after an answer with headers made the bucket Known: the mutant returns
    //   the point the resync took for it (more accurate), the original stays one point low (safe) until the next answer.
    // - compactQueue (its body, `head === length`, `return true`, the splice test): memory only, or one needless timer.
    // - pump `compactQueue(...)` → false, `active >= maxConcurrency` → false / `>`, `wakeAt <= now` → false / `<`, the
    //   pending-timer test (→ false, `timerAt === undefined`, `<`, its left side → true), arm's `timerAt === fireAt`
    //   → true, enqueue's `wakeAt === undefined` → false: an extra timer, which only pumps again.
    // - pumpAll `buckets.size > 1` → true / `>=`, `bucket !== first && head < length` (→ true, `||`, `<=`),
    //   `other !== Effect.void` → true, `arms === Effect.void ? …` (3): pumping twice or without waiters does nothing;
    //   `zipRight(void, x)` is `x`. Also release's `warning === Effect.void` → false.
    // - checkStalled `i <= length`: throws in the stall fiber only after every waiter failed; `waiter.cancelled` → false:
    //   a cancelled waiter's deadline is not after the next one's, and failing it again is a no-op.
    // - armStall `stallAt !== undefined` → true, `||`, `stallAt <= fireAt` → true / `<`, `stallAt === fireAt` → true;
    //   enqueue `permit === undefined` → true, `+ stallTimeout` → `-`, `Math.max(now, progressAt)` → `Math.min`: a
    //   stall check earlier or extra recomputes every waiter's own deadline and re-arms.
    // - acquire's fast path → false / `{}`: the caller is queued and served by the same pump at once.
    // - boundRate `remaining < limit` → true / `<=`, `bound > headerRate` → `>=`: a full bucket's bound is 0; equal values.
    // - observe `mode !== "Known"` → false: an Unknown bucket's limit is 0, so `limit !== bucket.limit` holds anyway;
    //   `seq >= lastAppliedSeq` → `>`: each permit is released once and seqs only grow.
    // - make `warnedAt: -Infinity` → `+Infinity`: |now - ∞| is ∞ too, the first warning is logged either way.
    // Known survivors of src/Helix.ts, equivalent (2026-11-26, run and checked by hand):
    // - failure's fallback body → `{}`, `body.error !== undefined` / `body.message !== undefined` → true: an undefined
    //   field and an absent one read the same (`describe` and JSON skip both).
    // - buildRequest `extraQuery.length === 0` → false: appending no parameters changes nothing.
    // - retryAfter `!retryable(first)` → false: `Effect.retry` whose `while` refuses the first failure fails with it.
    // - decodeSuccess `issue === undefined` → false and its "" / "invalid body": a ParseError always has an issue; the
    //   `/, actual [\s\S]*$/` → without `$`: the greedy `[\s\S]*` runs to the end anyway.
    // - the bucket key `principal._tag === "App"` → `!==`, "app" / "extension" → "": keys only need to differ, and do.
    // - `{ token: undefined, request: undefined }` → `{}`: an absent property reads undefined.
    // - `response.status >= 200` → true, and outcomeOf's `status >= 200` → true: no HttpClient gives a final answer
    //   below 200; outcomeOf's `status < 300` → `<=`: Twitch never answers 300 Multiple Choices.
    // - paginate `cursor !== undefined` → true: UrlParams leaves out a parameter whose value is undefined.
    // - executeWith `rejected !== undefined` → true: a response exists only after `prepare` stored the token.
    // - `acting === undefined` → false (the body's): `record[undefined]` reads the key "undefined", which no input has.
    // - batchesOf `pairs.length <= 100` → `< 100`: exactly 100 values make one batch of 100, the same request.
    // - decodeErrorMessage's "" (both) → other text, `() => ""` → `() => undefined`, and failure's `body.message ?? ""`
    //   → other text: only searched for the word "scope".
    // Known survivors of src/internal/helixTimeouts.ts, equivalent (2026-11-26):
    // - `queue = []` → ["Stryker was here"]: a string has no `fiber`, the first dropFinished drops it before any deadline.
    // - dropFinished's compaction test (→ true, `||`, `>`, either side → true): compacting sooner or one entry later only
    //   costs copying; the queue stays bounded (helix-timeouts pins the bound).
    // Known survivors of src/internal/helixRateLimitHeaders.ts, equivalent (Stryker, 2026-11-27):
    // - parseDate `text === undefined` → false: Date.parse(undefined) is NaN as well; `text !== dateText` → true: the
    //   date is parsed again instead of taken from the one-entry cache.
    // - the missing-header tests `headers[…] === undefined` → false (limit, remaining, reset; 4 mutants): Number(undefined)
    //   is NaN, which the isFinite tests after them reject (or, for the reset, treat as no reset) all the same.
    // - makeOffset `periodStart = -Infinity` → +Infinity: |now - ∞| is ∞ as well, the first sample starts a period.
    mutate: [
      between("src/Helix.ts", /^type Resolved/, /^export const layer/),
      "src/internal/helixRateLimiter.ts",
      "src/internal/helixRateLimitHeaders.ts",
      "src/internal/helixTimeouts.ts"
    ],
    testFiles: [
      "test/helix.test.ts",
      "test/helix-rate-limiter.test.ts",
      "test/helix-timeouts.test.ts",
      "test/helix-ratelimit-headers.test.ts"
    ]
  },
  users: {
    // whose token a call or stream uses: Bot's lookup / asUser, Client's user resolution, EventSub's acting user
    mutate: [
      between("src/Bot.ts", /const lookup = /, /return Bot\.of\(/),
      between("src/Client.ts", /^const resolveUser = /, /^const makeService = /),
      // the EventSub service: which user a stream acts as (`makeService`, `resolveUserWith`)
      "src/internal/eventsubService.ts"
    ],
    testFiles: ["test/bot.test.ts", "test/client.test.ts", "test/eventsub.test.ts", "test/eventsub-service.test.ts"]
  }
}

const name = process.env.MUTATE ?? "all"
const selected = name === "all" ? Object.values(groups) : [groups[name]]
if (selected.some((group) => group === undefined)) {
  throw new Error(`MUTATE=${name}: unknown group; one of all, ${Object.keys(groups).join(", ")}`)
}
const stale = selected.flatMap((group) => group.mutate).find((pattern) => unresolved.has(pattern))
if (stale !== undefined) throw new Error(unresolved.get(stale))

/** @type {import("@stryker-mutator/api/core").PartialStrykerOptions} */
const config = {
  testRunner: "vitest",
  vitest: { configFile: "vitest.mutate.config.ts" },
  mutate: [...new Set(selected.flatMap((group) => group.mutate))],
  // MUTATE_TEST_FILES (comma-separated): a quicker first pass over fewer of the group's tests
  testFiles: process.env.MUTATE_TEST_FILES?.split(",") ?? [...new Set(selected.flatMap((group) => group.testFiles))],
  coverageAnalysis: "perTest",
  // the machine is shared: one worker unless asked for more
  concurrency: Number(process.env.MUTATE_CONCURRENCY ?? 1),
  // mutants only executed while a module loads (schemas, constants) would need a full reload each
  ignoreStatic: true,
  // real sockets and a busy machine: be patient before calling a mutant a timeout (MUTATE_TIMEOUT_MS: less for
  // groups of unit tests, where a mutant that loops forever otherwise costs 10 s and a restart)
  timeoutMS: Number(process.env.MUTATE_TIMEOUT_MS ?? 10_000),
  dryRunTimeoutMinutes: 15,
  incremental: true,
  incrementalFile: `reports/stryker-incremental-${name}.json`,
  reporters: ["clear-text", "progress", "html", "json"],
  htmlReporter: { fileName: `reports/mutation/${name}.html` },
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  ignorePatterns: ["reports", "bench/.client-*"],
  tempDirName: ".stryker-tmp",
  cleanTempDir: "always"
}

export default config
