/**
 * Pinned chat messages (Helix, GA 2026-05-29) through the generated `HelixApi.Chat` against the simulator:
 * pin a message sent to the chat room, read it back, change its duration, unpin it.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Helix, HelixApi } from "effect-twitch"
import * as Simulator from "effect-twitch/testing/Simulator"
import * as Stack from "./fixtures/stack.js"

const { broadcaster } = Simulator.defaultUsers

const seconds = (from: string, to: string | null): number =>
  to === null ? Number.NaN : (Date.parse(to) - Date.parse(from)) / 1000

describe("pinned chat messages", () => {
  it.live("pin, get, update the duration, unpin; nothing pinned reads as an empty list", () =>
    Effect.gen(function*() {
      const sent = yield* HelixApi.Chat.sendChatMessage({ broadcaster_id: broadcaster, message: "Type !rules" })
      const messageId = sent[0]!.message_id
      assert.deepStrictEqual(yield* HelixApi.Chat.getPinnedChatMessage({ broadcaster_id: broadcaster }), [])

      yield* HelixApi.Chat.pinChatMessage({ broadcaster_id: broadcaster, message_id: messageId, duration_seconds: 30 })
      const [pinned] = yield* HelixApi.Chat.getPinnedChatMessage({ broadcaster_id: broadcaster })
      assert.strictEqual(pinned!.message_id, messageId)
      assert.strictEqual(pinned!.broadcaster_id, broadcaster)
      assert.strictEqual(pinned!.sender_user_id, broadcaster)
      assert.strictEqual(pinned!.pinned_by_user_id, broadcaster)
      assert.strictEqual(pinned!.message.text, "Type !rules")
      assert.deepStrictEqual(pinned!.message.fragments.map((f) => [f.type, f.text]), [["text", "Type !rules"]])
      assert.strictEqual(seconds(pinned!.starts_at, pinned!.ends_at), 30)

      yield* HelixApi.Chat.updatePinnedChatMessage({
        broadcaster_id: broadcaster,
        message_id: messageId,
        duration_seconds: 600
      })
      const [updated] = yield* HelixApi.Chat.getPinnedChatMessage({ broadcaster_id: broadcaster })
      assert.strictEqual(seconds(updated!.updated_at, updated!.ends_at), 600)
      assert.strictEqual(updated!.starts_at, pinned!.starts_at)

      yield* HelixApi.Chat.updatePinnedChatMessage({ broadcaster_id: broadcaster, message_id: messageId })
      const [untilStreamEnds] = yield* HelixApi.Chat.getPinnedChatMessage({ broadcaster_id: broadcaster })
      assert.isNull(untilStreamEnds!.ends_at)

      yield* HelixApi.Chat.unpinChatMessage({ broadcaster_id: broadcaster, message_id: messageId })
      assert.deepStrictEqual(yield* HelixApi.Chat.getPinnedChatMessage({ broadcaster_id: broadcaster }), [])

      const again = yield* Effect.flip(
        HelixApi.Chat.unpinChatMessage({ broadcaster_id: broadcaster, message_id: messageId })
      )
      assert.strictEqual(again._tag, "HelixNotFound")
      const unknown = yield* Effect.flip(
        HelixApi.Chat.pinChatMessage({ broadcaster_id: broadcaster, message_id: "not-a-message" })
      )
      assert.strictEqual(unknown._tag, "HelixNotFound")
      const tooShort = yield* Effect.flip(
        HelixApi.Chat.pinChatMessage({ broadcaster_id: broadcaster, message_id: messageId, duration_seconds: 5 })
      )
      assert.strictEqual(tooShort._tag, "HelixBadRequest")
    }).pipe(Helix.withUser(broadcaster), Effect.provide(Stack.layer({ users: [broadcaster] }))))
})
