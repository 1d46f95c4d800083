import { assert, describe, it } from "@effect/vitest"
import { Either, Option, Schema } from "effect"
import * as fs from "node:fs"
import { EventSubTypes } from "../src/index.js"

interface ExampleRow {
  readonly type: string
  readonly version: string
  readonly name: string
  readonly status: string
  /** Why the docs' example is not what Twitch sends (codegen/overrides/eventsub.json docsExampleWrong). */
  readonly docsExampleWrong?: string
  readonly request: { readonly condition: Record<string, unknown> }
  readonly notification?: {
    readonly subscription: Record<string, unknown>
    readonly event?: unknown
    readonly events?: unknown
  }
}

const fixture = (path: string) => fs.readFileSync(new URL(`./fixtures/${path}`, import.meta.url), "utf8")
const allRows: ReadonlyArray<ExampleRow> = JSON.parse(fixture("eventsub-examples.json"))
/** Rows whose docs' notification example is what Twitch sends. */
const rows = allRows.filter((r): r is ExampleRow & { notification: NonNullable<ExampleRow["notification"]> } =>
  r.notification !== undefined && r.docsExampleWrong === undefined
)
const ws = (name: string) => fixture(`eventsub-ws/${name}.json`)

/** Wraps a documented webhook-style notification in the WebSocket envelope. */
const wsFrame = (
  row: ExampleRow & { readonly notification: NonNullable<ExampleRow["notification"]> },
  messageId = "msg-1"
) =>
  JSON.stringify({
    metadata: {
      message_id: messageId,
      message_type: "notification",
      message_timestamp: "2023-07-19T14:57:00.123456789Z",
      subscription_type: row.type,
      subscription_version: row.version
    },
    payload: {
      ...row.notification,
      subscription: {
        ...row.notification.subscription,
        // the docs' automod.message.update v2 example says "automod.message.hold" here
        type: row.type,
        version: row.version,
        transport: { method: "websocket", session_id: "AQoQILE98gtqShGmLD7AM6yJThAB" }
      }
    }
  })

const decodeMessageSafe = (frame: string) => {
  try {
    return EventSubTypes.decodeMessage(frame)
  } catch (error) {
    assert.fail(`decodeMessage threw: ${String(error)}`)
  }
}

const notificationOf = (frame: string): EventSubTypes.Notification => {
  const message = Either.getOrThrow(decodeMessageSafe(frame))
  assert.strictEqual(message._tag, "Notification")
  return message as EventSubTypes.Notification
}

const decodeWithSchema = Schema.decodeUnknownEither(EventSubTypes.Message)

