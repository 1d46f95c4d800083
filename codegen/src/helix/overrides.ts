/**
 * Reviewed corrections to Twitch's (unofficial) Helix description: `codegen/overrides/helix.json`.
 * Every entry carries the reason it exists.
 */
import type { Spec } from "./spec.js"

/** A change to the spec itself, at a JSON pointer (`#/paths/~1users/get/...`). */
export interface Patch {
  readonly at: string
  /** shallow-merged into the object at `at` */
  readonly merge?: Readonly<Record<string, unknown>>
  /** keys deleted from the object at `at` */
  readonly remove?: ReadonlyArray<string>
  /** names taken out of the `required` list of the object at `at` */
  readonly optional?: ReadonlyArray<string>
  /** names added to the `required` list of the object at `at` */
  readonly require?: ReadonlyArray<string>
  readonly reason: string
}

/** What the spec cannot say about an operation. */
export interface OperationOverride {
  readonly scopes?: ReadonlyArray<string>
  readonly token?: "user" | "app" | "either" | "jwt"
  readonly actingUser?: string | null
  readonly pageSize?: number
  readonly paginated?: boolean
  readonly batch?: ReadonlyArray<string> | null
  /** parameters Twitch also accepts in the query string although the spec puts them in the body */
  readonly alsoInQuery?: ReadonlyArray<string>
  /** body fields the spec types as strings that Twitch also takes as JSON numbers (the simulator accepts both) */
  readonly numbersAsStrings?: ReadonlyArray<string>
  readonly reason: string
}

export interface Overrides {
  readonly patches: ReadonlyArray<Patch>
  readonly operations: Readonly<Record<string, OperationOverride>>
}

const unescape = (token: string): string => token.replace(/~1/g, "/").replace(/~0/g, "~")

const locate = (root: unknown, pointer: string): Record<string, unknown> => {
  if (!pointer.startsWith("#/")) throw new Error(`override pointer must start with #/: ${pointer}`)
  let node = root
  for (const token of pointer.slice(2).split("/").map(unescape)) {
    if (typeof node !== "object" || node === null || !(token in node)) {
      throw new Error(`override points at nothing: ${pointer} (at ${token})`)
    }
    node = (node as Record<string, unknown>)[token]
  }
  if (typeof node !== "object" || node === null) throw new Error(`override target is not an object: ${pointer}`)
  return node as Record<string, unknown>
}

/** A copy of the spec with every patch applied; a patch that points at nothing stops generation. */
export const applyPatches = (spec: Spec, overrides: Overrides): Spec => {
  const copy = structuredClone(spec) as unknown as Record<string, unknown>
  for (const patch of overrides.patches) {
    if (patch.reason.trim() === "") throw new Error(`override without a reason: ${patch.at}`)
    const target = locate(copy, patch.at)
    if (patch.merge !== undefined) Object.assign(target, patch.merge)
    for (const key of patch.remove ?? []) delete target[key]
    const required = new Set((target.required as ReadonlyArray<string> | undefined) ?? [])
    for (const name of patch.optional ?? []) required.delete(name)
    for (const name of patch.require ?? []) required.add(name)
    if (patch.optional !== undefined || patch.require !== undefined) target.required = [...required]
  }
  return copy as unknown as Spec
}
