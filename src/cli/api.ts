// `effect-twitch api <operation> [--param value …]`: every Helix operation, by its name, one subcommand per operation
// with its parameters as options (from the generated table), the answer as JSON on stdout.
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Helix from "../Helix.js"
import * as HelixApi from "../HelixApi.js"
import * as TokenStore from "../TokenStore.js"
import { usage } from "./exit.js"
import type { OperationInfo, Parameter } from "./internal/helixParameters.js"
import { operations as table } from "./internal/helixParameters.js"
import { configLayer, printJson, servicesLayer, storeLayer, target, tokenFile, user } from "./shared.js"

type AnyEndpoint = Helix.Endpoint<unknown, unknown>

const isEndpoint = (value: unknown): value is AnyEndpoint =>
  typeof value === "function" && "method" in value && "path" in value && "token" in value

/** Every operation of `HelixApi`, by name. */
const endpoints: ReadonlyMap<string, AnyEndpoint> = new Map(
  Object.values(HelixApi).flatMap((area) =>
    Object.values(area as Record<string, unknown>).flatMap((value): Array<[string, AnyEndpoint]> =>
      isEndpoint(value) ? [[value.name, value]] : []
    )
  )
)

/** Option names of the command itself: a parameter by one of these names would be shadowed. */
const RESERVED = new Set(["user", "tokens", "simulator", "simulator-url", "jsonl", "limit", "help", "version"])

/** A parameter's option name: Twitch's name, or `param-<name>` where it collides with the command's own. */
const optionName = (p: Parameter): string => RESERVED.has(p.name) ? `param-${p.name}` : p.name

const describeParameter = (p: Parameter): string =>
  [
    p.description,
    p.list === true ? "Repeat the option, or separate values with commas." : "",
    p.kind === "json" ? "JSON text." : ""
  ].filter((s) => s !== "").join(" ")

/** One parameter as an option: its value typed as Twitch expects it (or the JSON text, parsed later). */
const optionOf = (p: Parameter): Options.Options<Option.Option<unknown>> => {
  const name = optionName(p)
  const scalar: Options.Options<unknown> = p.choices !== undefined && p.kind === "string"
    ? Options.choice(name, p.choices)
    : p.kind === "integer"
    ? Options.integer(name)
    : p.kind === "number"
    ? Options.float(name)
    : p.kind === "boolean"
    ? Options.choice(name, ["true", "false"]).pipe(Options.map((b) => b === "true"))
    : Options.text(name)
  const described = scalar.pipe(Options.withDescription(describeParameter(p)))
  if (p.list === true) {
    const many = described.pipe(Options.repeated, Options.map((values) => splitCommas(p, values)))
    return p.required === true
      ? Options.map(Options.atLeast(described, 1), (values) => Option.some<unknown>(splitCommas(p, values)))
      : Options.map(many, (values) => values.length === 0 ? Option.none() : Option.some<unknown>(values))
  }
  return p.required === true ? Options.map(described, Option.some) : Options.optional(described)
}

const splitCommas = (p: Parameter, values: ReadonlyArray<unknown>): ReadonlyArray<unknown> =>
  p.kind === "string"
    ? values.flatMap((v) => String(v).split(",").map((s) => s.trim()).filter((s) => s !== ""))
    : values

/** The parsed options as the operation's input: JSON parameters parsed, absent ones left out. */
const inputOf = (
  info: OperationInfo,
  values: Readonly<Record<string, Option.Option<unknown>>>
): Effect.Effect<Record<string, unknown>, ReturnType<typeof usage>> =>
  Effect.gen(function*() {
    const input: Record<string, unknown> = {}
    for (const p of info.parameters) {
      const value = values[p.name] ?? Option.none()
      if (Option.isNone(value)) continue
      if (p.kind !== "json") {
        input[p.name] = value.value
        continue
      }
      input[p.name] = yield* Effect.try({
        try: () => JSON.parse(String(value.value)) as unknown,
        catch: () => usage(`--${optionName(p)}: not valid JSON`)
      })
    }
    return input
  })

const output = {
  jsonl: Options.boolean("jsonl").pipe(
    Options.withDescription("Paginated operations: one JSON line per item as pages arrive (default: one JSON array)")
  ),
  limit: Options.integer("limit").pipe(
    Options.withDescription("Paginated operations: stop after this many items"),
    Options.optional
  )
}

const run = (
  name: string,
  info: OperationInfo,
  endpoint: AnyEndpoint,
  input: Record<string, unknown>,
  out: { readonly jsonl: boolean; readonly limit: Option.Option<number> }
): Effect.Effect<void, Helix.HelixFailure, Helix.Helix> =>
  Effect.gen(function*() {
    const helix = yield* Helix.Helix
    if (info.paginated) {
      const all = helix.paginate(endpoint as Helix.Endpoint<unknown, Helix.PageLike<unknown>>, input)
      const items = Option.match(out.limit, { onNone: () => all, onSome: (n) => Stream.take(all, Math.max(0, n)) })
      return yield* out.jsonl
        ? Stream.runForEach(items, (item) => Console.log(JSON.stringify(item)))
        : Effect.flatMap(Stream.runCollect(items), (chunk) => printJson(Array.from(chunk)))
    }
    const answer = yield* helix.request(endpoint, input)
    if (info.result === "void") return
    yield* printJson(info.result === "data" ? (answer as { readonly data: unknown }).data : answer)
  }).pipe(Effect.withSpan(`cli.api.${name}`))

