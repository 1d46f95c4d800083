// The EventSub types the simulator knows: written by `npm run codegen` from codegen/inputs/eventsub-types.json
// into eventsubExamples.json (shipped next to the part), with each type's condition fields, scopes and events.
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { readFileSync } from "node:fs"
import { controlError, type SimEventSubControlError } from "./model.js"

const JsonObject = Schema.Record({ key: Schema.String, value: Schema.Unknown })

const TypeDef = Schema.Struct({
  type: Schema.String,
  version: Schema.String,
  conditionFields: Schema.Array(Schema.String),
  scopes: Schema.Array(Schema.Array(Schema.String)),
  event: Schema.optional(JsonObject),
  events: Schema.optional(Schema.Array(JsonObject))
})

/** One type + version. @internal */
export type TypeDef = typeof TypeDef.Type

const decodeCatalogue = Schema.decodeUnknown(Schema.parseJson(Schema.Struct({ types: Schema.Array(TypeDef) })))

/** type+version pairs Twitch removed (twitch-cli answers 410 for them). */
const removedTypes: ReadonlySet<string> = new Set(["channel.follow@1"])

/** @internal */
export interface Catalogue {
  readonly get: (type: string, version: string) => TypeDef | undefined
  readonly isRemoved: (type: string, version: string) => boolean
  /** fails with a control error for a type (or type + version) the catalogue does not have */
  readonly check: (
    type: string | undefined,
    version: string | undefined
  ) => Effect.Effect<void, SimEventSubControlError>
}

const fromTypes = (types: ReadonlyArray<TypeDef>): Catalogue => {
  const defs = new Map<string, TypeDef>()
  const versionsByType = new Map<string, Array<TypeDef>>()
  for (const def of types) {
    defs.set(`${def.type}@${def.version}`, def)
    const list = versionsByType.get(def.type) ?? []
    list.push(def)
    versionsByType.set(def.type, list)
  }
  return {
    get: (type, version) => defs.get(`${type}@${version}`),
    isRemoved: (type, version) => removedTypes.has(`${type}@${version}`),
    check: (type, version) => {
      if (type === undefined) return Effect.void
      const versions = versionsByType.get(type)
      if (versions === undefined || (version !== undefined && !versions.some((d) => d.version === version))) {
        return Effect.fail(controlError(`unknown EventSub type ${type} v${version ?? "*"}`))
      }
      return Effect.void
    }
  }
}

/** Reads the shipped catalogue (a defect if it does not decode: it is generated). @internal */
export const load: Effect.Effect<Catalogue> = Effect.sync(() =>
  readFileSync(new URL("../eventsubExamples.json", import.meta.url), "utf8")
).pipe(
  Effect.flatMap(decodeCatalogue),
  Effect.map((catalogue) => fromTypes(catalogue.types)),
  Effect.orDie
)
