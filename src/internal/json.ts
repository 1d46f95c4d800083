// Parsing JSON from outside (Twitch answers, the token file) without ever throwing. `JSON.parse`
// itself copes with any nesting, but Schema decoding and error formatting walk a value recursively
// and overflow the stack at a few thousand levels: values nested deeper than `maxJsonDepth` are
// refused here, before a decoder sees them.
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

/**
 * No Twitch answer or token file comes near this (they nest under 10 levels); Schema decoding is
 * safe far beyond it.
 *
 * @internal
 */
export const maxJsonDepth = 64

/** Whether an object or array nests deeper than `max` (iterative: no recursion on hostile input). */
const nestsDeeperThan = (root: unknown, max: number): boolean => {
  const stack: Array<{ readonly value: object; readonly depth: number }> = []
  if (typeof root === "object" && root !== null) stack.push({ value: root, depth: 1 })
  while (stack.length > 0) {
    const { depth, value } = stack.pop()!
    if (depth > max) return true
    for (const child of Array.isArray(value) ? value : Object.values(value)) {
      if (typeof child === "object" && child !== null) stack.push({ value: child, depth: depth + 1 })
    }
  }
  return false
}

/**
 * `JSON.parse` that never throws: `Left` with a description (never the text, which may hold a
 * token) for invalid JSON or JSON nested deeper than `maxDepth`.
 *
 * @internal
 */
export const parseJson = (text: string, maxDepth: number = maxJsonDepth): Either.Either<unknown, string> => {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return Either.left(`not valid JSON (${text.length} characters)`)
  }
  return nestsDeeperThan(value, maxDepth)
    ? Either.left(`JSON nested deeper than ${maxDepth} levels`)
    : Either.right(value)
}

/**
 * A string of JSON, parsed with {@link parseJson}: the safe drop-in for `Schema.parseJson()`. The
 * failure names no value.
 *
 * @internal
 */
export const JsonString: Schema.Schema<unknown, string> = Schema.transformOrFail(Schema.String, Schema.Unknown, {
  strict: true,
  decode: (text, _, ast) =>
    Either.match(parseJson(text), {
      onLeft: (description) => ParseResult.fail(new ParseResult.Type(ast, text, description)),
      onRight: ParseResult.succeed
    }),
  encode: (value, _, ast) =>
    ParseResult.try({
      try: () => JSON.stringify(value),
      catch: () => new ParseResult.Type(ast, value, "cannot be written as JSON")
    })
})

/**
 * `Schema.parseJson(schema)` over {@link JsonString}.
 *
 * @internal
 */
export const parseJsonWith = <A, I, R>(schema: Schema.Schema<A, I, R>): Schema.Schema<A, string, R> =>
  Schema.compose(JsonString, schema)
