/**
 * The `effect-twitch` command-line tool, run in-process (`Cli.run` with a captured console and an empty
 * environment) against an in-process simulator, plus one run of the real bin as a child process for the
 * process exit code. Every output of every run is kept and checked for secrets at the end.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Console, Effect, Layer, Option, Redacted, TestServices } from "effect"
import { spawnSync } from "node:child_process"
import { createHmac, timingSafeEqual } from "node:crypto"
import * as Fs from "node:fs"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Cli from "../src/cli/main.js"
import * as Simulator from "../src/testing/Simulator.js"
import * as TokenStore from "../src/TokenStore.js"

interface Outcome {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Everything any run printed, for the secrets check. */
const printed: Array<string> = []
/** Secrets that must never be printed (filled in as tests create them). */
const secrets = new Set<string>([Simulator.defaults.clientSecret])

const capture = () => {
  const out: Array<string> = []
  const err: Array<string> = []
  const text = (args: ReadonlyArray<unknown>) => args.map(String).join(" ")
  const ignore = () => Effect.void
  const console: Console.Console = {
    [Console.TypeId]: Console.TypeId,
    assert: ignore,
    clear: Effect.void,
    count: ignore,
    countReset: ignore,
    debug: ignore,
    dir: ignore,
    dirxml: ignore,
    error: (...args) => Effect.sync(() => void err.push(text(args))),
    group: ignore,
    groupEnd: Effect.void,
    info: (...args) => Effect.sync(() => void out.push(text(args))),
    log: (...args) => Effect.sync(() => void out.push(text(args))),
    table: ignore,
    time: ignore,
    timeEnd: ignore,
    timeLog: ignore,
    trace: ignore,
    warn: (...args) => Effect.sync(() => void err.push(text(args))),
    unsafe: globalThis.console
  }
  return { console, out, err }
}

const Env = Layer.merge(NodeContext.layer, NodeHttpClient.layerUndici)

/** Runs `effect-twitch <args>` in-process, with only `env` as the environment. */
const cli = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Effect.gen(function*() {
    const { console, err, out } = capture()
    const code = yield* Cli.run(["node", "effect-twitch", ...args]).pipe(
      Effect.withConsole(console),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))),
      Effect.provide(Env)
    )
    const outcome: Outcome = { code, stdout: out.join("\n"), stderr: err.join("\n") }
    printed.push(outcome.stdout, outcome.stderr)
    return outcome
  })

