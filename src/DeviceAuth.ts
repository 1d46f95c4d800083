/**
 * The Device Code flow: show the person a code, wait until they approve it on twitch.tv/activate,
 * then validate and store the new token.
 *
 * @example
 * ```ts
 * import { DeviceAuth } from "effect-twitch"
 * import { Effect, Stream } from "effect"
 *
 * const program = DeviceAuth.DeviceAuth.pipe(
 *   Effect.flatMap((auth) =>
 *     auth.authorize(["user:read:chat"]).pipe(
 *       Stream.runForEach((event) =>
 *         event._tag === "CodeIssued"
 *           ? Effect.log(`Open ${event.verificationUri} and enter ${event.userCode}`)
 *           : event._tag === "Authorized"
 *           ? Effect.log(`authorized as ${event.token.login}`)
 *           : Effect.void
 *       )
 *     )
 *   )
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { TaggedError } from "./internal/errors.js"
import type { OAuthError } from "./OAuth.js"
import { isTransient, makeUserToken, OAuth, OAuthDecodeError } from "./OAuth.js"
import type { Scope } from "./Scopes.js"
import type { UserToken } from "./Token.js"
import type { TokenStoreError } from "./TokenStore.js"
import { TokenStore } from "./TokenStore.js"

/**
 * A started device authorization: what to show the person, and what `poll` needs.
 *
 * @since 0.1.0
 * @category models
 */
export interface DeviceCode {
  /** The code the person types at `verificationUri`. */
  readonly userCode: string
  readonly verificationUri: string
  /** Secret: lets whoever holds it poll for the token. */
  readonly deviceCode: Redacted.Redacted<string>
  /** Seconds the code stays valid (Twitch: 1800). */
  readonly expiresIn: number
  /** Seconds between polls (Twitch: 5). */
  readonly interval: number
  readonly scopes: ReadonlyArray<string>
  /** When the code stops working (start time + `expiresIn`). */
  readonly expiresAt: DateTime.Utc
}

/**
 * What `authorize` emits: first the code to show, a `Waiting` per unanswered poll, and finally the
 * authorized token.
 *
 * @since 0.1.0
 * @category models
 */
export type DeviceAuthEvent =
  | {
    readonly _tag: "CodeIssued"
    readonly userCode: string
    readonly verificationUri: string
    readonly expiresIn: number
  }
  | { readonly _tag: "Waiting"; readonly attempt: number; readonly interval: number }
  | { readonly _tag: "Authorized"; readonly token: UserToken }

const Tagged = TaggedError("DeviceAuth")

/**
 * The device code expired before the person approved it.
 *
 * @since 0.1.0
 * @category errors
 */
export class DeviceCodeExpired
  extends Tagged<DeviceCodeExpired>()("DeviceCodeExpired", { method: Schema.String, userCode: Schema.String })
{
  /** @since 0.1.0 */
  override get message(): string {
    return `DeviceAuth.${this.method}: device code ${this.userCode} expired before it was approved`
  }
}

/**
 * The person declined the authorization request.
 *
 * @since 0.1.0
 * @category errors
 */
