// Contracts between the simulator's parts (core/OAuth/Helix and EventSub).

/** What the simulator knows about an access token it issued. @internal */
export interface SimTokenInfo {
  readonly token: string
  readonly clientId: string
  /** null for app tokens (client credentials). */
  readonly userId: string | null
  readonly login: string | null
  readonly scopes: ReadonlyArray<string>
  /** epoch millis */
  readonly expiresAt: number
}

/** How a Helix-side request was authenticated (the outcome of checking `Authorization` + `Client-Id`). @internal */
export type SimAuthResult =
  | { readonly _tag: "Ok"; readonly token: SimTokenInfo }
  | { readonly _tag: "Unauthorized"; readonly message: string }

/** Given to the EventSub part by the core. @internal */
export interface SimAuth {
  /** Check `Authorization: Bearer` and `Client-Id` header values as Twitch does (unknown/expired/revoked token or client mismatch → Unauthorized). `now` in epoch millis. */
  readonly authenticate: (authorization: string | undefined, clientId: string | undefined, now: number) => SimAuthResult
  /**
   * The scopes `userId` granted `clientId` (the union over the tokens issued to them that are not revoked; expired
   * ones count: an authorization outlives its tokens), or null when the user never authorized the client.
   */
  readonly grantedScopes: (clientId: string, userId: string) => ReadonlyArray<string> | null
  /** Called when a user's token is revoked (`/revoke`) so their EventSub subscriptions become `authorization_revoked`. */
  readonly onRevoke: (listener: (token: SimTokenInfo) => void) => void
}
