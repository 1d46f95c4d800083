/**
 * What a Helix operation is: an {@link Helix.Endpoint} (data: method, path, token, scopes, parameters,
 * the answer's schema) that is also a function running itself with the `Helix` service.
 *
 * Every operation in `effect-twitch/Helix/<Area>` (and `HelixApi`) is generated from Twitch's reference
 * with these constructors; declare an operation Twitch added before this package knows it the same way.
 *
 * ```ts
 * import { Effect, Stream } from "effect"
 * import { Helix, HelixApi } from "effect-twitch"
 *
 * const program = Effect.gen(function*() {
 *   const users = yield* HelixApi.Users.getUsers({ login: ["twitchdev"] })   // ReadonlyArray<User>
 *   yield* HelixApi.Chat.sendChatMessage({ broadcaster_id: users[0]!.id, message: "hi" }) // sender: the acting user
 *   const followers = yield* Stream.runCollect(HelixApi.Channels.getChannelFollowers({ broadcaster_id: "1" }))
 * }).pipe(Helix.withUser("42"))
 * ```
 *
 * @since 0.2.0
 */
import type * as HttpMethod from "@effect/platform/HttpMethod"
import type * as UrlParams from "@effect/platform/UrlParams"
import * as Effect from "effect/Effect"
import type * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { Endpoint, HelixFailure, PageLike, TokenKind } from "./Helix.js"
import { endpoint, Helix } from "./Helix.js"

/**
 * An enum-like field: one of Twitch's documented values, or a value Twitch adds later (kept as a string).
 *
 * @since 0.2.0
 * @category models
 */
export type Open<L extends string> = L | (string & Record<never, never>)

/**
 * The arguments of an operation: optional when every parameter is.
 *
 * @since 0.2.0
 * @category models
 */
export type Args<I> = Record<never, never> extends I ? [input?: I] : [input: I]

/**
 * @since 0.2.0
 * @category models
 */
export interface PageOptions {
  /** Items per request, at most the operation's page size (default: the page size). */
  readonly pageSize?: number | undefined
}

/**
 * An operation whose answer is `{ data: [...] }`: the function returns the `data` array.
 *
 * @since 0.2.0
 * @category models
 */
export interface DataOperation<I, Body extends { readonly data: ReadonlyArray<unknown> }> extends Endpoint<I, Body> {
  (...args: Args<I>): Effect.Effect<Body["data"], HelixFailure, Helix>
}

/**
 * A paginated operation: the function returns every item as a `Stream`, fetched page by page as it is pulled.
 * `Helix.request(operation, input)` returns the first page with its cursor (and totals, where Twitch sends them).
 *
 * @since 0.2.0
 * @category models
 */
export interface PaginatedOperation<I, Body extends PageLike<unknown>> extends Endpoint<I, Body> {
  (...args: [...Args<I>, options?: PageOptions]): Stream.Stream<Body["data"][number], HelixFailure, Helix>
}

/**
 * An operation whose answer has more than a `data` array: the function returns the whole answer.
 *
 * @since 0.2.0
 * @category models
 */
export interface BodyOperation<I, Body> extends Endpoint<I, Body> {
  (...args: Args<I>): Effect.Effect<Body, HelixFailure, Helix>
}

/**
 * An operation Twitch answers with 204 No Content.
 *
 * @since 0.2.0
 * @category models
 */
export interface VoidOperation<I> extends Endpoint<I, void> {
  (...args: Args<I>): Effect.Effect<void, HelixFailure, Helix>
}

/**
 * How an operation is declared: which input fields go to the query string and which to the JSON body.
 *
 * @since 0.2.0
 * @category models
 */
export interface Spec {
  readonly name: string
  readonly method: HttpMethod.HttpMethod
  readonly path: string
  readonly token: TokenKind
  /** Any one of them is enough (empty: none needed). */
  readonly scopes: ReadonlyArray<string>
  readonly query: ReadonlyArray<string>
  /** The body's fields; absent: the request has no body. */
  readonly body?: ReadonlyArray<string> | undefined
  readonly actingUser?: string | undefined
  /** Twitch requires the acting user's parameter: with the app token and none given, the call fails before sending. */
  readonly actingUserRequired?: boolean | undefined
  readonly batch?: ReadonlyArray<string> | undefined
  readonly pageSize?: number | undefined
}

