/**
 * Chat commands on top of a stream of chat messages: `!name` with aliases, arguments decoded with a
 * `Schema`, permissions from the chatter's badges, per-user and per-channel cooldowns on the `Clock`,
 * a generated `!help`, and replies threaded to the message that asked (sent through the `ChatSender`
 * queue, so they keep Twitch's chat limits).
 *
 * What each kind of bad input gets (every answer is a reply; `answers` changes or silences them):
 * - an unknown command: nothing (chat is full of other bots' commands);
 * - wrong argument count or type: `Usage: !so <login>`;
 * - a chatter below the command's permission: `!so is for moderators`;
 * - a command on cooldown: nothing;
 * - a handler that fails or dies: `Sorry, !so failed.`, and the cause is logged.
 * None of them ends the stream: one failing handler never stops the others.
 *
 * Every message the runner acts on becomes an {@link Outcome} (`outcomes`), for logs and tests.
 *
 * @example
 * ```ts
 * import { Client, Commands } from "effect-twitch"
 * import { Effect, Schema } from "effect"
 *
 * const commands = Commands.make().pipe(
 *   Commands.add({ name: "ping", description: "Answers pong" }, () => "pong"),
 *   Commands.add({
 *     name: "so",
 *     aliases: ["shoutout"],
 *     description: "Gives a shout-out",
 *     args: Schema.Tuple(Schema.String.annotations({ title: "login" })),
 *     permission: "moderator",
 *     cooldown: { channel: "30 seconds" }
 *   }, ({ args: [login] }) => `Go follow ${login}!`)
 * )
 *
 * const bot = Effect.flatMap(Client.Client, (client) => commands.pipe(Commands.run(client.chatMessages())))
 * ```
 *
 * @since 0.3.0
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import { type Pipeable, pipeArguments } from "effect/Pipeable"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as ChatSender from "./ChatSender.js"
import type { ChatMessage } from "./Client.js"
import type * as Helix from "./Helix.js"
import { Cooldowns, levelOf, LEVELS, parseLine, rank, usageOf } from "./internal/commands.js"

/**
 * Who may use a command, lowest first: `anyone` < `subscriber` < `vip` < `moderator` < `broadcaster`.
 * A chatter's level comes from the message's badges (`founder` counts as subscriber).
 *
 * @since 0.3.0
 * @category models
 */
export type Permission = "anyone" | "subscriber" | "vip" | "moderator" | "broadcaster"

/**
 * The levels in order, lowest first.
 *
 * @since 0.3.0
 * @category constants
 */
export const permissions: ReadonlyArray<Permission> = LEVELS

/**
 * The chatter's level in the channel the message was sent to.
 *
 * @since 0.3.0
 * @category utils
 */
export const permissionOf = (message: ChatMessage): Permission => levelOf(message)

/**
 * What a handler gets.
 *
 * @since 0.3.0
 * @category models
 */
export interface Context<A> {
  readonly message: ChatMessage
  /** the decoded arguments (without `args`: the words after the command) */
  readonly args: A
  /** the text after the command name */
  readonly text: string
  /** the channel (broadcaster id) the message was sent to */
  readonly channel: string
  readonly user: { readonly id: string; readonly login: string; readonly name: string }
  readonly permission: Permission
  /** the command's name (not the alias typed) */
  readonly command: string
  /** a reply threaded to the message (the handler's return value is one too) */
  readonly reply: (text: string) => Effect.Effect<void, Helix.HelixFailure>
}

/**
 * A handler's answer: text to reply with, or nothing.
 *
 * @since 0.3.0
 * @category models
 */
export type Reply = string | undefined | void

/**
 * @since 0.3.0
 * @category models
 */
export type Handler<A, E, R> = (context: Context<A>) => Reply | Effect.Effect<Reply, E, R>

/**
 * A command's definition; a plain string is `{ name }`.
 *
 * @since 0.3.0
 * @category models
 */
export interface Spec<A, I extends ReadonlyArray<string>> {
  readonly name: string
  readonly aliases?: ReadonlyArray<string> | undefined
  /** shown by `!help <name>` */
  readonly description?: string | undefined
  /**
   * The words after the name, decoded: e.g. `Schema.Tuple(Schema.String, Schema.NumberFromString)`.
   * A failure answers with the usage. Name elements with a `title` annotation for the usage text.
   */
  readonly args?: Schema.Schema<A, I> | undefined
  /** default: made from `args`' tuple (`<login> [count]`) */
  readonly usage?: string | undefined
  /** default `anyone` */
  readonly permission?: Permission | undefined
  /** per chatter in a channel, and per channel; chatters at `cooldownExempt` or above skip them */
  readonly cooldown?: {
    readonly user?: Duration.DurationInput | undefined
    readonly channel?: Duration.DurationInput | undefined
  } | undefined
  /** left out of `!help` */
  readonly hidden?: boolean | undefined
}

