/**
 * Where user tokens live: get / set / remove / list by user id, and a `changes` stream.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"
import type { UserToken } from "./Token.js"

/**
 * @since 0.1.0
 * @category tags
 */
export class TokenStore extends Context.Tag("effect-twitch/TokenStore")<TokenStore, TokenStore.Service>() {}

/**
 * @since 0.1.0
 */
export declare namespace TokenStore {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    readonly get: (userId: string) => Effect.Effect<Option.Option<UserToken>, TokenStoreError>
    /** Adds or replaces the user's token; emits `Added` or `Refreshed` on `changes` once written. */
    readonly set: (token: UserToken) => Effect.Effect<void, TokenStoreError>
    /** Removes the user's token (no-op when absent); emits `Removed` when there was one. */
    readonly remove: (userId: string) => Effect.Effect<void, TokenStoreError>
    readonly list: Effect.Effect<ReadonlyArray<UserToken>, TokenStoreError>
    /** Every change after subscription, in write order: how users persist rotated tokens elsewhere. */
    readonly changes: Stream.Stream<TokenChange>
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export type TokenChange =
  | { readonly _tag: "Added"; readonly token: UserToken }
  | { readonly _tag: "Refreshed"; readonly token: UserToken }
  | { readonly _tag: "Removed"; readonly userId: string }

/**
 * The store could not be read or written (I/O failure, corrupt file, …). A corrupt file is never
 * treated as an empty store.
 *
 * @since 0.1.0
 * @category errors
 */
export class TokenStoreError extends Schema.TaggedError<TokenStoreError>("effect-twitch/TokenStoreError")(
  "TokenStoreError",
  {
    method: Schema.String,
    reason: Schema.Literal("Io", "Corrupt"),
    description: Schema.String,
    cause: Schema.optional(Schema.Defect)
  }
) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `TokenStore.${this.method}: ${this.reason}: ${this.description}`
  }
}