const queryOf = (names: ReadonlyArray<string>) => (input: unknown): UrlParams.Input => {
  const record = (input ?? {}) as Readonly<Record<string, unknown>>
  const out: Array<[string, string]> = []
  for (const name of names) {
    const value = record[name]
    if (value === undefined || value === null) continue
    if (Array.isArray(value)) { for (const item of value) out.push([name, String(item)]) }
    else out.push([name, String(value)])
  }
  return out
}

const bodyOf = (names: ReadonlyArray<string>) => (input: unknown): unknown => {
  const record = (input ?? {}) as Readonly<Record<string, unknown>>
  const out: Record<string, unknown> = {}
  for (const name of names) {
    if (record[name] !== undefined) out[name] = record[name]
  }
  return out
}

const endpointOf = <I, A>(spec: Spec, response: Schema.Schema<A, unknown> | undefined): Endpoint<I, A> => {
  const options = {
    name: spec.name,
    method: spec.method,
    path: spec.path,
    token: spec.token,
    scopes: spec.scopes,
    pageSize: spec.pageSize,
    actingUser: spec.actingUser,
    actingUserRequired: spec.actingUserRequired,
    batch: spec.batch,
    query: queryOf(spec.query),
    body: spec.body === undefined ? undefined : bodyOf(spec.body)
  }
  return (response === undefined ? endpoint(options) : endpoint({ ...options, response })) as Endpoint<I, A>
}

/** The function `run`, carrying the endpoint's fields (a function's own `name` is read-only: defined, not set). */
const callable = <F extends (...args: ReadonlyArray<never>) => unknown, E extends object>(run: F, ep: E): F & E => {
  for (const [key, value] of Object.entries(ep)) {
    Object.defineProperty(run, key, { value, enumerable: true, configurable: true })
  }
  return run as F & E
}

const run = <I, A>(ep: Endpoint<I, A>, input: I | undefined): Effect.Effect<A, HelixFailure, Helix> =>
  Effect.flatMap(Helix, (helix) => helix.request(ep, (input ?? {}) as I))

/**
 * @since 0.2.0
 * @category constructors
 */
export const data = <I, Body extends { readonly data: ReadonlyArray<unknown> }, E>(
  spec: Spec & { readonly response: Schema.Schema<Body, E> }
): DataOperation<I, Body> => {
  const ep = endpointOf<I, Body>(spec, spec.response as Schema.Schema<Body, unknown>)
  return callable((input?: I) => Effect.map(run(ep, input), (body) => body.data), ep) as DataOperation<I, Body>
}

/**
 * @since 0.2.0
 * @category constructors
 */
export const paginated = <I, Body extends PageLike<unknown>, E>(
  spec: Spec & { readonly response: Schema.Schema<Body, E> }
): PaginatedOperation<I, Body> => {
  const ep = endpointOf<I, Body>(spec, spec.response as Schema.Schema<Body, unknown>)
  return callable(
    (input?: I, options?: PageOptions) =>
      Stream.unwrap(Effect.map(Helix, (helix) => helix.paginate(ep, (input ?? {}) as I, options))),
    ep
  ) as unknown as PaginatedOperation<I, Body>
}

/**
 * @since 0.2.0
 * @category constructors
 */
export const body = <I, Body, E>(
  spec: Spec & { readonly response: Schema.Schema<Body, E> }
): BodyOperation<I, Body> => {
  const ep = endpointOf<I, Body>(spec, spec.response as Schema.Schema<Body, unknown>)
  return callable((input?: I) => run(ep, input), ep) as BodyOperation<I, Body>
}

/**
 * @since 0.2.0
 * @category constructors
 */
export const none = <I>(spec: Spec): VoidOperation<I> => {
  const ep = endpointOf<I, void>(spec, undefined)
  return callable((input?: I) => run(ep, input), ep) as VoidOperation<I>
}
