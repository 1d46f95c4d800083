// Compiles a transformation-free Schema AST into a plain type guard, ~10× cheaper than
// `Schema.decodeUnknownEither` / `Schema.is` on a chat message (no output objects, no Either per
// field). Used as the success path of event decoding; on `false` the real decoder runs and explains.
// Mirrors `ParseResult`'s rules (records are non-array objects, absent optional keys are skipped, an
// absent required key is checked as `undefined`). Unsupported nodes (transformations, refinements,
// index signatures, ...) make the whole compile return `undefined`.
//
// Where the runtime allows `new Function` (Node; not a browser page with a strict CSP) the guard is
// generated as source, one function per struct with each field read by its literal name, which V8
// turns into monomorphic property loads: ~0.2 µs instead of ~1.2 µs for a chat message with the
// closure tree below. Property names are embedded with `JSON.stringify`, literals are
// passed by reference, so nothing from the wire ever becomes code. Otherwise the closure tree is used.
import type * as AST from "effect/SchemaAST"

type Guard = (u: unknown) => boolean

const hasOwn = Object.prototype.hasOwnProperty

const isRecord = (u: unknown): u is { readonly [key: string]: unknown } =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/** @internal */
export const compileGuard = (ast: AST.AST): Guard | undefined => generateGuard(ast) ?? compileClosures(ast)

const isArrayOf = (u: unknown, element: Guard): boolean => {
  if (!Array.isArray(u)) return false
  for (let i = 0; i < u.length; i++) if (!element(u[i])) return false
  return true
}

/**
 * The same rules as {@link compileClosures}, generated as source; `undefined` when unsupported or not allowed.
 *
 * @internal
 */
export const generateGuard = (root: AST.AST): Guard | undefined => {
  const literals: Array<unknown> = []
  const functions: Array<string> = []
  const structs = new Map<AST.AST, string>()
  const expression = (ast: AST.AST, v: string): string | undefined => {
    switch (ast._tag) {
      case "StringKeyword":
        return `typeof ${v} === "string"`
      case "NumberKeyword":
        return `typeof ${v} === "number"`
      case "BooleanKeyword":
        return `typeof ${v} === "boolean"`
      case "UnknownKeyword":
      case "AnyKeyword":
        return "true"
      case "NeverKeyword":
        return "false"
      case "UndefinedKeyword":
        return `${v} === undefined`
      case "Literal":
        literals.push(ast.literal)
        return `${v} === L[${literals.length - 1}]`
      case "Union": {
        const members: Array<string> = []
        for (const member of ast.types) {
          const e = expression(member, v)
          if (e === undefined) return undefined
          members.push(`(${e})`)
        }
        return members.length === 0 ? "false" : members.join(" || ")
      }
      case "TupleType": {
        if (ast.elements.length !== 0 || ast.rest.length !== 1) return undefined
        const element = fn(ast.rest[0]!.type)
        return element === undefined ? undefined : `isArrayOf(${v}, ${element})`
      }
      case "TypeLiteral": {
        const struct = fn(ast)
        return struct === undefined ? undefined : `${struct}(${v})`
      }
      default:
        return undefined
    }
  }
  /** a named function checking `u` against `ast` */
  const fn = (ast: AST.AST): string | undefined => {
    const known = structs.get(ast)
    if (known !== undefined) return known
    const name = `f${functions.length}`
    structs.set(ast, name)
    functions.push("")
    let body: string
    if (ast._tag === "TypeLiteral") {
      if (ast.indexSignatures.length !== 0) return undefined
      if (ast.propertySignatures.length === 0) body = "return u !== null && u !== undefined"
      else {
        const lines = ["if (typeof u !== \"object\" || u === null || Array.isArray(u)) return false"]
        let i = 0
        for (const ps of ast.propertySignatures) {
          if (typeof ps.name !== "string") return undefined
          const key = JSON.stringify(ps.name)
          const v = `p${i++}`
          const check = expression(ps.type, v)
          if (check === undefined) return undefined
          lines.push(`const ${v} = u[${key}]`)
          lines.push(
            ps.isOptional
              ? `if (!(${v} === undefined && !hasOwn.call(u, ${key})) && !(${check})) return false`
              : `if (!(${check})) return false`
          )
        }
        lines.push("return true")
        body = lines.join("\n")
      }
    } else {
      const check = expression(ast, "u")
      if (check === undefined) return undefined
      body = `return ${check}`
    }
    functions[Number(name.slice(1))] = `function ${name}(u) {\n${body}\n}`
    return name
  }
  const entry = fn(root)
  if (entry === undefined) return undefined
  try {
    const make = new Function("L", "hasOwn", "isArrayOf", `"use strict"\n${functions.join("\n")}\nreturn ${entry}`)
    return make(literals, hasOwn, isArrayOf) as Guard
  } catch {
    // code generation is not allowed here (e.g. a Content-Security-Policy without 'unsafe-eval')
    return undefined
  }
}

/** @internal */
export const compileClosures = (ast: AST.AST): Guard | undefined => {
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
        const guard = compileClosures(member)
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
      const element = compileClosures(ast.rest[0]!.type)
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
        const guard = compileClosures(ps.type)
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