/**
 * A command as registered.
 *
 * @since 0.3.0
 * @category models
 */
export interface Command<E, R> {
  readonly name: string
  readonly aliases: ReadonlyArray<string>
  readonly description: string
  /** the arguments' usage, e.g. `<login> [count]` */
  readonly usage: string
  readonly permission: Permission
  readonly cooldownUserMillis: number
  readonly cooldownChannelMillis: number
  readonly hidden: boolean
  /** the words decoded, or the problem in one line */
  readonly decode: (words: ReadonlyArray<string>) => Either.Either<unknown, string>
  readonly run: (context: Context<unknown>) => Effect.Effect<Reply, E, R>
}

interface OutcomeBase {
  readonly message: ChatMessage
  /** the reply sent, if any */
  readonly answered: string | undefined
  /** sending the reply failed (dropped by Twitch, …): it is logged and the runner goes on */
  readonly replyError: Helix.HelixFailure | undefined
}

/**
 * What the runner did with one command message.
 *
 * @since 0.3.0
 * @category models
 */
export type Outcome =
  | Ran
  | UnknownCommand
  | BadArguments
  | Denied
  | CoolingDown
  | Failed

/**
 * @since 0.3.0
 * @category models
 */
export interface Ran extends OutcomeBase {
  readonly _tag: "Ran"
  readonly command: string
}

/**
 * @since 0.3.0
 * @category models
 */
export interface UnknownCommand extends OutcomeBase {
  readonly _tag: "UnknownCommand"
  /** the name typed */
  readonly command: string
}

/**
 * @since 0.3.0
 * @category models
 */
export interface BadArguments extends OutcomeBase {
  readonly _tag: "BadArguments"
  readonly command: string
  /** the full usage, e.g. `!so <login>` */
  readonly usage: string
  /** what was wrong, in one line */
  readonly issue: string
}

/**
 * @since 0.3.0
 * @category models
 */
export interface Denied extends OutcomeBase {
  readonly _tag: "Denied"
  readonly command: string
  readonly required: Permission
  readonly permission: Permission
}

/**
 * @since 0.3.0
 * @category models
 */
export interface CoolingDown extends OutcomeBase {
  readonly _tag: "CoolingDown"
  readonly command: string
  readonly remaining: Duration.Duration
}

/**
 * @since 0.3.0
 * @category models
 */
export interface Failed extends OutcomeBase {
  readonly _tag: "Failed"
  readonly command: string
  readonly cause: Cause.Cause<unknown>
}

/**
 * The reply to each kind of bad input, or `false` for silence. Each gets the outcome (without `answered`).
 *
 * @since 0.3.0
 * @category models
 */
export interface Answers {
  readonly unknown: ((outcome: UnknownCommand) => string) | false
  readonly usage: ((outcome: BadArguments) => string) | false
  readonly denied: ((outcome: Denied) => string) | false
  readonly cooldown: ((outcome: CoolingDown) => string) | false
  readonly failed: ((outcome: Failed) => string) | false
}

/**
 * @since 0.3.0
 * @category models
 */
export interface Options {
  /** default `"!"` */
  readonly prefix?: string | undefined
  /** the generated help command's name (default `"help"`), `false` for none */
  readonly help?: string | false | undefined
  readonly answers?: Partial<Answers> | undefined
  /** handlers running at once (default 16); the decisions (permission, cooldown) are made in message order */
  readonly concurrency?: number | undefined
  /** chatters at this level or above skip cooldowns (default `moderator`) */
  readonly cooldownExempt?: Permission | undefined
  /** also answer messages that reached the channel from another one in a shared chat session (default false) */
  readonly sharedChat?: boolean | undefined
}

const TypeId: unique symbol = Symbol.for("effect-twitch/Commands")

/**
 * A set of commands and how to answer; immutable (`add` returns a new one).
 *
 * @since 0.3.0
 * @category models
 */
export interface Commands<E = never, R = never> extends Pipeable {
  readonly [TypeId]: typeof TypeId
  readonly options: Options
  readonly commands: ReadonlyArray<Command<E, R>>
}