describe("EventSubTypes definitions", () => {
  it("has 86 definitions (79 types), unique by type + version, all findable", () => {
    // the docs' 82 + Hype Train v1 (withdrawn) x 3 + channel.custom_power_up_redemption.add v1
    assert.strictEqual(EventSubTypes.all.length, 86)
    assert.strictEqual(new Set(EventSubTypes.all.map((d) => d.type)).size, 79)
    assert.strictEqual(new Set(EventSubTypes.all.map((d) => `${d.type}/${d.version}`)).size, 86)
    for (const d of EventSubTypes.all) {
      assert.strictEqual(Option.getOrThrow(EventSubTypes.byTypeAndVersion(d.type, d.version)), d)
    }
    assert.isTrue(Option.isNone(EventSubTypes.byTypeAndVersion("channel.follow", "1")))
    assert.strictEqual(allRows.length, 86)
    assert.strictEqual(rows.length, 75)
  })

  describe("the docs' examples known to differ from what Twitch sends are rejected", () => {
    for (const row of allRows.filter((r) => r.docsExampleWrong !== undefined && r.notification !== undefined)) {
      it(`${row.type} v${row.version}`, () => {
        const definition: EventSubTypes.AnyDefinition = Option.getOrThrow(
          EventSubTypes.byTypeAndVersion(row.type, row.version)
        )
        assert.isTrue(Either.isLeft(definition.decodeEvent(row.notification!.event)), row.docsExampleWrong)
      })
    }
  })

  it("names follow type + version", () => {
    assert.strictEqual(EventSubTypes.ChannelFollowV2.type, "channel.follow")
    assert.strictEqual(EventSubTypes.ChannelFollowV2.version, "2")
    assert.strictEqual(EventSubTypes.ChannelChatMessageV1.type, "channel.chat.message")
    assert.strictEqual(EventSubTypes.AutomodMessageHoldV2.version, "2")
    assert.strictEqual(EventSubTypes.ChannelGuestStarSessionBeginBeta.version, "beta")
    assert.strictEqual(EventSubTypes.ChannelGuestStarSessionBeginBeta.status, "beta")
    assert.isTrue(EventSubTypes.DropEntitlementGrantV1.batched)
    for (const row of allRows) {
      assert.strictEqual((EventSubTypes as unknown as Record<string, { type: string }>)[row.name]?.type, row.type)
    }
  })

  describe("every documented notification example decodes with its definition", () => {
    for (const row of rows) {
      it(`${row.type} v${row.version}`, () => {
        const definition = Option.getOrThrow(EventSubTypes.byTypeAndVersion(row.type, row.version))
        const notification = notificationOf(wsFrame(row))
        const decoded = EventSubTypes.decodeEvent(definition, notification)
        if (Either.isLeft(decoded)) assert.fail(decoded.left.message)
        const any = Either.getOrThrow(EventSubTypes.decodeAnyEvent(notification))
        assert.strictEqual(any._tag, "KnownEvent")
        assert.strictEqual(any.type, row.type)
        assert.strictEqual(any.version, row.version)
        // the subscribe request's condition decodes with the condition schema
        const condition = EventSubTypes.decodeCondition(definition, row.request.condition)
        if (Either.isLeft(condition)) assert.fail(condition.left.message)
        assert.deepStrictEqual(condition.right, row.request.condition)
      })
    }
  })

  it("typed events and conditions", () => {
    const row = rows.find((r) => r.type === "channel.follow")!
    const event: EventSubTypes.Event<typeof EventSubTypes.ChannelFollowV2> = Either.getOrThrow(
      EventSubTypes.decodeEvent(EventSubTypes.ChannelFollowV2, notificationOf(wsFrame(row)))
    )
    const userId: string = event.user_id
    assert.strictEqual(userId, "1234")
    const condition: EventSubTypes.Condition<typeof EventSubTypes.ChannelFollowV2> = {
      broadcaster_user_id: "1",
      moderator_user_id: "1"
    }
    assert.isTrue(Either.isRight(EventSubTypes.decodeCondition(EventSubTypes.ChannelFollowV2, condition)))

    const chat = Either.getOrThrow(
      EventSubTypes.decodeEvent(
        EventSubTypes.ChannelChatMessageV1,
        notificationOf(ws("notification_channel_chat_message_v1_ws_envelope"))
      )
    )
    assert.strictEqual(chat.message.text, "Hi chat")
    assert.strictEqual(chat.badges[1]?.info, "16")
    assert.strictEqual(chat.reply, null)

    const any = Either.getOrThrow(EventSubTypes.decodeAnyEvent(notificationOf(wsFrame(row))))
    if (any._tag === "KnownEvent" && any.type === "channel.follow") {
      assert.strictEqual(any.event.followed_at, "2020-07-15T18:16:11.17106713Z")
    } else {
      assert.fail("expected a channel.follow KnownEvent")
    }
  })

  it("batched types decode payload.events", () => {
    const row = rows.find((r) => r.type === "drop.entitlement.grant")!
    const events = Either.getOrThrow(
      EventSubTypes.decodeEvent(EventSubTypes.DropEntitlementGrantV1, notificationOf(wsFrame(row)))
    )
    assert.strictEqual(events.length, 1)
    assert.strictEqual(events[0]?.data.category_name, "Fortnite")
  })

  it("an event failing its schema is a typed InvalidEvent with the message id", () => {
    const row = rows.find((r) => r.type === "channel.follow")!
    const bad = { ...row, notification: { ...row.notification, event: { user_id: 1234 } } }
    const result = EventSubTypes.decodeEvent(EventSubTypes.ChannelFollowV2, notificationOf(wsFrame(bad, "bad-1")))
    assert.isTrue(Either.isLeft(result))
    const error = Either.flip(result).pipe(Either.getOrThrow)
    assert.strictEqual(error._tag, "EventSubDecodeError")
    assert.strictEqual(error.reason, "InvalidEvent")
    assert.strictEqual(error.messageId, "bad-1")
    assert.include(error.message, "bad-1")
    assert.include(error.message, "channel.follow")
    const any = EventSubTypes.decodeAnyEvent(notificationOf(wsFrame(bad)))
    assert.isTrue(Either.isLeft(any))
  })

  it("unknown type / version → GenericEvent", () => {
    const v1 = notificationOf(ws("notification_channel_follow_v1_doc"))
    const generic = Either.getOrThrow(EventSubTypes.decodeAnyEvent(v1))
    assert.strictEqual(generic._tag, "GenericEvent")
    assert.strictEqual(generic.type, "channel.follow")
    assert.strictEqual(generic.version, "1")
    assert.deepStrictEqual((generic.event as { user_id: string }).user_id, "1337")

    const row = rows.find((r) => r.type === "stream.online")!
    const future = { ...row, type: "channel.future_thing", version: "7" }
    const result = Either.getOrThrow(EventSubTypes.decodeAnyEvent(notificationOf(wsFrame(future))))
    assert.strictEqual(result._tag, "GenericEvent")
    assert.strictEqual(result.version, "7")
  })

  it("channel.raid takes exactly one of from / to", () => {
    const d = EventSubTypes.ChannelRaidV1
    assert.isTrue(Either.isRight(EventSubTypes.decodeCondition(d, { to_broadcaster_user_id: "1" })))
    assert.isTrue(Either.isRight(EventSubTypes.decodeCondition(d, { from_broadcaster_user_id: "1" })))
    assert.isTrue(Either.isLeft(EventSubTypes.decodeCondition(d, {})))
    assert.isTrue(
      Either.isLeft(EventSubTypes.decodeCondition(d, { from_broadcaster_user_id: "1", to_broadcaster_user_id: "2" }))
    )
  })

  it("conditions: required fields required, optional ones optional", () => {
    const missing = EventSubTypes.decodeCondition(EventSubTypes.ChannelFollowV2, { broadcaster_user_id: "1" })
    assert.isTrue(Either.isLeft(missing))
    assert.strictEqual(Either.flip(missing).pipe(Either.getOrThrow).reason, "InvalidCondition")
    assert.isTrue(
      Either.isRight(
        EventSubTypes.decodeCondition(EventSubTypes.ChannelChannelPointsCustomRewardRedemptionAddV1, {
          broadcaster_user_id: "1"
        })
      )
    )
    // ad_break.begin uses broadcaster_user_id (the reference table's broadcaster_id is a doc error)
    assert.isTrue(
      Either.isRight(EventSubTypes.decodeCondition(EventSubTypes.ChannelAdBreakBeginV1, { broadcaster_user_id: "1" }))
    )
  })

  it("scopes as data", () => {
    assert.deepStrictEqual(EventSubTypes.ChannelFollowV2.scopes, { _tag: "AnyOf", anyOf: ["moderator:read:followers"] })
    assert.deepStrictEqual(EventSubTypes.StreamOnlineV1.scopes, { _tag: "None" })
    assert.deepStrictEqual(EventSubTypes.UserWhisperMessageV1.scopes, {
      _tag: "AnyOf",
      anyOf: ["user:read:whispers", "user:manage:whispers"]
    })
    assert.strictEqual(EventSubTypes.DropEntitlementGrantV1.scopes._tag, "AppToken")
    const moderate = EventSubTypes.ChannelModerateV2.scopes
    assert.strictEqual(moderate._tag, "AllOf")
    const groups = moderate._tag === "AllOf" ? moderate.allOf : []
    const oneOfEach = groups.map((g) => g[0]!)
    assert.isTrue(EventSubTypes.scopesSatisfiedBy(moderate, oneOfEach))
    assert.isFalse(EventSubTypes.scopesSatisfiedBy(moderate, oneOfEach.slice(1)))
    assert.isTrue(EventSubTypes.scopesSatisfiedBy(EventSubTypes.UserWhisperMessageV1.scopes, ["user:manage:whispers"]))
    assert.isFalse(EventSubTypes.scopesSatisfiedBy(EventSubTypes.ChannelFollowV2.scopes, []))
    assert.include(EventSubTypes.ChannelChatMessageV1.authorization, "user:bot")
  })
})

