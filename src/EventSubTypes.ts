/**
 * Schemas for the EventSub WebSocket wire protocol: the message envelope (`session_welcome`,
 * `session_keepalive`, `notification`, `session_reconnect`, `revocation`) and one typed definition
 * (condition, event, scopes) per subscription type + version.
 *
 * Decoding is split in two stages so the generic path stays cheap: {@link decodeMessage} parses a
 * frame once and validates only the envelope, keeping `event` raw; {@link decodeEvent} (per
 * definition) or {@link decodeAnyEvent} decodes the payload later, for the subscriber that wants it.
 * Field names are Twitch's wire names (snake_case) and timestamps stay RFC3339 strings.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type { Definition } from "./EventSubDefinition.js"
import { all } from "./generated/EventSubDefinitions.js"
import { describeParseError, TaggedError } from "./internal/errors.js"

export {
  /**
   * @since 0.1.0
   * @category constructors
   */
  define,
  /**
   * @since 0.1.0
   * @category models
   */
  type Definition,
  /**
   * A string with known values that Twitch may extend (`"a" | "b" | (string & {})`); its schema
   * accepts any string.
   *
   * @since 0.1.0
   * @category models
   */
  OpenString,
  /**
   * @since 0.1.0
   * @category models
   */
  Scopes,
  /**
   * `true` when the granted scopes satisfy a definition's `scopes` (`AppToken` is never satisfied
   * by user scopes).
   *
   * @since 0.1.0
   * @category utils
   */
  scopesSatisfiedBy
} from "./EventSubDefinition.js"

/**
 * The schemas the definitions share (the `channel.raid` condition, chat fragments, chat notices,
 * `channel.moderate` actions, ...), from `EventSubShared`.
 *
 * @since 0.1.0
 * @category models
 */
export * from "./EventSubShared.js"

/**
 * The generated definitions, one per subscription type + version (documented in
 * `generated/EventSubDefinitions.ts`, written by `npm run codegen`).
 *
 * @since 0.1.0
 * @category definitions
 */
export * from "./generated/EventSubDefinitions.js"

// ------------------------------------------------------------------------------------------------
// Envelope
// ------------------------------------------------------------------------------------------------

/**
 * `metadata` of every frame. `subscription_type` / `subscription_version` are present on
 * notifications and revocations.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Metadata = Schema.Struct({
  message_id: Schema.String,
  message_type: Schema.String,
  message_timestamp: Schema.String,
  subscription_type: Schema.optionalWith(Schema.String, { exact: true }),
  subscription_version: Schema.optionalWith(Schema.String, { exact: true })
})

/**
 * @since 0.1.0
 * @category models
 */
export interface Metadata extends Schema.Schema.Type<typeof Metadata> {}

/**
 * `payload.session` of `session_welcome` and `session_reconnect`. `keepalive_timeout_seconds` is
 * null on a reconnect, `reconnect_url` null on a welcome; production also sends an undocumented
 * `recovery_url`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Session = Schema.Struct({
  id: Schema.String,
  status: Schema.String,
  connected_at: Schema.String,
  keepalive_timeout_seconds: Schema.optionalWith(Schema.NullOr(Schema.Number), { exact: true }),
  reconnect_url: Schema.optionalWith(Schema.NullOr(Schema.String), { exact: true }),
  recovery_url: Schema.optionalWith(Schema.NullOr(Schema.String), { exact: true })
})

/**
 * @since 0.1.0
 * @category models
 */
export interface Session extends Schema.Schema.Type<typeof Session> {}

/**
 * @since 0.1.0
 * @category schemas
 */
export const Transport = Schema.Struct({
  method: Schema.String,
  session_id: Schema.optionalWith(Schema.String, { exact: true }),
  callback: Schema.optionalWith(Schema.String, { exact: true }),
  conduit_id: Schema.optionalWith(Schema.String, { exact: true }),
  connected_at: Schema.optionalWith(Schema.String, { exact: true }),
  disconnected_at: Schema.optionalWith(Schema.String, { exact: true })
})

/**
 * @since 0.1.0
 * @category models
 */
export interface Transport extends Schema.Schema.Type<typeof Transport> {}

/**
 * A subscription as carried by notifications and revocations (and returned by Helix). `cost` is
 * always sent by Twitch but missing from some documentation examples, hence optional. `status`
 * stays a string: Twitch adds values (`chat_user_banned`, `websocket_failed_to_reconnect`, ...).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Subscription = Schema.Struct({
  id: Schema.String,
  status: Schema.String,
  type: Schema.String,
  version: Schema.String,
  cost: Schema.optionalWith(Schema.Number, { exact: true }),
  condition: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  transport: Transport,
  created_at: Schema.String
})

/**
 * @since 0.1.0
 * @category models
 */
