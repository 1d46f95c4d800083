import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

/**
 * The one error convention: `TaggedError("Helix")<HelixNotFound>()("HelixNotFound", fields)` is a
 * `Schema.TaggedError` with the identifier `effect-twitch/Helix/HelixNotFound` and a `module` field
 * ("Helix") that the constructor fills in.
 *
 * @internal
 */
export const TaggedError = <const Module extends string>(module: Module) => {
  const moduleField = Schema.propertySignature(Schema.Literal(module)).pipe(
    Schema.withConstructorDefault((): Module => module)
  )
  return <Self = never>() =>
  <const Tag extends string, Fields extends Schema.Struct.Fields>(tag: Tag, fields: Fields) =>
    Schema.TaggedError<Self>(`effect-twitch/${module}/${tag}`)(tag, { ...fields, module: moduleField })
}

/**
 * A field path as users write it: `data[0].login`.
 *
 * @internal
 */
export const formatPath = (path: ReadonlyArray<PropertyKey>): string =>
  path.reduce<string>(
    (acc, key) => typeof key === "number" ? `${acc}[${key}]` : acc === "" ? String(key) : `${acc}.${String(key)}`,
    ""
  ) || "<root>"

/**
 * The distinct paths of the fields that failed to decode, at most `max`. Never the values: a value
 * may be a token or a viewer's chat text.
 *
 * @internal
 */
export const issuePaths = (error: ParseResult.ParseError, max = 5): ReadonlyArray<string> =>
  Array.from(new Set(ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => formatPath(issue.path))))
    .slice(0, max)

/**
 * One line for a decode failure: `<what> at <path>, <path>` (paths only, never values).
 *
 * @internal
 */
export const describeParseError = (error: ParseResult.ParseError, what = "unexpected shape"): string =>
  `${what} at ${issuePaths(error).join(", ")}`
