// What Twitch checks before it creates a WebSocket subscription, checked here first so that a refusal names
// what is missing instead of "403 subscription missing proper authorization": the condition fits the type,
// the subscribing user granted the type's scopes, and the condition's authorizing field names that user.
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type { EventSubError } from "../EventSubError.js"
import { EventSubSubscribeError, EventSubUnauthorized } from "../EventSubError.js"
import type * as EventSubTypes from "../EventSubTypes.js"
import { issuePaths } from "./errors.js"

/**
 * Fails with `EventSubSubscribeError` naming the condition's fields that do not fit the type (missing, or not
 * a string).
 *
 * @internal
 */
export const checkCondition = (
  definition: EventSubTypes.AnyDefinition,
  condition: unknown,
  userId: string | undefined
): Effect.Effect<void, EventSubError> => {
  const decoded = definition.decodeCondition(condition)
  return Either.isRight(decoded) ? Effect.void : Effect.fail(
    new EventSubSubscribeError({
      userId: userId ?? "",
      operation: "subscribe",
      type: definition.type,
      version: definition.version,
      description: `the condition does not fit ${definition.type} v${definition.version} at ${
        issuePaths(decoded.left).join(", ")
      } (not sent to Twitch)`
    })
  )
}

/** The condition field Twitch matches against the token's user, for types that need authorization. */
const AUTHORIZING_FIELDS = ["moderator_user_id", "user_id", "broadcaster_user_id"] as const

/**
 * Over a WebSocket the user's token creates the subscription: the user must have granted the type's scopes,
 * and the condition's authorizing field must name that user. Types without scopes need neither.
 *
 * @internal
 */
export const checkUserAuthorization = (
  definition: EventSubTypes.AnyDefinition,
  condition: Readonly<Record<string, unknown>>,
  user: { readonly userId: string; readonly login: string; readonly scopes: ReadonlyArray<string> }
): Effect.Effect<void, EventSubUnauthorized> => {
  const scopes = definition.scopes
  const base = {
    userId: user.userId,
    login: user.login,
    type: definition.type,
    version: definition.version,
    missingScopes: [] as ReadonlyArray<string>,
    appTokenOnly: false
  }
  if (scopes._tag === "None") return Effect.void
  if (scopes._tag === "AppToken") return Effect.fail(new EventSubUnauthorized({ ...base, appTokenOnly: true }))
  const granted = new Set(user.scopes)
  const groups = scopes._tag === "AnyOf" ? [scopes.anyOf] : scopes.allOf
  const missing = groups.filter((group) => !group.some((scope) => granted.has(scope))).map((group) =>
    group.join(" or ")
  )
  if (missing.length > 0) return Effect.fail(new EventSubUnauthorized({ ...base, missingScopes: missing }))
  const field = AUTHORIZING_FIELDS.find((name) => typeof condition[name] === "string")
  const value = field === undefined ? undefined : condition[field] as string
  return value === undefined || value === user.userId
    ? Effect.void
    : Effect.fail(new EventSubUnauthorized({ ...base, conditionField: field, conditionValue: value }))
}