export interface Subscription extends Schema.Schema.Type<typeof Subscription> {}

const metadataOf = <T extends string>(messageType: T) =>
  Schema.Struct({ ...Metadata.fields, message_type: Schema.Literal(messageType) })

const KnownMessageTypes: ReadonlySet<string> = new Set([
  "session_welcome",
  "session_keepalive",
  "notification",
  "session_reconnect",
  "revocation"
])

/**
 * `session_welcome`, decoded to `{ _tag: "SessionWelcome", metadata, session }`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const SessionWelcome = Schema.transform(
  Schema.Struct({ metadata: metadataOf("session_welcome"), payload: Schema.Struct({ session: Session }) }),
  Schema.typeSchema(Schema.TaggedStruct("SessionWelcome", { metadata: Metadata, session: Session })),
  {
    strict: true,
    decode: ({ metadata, payload }) => ({ _tag: "SessionWelcome" as const, metadata, session: payload.session }),
    encode: ({ metadata, session }) => ({
      metadata: { ...metadata, message_type: "session_welcome" as const },
      payload: { session }
    })
  }
)

/**
 * @since 0.1.0
 * @category models
 */
export interface SessionWelcome extends Schema.Schema.Type<typeof SessionWelcome> {}

/**
 * `session_keepalive` (empty payload), decoded to `{ _tag: "SessionKeepalive", metadata }`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const SessionKeepalive = Schema.transform(
  Schema.Struct({ metadata: metadataOf("session_keepalive"), payload: Schema.optional(Schema.Unknown) }),
  Schema.typeSchema(Schema.TaggedStruct("SessionKeepalive", { metadata: Metadata })),
  {
    strict: true,
    decode: ({ metadata }) => ({ _tag: "SessionKeepalive" as const, metadata }),
    encode: ({ metadata }) => ({ metadata: { ...metadata, message_type: "session_keepalive" as const }, payload: {} })
  }
)

/**
 * @since 0.1.0
 * @category models
 */
export interface SessionKeepalive extends Schema.Schema.Type<typeof SessionKeepalive> {}

const NotificationPayload = Schema.Struct({
  subscription: Subscription,
  event: Schema.optional(Schema.Unknown),
  events: Schema.optional(Schema.Unknown)
}).pipe(Schema.filter((p) => p.event !== undefined || p.events !== undefined || "payload has no event"))

/**
 * `notification`, decoded to `{ _tag: "Notification", metadata, subscription, event }`. `event` is
 * the raw `payload.event` (or `payload.events` for batched types such as `drop.entitlement.grant`):
 * decode it with the subscription's definition ({@link decodeEvent}). Encoding always writes
 * `payload.event`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Notification = Schema.transform(
  Schema.Struct({ metadata: metadataOf("notification"), payload: NotificationPayload }),
  Schema.typeSchema(Schema.TaggedStruct("Notification", {
    metadata: Metadata,
    subscription: Subscription,
    event: Schema.Unknown
  })),
  {
    strict: true,
    decode: ({ metadata, payload }) => ({
      _tag: "Notification" as const,
      metadata,
      subscription: payload.subscription,
      event: payload.event !== undefined ? payload.event : payload.events
    }),
    encode: ({ event, metadata, subscription }) => ({
      metadata: { ...metadata, message_type: "notification" as const },
      payload: { subscription, event }
    })
  }
)

/**
 * @since 0.1.0
 * @category models
 */
export interface Notification extends Schema.Schema.Type<typeof Notification> {}

/**
 * `session_reconnect`, decoded to `{ _tag: "SessionReconnect", metadata, session }`; open
 * `session.reconnect_url` as given.
 *
 * @since 0.1.0
 * @category schemas
 */
export const SessionReconnect = Schema.transform(
  Schema.Struct({ metadata: metadataOf("session_reconnect"), payload: Schema.Struct({ session: Session }) }),
  Schema.typeSchema(Schema.TaggedStruct("SessionReconnect", { metadata: Metadata, session: Session })),
  {
    strict: true,
    decode: ({ metadata, payload }) => ({ _tag: "SessionReconnect" as const, metadata, session: payload.session }),
    encode: ({ metadata, session }) => ({
      metadata: { ...metadata, message_type: "session_reconnect" as const },
      payload: { session }
    })
  }
)