const makeCommands = <E, R>(options: Options, commands: ReadonlyArray<Command<E, R>>): Commands<E, R> => ({
  [TypeId]: TypeId,
  options,
  commands,
  pipe() {
    return pipeArguments(this, arguments)
  }
})

/**
 * An empty set of commands.
 *
 * @since 0.3.0
 * @category constructors
 */
export const make = (options: Options = {}): Commands => makeCommands(options, [])

const plural: Record<Permission, string> = {
  anyone: "everyone",
  subscriber: "subscribers",
  vip: "VIPs",
  moderator: "moderators",
  broadcaster: "the broadcaster"
}

/**
 * The default answers (see the module's description).
 *
 * @since 0.3.0
 * @category constants
 */
export const defaultAnswers: Answers = {
  unknown: false,
  usage: (outcome) => `Usage: ${outcome.usage}`,
  denied: (outcome) => `${outcome.command} is for ${plural[outcome.required]}`,
  cooldown: false,
  failed: (outcome) => `Sorry, ${outcome.command} failed.`
}

const millisOf = (input: Duration.DurationInput | undefined): number =>
  input === undefined ? 0 : Duration.toMillis(Duration.decode(input))

const formatIssue = (error: ParseResult.ParseError): string => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  const first = issues[0]
  if (first === undefined) return "invalid arguments"
  const at = first.path.length > 0 ? `argument ${Number(first.path[0]) + 1}: ` : ""
  return `${at}${first.message}`
}

/**
 * Adds a command.
 *
 * @since 0.3.0
 * @category combinators
 */
export const add =
  <A = ReadonlyArray<string>, I extends ReadonlyArray<string> = ReadonlyArray<string>, E2 = never, R2 = never>(
    spec: string | Spec<A, I>,
    handler: Handler<A, E2, R2>
  ) =>
  <E, R>(self: Commands<E, R>): Commands<E | E2, R | R2> => {
    const s: Spec<A, I> = typeof spec === "string" ? { name: spec } : spec
    const args = s.args
    const decodeArgs = args === undefined ? undefined : Schema.decodeUnknownEither(args)
    const command: Command<E2, R2> = {
      name: s.name.toLowerCase(),
      aliases: (s.aliases ?? []).map((alias) => alias.toLowerCase()),
      description: s.description ?? "",
      usage: s.usage ?? (args === undefined ? "" : usageOf(args.ast)),
      permission: s.permission ?? "anyone",
      cooldownUserMillis: millisOf(s.cooldown?.user),
      cooldownChannelMillis: millisOf(s.cooldown?.channel),
      hidden: s.hidden ?? false,
      decode: (words) =>
        decodeArgs === undefined ? Either.right(words) : Either.mapLeft(decodeArgs(words), formatIssue),
      run: (context) => {
        const answer = handler(context as Context<A>)
        return Effect.isEffect(answer) ? answer : Effect.succeed(answer)
      }
    }
    return makeCommands<E | E2, R | R2>(self.options, [...self.commands, command])
  }

// ------------------------------------------------------------------------------------------------ running

type Decision<E, R> =
  | { readonly _tag: "Answer"; readonly outcome: Exclude<Outcome, Ran | Failed> }
  | { readonly _tag: "Run"; readonly command: Command<E, R>; readonly context: Context<unknown> }

interface Resolved<E, R> {
  readonly prefix: string
  readonly answers: Answers
  readonly byName: ReadonlyMap<string, Command<E, R>>
  readonly visible: ReadonlyArray<Command<E, R>>
  readonly exempt: Permission
  readonly sharedChat: boolean
}

const helpCommand = <E, R>(name: string, prefix: string, commands: () => ReadonlyArray<Command<E, R>>) => {
  const describe = (command: Command<E, R>) => {
    const usage = `${prefix}${command.name}${command.usage === "" ? "" : ` ${command.usage}`}`
    const aliases = command.aliases.length === 0 ? "" : ` (also ${command.aliases.map((a) => prefix + a).join(", ")})`
    const what = command.description === "" ? "" : `: ${command.description}`
    const who = command.permission === "anyone" ? "" : ` (for ${plural[command.permission]})`
    return `${usage}${aliases}${what}${who}`
  }
  return {
    name,
    aliases: [],
    description: "Lists the commands, or tells about one",
    usage: "[command]",
    permission: "anyone",
    cooldownUserMillis: 0,
    cooldownChannelMillis: 0,
    hidden: false,
    decode: (words) => Either.right(words),
    run: (context) => {
      const allowed = commands().filter((c) => rank(c.permission) <= rank(context.permission))
      const asked = (context.args as ReadonlyArray<string>)[0]?.toLowerCase().replace(prefix, "")
      if (asked === undefined) {
        return Effect.succeed(`Commands: ${allowed.map((c) => prefix + c.name).join(", ")}`)
      }
      const found = allowed.find((c) => c.name === asked || c.aliases.includes(asked))
      return Effect.succeed(found === undefined ? `There is no ${prefix}${asked}` : describe(found))
    }
  } satisfies Command<never, never>
}