export class DeviceAccessDenied
  extends Tagged<DeviceAccessDenied>()("DeviceAccessDenied", { method: Schema.String, userCode: Schema.String })
{
  /** @since 0.1.0 */
  override get message(): string {
    return `DeviceAuth.${this.method}: authorization of device code ${this.userCode} was denied`
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export type DeviceAuthError = DeviceCodeExpired | DeviceAccessDenied | OAuthError | TokenStoreError

/**
 * @since 0.1.0
 * @category tags
 */
export class DeviceAuth extends Context.Tag("effect-twitch/DeviceAuth")<DeviceAuth, DeviceAuth.Service>() {}

/**
 * @since 0.1.0
 */
export declare namespace DeviceAuth {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    /** Asks Twitch for a device code. Show `userCode` and `verificationUri` to the person. */
    readonly start: (scopes: ReadonlyArray<Scope>) => Effect.Effect<DeviceCode, DeviceAuthError>
    /**
     * Polls at the code's interval (+5 s after each `slow_down`) until the person approves, then
     * validates the token (user id, login, scopes), stores it in the `TokenStore` and returns it.
     * Fails with `DeviceCodeExpired` at expiry and `DeviceAccessDenied` when declined. Transient
     * failures (5xx, network) are polled through, up to 5 in a row.
     */
    readonly poll: (code: DeviceCode) => Effect.Effect<UserToken, DeviceAuthError>
    /** `start` then `poll` as one stream: `CodeIssued`, `Waiting`…, `Authorized`. */
    readonly authorize: (scopes: ReadonlyArray<Scope>) => Stream.Stream<DeviceAuthEvent, DeviceAuthError>
  }
}

const MAX_CONSECUTIVE_TRANSIENT = 5

/**
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<DeviceAuth.Service, never, OAuth | TokenStore> = Effect.gen(function*() {
  const oauth = yield* OAuth
  const store = yield* TokenStore

  const start = (scopes: ReadonlyArray<Scope>): Effect.Effect<DeviceCode, DeviceAuthError> =>
    Effect.gen(function*() {
      const response = yield* oauth.deviceStart(scopes)
      const now = yield* DateTime.now
      return {
        userCode: response.userCode,
        verificationUri: response.verificationUri,
        deviceCode: response.deviceCode,
        expiresIn: response.expiresIn,
        interval: Math.max(1, response.interval),
        scopes,
        expiresAt: DateTime.addDuration(now, Duration.seconds(response.expiresIn))
      }
    }).pipe(Effect.withSpan("DeviceAuth.start"))

  const pollWith = (
    code: DeviceCode,
    onWaiting: (attempt: number, interval: number) => Effect.Effect<void>
  ): Effect.Effect<UserToken, DeviceAuthError> =>
    Effect.gen(function*() {
      const interval = yield* Ref.make(code.interval)
      const attempts = yield* Ref.make(0)
      const transientInARow = yield* Ref.make(0)
      const waitInterval = Effect.flatMap(Ref.get(interval), (s) => Effect.sleep(Duration.seconds(s)))

      const attempt = oauth.devicePoll(code.deviceCode, code.scopes).pipe(
        Effect.tapError((error) =>
          Effect.gen(function*() {
            const n = yield* Ref.updateAndGet(attempts, (k) => k + 1)
            if (error._tag === "SlowDown") yield* Ref.update(interval, (s) => s + 5)
            yield* Ref.set(transientInARow, isTransient(error) ? (yield* Ref.get(transientInARow)) + 1 : 0)
            if (error._tag === "AuthorizationPending" || error._tag === "SlowDown") {
              yield* onWaiting(n, yield* Ref.get(interval))
            }
          })
        )
      )

      const keepPolling = Schedule.recurWhileEffect((error: OAuthError) =>
        error._tag === "AuthorizationPending" || error._tag === "SlowDown"
          ? Effect.succeed(true)
          : isTransient(error)
          ? Effect.map(Ref.get(transientInARow), (n) => n <= MAX_CONSECUTIVE_TRANSIENT)
          : Effect.succeed(false)
      ).pipe(Schedule.addDelayEffect(() => Effect.map(Ref.get(interval), Duration.seconds)))

      const now = yield* DateTime.now
      const remaining = Math.max(0, DateTime.toEpochMillis(code.expiresAt) - DateTime.toEpochMillis(now))

      const response = yield* Effect.zipRight(waitInterval, Effect.retry(attempt, keepPolling)).pipe(
        Effect.catchTags({
          AccessDenied: () => Effect.fail(new DeviceAccessDenied({ method: "poll", userCode: code.userCode })),
          // Twitch answers "invalid device code" once the code expired (or was used)
          InvalidDeviceCode: () => Effect.fail(new DeviceCodeExpired({ method: "poll", userCode: code.userCode }))
        }),
        Effect.timeoutFail({
          duration: Duration.millis(remaining),
          onTimeout: () => new DeviceCodeExpired({ method: "poll", userCode: code.userCode })
        })
      )

      const validated = yield* oauth.validate(response.accessToken)
      if (Option.isNone(validated.userId)) {
        return yield* new OAuthDecodeError({
          method: "validate",
          status: 200,
          description: "the device flow returned a token without a user id"
        })
      }
      const token = makeUserToken({ token: response, validated, now: yield* DateTime.now })
      yield* store.set(token)
      return token
    })

  const poll = (code: DeviceCode) => pollWith(code, () => Effect.void).pipe(Effect.withSpan("DeviceAuth.poll"))

  const authorize = (scopes: ReadonlyArray<Scope>): Stream.Stream<DeviceAuthEvent, DeviceAuthError> =>
    Stream.unwrapScoped(Effect.gen(function*() {
      const code = yield* start(scopes)
      // small and bounded: the poller waits (back-pressure) if the consumer is slow
      const mailbox = yield* Mailbox.make<DeviceAuthEvent, DeviceAuthError>(16)
      yield* mailbox.offer({
        _tag: "CodeIssued",
        userCode: code.userCode,
        verificationUri: code.verificationUri,
        expiresIn: code.expiresIn
      })
      yield* pollWith(code, (attempt, interval) => Effect.asVoid(mailbox.offer({ _tag: "Waiting", attempt, interval })))
        .pipe(
          Effect.flatMap((token) => mailbox.offer({ _tag: "Authorized", token })),
          Effect.asVoid,
          Mailbox.into(mailbox),
          Effect.forkScoped
        )
      return Mailbox.toStream(mailbox)
    }))

  return DeviceAuth.of({ start, poll, authorize })
})

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<DeviceAuth, never, OAuth | TokenStore> = Layer.effect(DeviceAuth, make)