/**
 * @since 0.1.0
 * @category models
 */
export interface SessionReconnect extends Schema.Schema.Type<typeof SessionReconnect> {}

/**
 * `revocation`, decoded to `{ _tag: "Revocation", metadata, subscription }` (`subscription.status`
 * says why: `authorization_revoked`, `user_removed`, `version_removed`, ...).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Revocation = Schema.transform(
  Schema.Struct({ metadata: metadataOf("revocation"), payload: Schema.Struct({ subscription: Subscription }) }),
  Schema.typeSchema(Schema.TaggedStruct("Revocation", { metadata: Metadata, subscription: Subscription })),
  {
    strict: true,
    decode: ({ metadata, payload }) => ({
      _tag: "Revocation" as const,
      metadata,
      subscription: payload.subscription
    }),
    encode: ({ metadata, subscription }) => ({
      metadata: { ...metadata, message_type: "revocation" as const },
      payload: { subscription }
    })
  }
)

/**
 * @since 0.1.0
 * @category models
 */
export interface Revocation extends Schema.Schema.Type<typeof Revocation> {}

/**
 * A frame with a well-formed `metadata` whose `message_type` this library does not know; kept so the
 * client can log it (with its id) and go on.
 *
 * @since 0.1.0
 * @category schemas
 */
export const UnknownMessage = Schema.transform(
  Schema.Struct({
    metadata: Metadata.pipe(
      Schema.filter((m) => !KnownMessageTypes.has(m.message_type) || `known message_type ${m.message_type}`)
    ),
    payload: Schema.optional(Schema.Unknown)
  }),
  Schema.typeSchema(Schema.TaggedStruct("Unknown", { metadata: Metadata, payload: Schema.Unknown })),
  {
    strict: true,
    decode: ({ metadata, payload }) => ({ _tag: "Unknown" as const, metadata, payload }),
    encode: ({ metadata, payload }) => ({ metadata, payload })
  }
)

/**
 * @since 0.1.0
 * @category models
 */
export interface UnknownMessage extends Schema.Schema.Type<typeof UnknownMessage> {}

/**
 * Every EventSub WebSocket frame (after `JSON.parse`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Message = Schema.Union(
  SessionWelcome,
  SessionKeepalive,
  Notification,
  SessionReconnect,
  Revocation,
  UnknownMessage
)

/**
 * @since 0.1.0
 * @category models
 */
export type Message =
  | SessionWelcome
  | SessionKeepalive
  | Notification
  | SessionReconnect
  | Revocation
  | UnknownMessage

// ------------------------------------------------------------------------------------------------
// Errors
// ------------------------------------------------------------------------------------------------

const Tagged = TaggedError("EventSubTypes")

/**
 * A frame or payload that could not be decoded: `InvalidJson` (not JSON, truncated),
 * `InvalidEnvelope` (metadata / payload shape), `InvalidEvent` (the event failed its definition's
 * schema), `InvalidCondition`. Carries the message id when the envelope got that far.
 *
 * @since 0.1.0
 * @category errors
 */
export class EventSubDecodeError extends Tagged<EventSubDecodeError>()("EventSubDecodeError", {
  reason: Schema.Literal("InvalidJson", "InvalidEnvelope", "InvalidEvent", "InvalidCondition"),
  messageId: Schema.optionalWith(Schema.String, { exact: true }),
  subscriptionType: Schema.optionalWith(Schema.String, { exact: true }),
  subscriptionVersion: Schema.optionalWith(Schema.String, { exact: true }),
  description: Schema.String
}) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    const id = this.messageId !== undefined ? ` in message ${this.messageId}` : ""
    const sub = this.subscriptionType !== undefined
      ? ` (${this.subscriptionType} v${this.subscriptionVersion ?? "?"})`
      : ""
    return `EventSub ${this.reason}${id}${sub}: ${this.description}`
  }
}

// ------------------------------------------------------------------------------------------------
// Frame decoding (hot path)
// ------------------------------------------------------------------------------------------------

type Obj = { readonly [key: string]: unknown }

const isObj = (u: unknown): u is Obj => typeof u === "object" && u !== null && !Array.isArray(u)
const optString = (u: unknown): boolean => u === undefined || typeof u === "string"
const optNullString = (u: unknown): boolean => u === undefined || u === null || typeof u === "string"

const isMetadata = (m: unknown): m is Metadata =>
  isObj(m) && typeof m.message_id === "string" && typeof m.message_type === "string" &&
  typeof m.message_timestamp === "string" && optString(m.subscription_type) && optString(m.subscription_version)

