// `effect-twitch event trigger <type>`: deliver an EventSub notification, either through a running simulator's
// control API (to the WebSocket sessions subscribed to the type), or as a signed webhook POST the way Twitch
// (and twitch-cli's `event trigger --forward-address`) sends one: the `Twitch-Eventsub-*` headers and
// `sha256=` HMAC-SHA256 of message id + timestamp + body with the secret.
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Config from "effect/Config"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { createHmac, randomUUID } from "node:crypto"
import { fileURLToPath } from "node:url"
import { CliError, ExitCode, usage } from "./exit.js"
import { printJson, progress, send, target } from "./shared.js"

// ------------------------------------------------------------------------------------------------ signing

/** @internal */
export type MessageType = "notification" | "webhook_callback_verification" | "revocation"

/** @internal */
export interface WebhookMessage {
  readonly id: string
  readonly timestamp: string
  readonly type: MessageType
  readonly subscriptionType: string
  readonly subscriptionVersion: string
  readonly body: string
}

/**
 * `sha256=` + hex HMAC-SHA256 of message id + timestamp + body, keyed with the secret (Twitch's signature).
 *
 * @internal
 */
export const signature = (secret: Redacted.Redacted, message: WebhookMessage): string =>
  "sha256=" +
  createHmac("sha256", Redacted.value(secret)).update(message.id + message.timestamp + message.body).digest("hex")

/**
 * The headers Twitch sends with a webhook message.
 *
 * @internal
 */
export const headers = (secret: Redacted.Redacted, message: WebhookMessage): Record<string, string> => ({
  "content-type": "application/json",
  "twitch-eventsub-message-id": message.id,
  "twitch-eventsub-message-retry": "0",
  "twitch-eventsub-message-type": message.type,
  "twitch-eventsub-message-signature": signature(secret, message),
  "twitch-eventsub-message-timestamp": message.timestamp,
  "twitch-eventsub-subscription-type": message.subscriptionType,
  "twitch-eventsub-subscription-version": message.subscriptionVersion
})

// ------------------------------------------------------------------------------------------------ examples

const JsonObject = Schema.Record({ key: Schema.String, value: Schema.Unknown })

const Example = Schema.Struct({
  type: Schema.String,
  version: Schema.String,
  conditionFields: Schema.Array(Schema.String),
  event: Schema.optional(JsonObject),
  events: Schema.optional(Schema.Array(JsonObject))
})
type Example = typeof Example.Type

const ExampleTable = Schema.parseJson(Schema.Struct({ types: Schema.Array(Example) }))

/** The simulator's table of example events (shipped as data next to the simulator; read only by this command). */
const examples = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const file = fileURLToPath(new URL("../testing/internal/eventsubExamples.json", import.meta.url))
  const text = yield* fs.readFileString(file)
  return (yield* Schema.decodeUnknown(ExampleTable)(text)).types
}).pipe(
  Effect.catchAll((e) =>
    new CliError({ code: ExitCode.config, description: `cannot read the table of example events: ${e.message}` })
  )
)

const versionRank = (v: string): number => /^\d+$/.test(v) ? Number(v) : -1

/** The example of a type: the version asked for, else the highest numbered one. */
const exampleOf = (table: ReadonlyArray<Example>, type: string, version: Option.Option<string>) => {
  const ofType = table.filter((e) => e.type === type)
  if (ofType.length === 0) {
    const near = [...new Set(table.map((e) => e.type))].filter((t) => t.includes(type) || type.includes(t))
    return Effect.fail(usage(
      `unknown EventSub type ${type}${near.length > 0 ? ` (did you mean ${near.slice(0, 5).join(", ")}?)` : ""}; ` +
        "`effect-twitch event types` lists them"
    ))
  }
  const chosen = Option.match(version, {
    onNone: () => [...ofType].sort((a, b) => versionRank(b.version) - versionRank(a.version))[0],
    onSome: (v) => ofType.find((e) => e.version === v)
  })
  return chosen === undefined
    ? Effect.fail(
      usage(
        `${type} has no version ${Option.getOrElse(version, () => "")} (known: ${
          ofType.map((e) => e.version).join(", ")
        })`
      )
    )
    : Effect.succeed(chosen)
}

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** `patch` deep-merged over `base` (objects merged, everything else replaced), as the simulator's trigger does. */
const deepMerge = (base: unknown, patch: unknown): unknown => {
  if (!isObject(base) || !isObject(patch)) return patch
  const out: Record<string, unknown> = { ...base }
  for (const [key, value] of Object.entries(patch)) out[key] = deepMerge(base[key], value)
  return out
}

