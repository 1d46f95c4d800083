// The layer stack shared by `Client` and `Bot`: OAuth, AccessTokens and DeviceAuth under Helix and
// EventSub acting as a default user.
import * as Layer from "effect/Layer"
import * as AccessTokens from "../AccessTokens.js"
import * as DeviceAuth from "../DeviceAuth.js"
import * as EventSub from "../EventSub.js"
import * as Helix from "../Helix.js"
import * as OAuth from "../OAuth.js"

/** @internal */
export interface StackOptions {
  readonly oauth?: OAuth.Options | undefined
  readonly accessTokens?: AccessTokens.Options | undefined
  readonly helix?: Omit<Helix.Options, "defaultUser"> | undefined
  readonly eventSub?: Omit<EventSub.Options, "defaultUser"> | undefined
}

/** @internal */
export const layerAuth = (options: StackOptions) =>
  Layer.merge(AccessTokens.layer(options.accessTokens), DeviceAuth.layer).pipe(
    Layer.provideMerge(OAuth.layer(options.oauth))
  )

/** @internal */
export const layerApis = (options: StackOptions, defaultUser: string | undefined) =>
  EventSub.layer({ ...options.eventSub, defaultUser }).pipe(
    Layer.provideMerge(Helix.layer({ ...options.helix, defaultUser }))
  )