const isTransport = (t: unknown): t is Transport =>
  isObj(t) && typeof t.method === "string" && optString(t.session_id) && optString(t.callback) &&
  optString(t.conduit_id) && optString(t.connected_at) && optString(t.disconnected_at)

const isSubscription = (s: unknown): s is Subscription =>
  isObj(s) && typeof s.id === "string" && typeof s.status === "string" && typeof s.type === "string" &&
  typeof s.version === "string" && (s.cost === undefined || typeof s.cost === "number") && isObj(s.condition) &&
  isTransport(s.transport) && typeof s.created_at === "string"

const isSession = (s: unknown): s is Session =>
  isObj(s) && typeof s.id === "string" && typeof s.status === "string" && typeof s.connected_at === "string" &&
  (s.keepalive_timeout_seconds === undefined || s.keepalive_timeout_seconds === null ||
    typeof s.keepalive_timeout_seconds === "number") &&
  optNullString(s.reconnect_url) && optNullString(s.recovery_url)

const decodeWithSchema = Schema.decodeUnknownEither(Message)

const envelopeError = (json: unknown, metadata: Metadata | undefined): Either.Either<Message, EventSubDecodeError> =>
  // The hand-written checks below mirror the schemas; on a miss, the schema decides and explains.
  Either.mapLeft(decodeWithSchema(json), (error) =>
    new EventSubDecodeError({
      reason: "InvalidEnvelope",
      ...(metadata !== undefined ? { messageId: metadata.message_id } : {}),
      ...(metadata?.subscription_type !== undefined ? { subscriptionType: metadata.subscription_type } : {}),
      ...(metadata?.subscription_version !== undefined ? { subscriptionVersion: metadata.subscription_version } : {}),
      description: describeParseError(error, "does not match its schema")
    }))

/**
 * Validates an already parsed frame as a {@link Message}; same result as decoding with the
 * {@link Message} schema, but with hand-written checks on the success path (see {@link decodeMessage}).
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeMessageUnknown = (json: unknown): Either.Either<Message, EventSubDecodeError> => {
  if (!isObj(json)) return envelopeError(json, undefined)
  const metadata = json.metadata
  if (!isMetadata(metadata)) return envelopeError(json, undefined)
  const payload = json.payload
  switch (metadata.message_type) {
    case "notification": {
      if (!isObj(payload)) break
      const subscription = payload.subscription
      const event = payload.event !== undefined ? payload.event : payload.events
      if (!isSubscription(subscription) || event === undefined) break
      return Either.right({ _tag: "Notification", metadata, subscription, event })
    }
    case "session_keepalive":
      return Either.right({ _tag: "SessionKeepalive", metadata })
    case "session_welcome": {
      if (!isObj(payload) || !isSession(payload.session)) break
      return Either.right({ _tag: "SessionWelcome", metadata, session: payload.session })
    }
    case "session_reconnect": {
      if (!isObj(payload) || !isSession(payload.session)) break
      return Either.right({ _tag: "SessionReconnect", metadata, session: payload.session })
    }
    case "revocation": {
      if (!isObj(payload) || !isSubscription(payload.subscription)) break
      return Either.right({ _tag: "Revocation", metadata, subscription: payload.subscription })
    }
    default:
      return Either.right({ _tag: "Unknown", metadata, payload })
  }
  return envelopeError(json, metadata)
}

/**
 * Decodes one WebSocket text frame: `JSON.parse` once, then validate the envelope; the event stays
 * raw (`Notification.event`). Never throws: bad JSON and bad envelopes are `Left`s, an unknown
 * `message_type` is a `Right` of {@link UnknownMessage}.
 *
 * Hot path: the success path checks the envelope fields by hand (the schemas above are the
 * reference, and decide/explain every failure). Decoded objects are the parsed JSON itself, so
 * unknown fields are ignored by the types but still present at runtime.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeMessage = (frame: string): Either.Either<Message, EventSubDecodeError> => {
  let json: unknown
  try {
    json = JSON.parse(frame)
  } catch (error) {
    return Either.left(
      new EventSubDecodeError({
        reason: "InvalidJson",
        description: error instanceof Error ? error.message : String(error)
      })
    )
  }
  return decodeMessageUnknown(json)
}

// ------------------------------------------------------------------------------------------------
// Definitions: lookup, events
// ------------------------------------------------------------------------------------------------

/**
 * Any definition.
 *
 * @since 0.1.0
 * @category models
 */
export type AnyDefinition = Definition<string, string, Schema.Schema.AnyNoContext, Schema.Schema.AnyNoContext>

