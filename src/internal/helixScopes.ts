// Finding scope names in Twitch's error messages ("Missing scope: moderator:read:followers",
// "Missing required scope user:write:chat or user:bot").
import { isScope } from "../Scopes.js"

const SCOPE_LIKE = /[a-z_]+(?::[a-z_]+)+/g

/** @internal */
export const scopesIn = (message: string): ReadonlyArray<string> => {
  const found: Array<string> = []
  for (const match of message.toLowerCase().matchAll(SCOPE_LIKE)) {
    if (isScope(match[0]) && !found.includes(match[0])) found.push(match[0])
  }
  return found
}

/** @internal */
export const mentionsScope = (message: string): boolean => /scope/i.test(message)
