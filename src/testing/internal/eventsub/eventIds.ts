// Events that are each a new thing on Twitch (a chat message, a redemption, a donation) carry their own id: a
// triggered notification gets a fresh one, so two simulated chat messages never share a `message_id` (a bot that
// replies to, deletes or dedupes by that id sees what it would see on Twitch). Ids that name something that
// lives across events (a poll, a hype train, a stream, a message being deleted) keep the example's value.
import { randomUUID } from "node:crypto"
import type { SimJsonObject } from "../../SimulatorModels.js"

const OWN_ID: ReadonlyMap<string, string> = new Map([
  ["channel.chat.message", "message_id"],
  ["channel.chat.notification", "message_id"],
  ["channel.chat.user_message_hold", "message_id"],
  ["automod.message.hold", "message_id"],
  ["channel.channel_points_custom_reward_redemption.add", "id"],
  ["channel.channel_points_automatic_reward_redemption.add", "id"],
  ["channel.custom_power_up_redemption.add", "id"],
  ["channel.charity_campaign.donate", "id"],
  ["channel.unban_request.create", "id"],
  ["extension.bits_transaction.create", "id"]
])

/**
 * The trigger's overrides with a fresh id for the event's own id field, where the type has one and the caller
 * did not set it: one id per trigger (every subscription it reaches sees the same message, as on Twitch).
 *
 * @internal
 */
export const withFreshOwnId = (
  type: string,
  overrides: SimJsonObject | undefined
): SimJsonObject | undefined => {
  const field = OWN_ID.get(type)
  if (field === undefined || (overrides !== undefined && field in overrides)) return overrides
  return { ...overrides, [field]: randomUUID() }
}