/**
 * The decoded event of a definition: `Event<typeof ChannelFollowV2>`.
 *
 * @since 0.1.0
 * @category type-level
 */
export type Event<D extends AnyDefinition> = Schema.Schema.Type<D["event"]>

/**
 * The condition a definition takes: `Condition<typeof ChannelFollowV2>`.
 *
 * @since 0.1.0
 * @category type-level
 */
export type Condition<D extends AnyDefinition> = Schema.Schema.Type<D["condition"]>

/**
 * One of the 82 known definitions.
 *
 * @since 0.1.0
 * @category models
 */
export type KnownDefinition = (typeof all)[number]

// type → version → definition (nested maps: no key string built per lookup on the hot path)
const lookup = new Map<string, Map<string, KnownDefinition>>()
for (const definition of all) {
  const versions = lookup.get(definition.type) ?? new Map<string, KnownDefinition>()
  versions.set(definition.version, definition)
  lookup.set(definition.type, versions)
}
const find = (type: string, version: string): KnownDefinition | undefined => lookup.get(type)?.get(version)

/**
 * The definition of a subscription type + version.
 *
 * @since 0.1.0
 * @category definitions
 */
export const byTypeAndVersion = (type: string, version: string): Option.Option<KnownDefinition> =>
  Option.fromNullable(find(type, version))

/**
 * A notification of a type / version this library has no definition for, handed over raw.
 *
 * @since 0.1.0
 * @category schemas
 */
export const GenericEvent = Schema.TaggedStruct("GenericEvent", {
  type: Schema.String,
  version: Schema.String,
  subscription: Subscription,
  event: Schema.Unknown
})

/**
 * @since 0.1.0
 * @category models
 */
export interface GenericEvent extends Schema.Schema.Type<typeof GenericEvent> {}

type KnownEventOf<D> = D extends Definition<infer T, infer V, Schema.Schema.AnyNoContext, infer E> ? {
    readonly _tag: "KnownEvent"
    readonly type: T
    readonly version: V
    readonly subscription: Subscription
    readonly event: Schema.Schema.Type<E>
  }
  : never

/**
 * A decoded event of a known definition; narrow on `type` (and `version` where two exist).
 *
 * @since 0.1.0
 * @category models
 */
export type KnownEvent = KnownEventOf<KnownDefinition>

const eventError = (
  notification: Notification,
  reason: "InvalidEvent" | "InvalidCondition",
  error: ParseResult.ParseError
) =>
  new EventSubDecodeError({
    reason,
    messageId: notification.metadata.message_id,
    subscriptionType: notification.subscription.type,
    subscriptionVersion: notification.subscription.version,
    description: describeParseError(error, "does not match its schema")
  })

/**
 * Decodes a notification's event with the given definition (the caller routed it by subscription).
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeEvent = <D extends AnyDefinition>(
  definition: D,
  notification: Notification
): Either.Either<Event<D>, EventSubDecodeError> =>
  Either.mapLeft(definition.decodeEvent(notification.event), (error) => eventError(notification, "InvalidEvent", error))

/**
 * Decodes a notification's event with the definition of its subscription's type + version; an
 * unknown type / version becomes a {@link GenericEvent}, never a failure.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeAnyEvent = (
  notification: Notification
): Either.Either<KnownEvent | GenericEvent, EventSubDecodeError> => {
  const { subscription } = notification
  const definition: AnyDefinition | undefined = find(subscription.type, subscription.version)
  if (definition === undefined) {
    return Either.right({
      _tag: "GenericEvent",
      type: subscription.type,
      version: subscription.version,
      subscription,
      event: notification.event
    })
  }
  const decoded = definition.decodeEvent(notification.event)
  if (Either.isLeft(decoded)) return Either.left(eventError(notification, "InvalidEvent", decoded.left))
  const event: KnownEvent = {
    _tag: "KnownEvent",
    type: definition.type,
    version: definition.version,
    subscription,
    event: decoded.right
  } as KnownEvent
  return Either.right(event)
}

/**
 * Validates a condition against a definition (e.g. before creating the subscription).
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeCondition = <D extends AnyDefinition>(
  definition: D,
  condition: unknown
): Either.Either<Condition<D>, EventSubDecodeError> =>
  Either.mapLeft(definition.decodeCondition(condition), (error) =>
    new EventSubDecodeError({
      reason: "InvalidCondition",
      subscriptionType: definition.type,
      subscriptionVersion: definition.version,
      description: describeParseError(error, "does not match its schema")
    }))
