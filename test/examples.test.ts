/**
 * Smoke test of the examples and the demo: each runs as a newcomer would (`node --import tsx
 * examples/x.ts`) and must end with exit code 0 and its key lines. Without TWITCH_CLIENT_ID they use
 * the in-process simulator; the "Twitch mode" cases point them (TWITCH_* URLs) at a simulator run by
 * this test, which plays Twitch: bad input must end in one readable line, never a stack trace.
 *
 * The examples start concurrently (before the tests), so the file takes about as long as the slowest.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, ManagedRuntime, Option, Ref } from "effect"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, beforeAll, vi } from "vitest"
// the package's own name, as the examples and users import it (vitest.config.ts aliases it to src/)
import { TokenStore } from "effect-twitch"
import * as NodeTwitch from "effect-twitch/NodeTwitch"
import { Simulator } from "effect-twitch/testing"
import * as Env from "../examples/internal/env.js"
import * as InviteBot from "../examples/invite-bot.js"

interface Result {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

const root = Path.resolve(import.meta.dirname, "..")
/** Generous: CI machines run all of them at once. (Alone, each takes 2–10 s.) */
const TIMEOUT_MS = 90_000

/** The parent's environment without anything that would switch an example to Twitch. */
const cleanEnv = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => !key.startsWith("TWITCH_") && key !== "LOG_LEVEL")
)

/** Runs an example to completion (killed after `TIMEOUT_MS`), collecting its output. */
const spawnExample = (
  file: string,
  env: Record<string, string> = {},
  onStdout?: (text: string) => void
): Promise<Result> =>
  new Promise((resolve) => {
    const child = ChildProcess.spawn(process.execPath, ["--import", "tsx", `examples/${file}`], {
      cwd: root,
      env: { ...cleanEnv, ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString()
      onStdout?.(stdout)
    })
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
    const timer = setTimeout(() => child.kill("SIGKILL"), TIMEOUT_MS)
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr: signal === null ? stderr : `${stderr}(killed: ${signal})\n` })
    })
  })

const describeResult = (r: Result) => `exit ${r.code}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`

const assertSucceeded = (r: Result, lines: ReadonlyArray<string | RegExp>) => {
  assert.strictEqual(r.code, 0, describeResult(r))
  for (const line of lines) {
    if (typeof line === "string") assert.include(r.stdout, line, describeResult(r))
    else assert.match(r.stdout, line, describeResult(r))
  }
}

/** Exit 1, exactly one line on stderr matching `message`, no stack trace anywhere. */
const assertFailedWith = (r: Result, message: RegExp) => {
  assert.strictEqual(r.code, 1, describeResult(r))
  const lines = r.stderr.trim().split("\n")
  assert.strictEqual(lines.length, 1, describeResult(r))
  assert.match(lines[0]!, /^error: /, describeResult(r))
  assert.match(lines[0]!, message, describeResult(r))
  assert.notMatch(r.stdout + r.stderr, /\n\s+at /, describeResult(r))
}

// a test waits for its example, which waits for a CPU with the others
vi.setConfig({ testTimeout: TIMEOUT_MS + 10_000 })

const simulatorRuns = new Map<string, Promise<Result>>()
const simulatorRun = (file: string) => Effect.promise(() => simulatorRuns.get(file)!)

beforeAll(() => {
  for (
    const file of [
      "demo.ts",
      "follow-announcer.ts",
      "webhook-follows.ts",

      "commands-bot.ts",
      "invite-bot.ts",
      "custom-auth-flow.ts",
      "test-token-store.ts",
      "device-auth.ts",
      "conduit-bot.ts"
    ]
  ) simulatorRuns.set(file, spawnExample(file))
})