const tempFile = (name: string) => Path.join(Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-twitch-cli-")), name)

/** A token file holding a simulator-issued token for `userId`. */
const tokenFileFor = (userId: string) =>
  Effect.gen(function*() {
    const file = tempFile("tokens.json")
    const token = yield* Simulator.userToken({ userId })
    secrets.add(Redacted.value(token.accessToken))
    Option.map(token.refreshToken, (r) => secrets.add(Redacted.value(r)))
    yield* Effect.flatMap(TokenStore.TokenStore, (store) => store.set(token)).pipe(
      Effect.provide(TokenStore.layerFile(file)),
      Effect.provide(NodeContext.layer),
      Effect.scoped
    )
    return { file, token }
  })

const simulatorUrl = Effect.map(Simulator.Simulator, (sim) => sim.baseUrl)

describe("effect-twitch: help and usage errors", () => {
  it.effect("with no command, and with --help: the overview, with the exit codes; exit 0", () =>
    Effect.gen(function*() {
      for (const args of [[], ["--help"]]) {
        const { code, stdout } = yield* cli(args)
        assert.strictEqual(code, 0)
        for (const text of ["token device --scopes", "api <operation>", "event trigger <type>", "Exit codes: 0 ok"]) {
          assert.include(stdout, text)
        }
      }
    }))

  it.effect("every command has --help", () =>
    Effect.gen(function*() {
      const pages: Array<[ReadonlyArray<string>, string]> = [
        [["token", "--help"], "token validate"],
        [["event"], "event types"],
        [["simulator", "--help"], "--port"],
        [["token", "device", "--help"], "--scopes"],
        [["token", "validate", "--help"], "--user"],
        [["token", "refresh", "--help"], "--show-token"],
        [["token", "revoke", "--help"], "--keep"],
        [["event", "trigger", "--help"], "--webhook"],
        [["api", "getUsers", "--help"], "--login"],
        [["api"], "getChannelFollowers"]
      ]
      for (const [args, expected] of pages) {
        const { code, stdout } = yield* cli(args)
        assert.strictEqual(code, 0, args.join(" "))
        assert.include(stdout, expected, args.join(" "))
      }
    }))

  it.effect("usage errors exit 2 with a readable line on stderr", () =>
    Effect.gen(function*() {
      const cases: Array<[ReadonlyArray<string>, string]> = [
        [["frobnicate"], ""],
        [["api", "getUser"], "did you mean getUsers"],
        [["api", "getUsers", "--logn", "x"], "--logn"],
        [["api", "startCommercial", "--length", "sixty"], "'sixty' is not a integer"],
        [["api", "sendChatMessage", "--broadcaster_id", "1"], "--message"],
        [["event", "trigger"], ""],
        [["event", "trigger", "channel.follow", "--webhook", "http://127.0.0.1:1/"], "needs --secret"],
        [
          ["event", "trigger", "channel.folow", "--webhook", "http://127.0.0.1:1/", "--secret", "0123456789a"],
          "unknown"
        ],
        [["token", "device", "--simulator"], "--scopes"]
      ]
      for (const [args, expected] of cases) {
        const { code, stderr } = yield* cli(args)
        assert.strictEqual(code, 2, args.join(" "))
        assert.include(stderr, expected, args.join(" "))
      }
    }))

  it.effect("no client id for Twitch: exit 3, naming the variable", () =>
    Effect.gen(function*() {
      const { code, stderr } = yield* cli(["api", "getUsers", "--login", "x"])
      assert.strictEqual(code, 3)
      assert.include(stderr, "TWITCH_CLIENT_ID is not set")
    }))

  // the library retries a refused connection with backoff: on the live clock
  it.effect("nobody listening: exit 5", () =>
    TestServices.provideLive(Effect.gen(function*() {
      const { code } = yield* cli(["api", "getUsers", "--login", "x", "--simulator-url", "http://127.0.0.1:9"])
      assert.strictEqual(code, 5)
    })))
})

describe("effect-twitch against the simulator", () => {
  it.layer(Simulator.layer({ port: 0 }), { timeout: 60_000 })((it) => {
    it.effect("api getUsers --login: the users as JSON on stdout, with the app token", () =>
      Effect.gen(function*() {
        const url = yield* simulatorUrl
        const { code, stdout } = yield* cli(["api", "getUsers", "--login", "simviewer,simbot", "--simulator-url", url])
        assert.strictEqual(code, 0)
        const users = JSON.parse(stdout) as ReadonlyArray<{ readonly login: string }>
        assert.deepStrictEqual(users.map((u) => u.login).sort(), ["simbot", "simviewer"])
      }))

    it.effect("SIM_URL in the environment works as --simulator-url", () =>
      Effect.gen(function*() {
        const url = yield* simulatorUrl
        const { code, stdout } = yield* cli(["api", "getUsers", "--id", "100000001"], { SIM_URL: url })
        assert.strictEqual(code, 0)
        assert.include(stdout, "simbroadcaster")
      }))

    it.effect("a paginated operation: every item (array), --jsonl one line each, --limit", () =>
      Effect.gen(function*() {
        const url = yield* simulatorUrl
        const sim = yield* Simulator.Simulator
        yield* sim.addFollowers(sim.users.broadcaster, 130)
        const { file } = yield* tokenFileFor(sim.users.broadcaster)
        const base = ["api", "getChannelFollowers", "--broadcaster_id", sim.users.broadcaster, "--simulator-url", url]
        const asUser = [...base, "--user", sim.users.broadcaster, "--tokens", file]
        const all = yield* cli(asUser)
        assert.strictEqual(all.code, 0)
        assert.isAtLeast((JSON.parse(all.stdout) as ReadonlyArray<unknown>).length, 130)
        const lines = yield* cli([...asUser, "--jsonl", "--limit", "3"])
        assert.strictEqual(lines.code, 0)
        assert.strictEqual(lines.stdout.split("\n").length, 3)
        for (const line of lines.stdout.split("\n")) assert.property(JSON.parse(line), "user_id")
        // a user operation with the app token: the tool says to pass --user
        const app = yield* cli(base)
        assert.strictEqual(app.code, 2)
        assert.include(app.stderr, "--user")
      }))

    it.effect("a body operation as a user: api sendChatMessage", () =>
      Effect.gen(function*() {
        const url = yield* simulatorUrl
        const sim = yield* Simulator.Simulator
        const { file } = yield* tokenFileFor(sim.users.bot)
        const { code, stdout } = yield* cli([
          "api",
          "sendChatMessage",
          "--broadcaster_id",
          sim.users.broadcaster,
          "--message",
          "hello from the cli",
          "--simulator-url",
          url,
          "--user",
          sim.users.bot,
          "--tokens",
          file
        ])
        assert.strictEqual(code, 0)
        assert.strictEqual((JSON.parse(stdout) as ReadonlyArray<{ is_sent: boolean }>)[0]!.is_sent, true)
        const sent = yield* sim.chatMessages
        assert.isTrue(sent.some((m) => m.message === "hello from the cli"))
      }))

    it.effect("token validate (0), revoke (0), validate again (4); list is redacted", () =>
      Effect.gen(function*() {
        const url = yield* simulatorUrl
        const sim = yield* Simulator.Simulator
        const { file, token } = yield* tokenFileFor(sim.users.viewer)
        const common = ["--simulator-url", url, "--tokens", file]
        const valid = yield* cli(["token", "validate", ...common])
        assert.strictEqual(valid.code, 0)
        const answer = JSON.parse(valid.stdout) as { valid: boolean; user_id: string; scopes: ReadonlyArray<string> }
        assert.isTrue(answer.valid)
        assert.strictEqual(answer.user_id, sim.users.viewer)
        const listed = yield* cli(["token", "list", "--tokens", file])
        assert.strictEqual(listed.code, 0)
        assert.include(listed.stdout, "<redacted>")
        const shown = yield* cli(["token", "list", "--tokens", file, "--show-token"])
        assert.include(shown.stdout, Redacted.value(token.accessToken))
        const revoked = yield* cli(["token", "revoke", "--keep", ...common])
        assert.strictEqual(revoked.code, 0)
        const invalid = yield* cli(["token", "validate", ...common])
        assert.strictEqual(invalid.code, 4)
        assert.include(invalid.stderr, "invalid access token")
        const refused = yield* cli(["token", "refresh", ...common, "--user", "999"])
        assert.strictEqual(refused.code, 3)
        // the one place a token is printed on purpose: --show-token, then not checked below
        printed.splice(printed.indexOf(shown.stdout), 1)
      }))

    it.effect("token refresh: a new pair in the file", () =>
      Effect.gen(function*() {
        const url = yield* simulatorUrl
        const sim = yield* Simulator.Simulator
        const { file, token } = yield* tokenFileFor(sim.users.moderator)
        const { code } = yield* cli(["token", "refresh", "--simulator-url", url, "--tokens", file])
        assert.strictEqual(code, 0)
        const stored = JSON.parse(Fs.readFileSync(file, "utf8")) as unknown
        const text = JSON.stringify(stored)
        assert.notInclude(text, Redacted.value(token.accessToken))
        for (const match of text.matchAll(/"(?:accessToken|refreshToken)":"([^"]+)"/g)) secrets.add(match[1]!)
      }))

    // the device flow polls every 5 s of real time: the command runs on the live clock
    it.effect(
      "token device --approve-as: the code, progress, then the token stored in the file",
      () =>
        TestServices.provideLive(Effect.gen(function*() {
          const url = yield* simulatorUrl
          const sim = yield* Simulator.Simulator
          const file = tempFile("device.json")
          const { code, stderr, stdout } = yield* cli([
            "token",
            "device",
            "--scopes",
            "user:read:chat,user:write:chat",
            "--simulator-url",
            url,
            "--approve-as",
            sim.users.viewer,
            "--tokens",
            file
          ])
          assert.strictEqual(code, 0, stderr)
          assert.match(stderr, /enter the code [A-Z0-9]+/)
          const summary = JSON.parse(stdout) as { user_id: string; scopes: ReadonlyArray<string>; access_token: string }
          assert.strictEqual(summary.user_id, sim.users.viewer)
          assert.deepStrictEqual(summary.scopes, ["user:read:chat", "user:write:chat"])
          assert.strictEqual(summary.access_token, "<redacted>")
          const text = Fs.readFileSync(file, "utf8")
          for (const match of text.matchAll(/"(?:accessToken|refreshToken)":"([^"]+)"/g)) secrets.add(match[1]!)
          assert.strictEqual((Fs.statSync(file).mode & 0o777).toString(8), "600")
        })),
      30_000
    )

    it.effect("event trigger --to simulator: through the control API (nothing subscribed: 0 delivered)", () =>
      Effect.gen(function*() {
        const url = yield* simulatorUrl
        const { code, stdout } = yield* cli([
          "event",
          "trigger",
          "channel.follow",
          "--to",
          "simulator",
          "--simulator-url",
          url
        ])
        assert.strictEqual(code, 0)
        assert.deepStrictEqual(JSON.parse(stdout), { delivered: 0, message_ids: [] })
        const unknown = yield* cli(["event", "trigger", "channel.folow", "--simulator-url", url])
        assert.strictEqual(unknown.code, 2)
      }))
  })
})

describe("effect-twitch event trigger --webhook", () => {
  const SECRET = "cli-webhook-secret-0123"
  secrets.add(SECRET)

  interface Received {
    readonly headers: Http.IncomingHttpHeaders
    readonly body: string
  }

  /** A receiver that checks the signature on its own (node:crypto) and answers 204, or 403 when wrong. */
  const receiver = Effect.acquireRelease(
    Effect.async<{ readonly url: string; readonly received: Array<Received>; readonly server: Http.Server }>(
      (resume) => {
        const received: Array<Received> = []
        const server = Http.createServer((req, res) => {
          const chunks: Array<Buffer> = []
          req.on("data", (c: Buffer) => chunks.push(c))
          req.on("end", () => {
            const body = Buffer.concat(chunks).toString("utf8")
            received.push({ headers: req.headers, body })
            const id = String(req.headers["twitch-eventsub-message-id"])
            const timestamp = String(req.headers["twitch-eventsub-message-timestamp"])
            const expected = Buffer.from(
              "sha256=" + createHmac("sha256", SECRET).update(id + timestamp + body).digest("hex")
            )
            const given = Buffer.from(String(req.headers["twitch-eventsub-message-signature"]))
            const ok = given.length === expected.length && timingSafeEqual(given, expected)
            res.writeHead(ok ? 204 : 403).end()
          })
        })
        server.listen(0, "127.0.0.1", () =>
          resume(Effect.succeed({
            url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/eventsub`,
            received,
            server
          })))
      }
    ),
    ({ server }) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
  )

  it.scoped("a signed POST as Twitch sends it: headers, sha256= HMAC of id + timestamp + body, the example event", () =>
    Effect.gen(function*() {
      const { received, url } = yield* receiver
      const { code, stdout } = yield* cli(
        ["event", "trigger", "channel.follow", "--webhook", url, "--event", "{\"user_login\":\"clitester\"}"],
        { TWITCH_WEBHOOK_SECRET: SECRET }
      )
      assert.strictEqual(code, 0)
      assert.strictEqual(received.length, 1)
      const [{ body, headers }] = received
      assert.strictEqual(headers["twitch-eventsub-message-type"], "notification")
      assert.strictEqual(headers["twitch-eventsub-message-retry"], "0")
      assert.strictEqual(headers["twitch-eventsub-subscription-type"], "channel.follow")
      assert.strictEqual(headers["twitch-eventsub-subscription-version"], "2")
      assert.isUndefined(headers["traceparent"])
      assert.match(String(headers["twitch-eventsub-message-signature"]), /^sha256=[0-9a-f]{64}$/)
      const payload = JSON.parse(body!) as {
        subscription: { type: string; transport: { method: string; callback: string }; condition: object }
        event: { user_login: string; broadcaster_user_id: string }
      }
      assert.strictEqual(payload.subscription.type, "channel.follow")
      assert.deepStrictEqual(payload.subscription.transport, { method: "webhook", callback: url })
      assert.strictEqual(payload.event.user_login, "clitester")
      assert.deepStrictEqual(payload.subscription.condition, {
        broadcaster_user_id: payload.event.broadcaster_user_id,
        moderator_user_id: payload.event.broadcaster_user_id
      })
      assert.strictEqual((JSON.parse(stdout) as { status: number }).status, 204)
    }))

  it.scoped("the receiver refuses (wrong secret: 403): exit 1; --secret on the command line is never echoed", () =>
    Effect.gen(function*() {
      const { url } = yield* receiver
      const wrong = "not-the-right-secret-42"
      secrets.add(wrong)
      const { code, stderr } = yield* cli(["event", "trigger", "stream.online", "--webhook", url, "--secret", wrong])
      assert.strictEqual(code, 1)
      assert.include(stderr, "403")
    }))

  it.scoped("--message-type webhook_callback_verification: the challenge must come back", () =>
    Effect.gen(function*() {
      const { url } = yield* receiver
      const { code, stderr } = yield* cli([
        "event",
        "trigger",
        "channel.follow",
        "--webhook",
        url,
        "--message-type",
        "webhook_callback_verification"
      ], { TWITCH_WEBHOOK_SECRET: SECRET })
      assert.strictEqual(code, 1) // our receiver answers 204 without the challenge
      assert.include(stderr, "challenge")
    }))
})

describe("effect-twitch as a process", () => {
  it("exits with the command's code, the error on stderr, nothing on stdout", () => {
    const tsx = Path.join(import.meta.dirname, "..", "node_modules", ".bin", "tsx")
    const bin = Path.join(import.meta.dirname, "..", "src", "bin", "effect-twitch.ts")
    const result = spawnSync(tsx, [bin, "api", "getUser"], { encoding: "utf8", timeout: 30_000 })
    assert.strictEqual(result.status, 2)
    assert.strictEqual(result.stdout, "")
    assert.include(result.stderr, "did you mean getUsers")
  })
})

describe("effect-twitch never prints a secret", () => {
  it("no client secret, access or refresh token, or webhook secret in any output above", () => {
    assert.isAbove(printed.length, 20)
    for (const secret of secrets) {
      for (const text of printed) assert.notInclude(text, secret)
    }
  })
})