const needsTwitch = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  options: {
    readonly target: Parameters<typeof configLayer>[0]
    readonly user: Option.Option<string>
    readonly tokens: string
  }
) => {
  // the app token needs no token file: with no --user, a memory store (the file is not opened, not locked)
  const store = Option.isSome(options.user) ? storeLayer(options.tokens) : TokenStore.layerMemory()
  const scoped = Option.match(options.user, { onNone: () => Helix.withApp, onSome: Helix.withUser })(effect)
  return Effect.provide(
    scoped,
    servicesLayer(
      configLayer(options.target),
      store as Layer.Layer<TokenStore.TokenStore, TokenStore.TokenStoreError, FileSystem.FileSystem>
    )
  )
}

const operationCommand = (name: string, info: OperationInfo, endpoint: AnyEndpoint) => {
  const parameters: Record<string, Options.Options<Option.Option<unknown>>> = {}
  for (const p of info.parameters) parameters[p.name] = optionOf(p)
  const common = info.paginated ? { target, tokens: tokenFile, user, ...output } : { target, tokens: tokenFile, user }
  return Command.make(
    name,
    {
      ...common,
      parameters: info.parameters.length === 0
        ? Options.map(Options.none, (): Record<string, Option.Option<unknown>> => ({}))
        : Options.all(parameters)
    },
    (args) =>
      Effect.flatMap(inputOf(info, args.parameters), (input) =>
        needsTwitch(
          run(name, info, endpoint, input, {
            jsonl: "jsonl" in args ? args.jsonl as boolean : false,
            limit: "limit" in args ? args.limit as Option.Option<number> : Option.none()
          }),
          { target: args.target, user: args.user, tokens: args.tokens }
        ))
  ).pipe(
    Command.withDescription(
      `${info.summary} (${endpoint.method} ${endpoint.path}; ${
        endpoint.token === "app" ? "app token" : endpoint.token === "user" ? "user token: --user" : "app or user token"
      }${endpoint.scopes.length > 0 ? `; scopes: ${endpoint.scopes.join(" or ")}` : ""})`
    )
  )
}

const DESCRIPTION = "Call any Helix operation by its name, e.g. `effect-twitch api getUsers --login twitchdev`. " +
  "Parameters are options named as in Twitch's reference; the answer is JSON on stdout (paginated operations: " +
  "every page, or --jsonl, --limit). The app token is used unless --user names a user with a stored token."

/**
 * The operations by area, one line each (`effect-twitch api`).
 *
 * @internal
 */
export const listing: Effect.Effect<void> = Effect.suspend(() => {
  const lines = [DESCRIPTION, "`effect-twitch api <operation> --help` lists an operation's parameters.", ""]
  for (const [area, module] of Object.entries(HelixApi)) {
    const names = Object.values(module as Record<string, unknown>).flatMap((v) =>
      isEndpoint(v) && table[v.name] !== undefined ? [v.name] : []
    )
    if (names.length === 0) continue
    lines.push(`${area}:`)
    for (const name of names) lines.push(`  ${name.padEnd(40)} ${table[name]!.summary}`)
  }
  return Console.log(lines.join("\n"))
})

/** Edit distance (insertions, deletions, substitutions), case-insensitive. */
const distance = (a: string, b: string): number => {
  const x = a.toLowerCase()
  const y = b.toLowerCase()
  let row = Array.from({ length: y.length + 1 }, (_, j) => j)
  for (let i = 1; i <= x.length; i++) {
    const next = [i]
    for (let j = 1; j <= y.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1))
    }
    row = next
  }
  return row[y.length]!
}

/** The known names closest to `name` (at most 3, within a third of its length). */
const suggestions = (name: string): ReadonlyArray<string> =>
  [...endpoints.keys()]
    .map((known) => [known, distance(name, known)] as const)
    .filter(([, d]) => d <= Math.max(2, Math.floor(name.length / 3)))
    .sort((a, b) => a[1] - b[1])
    .slice(0, 3)
    .map(([known]) => known)

/**
 * The command of one operation, under `effect-twitch api`: built on demand, for the operation named on the command
 * line only (148 subcommands in one tree make every help page list all of them).
 *
 * @internal
 */
export const commandFor = (name: string) => {
  const info = table[name]
  const endpoint = endpoints.get(name)
  if (info === undefined || endpoint === undefined) {
    const near = suggestions(name)
    return Either.left(usage(
      `api: no operation ${name}${near.length > 0 ? ` (did you mean ${near.join(", ")}?)` : ""}; ` +
        "`effect-twitch api` lists them"
    ))
  }
  return Either.right(
    Command.make("api").pipe(
      Command.withDescription(DESCRIPTION),
      Command.withSubcommands([operationCommand(name, info, endpoint)])
    )
  )
}

/**
 * `effect-twitch api` with no operation: the list.
 *
 * @internal
 */
export const command = Command.make("api", {}, () => listing).pipe(Command.withDescription(DESCRIPTION))

/** @internal */
export type Requirements = HttpClient.HttpClient | FileSystem.FileSystem