// first: it runs while the examples below are still running in the background
describe("invite bot (in-process)", () => {
  it.live("when Twitch refuses the whisper, the bot replies in chat instead", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const store = yield* TokenStore.TokenStore
      const { bot, broadcaster, viewer } = sim.users
      // the bot's token lacks user:manage:whispers: Helix refuses every whisper (HelixForbidden)
      yield* store.set(yield* Simulator.userToken({ userId: bot, scopes: ["user:read:chat", "user:write:chat"] }))
      const said = yield* Ref.make<ReadonlyArray<string>>([])
      const run = InviteBot.inviteBot({
        botUserId: bot,
        channelId: broadcaster,
        maxInvites: 1,
        say: (line) => Ref.update(said, (lines) => [...lines, line])
      }).pipe(Effect.scoped, Effect.provide(NodeTwitch.layerBot({ defaultUser: bot })))
      const stage = Effect.gen(function*() {
        yield* Env.awaitSubscription(sim, "channel.chat.message")
        yield* Env.simulateChat(sim, broadcaster, viewer, "!invite")
        yield* Env.approveNextDevice(sim, viewer)
      })
      yield* Effect.all([run, stage], { concurrency: 2, discard: true })

      assert.deepStrictEqual(yield* sim.whispers, [])
      const replies = (yield* sim.chatMessages).filter((m) => m.sender_id === bot)
      assert.strictEqual(replies.length, 2, JSON.stringify(replies))
      assert.match(replies[0]!.message, /^@simviewer To invite me, open \S+ and enter the code [A-Z]{8}$/)
      assert.strictEqual(replies[1]!.message, "@simviewer Thanks simviewer, you are registered!")
      assert.isTrue(replies.every((m) => m.reply_parent_message_id !== null))
      const lines = yield* Ref.get(said)
      assert.include(lines, "registered simviewer (user:read:chat, moderator:read:followers)")
      assert.isTrue(Option.isSome(yield* store.get(viewer)))
    }).pipe(Effect.provide(
      Layer.merge(Simulator.layerTwitchConfig, TokenStore.layerMemory()).pipe(Layer.provideMerge(Simulator.layer()))
    )))
})

describe("examples against the in-process simulator", () => {
  it.live("npm run demo tells the story in order and exits 0", () =>
    Effect.gen(function*() {
      const r = yield* simulatorRun("demo.ts")
      assertSucceeded(r, [])
      const expected = [
        "▸ simviewer follows simbroadcaster",
        "bot said: Thanks for the follow, SimViewer!",
        "▸ simviewer writes \"!invite\" in chat",
        "bot whispered simviewer: To invite me, open ",
        "▸ simviewer approves the code",
        "EventSub: 2 connections moved to new sessions, still receiving",
        "bot said: Thanks for the follow, SimModerator!",
        "registered simviewer",
        "bot whispered simviewer: Thanks simviewer, you are registered!",
        "done in"
      ]
      let from = 0
      for (const line of expected) {
        const at = r.stdout.indexOf(line, from)
        assert.isAtLeast(at, 0, `"${line}" missing or out of order\n${describeResult(r)}`)
        from = at + line.length
      }
      assert.strictEqual(r.stderr, "", describeResult(r))
    }))

  it.live("follow-announcer thanks two followers and ends", () =>
    Effect.map(simulatorRun("follow-announcer.ts"), (r) =>
      assertSucceeded(r, [
        "simviewer followed → said: Thanks for the follow, SimViewer!",
        "simmoderator followed → said: Thanks for the follow, SimModerator!"
      ])))

  it.live("webhook-follows receives two follows over signed webhooks and ends", () =>
    Effect.map(
      simulatorRun("webhook-follows.ts"),
      (r) => assertSucceeded(r, ["Listening on http://127.0.0.1:", "simviewer followed", "simmoderator followed"])
    ))

  it.live("commands-bot answers !ping, !uptime and !help, ignores !nope, thanks the follow and the subscription", () =>
    Effect.map(simulatorRun("commands-bot.ts"), (r) => {
      assertSucceeded(r, [
        "bot said: pong",
        /bot said: Live for 1h 23m\./,
        "bot said: Commands: !ping, !uptime",
        "bot said: Thanks for the follow, SimViewer!",
        "bot said: Thanks for subscribing, SimViewer!"
      ])
      assert.notMatch(r.stdout, /bot said: .*nope/, "an unknown command gets no answer")
    }))

  it.live("invite-bot whispers the code, registers the viewer and whispers success", () =>
    Effect.map(simulatorRun("invite-bot.ts"), (r) =>
      assertSucceeded(r, [
        "bot heard simviewer: !invite",
        /bot whispered simviewer: To invite me, open \S+ and enter the code [A-Z]{8}/,
        "registered simviewer (user:read:chat, moderator:read:followers)",
        "bot whispered simviewer: Thanks simviewer, you are registered!"
      ])))

  it.live("custom-auth-flow polls with progress, then uses a Client", () =>
    Effect.map(simulatorRun("custom-auth-flow.ts"), (r) =>
      assertSucceeded(r, [
        /1\. Open \S+ and enter the code [A-Z]{8}/,
        "… waiting for approval",
        "2. Authorized as simbroadcaster",
        "said hello in chat"
      ])))

  it.live("conduit-bot serves the conduit's shard and answers !ping", () =>
    Effect.map(simulatorRun("conduit-bot.ts"), (r) =>
      assertSucceeded(r, [
        /Conduit \S+: this copy serves shard\(s\) 0 of 1; answering !ping in simbroadcaster's chat/,
        "simviewer: !ping → pong"
      ])))

  it.live("test-token-store: the refreshed token lands in the test store", () =>
    Effect.map(simulatorRun("test-token-store.ts"), (r) =>
      assertSucceeded(r, [
        "✓ nothing was written to the store",
        "✓ the test store saw Refreshed for simbroadcaster",
        "✓ with a new access token",
        "✓ refreshed exactly once"
      ])))

  it.live("device-auth authorizes and exits", () =>
    Effect.map(simulatorRun("device-auth.ts"), (r) => assertSucceeded(r, ["authorized as simbroadcaster"])))
})

