/**
 * PLACEHOLDER (being written): Twitch OAuth flows. The error union name `OAuthError` is fixed.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * @since 0.1.0
 * @category errors
 */
export class OAuthRequestError extends Schema.TaggedError<OAuthRequestError>("effect-twitch/OAuthRequestError")(
  "OAuthRequestError",
  { method: Schema.String, description: Schema.String }
) {}

/**
 * @since 0.1.0
 * @category errors
 */
export type OAuthError = OAuthRequestError
