/**
 * Compiles a transformation-free Schema AST into a plain type guard, ~10× cheaper than
 * `Schema.decodeUnknownEither` / `Schema.is` on a chat message (no output objects, no Either per
 * field). Used as the success path of event decoding; on `false` the real decoder runs and explains.
 * Mirrors `ParseResult`'s rules (records are non-array objects, absent optional keys are skipped, an
 * absent required key is checked as `undefined`). Unsupported nodes (transformations, refinements,
 * index signatures, ...) make the whole compile return `undefined`.
 *
 * @internal
 */
import type * as AST from "effect/SchemaAST"

type Guard = (u: unknown) => boolean

const hasOwn = Object.prototype.hasOwnProperty

const isRecord = (u: unknown): u is { readonly [key: string]: unknown } =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/** @internal */
export const compileGuard = (ast: AST.AST): Guard | undefined => {
  switch (ast._tag) {
    case "StringKeyword":
      return (u) => typeof u === "string"
    case "NumberKeyword":
      return (u) => typeof u === "number"
    case "BooleanKeyword":
      return (u) => typeof u === "boolean"
    case "UnknownKeyword":
    case "AnyKeyword":
      return () => true
    case "NeverKeyword":
      return () => false
    case "UndefinedKeyword":
      return (u) => u === undefined
    case "Literal": {
      const literal = ast.literal
      return (u) => u === literal
    }
    case "Union": {
      const members: Array<Guard> = []
      for (const member of ast.types) {
        const guard = compileGuard(member)
        if (guard === undefined) return undefined
        members.push(guard)
      }
      if (members.length === 2) {
        const [a, b] = members as [Guard, Guard]
        return (u) => a(u) || b(u)
      }
      return (u) => {
        for (let i = 0; i < members.length; i++) if (members[i]!(u)) return true
        return false
      }
    }
    case "TupleType": {
      if (ast.elements.length !== 0 || ast.rest.length !== 1) return undefined
      const element = compileGuard(ast.rest[0]!.type)
      if (element === undefined) return undefined
      return (u) => {
        if (!Array.isArray(u)) return false
        for (let i = 0; i < u.length; i++) if (!element(u[i])) return false
        return true
      }
    }
    case "TypeLiteral": {
      if (ast.indexSignatures.length !== 0) return undefined
      if (ast.propertySignatures.length === 0) return (u) => u !== null && u !== undefined
      const names: Array<string> = []
      const guards: Array<Guard> = []
      const optional: Array<boolean> = []
      for (const ps of ast.propertySignatures) {
        if (typeof ps.name !== "string") return undefined
        const guard = compileGuard(ps.type)
        if (guard === undefined) return undefined
        names.push(ps.name)
        guards.push(guard)
        optional.push(ps.isOptional)
      }
      const n = names.length
      return (u) => {
        if (!isRecord(u)) return false
        for (let i = 0; i < n; i++) {
          const name = names[i]!
          const value = u[name]
          if (value === undefined && optional[i] && !hasOwn.call(u, name)) continue
          if (!guards[i]!(value)) return false
        }
        return true
      }
    }
    default:
      return undefined
  }
}
