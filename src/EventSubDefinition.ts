/**
 * The shape of an EventSub type definition (type, version, condition and event schemas, scopes) and
 * `define`, its constructor. `EventSubTypes` re-exports all of it with one definition per type + version.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { compileGuard } from "./internal/eventsubGuard.js"

/**
 * The scopes (or token kind) a subscription needs, as data.
 *
 * - `None`: no authorization (e.g. `stream.online`).
 * - `AppToken`: only with an app access token (webhooks / conduits), never over a user-token WebSocket.
 * - `AnyOf`: one of the listed scopes.
 * - `AllOf`: every group, each group satisfied by one of its scopes (e.g. `channel.moderate`).
 *
 * @since 0.1.0
 * @category models
 */
export type Scopes =
  | { readonly _tag: "None" }
  | { readonly _tag: "AppToken" }
  | { readonly _tag: "AnyOf"; readonly anyOf: ReadonlyArray<string> }
  | { readonly _tag: "AllOf"; readonly allOf: ReadonlyArray<ReadonlyArray<string>> }

/**
 * @since 0.1.0
 * @category constructors
 */
export const Scopes = {
  none: { _tag: "None" } as Scopes,
  appToken: { _tag: "AppToken" } as Scopes,
  anyOf: (...anyOf: ReadonlyArray<string>): Scopes => ({ _tag: "AnyOf", anyOf }),
  allOf: (...allOf: ReadonlyArray<ReadonlyArray<string>>): Scopes => ({ _tag: "AllOf", allOf })
}

/**
 * @since 0.1.0
 * @category utils
 */
export const scopesSatisfiedBy = (scopes: Scopes, granted: Iterable<string>): boolean => {
  const set = new Set(granted)
  switch (scopes._tag) {
    case "None":
      return true
    case "AppToken":
      return false
    case "AnyOf":
      return scopes.anyOf.some((s) => set.has(s))
    case "AllOf":
      return scopes.allOf.every((group) => group.some((s) => set.has(s)))
  }
}

/**
 * What `define` takes: a subscription type + version described as data.
 *
 * @since 0.1.0
 * @category models
 */
export interface DefinitionSpec<
  Type extends string = string,
  Version extends string = string,
  C extends Schema.Schema.AnyNoContext = Schema.Schema.AnyNoContext,
  E extends Schema.Schema.AnyNoContext = Schema.Schema.AnyNoContext
> {
  readonly type: Type
  readonly version: Version
  /**
   * Twitch's status for this version: `stable`, `new` (recently added), `beta`, or `withdrawn` (Twitch
   * no longer offers it; kept so that payloads of existing subscriptions still decode: use the newer version).
   */
  readonly status: "stable" | "new" | "beta" | "withdrawn"
  /** `true` when notifications carry `payload.events` (an array) instead of `payload.event`. */
  readonly batched: boolean
  readonly condition: C
  readonly event: E
  readonly scopes: Scopes
  /** The authorization paragraph of the Twitch docs, verbatim. */
  readonly authorization: string
}

/**
 * A typed EventSub subscription type + version, with its decoders compiled.
 *
 * @since 0.1.0
 * @category models
 */
export interface Definition<
  Type extends string = string,
  Version extends string = string,
  C extends Schema.Schema.AnyNoContext = Schema.Schema.AnyNoContext,
  E extends Schema.Schema.AnyNoContext = Schema.Schema.AnyNoContext
> extends DefinitionSpec<Type, Version, C, E> {
  /** Decodes a raw `payload.event` (or `payload.events` when `batched`); compiled once. */
  readonly decodeEvent: (raw: unknown) => Either.Either<Schema.Schema.Type<E>, ParseResult.ParseError>
  /** Decodes a raw condition object; compiled once. */
  readonly decodeCondition: (raw: unknown) => Either.Either<Schema.Schema.Type<C>, ParseResult.ParseError>
}

/**
 * Builds a definition and compiles its decoders once.
 *
 * @since 0.1.0
 * @category constructors
 */
export const define = <
  const Type extends string,
  const Version extends string,
  C extends Schema.Schema.AnyNoContext,
  E extends Schema.Schema.AnyNoContext
>(options: DefinitionSpec<Type, Version, C, E>): Definition<Type, Version, C, E> => {
  // unknown fields never fail a decode (Twitch adds fields without a new version); stated, not defaulted
  const decode = Schema.decodeUnknownEither(options.event, { onExcessProperty: "ignore", errors: "all" })
  // Event schemas have no transformations (Type = Encoded), so a value that passes the compiled guard
  // is its own decoded form (unknown fields stay on the object at runtime; the type ignores them).
  const guard = compileGuard(options.event.ast)
  const decodeEvent: Definition<Type, Version, C, E>["decodeEvent"] = guard === undefined
    ? (raw) => decode(raw)
    : (raw) => guard(raw) ? Either.right(raw as Schema.Schema.Type<E>) : decode(raw)
  return {
    ...options,
    decodeEvent,
    decodeCondition: Schema.decodeUnknownEither(options.condition)
  }
}

/**
 * A field that Twitch sends as `null` (or may leave out): `field?: A | null`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Nullable = <S extends Schema.Schema.AnyNoContext>(schema: S) =>
  Schema.optionalWith(Schema.NullOr(schema), { exact: true })

/**
 * A string whose known values are listed but which Twitch may extend: the type offers the known
 * values (`"a" | "b" | (string & {})`), the schema accepts any string, so a value Twitch adds later
 * still decodes.
 *
 * @since 0.1.0
 * @category models
 */
export type OpenString<Known extends string> = Known | (string & {})

/**
 * The schema of an {@link OpenString}: a plain `Schema.String` at runtime, typed with the known values.
 *
 * @since 0.1.0
 * @category schemas
 */
export const OpenString = <const Known extends ReadonlyArray<string>>(
  ...known: Known
): Schema.Schema<OpenString<Known[number]>, string> =>
  Schema.make<OpenString<Known[number]>, string, never>(
    Schema.String.annotations({ description: `one of ${known.join(", ")}, or a value Twitch adds later` }).ast
  )