const resolve = <E, R>(self: Commands<E, R>): Resolved<E, R> => {
  const prefix = self.options.prefix ?? "!"
  const byName = new Map<string, Command<E, R>>()
  const helpName = self.options.help ?? "help"
  const visible = self.commands.filter((c) => !c.hidden)
  const all: Array<Command<E, R>> = helpName === false
    ? [...self.commands]
    : [...self.commands, helpCommand<E, R>(helpName.toLowerCase(), prefix, () => visible)]
  for (const command of all) {
    for (const name of [command.name, ...command.aliases]) if (!byName.has(name)) byName.set(name, command)
  }
  return {
    prefix,
    answers: { ...defaultAnswers, ...self.options.answers },
    byName,
    visible,
    exempt: self.options.cooldownExempt ?? "moderator",
    sharedChat: self.options.sharedChat ?? false
  }
}

const base = (message: ChatMessage) => ({ message, answered: undefined, replyError: undefined })

/** Decides what to do with one message, in message order: permission, arguments, cooldowns. */
const decide = <E, R>(
  resolved: Resolved<E, R>,
  cooldowns: Cooldowns,
  reply: (message: ChatMessage, text: string) => Effect.Effect<void, Helix.HelixFailure>
) =>
(message: ChatMessage, now: number): Option.Option<Decision<E, R>> => {
  const line = parseLine(message.message.text, resolved.prefix)
  if (Option.isNone(line)) return Option.none()
  const { name, rest, words } = line.value
  const command = resolved.byName.get(name)
  if (command === undefined) {
    return Option.some({
      _tag: "Answer",
      outcome: { _tag: "UnknownCommand", command: resolved.prefix + name, ...base(message) }
    })
  }
  const typed = resolved.prefix + command.name
  const permission = levelOf(message)
  if (rank(permission) < rank(command.permission)) {
    return Option.some({
      _tag: "Answer",
      outcome: { _tag: "Denied", command: typed, required: command.permission, permission, ...base(message) }
    })
  }
  const args = command.decode(words)
  if (Either.isLeft(args)) {
    const usage = `${typed}${command.usage === "" ? "" : ` ${command.usage}`}`
    return Option.some({
      _tag: "Answer",
      outcome: { _tag: "BadArguments", command: typed, usage, issue: args.left, ...base(message) }
    })
  }
  const channel = message.broadcaster_user_id
  const userKey = `${command.name}\u0000${channel}\u0000${message.chatter_user_id}`
  const channelKey = `${command.name}\u0000${channel}`
  if (rank(permission) < rank(resolved.exempt)) {
    const left = cooldowns.remaining([userKey, channelKey], now)
    if (left > 0) {
      return Option.some({
        _tag: "Answer",
        outcome: { _tag: "CoolingDown", command: typed, remaining: Duration.millis(left), ...base(message) }
      })
    }
  }
  cooldowns.start(userKey, now, command.cooldownUserMillis)
  cooldowns.start(channelKey, now, command.cooldownChannelMillis)
  return Option.some({
    _tag: "Run",
    command,
    context: {
      message,
      args: args.right,
      text: rest,
      channel,
      user: { id: message.chatter_user_id, login: message.chatter_user_login, name: message.chatter_user_name },
      permission,
      command: command.name,
      reply: (text) => reply(message, text)
    }
  })
}

const answerFor = (answers: Answers, outcome: Exclude<Outcome, Ran>): string | undefined => {
  switch (outcome._tag) {
    case "UnknownCommand":
      return answers.unknown === false ? undefined : answers.unknown(outcome)
    case "BadArguments":
      return answers.usage === false ? undefined : answers.usage(outcome)
    case "Denied":
      return answers.denied === false ? undefined : answers.denied(outcome)
    case "CoolingDown":
      return answers.cooldown === false ? undefined : answers.cooldown(outcome)
    case "Failed":
      return answers.failed === false ? undefined : answers.failed(outcome)
  }
}