const tempDirs: Array<string> = []
const tempFile = (name: string) => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "examples-"))
  tempDirs.push(dir)
  return Path.join(dir, name)
}

/** The environment pointing an example at `sim` as if it were Twitch. */
const twitchEnv = (sim: Simulator.Simulator.Service, extra: Record<string, string>) => ({
  TWITCH_CLIENT_ID: sim.clientId,
  TWITCH_CLIENT_SECRET: sim.clientSecret,
  TWITCH_AUTH_URL: sim.authUrl,
  TWITCH_HELIX_URL: sim.helixUrl,
  TWITCH_EVENTSUB_WS_URL: sim.eventSubWsUrl,
  TWITCH_TOKEN_FILE: tempFile("tokens.json"),
  ...extra
})

/** The user ids in a token file ([] when there is no file). */
const readTokenFile = (path: string): ReadonlyArray<string> =>
  Fs.existsSync(path) ? Object.keys(JSON.parse(Fs.readFileSync(path, "utf8")).tokens) : []

const FOLLOW_SCOPES = ["moderator:read:followers", "user:write:chat"]
const OTHER_APP = "someotherapp000000000000000001"

/** The scenarios against "Twitch": started in `beforeAll` with the rest, checked by the tests below. */
const twitchScenarios = (sim: Simulator.Simulator.Service) => {
  const issue = (scopes: ReadonlyArray<string>, clientId?: string) =>
    Effect.runPromise(sim.issueUserToken({ userId: sim.users.broadcaster, scopes, clientId }))

  const authFlow = async () => {
    const env = twitchEnv(sim, {})
    let approved = false
    const result = await spawnExample("custom-auth-flow.ts", env, (stdout) => {
      const code = /enter the code ([A-Z]{8})/.exec(stdout)?.[1]
      if (code !== undefined && !approved) {
        approved = true // the person approves the code at twitch.tv/activate
        Effect.runFork(sim.approveDevice(code, sim.users.viewer))
      }
    })
    return { result, stored: readTokenFile(env.TWITCH_TOKEN_FILE) }
  }

  const otherClient = async () => {
    await Effect.runPromise(sim.addClient({ clientId: OTHER_APP, clientSecret: "secret" }))
    const issued = await issue(FOLLOW_SCOPES, OTHER_APP)
    const env = twitchEnv(sim, { TWITCH_ACCESS_TOKEN: issued.accessToken, TWITCH_REFRESH_TOKEN: issued.refreshToken })
    return { result: await spawnExample("follow-announcer.ts", env), accessToken: issued.accessToken }
  }

  const missingScopes = async () => {
    const issued = await issue(["user:write:chat"])
    return spawnExample("follow-announcer.ts", twitchEnv(sim, { TWITCH_ACCESS_TOKEN: issued.accessToken }))
  }

  const unknownChannelThenUser = async () => {
    const issued = await issue(FOLLOW_SCOPES)
    const env = twitchEnv(sim, { TWITCH_ACCESS_TOKEN: issued.accessToken, TWITCH_CHANNEL: "nosuchchannel" })
    const channel = await spawnExample("follow-announcer.ts", env)
    // the token was stored in the file on the way: now ask for a user the file does not hold
    const stored = readTokenFile(env.TWITCH_TOKEN_FILE)
    const user = await spawnExample("follow-announcer.ts", { ...env, TWITCH_CHANNEL: "", TWITCH_USER: "nobody" })
    return { channel, stored, user }
  }

  return {
    authFlow: authFlow(),
    otherClient: otherClient(),
    missingScopes: missingScopes(),
    unknownChannelThenUser: unknownChannelThenUser()
  }
}