/** The condition: `--condition` values, else the event's field of the same name (optional fields left out). */
const conditionOf = (example: Example, event: unknown, given: HashMap.HashMap<string, string>) => {
  const out: Record<string, string> = {}
  for (const raw of example.conditionFields) {
    const name = raw.replace(/\?$/, "")
    const value = Option.orElse(
      HashMap.get(given, name),
      () => isObject(event) && typeof event[name] === "string" ? Option.some(event[name]) : Option.none<string>()
    )
    if (Option.isSome(value)) out[name] = value.value
    else if (!raw.endsWith("?")) out[name] = "" // filled in below where it can be
  }
  // as twitch-cli does: the broadcaster is also the moderator (or the user) the condition names
  for (const [name, value] of Object.entries(out)) {
    if (value === "" && name.endsWith("user_id") && out.broadcaster_user_id) out[name] = out.broadcaster_user_id
  }
  for (const [key, value] of given) out[key] = value
  return out
}

// ------------------------------------------------------------------------------------------------ command

const type = Args.text({ name: "type" }).pipe(Args.withDescription("The EventSub type, e.g. channel.follow"))

const options = {
  target,
  to: Options.choice("to", ["simulator"]).pipe(
    Options.withDescription("Where to deliver: a running simulator (the default; see --simulator-url)"),
    Options.optional
  ),
  webhook: Options.text("webhook").pipe(
    Options.withDescription("Deliver as a signed webhook POST to this URL (your callback) instead"),
    Options.optional
  ),
  secret: Options.redacted("secret").pipe(
    Options.withDescription("The webhook secret (10-100 ASCII characters); or TWITCH_WEBHOOK_SECRET"),
    Options.withFallbackConfig(Config.redacted("TWITCH_WEBHOOK_SECRET")),
    Options.optional
  ),
  eventVersion: Options.text("event-version").pipe(
    Options.withDescription("The type's version (default: the highest)"),
    Options.optional
  ),
  event: Options.text("event").pipe(
    Options.withDescription("JSON object deep-merged over the example event, e.g. '{\"user_login\":\"someone\"}'"),
    Options.optional
  ),
  condition: Options.keyValueMap("condition").pipe(
    Options.withDescription("A condition field, key=value (repeatable); by default taken from the event"),
    Options.optional
  ),
  messageType: Options.choice("message-type", ["notification", "webhook_callback_verification", "revocation"]).pipe(
    Options.withDescription("Webhook only: the message to send (default notification)"),
    Options.withDefault("notification" as const)
  ),
  subscriptionId: Options.text("subscription-id").pipe(
    Options.withDescription("Webhook only: the subscription id in the payload (default: a random uuid)"),
    Options.optional
  )
}

type Parsed = Command.Command.ParseConfig<typeof options> & { readonly type: string }

const parseEvent = (raw: Option.Option<string>) =>
  Option.match(raw, {
    onNone: () => Effect.succeed(Option.none<Record<string, unknown>>()),
    onSome: (text) =>
      Effect.try({ try: () => JSON.parse(text) as unknown, catch: () => usage("--event: not valid JSON") }).pipe(
        Effect.filterOrFail(isObject, () => usage("--event: must be a JSON object")),
        Effect.map(Option.some)
      )
  })

const failedAnswer = (what: string) => (response: HttpClientResponse.HttpClientResponse) =>
  Effect.flatMap(
    Effect.orElseSucceed(response.text, () => ""),
    (text) =>
      new CliError({
        code: response.status >= 400 && response.status < 500 && what === "simulator"
          ? ExitCode.usage
          : ExitCode.twitch,
        description: `${what} answered ${response.status}${text.trim() === "" ? "" : `: ${text.trim().slice(0, 300)}`}`
      })
  )

const unreachable = (what: string) => (e: { readonly message: string }) =>
  new CliError({ code: ExitCode.network, description: `${what}: ${e.message}` })

const toSimulator = (url: string, args: Parsed) =>
  Effect.gen(function*() {
    const event = yield* parseEvent(args.event)
    const body = {
      type: args.type,
      ...Option.match(args.eventVersion, { onNone: () => ({}), onSome: (version) => ({ version }) }),
      ...Option.match(event, { onNone: () => ({}), onSome: (e) => ({ event: e }) }),
      ...Option.match(args.condition, {
        onNone: () => ({}),
        onSome: (map) => ({ condition: Object.fromEntries(map) })
      })
    }
    const response = yield* HttpClientRequest.post(`${url}/_sim/eventsub/trigger`).pipe(
      HttpClientRequest.bodyUnsafeJson(body),
      send,
      Effect.catchTag("RequestError", unreachable(`simulator at ${url}`))
    )
    if (response.status !== 200) return yield* failedAnswer("simulator")(response)
    const answer = yield* Effect.orElseSucceed(response.json, () => ({}))
    const ids = isObject(answer) && Array.isArray(answer.messageIds) ? answer.messageIds as Array<string> : []
    if (ids.length === 0) {
      yield* progress(`no session is subscribed to ${args.type}: nothing was delivered (subscribe first)`)
    }
    yield* printJson({ delivered: ids.length, message_ids: ids })
  }).pipe(Effect.scoped)

