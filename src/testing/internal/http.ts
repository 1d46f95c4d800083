// Small request/response helpers shared by the simulator's routers.
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Http from "node:http"

/** @internal */
export const reasonPhrase = (status: number): string => Http.STATUS_CODES[status] ?? "Unknown"

/** JSON answer with a status. @internal */
export const json = (
  body: unknown,
  status = 200,
  headers: Record<string, string> = {}
): HttpServerResponse.HttpServerResponse => HttpServerResponse.unsafeJson(body, { status, headers })

/** Empty answer. @internal */
export const empty = (status: number, headers: Record<string, string> = {}): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.empty({ status, headers })

/** id.twitch.tv error body `{status, message}`. @internal */
export const oauthError = (status: number, message: string): HttpServerResponse.HttpServerResponse =>
  json({ status, message }, status)

/** Helix error body `{error, status, message}`. @internal */
export const helixError = (
  status: number,
  message: string,
  headers: Record<string, string> = {}
): HttpServerResponse.HttpServerResponse => json({ error: reasonPhrase(status), status, message }, status, headers)

/** Parameters of a request: query string plus (for form-encoded bodies) the form fields. @internal */
export interface Params {
  readonly get: (name: string) => string | undefined
  readonly getAll: (name: string) => ReadonlyArray<string>
}

/** Params over a list of pairs. @internal */
export const fromPairs = (pairs: ReadonlyArray<readonly [string, string]>): Params => ({
  get: (name) => pairs.find(([k]) => k === name)?.[1],
  getAll: (name) => pairs.filter(([k]) => k === name).map(([, v]) => v)
})

/** The URL's query parameters. @internal */
export const queryPairs = (
  request: HttpServerRequest.HttpServerRequest
): Array<[string, string]> => [...new URL(request.originalUrl, "http://simulator.invalid").searchParams.entries()]

/** The path without query string, as the client sent it. @internal */
export const originalPath = (request: HttpServerRequest.HttpServerRequest): string =>
  new URL(request.originalUrl, "http://simulator.invalid").pathname

/** Query parameters only. @internal */
export const queryParams: Effect.Effect<Params, never, HttpServerRequest.HttpServerRequest> = Effect.map(
  HttpServerRequest.HttpServerRequest,
  (request) => fromPairs(queryPairs(request))
)

/** Query parameters plus form-encoded body fields (Twitch's OAuth endpoints accept both). @internal */
export const formParams: Effect.Effect<Params, never, HttpServerRequest.HttpServerRequest> = Effect.gen(
  function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const pairs: Array<readonly [string, string]> = queryPairs(request)
    const contentType = request.headers["content-type"] ?? ""
    if (request.method !== "GET" && contentType.includes("application/x-www-form-urlencoded")) {
      const body = yield* Effect.orElseSucceed(request.urlParamsBody, () => [])
      for (const pair of body) pairs.push(pair)
    }
    return fromPairs(pairs)
  }
)

/** The JSON body, or undefined when it is missing or not JSON. @internal */
export const jsonBody: Effect.Effect<unknown, never, HttpServerRequest.HttpServerRequest> = Effect.flatMap(
  HttpServerRequest.HttpServerRequest,
  (request) => Effect.orElseSucceed(request.json, () => undefined)
)

/** Space-separated scope string to a list (also tolerates `+`). @internal */
export const splitScopes = (value: string | undefined): Array<string> =>
  value === undefined ? [] : value.split(/[\s+]+/).filter((s) => s.length > 0)
