import * as fs from "node:fs"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as T from "../src/EventSubTypes.js"
const frame = fs.readFileSync("/work/shared/twitch/examples/ws/notification_channel_chat_message_v1_ws_envelope.json", "utf8")
const compact = JSON.stringify(JSON.parse(frame))
const slow = Schema.decodeUnknownEither(T.Message)
const slowN = Schema.decodeUnknownEither(T.Notification)
const bench = (name: string, f: () => unknown, n = 300_000) => {
  for (let i = 0; i < 50_000; i++) f()
  let best = Infinity
  for (let r = 0; r < 5; r++) {
    const t = process.hrtime.bigint()
    for (let i = 0; i < n; i++) f()
    best = Math.min(best, Number(process.hrtime.bigint() - t) / n / 1000)
  }
  console.log(name.padEnd(50), best.toFixed(3), "µs")
  return best
}
let sink: unknown
for (const [label, s] of [["pretty", frame], ["compact", compact]] as const) {
  console.log(`-- frame ${label} (${s.length} bytes)`)
  const p = bench("JSON.parse", () => (sink = JSON.parse(s)))
  const d = bench("decodeMessage (parse + fast envelope)", () => (sink = T.decodeMessage(s)))
  bench("JSON.parse + Schema Message union", () => (sink = slow(JSON.parse(s))))
  bench("JSON.parse + Schema Notification", () => (sink = slowN(JSON.parse(s))))
  console.log("envelope overhead over JSON.parse:", (d - p).toFixed(3), "µs")
}
const n = Either.getOrThrow(T.decodeMessage(compact)) as T.Notification
bench("decodeEvent(ChannelChatMessageV1)", () => (sink = T.decodeEvent(T.ChannelChatMessageV1, n)))
bench("decodeAnyEvent (lookup + chat message)", () => (sink = T.decodeAnyEvent(n)))
const f = JSON.parse(fs.readFileSync("/work/shared/twitch/examples/ws/notification_channel_follow_v2_ws_envelope.json", "utf8"))
const nf = Either.getOrThrow(T.decodeMessageUnknown(f)) as T.Notification
bench("decodeEvent(ChannelFollowV2)", () => (sink = T.decodeEvent(T.ChannelFollowV2, nf)))
void sink
const isChat = Schema.is(T.ChannelChatMessageV1.event)
console.log("is ok:", isChat(n.event))
bench("Schema.is(chat event)", () => (sink = isChat(n.event)))
const valid = Schema.validateEither(T.ChannelChatMessageV1.event)
bench("Schema.validateEither(chat event)", () => (sink = valid(n.event)))