describe("EventSubTypes envelope", () => {
  it("documented frames decode", () => {
    const welcome = Either.getOrThrow(decodeMessageSafe(ws("welcome")))
    assert.strictEqual(welcome._tag, "SessionWelcome")
    if (welcome._tag === "SessionWelcome") {
      assert.strictEqual(welcome.session.id, "AQoQILE98gtqShGmLD7AM6yJThAB")
      assert.strictEqual(welcome.session.keepalive_timeout_seconds, 10)
    }
    assert.strictEqual(Either.getOrThrow(decodeMessageSafe(ws("keepalive")))._tag, "SessionKeepalive")
    const reconnect = Either.getOrThrow(decodeMessageSafe(ws("reconnect")))
    assert.strictEqual(reconnect._tag, "SessionReconnect")
    if (reconnect._tag === "SessionReconnect") {
      assert.strictEqual(reconnect.session.reconnect_url, "wss://eventsub.wss.twitch.tv?...")
    }
    const revocation = Either.getOrThrow(decodeMessageSafe(ws("revocation")))
    assert.strictEqual(revocation._tag, "Revocation")
    if (revocation._tag === "Revocation") assert.strictEqual(revocation.subscription.status, "authorization_revoked")
    for (
      const name of [
        "notification_channel_chat_message_v1_ws_envelope",
        "notification_channel_follow_v2_ws_envelope",
        "notification_channel_subscribe_v1_ws_envelope",
        "notification_stream_online_v1_ws_envelope",
        "notification_channel_follow_v1_doc"
      ]
    ) {
      const n = notificationOf(ws(name))
      assert.strictEqual(n.metadata.message_id, "befa7b53-d79d-478f-86b9-120f112b044e")
      assert.strictEqual(n.subscription.transport.method, "websocket")
    }
  })

  it("welcome tolerates the undocumented recovery_url and extra fields", () => {
    const frame = JSON.parse(ws("welcome"))
    frame.payload.session.recovery_url = null
    frame.payload.session.something_new = { a: 1 }
    frame.metadata.extra = true
    frame.extra = [1]
    const message = Either.getOrThrow(decodeMessageSafe(JSON.stringify(frame)))
    assert.strictEqual(message._tag, "SessionWelcome")
    assert.isTrue(Either.isRight(decodeWithSchema(frame)))
  })

  const bad: ReadonlyArray<readonly [string, string, EventSubTypes.EventSubDecodeError["reason"]]> = [
    ["non-JSON", "hello", "InvalidJson"],
    ["truncated JSON", ws("keepalive").slice(0, 40), "InvalidJson"],
    ["empty frame", "", "InvalidJson"],
    ["JSON array", "[1,2]", "InvalidEnvelope"],
    ["JSON null", "null", "InvalidEnvelope"],
    ["no metadata", JSON.stringify({ payload: {} }), "InvalidEnvelope"],
    [
      "message_id not a string",
      JSON.stringify({ metadata: { message_id: 1, message_type: "session_keepalive", message_timestamp: "t" } }),
      "InvalidEnvelope"
    ],
    [
      "notification without subscription",
      JSON.stringify({
        metadata: { message_id: "m1", message_type: "notification", message_timestamp: "t" },
        payload: { event: {} }
      }),
      "InvalidEnvelope"
    ],
    [
      "notification without event",
      JSON.stringify({
        metadata: { message_id: "m1", message_type: "notification", message_timestamp: "t" },
        payload: { subscription: JSON.parse(ws("revocation")).payload.subscription }
      }),
      "InvalidEnvelope"
    ],
    [
      "welcome without session",
      JSON.stringify({
        metadata: { message_id: "m1", message_type: "session_welcome", message_timestamp: "t" },
        payload: {}
      }),
      "InvalidEnvelope"
    ],
    [
      "revocation with a bad subscription",
      JSON.stringify({
        metadata: { message_id: "m1", message_type: "revocation", message_timestamp: "t" },
        payload: { subscription: { id: "x" } }
      }),
      "InvalidEnvelope"
    ]
  ]

  for (const [name, frame, reason] of bad) {
    it(`bad input: ${name} → Left ${reason}, no throw, same verdict as the schema`, () => {
      const result = decodeMessageSafe(frame)
      assert.isTrue(Either.isLeft(result))
      const error = Either.flip(result).pipe(Either.getOrThrow)
      assert.strictEqual(error._tag, "EventSubDecodeError")
      assert.strictEqual(error.reason, reason)
      assert.isString(error.message)
      if (reason === "InvalidEnvelope") assert.isTrue(Either.isLeft(decodeWithSchema(JSON.parse(frame))))
    })
  }

  it("a bad envelope with readable metadata carries the message id", () => {
    const frame = JSON.stringify({
      metadata: { message_id: "m-42", message_type: "session_welcome", message_timestamp: "t" },
      payload: {}
    })
    const error = Either.flip(decodeMessageSafe(frame)).pipe(Either.getOrThrow)
    assert.strictEqual(error.messageId, "m-42")
    assert.include(error.message, "m-42")
  })

  it("unknown message_type → Unknown variant", () => {
    const frame = JSON.stringify({
      metadata: { message_id: "m1", message_type: "session_party", message_timestamp: "t" },
      payload: { x: 1 }
    })
    const message = Either.getOrThrow(decodeMessageSafe(frame))
    assert.strictEqual(message._tag, "Unknown")
    assert.strictEqual(message.metadata.message_type, "session_party")
    const viaSchema = Either.getOrThrow(decodeWithSchema(JSON.parse(frame)))
    assert.strictEqual(viaSchema._tag, "Unknown")
  })

  it("the fast path agrees with the Message schema and round-trips through encode", () => {
    const frames = [
      ...["welcome", "keepalive", "reconnect", "revocation", "notification_channel_chat_message_v1_ws_envelope"].map(
        ws
      ),
      ...rows.map((row) => wsFrame(row))
    ]
    for (const frame of frames) {
      const fast = Either.getOrThrow(decodeMessageSafe(frame))
      const slow = Either.getOrThrow(decodeWithSchema(JSON.parse(frame)))
      assert.strictEqual(fast._tag, slow._tag)
      assert.strictEqual(fast.metadata.message_id, slow.metadata.message_id)
      const encoded = Schema.encodeSync(EventSubTypes.Message)(slow)
      const again = Either.getOrThrow(decodeMessageSafe(JSON.stringify(encoded)))
      assert.deepStrictEqual(again, slow)
    }
  })
})
