// The simulator's route table (generated from Twitch's Helix description by codegen/src/helix/emitRoutes.ts).
import { readFileSync } from "node:fs"

/** A JSON schema as the route table writes it (lean: no descriptions). @internal */
export interface RouteSchema {
  readonly type?: "string" | "integer" | "number" | "boolean" | "array" | "object"
  readonly properties?: Readonly<Record<string, RouteSchema>>
  readonly required?: ReadonlyArray<string>
  readonly items?: RouteSchema
  readonly enum?: ReadonlyArray<string | number | boolean>
  readonly nullable?: boolean
  readonly additionalProperties?: boolean | RouteSchema
}

/** @internal */
export interface RouteParam {
  readonly name: string
  readonly required: boolean
  readonly array: boolean
  readonly type: string
  readonly enum?: ReadonlyArray<string | number | boolean>
}

/** @internal */
export interface Route {
  readonly id: string
  readonly name: string
  readonly tag: string
  readonly method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE"
  readonly path: `/${string}`
  readonly token: "user" | "app" | "either" | "jwt"
  /** any one of them suffices */
  readonly scopes: ReadonlyArray<string>
  /** the parameter that must equal the token's user id */
  readonly actingUser: string | null
  readonly actingUserRequired: boolean
  readonly query: ReadonlyArray<RouteParam>
  /** `first`: the route takes a `first` parameter (without one, Twitch's page is `pageSize` items) */
  readonly pagination: { readonly pageSize: number; readonly first: boolean } | null
  readonly body: RouteSchema | null
  /** body fields Twitch also accepts in the query string */
  readonly alsoInQuery: ReadonlyArray<string>
  /** body fields typed string that Twitch also takes as a JSON number */
  readonly numbersAsStrings: ReadonlyArray<string>
  readonly successStatus: number
  readonly response: RouteSchema | null
  readonly responseExample: unknown
  readonly requestExample: unknown
  readonly errors: ReadonlyArray<{ readonly status: number; readonly description: string }>
}

let cached: ReadonlyArray<Route> | undefined

/** Every Helix operation, in the spec's order. @internal */
export const helixRoutes = (): ReadonlyArray<Route> => {
  if (cached === undefined) {
    const text = readFileSync(new URL("../helixRoutes.json", import.meta.url), "utf8")
    cached = (JSON.parse(text) as { readonly operations: ReadonlyArray<Route> }).operations
  }
  return cached
}
