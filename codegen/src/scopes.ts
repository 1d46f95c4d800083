// Scopes: every OAuth scope of the oauth2 security scheme of codegen/inputs/helix-openapi.json, as a
// constant, the literal union `Scope`, the list `all`, a Schema and a guard.
import * as Schema from "effect/Schema"
import type { Context } from "./emit.js"
import { asciiJson, inputPath, moduleDoc } from "./emit.js"

const INPUT = "helix-openapi.json"

export const outputs = { scopes: "src/Scopes.ts" } as const

const Spec = Schema.Struct({
  components: Schema.Struct({
    securitySchemes: Schema.Record({
      key: Schema.String,
      value: Schema.Struct({
        type: Schema.String,
        flows: Schema.optional(Schema.Record({
          key: Schema.String,
          value: Schema.Struct({ scopes: Schema.Record({ key: Schema.String, value: Schema.String }) })
        }))
      })
    })
  })
})

/** Every scope of every oauth2 flow of the spec, with its description, sorted by scope. */
export const readScopes = (spec: unknown): ReadonlyArray<readonly [scope: string, description: string]> => {
  const scopes = new Map<string, string>()
  for (const scheme of Object.values(Schema.decodeUnknownSync(Spec)(spec).components.securitySchemes)) {
    if (scheme.type !== "oauth2") continue
    for (const flow of Object.values(scheme.flows ?? {})) {
      for (const [scope, description] of Object.entries(flow.scopes)) {
        const known = scopes.get(scope)
        if (known !== undefined && known !== description) throw new Error(`${scope}: two descriptions`)
        scopes.set(scope, description)
      }
    }
  }
  return [...scopes].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
}

const constName = (scope: string): string => scope.toUpperCase().replace(/[^A-Z0-9]/g, "_")

const doc = (lines: ReadonlyArray<string>): string =>
  "/**\n" + lines.map((l) => l === "" ? " *" : ` * ${l}`).join("\n") + "\n */\n"

export const generateScopes = (ctx: Context): void => {
  const scopes = readScopes(ctx.readInput(INPUT))
  const names = scopes.map(([scope]) => constName(scope))
  if (new Set(names).size !== names.length) throw new Error("two scopes map to one constant name")
  const constants = scopes.map(([scope, description], i) =>
    doc([description.replaceAll("*/", "*\\/"), "", "@since 0.1.0", "@category constants"]) +
    `export const ${names[i]} = ${asciiJson(scope)} as const\n`
  )
  ctx.writeGenerated(
    outputs.scopes,
    moduleDoc([inputPath(INPUT)], [
      "Every Twitch OAuth scope, as a typed literal and as named constants (`Scopes.USER_READ_CHAT`).",
      "Source: the oauth2 security scheme of Twitch's Helix reference (helix-openapi.json)."
    ]) +
      `import * as Schema from "effect/Schema"\n\n` +
      constants.join("\n") + "\n" +
      doc(["Any Twitch scope.", "", "@since 0.1.0", "@category models"]) +
      "export type Scope = (typeof all)[number]\n\n" +
      doc(["Every scope, sorted.", "", "@since 0.1.0", "@category constants"]) +
      "export const all = [\n" + names.map((n) => `  ${n}`).join(",\n") + "\n] as const\n\n" +
      doc(["Schema of a known scope literal.", "", "@since 0.1.0", "@category schemas"]) +
      "export const ScopeSchema: Schema.Schema<Scope> = Schema.Literal(...all)\n\n" +
      doc(["Whether a string is a known Twitch scope.", "", "@since 0.1.0", "@category guards"]) +
      "export const isScope: (u: unknown) => u is Scope = Schema.is(ScopeSchema)\n"
  )
}
