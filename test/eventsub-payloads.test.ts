// Payload truth: every definition decodes every production-shaped payload of the corpus
// (codegen/inputs/eventsub-payloads/: twitch-cli's models, peers' captured test payloads, the changelog),
// not only the docs' examples its schema was first inferred from.
import { assert, describe, it } from "@effect/vitest"
import { Either, Option, ParseResult } from "effect"
import * as fs from "node:fs"
import { EventSubTypes } from "../src/index.js"

interface Payload {
  readonly source: string
  readonly condition?: Record<string, unknown>
  readonly event?: unknown
  readonly events?: unknown
}
interface CorpusFile {
  readonly type: string
  readonly version: string
  readonly payloads: ReadonlyArray<Payload>
}

const dir = new URL("../codegen/inputs/eventsub-payloads/", import.meta.url)
const corpus: ReadonlyArray<CorpusFile> = fs.readdirSync(dir).filter((f) => f.endsWith(".json")).sort().map((f) =>
  JSON.parse(fs.readFileSync(new URL(f, dir), "utf8"))
)

/** Each failing field's path and what was expected there (never the value found). */
const explain = (error: ParseResult.ParseError): string =>
  ParseResult.ArrayFormatter.formatErrorSync(error).map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join(
    "; "
  )

describe("EventSub payload corpus", () => {
  it("covers every definition", () => {
    const inCorpus = new Set(corpus.map((f) => `${f.type}@${f.version}`))
    const missing = EventSubTypes.all.map((d) => `${d.type}@${d.version}`).filter((k) => !inCorpus.has(k))
    assert.deepStrictEqual(missing, [])
    for (const file of corpus) {
      assert.isTrue(Option.isSome(EventSubTypes.byTypeAndVersion(file.type, file.version)), file.type)
      assert.isAbove(file.payloads.length, 0)
      for (const p of file.payloads) assert.isAbove(p.source.trim().length, 0)
    }
  })

  for (const file of corpus) {
    it(`${file.type} v${file.version}: ${file.payloads.length} payload(s) decode`, () => {
      const definition: EventSubTypes.AnyDefinition = Option.getOrThrow(
        EventSubTypes.byTypeAndVersion(file.type, file.version)
      )
      const failures: Array<string> = []
      for (const p of file.payloads) {
        const event = definition.batched ? p.events : p.event
        const decoded = definition.decodeEvent(event)
        if (Either.isLeft(decoded)) {
          failures.push(`${file.type} v${file.version} from ${p.source}: event ${explain(decoded.left)}`)
        }
        if (p.condition !== undefined) {
          const condition = definition.decodeCondition(p.condition)
          if (Either.isLeft(condition)) {
            failures.push(`${file.type} v${file.version} from ${p.source}: condition ${explain(condition.left)}`)
          }
        }
      }
      if (failures.length > 0) assert.fail(failures.join("\n"))
    })
  }

  it("unknown fields never fail a decode", () => {
    for (const file of corpus) {
      const definition: EventSubTypes.AnyDefinition = Option.getOrThrow(
        EventSubTypes.byTypeAndVersion(file.type, file.version)
      )
      const p = file.payloads[0]!
      const extra = (u: unknown): unknown =>
        typeof u === "object" && u !== null && !Array.isArray(u) ? { ...u, field_twitch_adds_later: { x: 1 } } : u
      const event = definition.batched ? (p.events as ReadonlyArray<unknown>).map(extra) : extra(p.event)
      const decoded = definition.decodeEvent(event)
      if (Either.isLeft(decoded)) assert.fail(`${file.type} v${file.version}: ${explain(decoded.left)}`)
    }
  })

  it("enum-like fields accept values Twitch adds later", () => {
    // typed with the known values, open to others
    const known: EventSubTypes.Event<typeof EventSubTypes.ChannelChatNotificationV1>["notice_type"] = "watch_streak"
    const later: EventSubTypes.OpenString<"a"> = "b"
    assert.strictEqual(known, "watch_streak")
    assert.strictEqual(later, "b")
    const chat = corpus.find((f) => f.type === "channel.chat.notification")!.payloads[0]!
    const future = { ...(chat.event as object), notice_type: "some_future_notice" }
    assert.isTrue(Either.isRight(EventSubTypes.ChannelChatNotificationV1.decodeEvent(future)))
    const bits = corpus.find((f) => f.type === "channel.bits.use")!.payloads[0]!
    assert.isTrue(
      Either.isRight(EventSubTypes.ChannelBitsUseV1.decodeEvent({ ...(bits.event as object), type: "future_kind" }))
    )
    // a chat fragment's type: text, cheermote, emote or mention, and whatever kind Twitch adds
    const kind: EventSubTypes.Event<typeof EventSubTypes.ChannelChatMessageV1>["message"]["fragments"][number]["type"] =
      "mention"
    assert.strictEqual(kind, "mention")
    const message = corpus.find((f) => f.type === "channel.chat.message")!.payloads[0]!.event as {
      readonly message: { readonly text: string }
    }
    const sticker = { type: "sticker", text: "x", cheermote: null, emote: null, mention: null }
    const withSticker = { ...message, message: { ...message.message, fragments: [sticker] } }
    const decoded = EventSubTypes.ChannelChatMessageV1.decodeEvent(withSticker)
    assert.strictEqual(Either.isRight(decoded) && decoded.right.message.fragments[0]!.type, "sticker")
  })

  it("the five definitions issue 13 names decode what Twitch sends", () => {
    const first = (type: string, version: string) =>
      corpus.find((f) => f.type === type && f.version === version)!.payloads[0]!.event
    const ad = Either.getOrThrow(EventSubTypes.ChannelAdBreakBeginV1.decodeEvent(first("channel.ad_break.begin", "1")))
    assert.strictEqual(typeof ad.duration_seconds, "number")
    assert.strictEqual(typeof ad.is_automatic, "boolean")
    const settings = Either.getOrThrow(
      EventSubTypes.AutomodSettingsUpdateV1.decodeEvent(first("automod.settings.update", "1"))
    )
    assert.strictEqual(typeof settings.bullying, "number")
    const hold = Either.getOrThrow(EventSubTypes.AutomodMessageHoldV1.decodeEvent(first("automod.message.hold", "1")))
    assert.isString(hold.message.text)
    const update = Either.getOrThrow(
      EventSubTypes.AutomodMessageUpdateV1.decodeEvent(first("automod.message.update", "1"))
    )
    assert.isArray(update.message.fragments)
    const auto = corpus.find((f) =>
      f.type === "channel.channel_points_automatic_reward_redemption.add" && f.version === "2"
    )!
    const withEmote = auto.payloads.map((p) =>
      Either.getOrThrow(EventSubTypes.ChannelChannelPointsAutomaticRewardRedemptionAddV2.decodeEvent(p.event))
    ).find((e) => e.reward.emote != null)
    assert.isString(withEmote?.reward.emote?.name)
  })

  it("Hype Train v1 is withdrawn, still decodable; v2 is current", () => {
    assert.strictEqual(EventSubTypes.ChannelHypeTrainBeginV1.status, "withdrawn")
    assert.strictEqual(EventSubTypes.ChannelHypeTrainProgressV1.status, "withdrawn")
    assert.strictEqual(EventSubTypes.ChannelHypeTrainEndV1.status, "withdrawn")
    assert.notStrictEqual(EventSubTypes.ChannelHypeTrainBeginV2.status, "withdrawn")
  })
})
