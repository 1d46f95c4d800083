// The pure steps of the command runner: reading a chat line, a chatter's level from their badges,
// usage text from an argument Schema, and cooldown bookkeeping.
import * as Option from "effect/Option"
import * as AST from "effect/SchemaAST"

/** @internal */
export const LEVELS = ["anyone", "subscriber", "vip", "moderator", "broadcaster"] as const

/** @internal */
export type Level = typeof LEVELS[number]

/** @internal */
export const rank = (level: Level): number => LEVELS.indexOf(level)

/** @internal */
export interface BadgeLike {
  readonly set_id: string
}

/**
 * The chatter's highest level in the channel the message was sent to: from the badges, and the
 * broadcaster by id as well.
 *
 * @internal
 */
export const levelOf = (message: {
  readonly broadcaster_user_id: string
  readonly chatter_user_id: string
  readonly badges: ReadonlyArray<BadgeLike>
}): Level => {
  if (message.chatter_user_id === message.broadcaster_user_id) return "broadcaster"
  let best: Level = "anyone"
  for (const badge of message.badges) {
    const level: Level | undefined = badge.set_id === "broadcaster"
      ? "broadcaster"
      : badge.set_id === "moderator" || badge.set_id === "lead_moderator"
      ? "moderator"
      : badge.set_id === "vip"
      ? "vip"
      : badge.set_id === "subscriber" || badge.set_id === "founder"
      ? "subscriber"
      : undefined
    if (level !== undefined && rank(level) > rank(best)) best = level
  }
  return best
}

/** @internal */
export interface Line {
  /** the command name as typed, lower case */
  readonly name: string
  /** the words after the name */
  readonly words: ReadonlyArray<string>
  /** the text after the name, trimmed */
  readonly rest: string
}

/**
 * `!so  someone else` → `{ name: "so", words: ["someone", "else"], rest: "someone else" }`;
 * `None` when the text does not start with the prefix or has no name after it.
 *
 * @internal
 */
export const parseLine = (text: string, prefix: string): Option.Option<Line> => {
  const trimmed = text.trim()
  if (!trimmed.startsWith(prefix)) return Option.none()
  const body = trimmed.slice(prefix.length)
  const match = /^(\S+)\s*([\s\S]*)$/.exec(body)
  if (match === null) return Option.none()
  const rest = match[2]!.trim()
  return Option.some({ name: match[1]!.toLowerCase(), words: rest === "" ? [] : rest.split(/\s+/), rest })
}

const nameOf = (ast: AST.AST, fallback: string): string => {
  const own = Option.orElse(AST.getTitleAnnotation(ast), () => AST.getIdentifierAnnotation(ast))
  return Option.getOrElse(own, () => fallback)
}

/**
 * Usage text from an argument Schema over the words: a tuple's elements, `[optional]`, `<rest...>`.
 * Element names come from a `title` (or `identifier`) annotation. `""` for anything else.
 *
 * @internal
 */
export const usageOf = (ast: AST.AST): string => {
  let tuple = ast
  while (tuple._tag === "Transformation" || tuple._tag === "Refinement") {
    tuple = tuple.from
  }
  if (tuple._tag !== "TupleType") return ""
  const parts = tuple.elements.map((element, i) => {
    const name = Option.getOrElse(AST.getTitleAnnotation(element), () => nameOf(element.type, `arg${i + 1}`))
    return element.isOptional ? `[${name}]` : `<${name}>`
  })
  for (const rest of tuple.rest) parts.push(`[${nameOf(rest.type, "text")}...]`)
  return parts.join(" ")
}

/**
 * Cooldowns: `key` → the time (ms) it ends. Expired entries are swept when the map grows.
 *
 * @internal
 */
export class Cooldowns {
  private readonly until = new Map<string, number>()

  /** ms left on the first of `keys` still cooling down at `now` (0: none) */
  remaining(keys: ReadonlyArray<string>, now: number): number {
    let left = 0
    for (const key of keys) left = Math.max(left, (this.until.get(key) ?? 0) - now)
    return left
  }

  start(key: string, now: number, millis: number): void {
    if (millis <= 0) return
    if (this.until.size >= 10_000) {
      for (const [k, end] of this.until) if (end <= now) this.until.delete(k)
    }
    this.until.set(key, now + millis)
  }
}