const toWebhook = (url: string, secret: Redacted.Redacted, args: Parsed) =>
  Effect.gen(function*() {
    const length = Redacted.value(secret).length
    if (length < 10 || length > 100) return yield* usage("--secret: Twitch's secrets are 10 to 100 characters long")
    const example = yield* exampleOf(yield* examples, args.type, args.eventVersion)
    const patch = yield* parseEvent(args.event)
    const base = example.event ?? example.events
    const event = Option.match(patch, { onNone: () => base, onSome: (p) => deepMerge(base, p) })
    const now = DateTime.formatIso(yield* DateTime.now)
    const subscription = {
      id: Option.getOrElse(args.subscriptionId, () => randomUUID()),
      status: args.messageType === "revocation"
        ? "authorization_revoked"
        : args.messageType === "webhook_callback_verification"
        ? "webhook_callback_verification_pending"
        : "enabled",
      type: example.type,
      version: example.version,
      condition: conditionOf(example, event, Option.getOrElse(args.condition, HashMap.empty)),
      transport: { method: "webhook", callback: url },
      created_at: now,
      cost: 0
    }
    const payload = args.messageType === "notification"
      ? example.events !== undefined ? { subscription, events: event } : { subscription, event }
      : args.messageType === "webhook_callback_verification"
      ? { challenge: randomUUID(), subscription }
      : { subscription }
    const message: WebhookMessage = {
      id: randomUUID(),
      timestamp: now,
      type: args.messageType,
      subscriptionType: example.type,
      subscriptionVersion: example.version,
      body: JSON.stringify(payload)
    }
    const response = yield* HttpClientRequest.post(url).pipe(
      HttpClientRequest.setHeaders(headers(secret, message)),
      HttpClientRequest.bodyText(message.body, "application/json"),
      send,
      Effect.catchTag("RequestError", unreachable(url))
    )
    if (response.status < 200 || response.status >= 300) return yield* failedAnswer(`the webhook at ${url}`)(response)
    const answer = yield* Effect.orElseSucceed(response.text, () => "")
    if (
      args.messageType === "webhook_callback_verification" && "challenge" in payload && answer !== payload.challenge
    ) {
      return yield* new CliError({
        code: ExitCode.twitch,
        description: `the webhook at ${url} did not answer the challenge with the challenge text`
      })
    }
    yield* printJson({
      delivered: 1,
      status: response.status,
      message_id: message.id,
      message_type: message.type,
      type: example.type,
      version: example.version
    })
  }).pipe(Effect.scoped)

const trigger = Command.make("trigger", { ...options, type }, (args) =>
  Option.match(args.webhook, {
    onNone: () =>
      Option.isSome(args.secret) && Option.isSome(args.to)
        ? Effect.fail(usage("--secret is for --webhook"))
        : toSimulator(
          Option.getOrElse(args.target.simulator, () => "http://localhost:8080"),
          args
        ),
    onSome: (url) =>
      Option.isSome(args.to)
        ? Effect.fail(usage("event trigger: --to simulator and --webhook exclude each other"))
        : Option.match(args.secret, {
          onNone: () => Effect.fail(usage("event trigger --webhook needs --secret (or TWITCH_WEBHOOK_SECRET)")),
          onSome: (secret) => toWebhook(url, secret, args)
        })
  })).pipe(Command.withDescription(
    "Deliver an EventSub event: through a running simulator to its subscribed sessions, or as a signed webhook POST"
  ))

const types = Command.make("types", {}, () =>
  Effect.flatMap(examples, (table) =>
    printJson(table.map((e) => ({
      type: e.type,
      version: e.version,
      condition: e.conditionFields
    }))))).pipe(Command.withDescription("List the EventSub types (and versions) `event trigger` knows"))

/** @internal */
export const command = Command.make("event").pipe(
  Command.withDescription("Trigger EventSub events for tests, against the simulator or your webhook"),
  Command.withSubcommands([trigger, types])
)