// plays Twitch for the scenarios above (real time: the examples' processes run on it)
const twitch = ManagedRuntime.make(Simulator.layer())
let twitchSim: Simulator.Simulator.Service
let twitchRuns: ReturnType<typeof twitchScenarios>

beforeAll(async () => {
  twitchSim = await twitch.runPromise(Simulator.Simulator)
  twitchRuns = twitchScenarios(twitchSim)
})
afterAll(async () => {
  await twitch.dispose()
  for (const dir of tempDirs) Fs.rmSync(dir, { recursive: true, force: true })
})

describe("examples against Twitch (the simulator at TWITCH_* URLs)", () => {
  it.live("custom-auth-flow: device flow approved at 'Twitch', token stored in the token file", () =>
    Effect.gen(function*() {
      const { result, stored } = yield* Effect.promise(() => twitchRuns.authFlow)
      assertSucceeded(result, ["2. Authorized as simviewer", "said hello in chat"])
      assert.notInclude(result.stdout, "simulator", "ran against the local simulator instead")
      assert.deepStrictEqual(stored, [twitchSim.users.viewer])
    }))

  it.live("a token issued for another client id: one line naming both client ids", () =>
    Effect.gen(function*() {
      const { accessToken, result } = yield* Effect.promise(() => twitchRuns.otherClient)
      assertFailedWith(result, new RegExp(`issued for client id ${OTHER_APP}, not for this app`))
      assert.notInclude(result.stdout + result.stderr, accessToken)
    }))

  it.live("a token without the scopes the example needs: one line naming them", () =>
    Effect.map(
      Effect.promise(() => twitchRuns.missingScopes),
      (result) => assertFailedWith(result, /has not granted the scope moderator:read:followers/)
    ))

  it.live("an unknown channel, then an unknown user in the token file: one line each", () =>
    Effect.gen(function*() {
      const { channel, stored, user } = yield* Effect.promise(() => twitchRuns.unknownChannelThenUser)
      assertFailedWith(channel, /TWITCH_CHANNEL: there is no Twitch user named nosuchchannel/)
      assert.deepStrictEqual(stored, [twitchSim.users.broadcaster])
      assertFailedWith(user, /TWITCH_USER: the token file holds no token of nobody/)
    }))
})