/** Sends `text` (if any) as the outcome's reply; a failure to send is recorded and logged, not raised. */
const withReply = <O extends Outcome>(
  outcome: O,
  text: string | undefined,
  reply: (message: ChatMessage, text: string) => Effect.Effect<void, Helix.HelixFailure>
): Effect.Effect<O> =>
  text === undefined || text.trim() === "" ? Effect.succeed(outcome) : reply(outcome.message, text).pipe(
    Effect.as({ ...outcome, answered: text }),
    Effect.catchAll((error) =>
      Effect.as(
        Effect.logWarning(`Commands: the reply to ${outcome.message.chatter_user_login} was not sent`, error),
        { ...outcome, replyError: error }
      )
    )
  )

const execute = <E, R>(
  resolved: Resolved<E, R>,
  reply: (message: ChatMessage, text: string) => Effect.Effect<void, Helix.HelixFailure>
) =>
(decision: Decision<E, R>): Effect.Effect<Outcome, never, R> => {
  if (decision._tag === "Answer") {
    return withReply(decision.outcome, answerFor(resolved.answers, decision.outcome), reply)
  }
  const { command, context } = decision
  const typed = resolved.prefix + command.name
  return Effect.suspend(() => command.run(context)).pipe(
    Effect.matchCauseEffect({
      onSuccess: (text) =>
        withReply<Outcome>({ _tag: "Ran", command: typed, ...base(context.message) }, text ?? undefined, reply),
      onFailure: (cause) =>
        Cause.isInterruptedOnly(cause) ? Effect.failCause(cause) : Effect.gen(function*() {
          yield* Effect.logError(`Commands: ${typed} failed`, cause)
          const failed: Failed = { _tag: "Failed", command: typed, cause, ...base(context.message) }
          return yield* withReply<Outcome>(failed, answerFor(resolved.answers, failed), reply)
        })
    }),
    // an interrupted handler (only) ends here: the runner goes on
    Effect.catchAllCause((cause) =>
      Effect.succeed<Outcome>({ _tag: "Failed", command: typed, cause, ...base(context.message) })
    )
  )
}

/**
 * Runs the commands over `messages` and emits what happened to each command message (other messages,
 * and the sender's own, emit nothing). Replies go through the `ChatSender`; the bot's own messages
 * tell it whether it is a moderator or VIP in the channel (its chat limits there).
 *
 * @since 0.3.0
 * @category running
 */
export const outcomes =
  <E2, R2>(messages: Stream.Stream<ChatMessage, E2, R2>) =>
  <E, R>(self: Commands<E, R>): Stream.Stream<Outcome, E2, R | R2 | ChatSender.ChatSender> =>
    Stream.unwrap(Effect.gen(function*() {
      const chat = yield* ChatSender.ChatSender
      const resolved = resolve(self)
      const cooldowns = new Cooldowns()
      const privileged = new Map<string, boolean>()
      const reply = (message: ChatMessage, text: string) =>
        Effect.asVoid(chat.send({ channel: message.broadcaster_user_id, text, replyTo: message.message_id }))
      const decideOne = decide(resolved, cooldowns, reply)

      /** The sender's own message: learn its level there; nothing to answer. */
      const own = (message: ChatMessage) => {
        const isPrivileged = rank(levelOf(message)) >= rank("vip")
        if (privileged.get(message.broadcaster_user_id) === isPrivileged) return Effect.void
        privileged.set(message.broadcaster_user_id, isPrivileged)
        return chat.setPrivileged(message.broadcaster_user_id, isPrivileged)
      }
      const fromElsewhere = (message: ChatMessage) =>
        !resolved.sharedChat && message.source_broadcaster_user_id !== null &&
        message.source_broadcaster_user_id !== message.broadcaster_user_id

      return messages.pipe(
        Stream.mapEffect((message) =>
          message.chatter_user_id === chat.sender
            ? Effect.as(own(message), Option.none())
            : fromElsewhere(message)
            ? Effect.succeed(Option.none())
            : Effect.map(Clock.currentTimeMillis, (now) => decideOne(message, now))
        ),
        Stream.filterMap((decision) => decision),
        Stream.mapEffect(execute(resolved, reply), { concurrency: self.options.concurrency ?? 16 })
      )
    }))

/**
 * Runs the commands over `messages` until the stream ends (or fails).
 *
 * @since 0.3.0
 * @category running
 */
export const run =
  <E2, R2>(messages: Stream.Stream<ChatMessage, E2, R2>) =>
  <E, R>(self: Commands<E, R>): Effect.Effect<void, E2, R | R2 | ChatSender.ChatSender> =>
    Stream.runDrain(outcomes(messages)(self))
