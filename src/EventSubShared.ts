/**
 * Schemas shared by the generated EventSub definitions (`EventSubTypes`): the `channel.raid`
 * condition and the payload pieces that several types carry (chat messages and their fragments,
 * chat notifications, `channel.moderate` actions, AutoMod reasons, ...). `EventSubTypes` re-exports
 * all of them. Field names are Twitch's wire names (snake_case).
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { Nullable, OpenString } from "./EventSubDefinition.js"

/**
 * `channel.raid` takes exactly one of `from_broadcaster_user_id` / `to_broadcaster_user_id`.
 *
 * @since 0.1.0
 * @category conditions
 */
export const RaidCondition = Schema.Union(
  Schema.Struct({
    from_broadcaster_user_id: Schema.String,
    to_broadcaster_user_id: Schema.optionalWith(Schema.Never, { exact: true })
  }),
  Schema.Struct({
    from_broadcaster_user_id: Schema.optionalWith(Schema.Never, { exact: true }),
    to_broadcaster_user_id: Schema.String
  })
)

// ------------------------------------------------------------------------------------------------
// Shared payload pieces (chat messages, chat notifications, channel.moderate actions, ...)
// ------------------------------------------------------------------------------------------------

/**
 * @since 0.1.0
 * @category models
 */
export const ChatBadge = Schema.Struct({
  set_id: Schema.String,
  id: Schema.String,
  info: Schema.String
})

/**
 * @since 0.1.0
 * @category models
 */
export const ChatCheermote = Schema.Struct({
  prefix: Schema.String,
  bits: Schema.Number,
  tier: Schema.Number
})

/**
 * @since 0.1.0
 * @category models
 */
export const ChatEmote = Schema.Struct({
  id: Schema.String,
  emote_set_id: Schema.String,
  owner_id: Schema.optionalWith(Schema.String, { exact: true }),
  format: Schema.optionalWith(Schema.Array(Schema.String), { exact: true })
})

/**
 * @since 0.1.0
 * @category models
 */
export const ChatMention = Schema.Struct({
  user_id: Schema.String,
  user_login: Schema.String,
  user_name: Schema.String
})

/**
 * @since 0.1.0
 * @category models
 */
export const ChatFragment = Schema.Struct({
  /** what the fragment is: `text`, or the one of `cheermote` / `emote` / `mention` that is not null */
  type: OpenString("text", "cheermote", "emote", "mention"),
  text: Schema.String,
  cheermote: Nullable(ChatCheermote),
  emote: Nullable(ChatEmote),
  mention: Nullable(ChatMention)
})

/**
 * @since 0.1.0
 * @category models
 */
export const ChatCheer = Schema.Struct({
  bits: Schema.Number
})

/**
 * @since 0.1.0
 * @category models
 */
export const ChatReply = Schema.Struct({
  parent_message_id: Schema.String,
  parent_message_body: Schema.String,
  parent_user_id: Schema.String,
  parent_user_name: Schema.String,
  parent_user_login: Schema.String,
  thread_message_id: Schema.String,
  thread_user_id: Schema.String,
  thread_user_name: Schema.String,
  thread_user_login: Schema.String
})

/**
 * @since 0.1.0
 * @category models
 */
export const BitsPowerUp = Schema.Struct({
  type: Schema.String,
  emote: Nullable(Schema.Struct({ id: Schema.String, name: Schema.String })),
  message_effect_id: Nullable(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export const RewardEmote = Schema.Struct({
  id: Schema.String,
  name: Schema.String
})

/**
 * @since 0.1.0
 * @category models
 */
export const HypeTrainParticipant = Schema.Struct({
  broadcaster_user_id: Schema.String,
  broadcaster_user_login: Schema.String,
  broadcaster_user_name: Schema.String
})

/**
 * @since 0.1.0
 * @category models
 */
export const AutomodBoundary = Schema.Struct({
  start_pos: Schema.Number,
  end_pos: Schema.Number
})

/**
 * @since 0.1.0
 * @category models
 */
export const AutomodReason = Schema.Struct({
  category: Schema.String,
  level: Schema.Number,
  boundaries: Schema.Array(AutomodBoundary)
})

/**
 * @since 0.1.0
 * @category models
 */
export const BlockedTermReason = Schema.Struct({
  terms_found: Schema.Array(Schema.Struct({
    term_id: Schema.String,
    boundary: AutomodBoundary,
    owner_broadcaster_user_id: Schema.String,
    owner_broadcaster_user_login: Schema.String,
    owner_broadcaster_user_name: Schema.String
  }))
})

// channel.chat.notification notice payloads

/**
 * @since 0.1.0
 * @category models
 */
export const NoticeSub = Schema.Struct({
  sub_tier: Schema.String,
  is_prime: Schema.Boolean,
  duration_months: Schema.Number
})

/**
 * @since 0.1.0
 * @category models
 */
export const NoticeResub = Schema.Struct({
  cumulative_months: Schema.Number,
  duration_months: Schema.Number,
  streak_months: Nullable(Schema.Number),
  sub_tier: Schema.optionalWith(Schema.String, { exact: true }),
  sub_plan: Schema.optionalWith(Schema.String, { exact: true }),
  is_prime: Schema.optionalWith(Schema.Boolean, { exact: true }),
  is_gift: Schema.Boolean,
  gifter_is_anonymous: Nullable(Schema.Boolean),
  gifter_user_id: Nullable(Schema.String),
  gifter_user_name: Nullable(Schema.String),
  gifter_user_login: Nullable(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export const NoticeSubGift = Schema.Struct({
  duration_months: Schema.Number,
  cumulative_total: Nullable(Schema.Number),
  recipient_user_id: Schema.String,
  recipient_user_name: Schema.String,
  recipient_user_login: Schema.String,
  sub_tier: Schema.String,
  community_gift_id: Nullable(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export const NoticeCommunitySubGift = Schema.Struct({
  id: Schema.String,
  total: Schema.Number,
  sub_tier: Schema.String,
  cumulative_total: Nullable(Schema.Number)
})

/**
 * @since 0.1.0
 * @category models
 */
export const NoticeGiftPaidUpgrade = Schema.Struct({
  gifter_is_anonymous: Schema.Boolean,
  gifter_user_id: Nullable(Schema.String),
  gifter_user_name: Nullable(Schema.String),
  gifter_user_login: Nullable(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export const NoticePrimePaidUpgrade = Schema.Struct({
  sub_tier: Schema.String
})

/**
 * @since 0.1.0
 * @category models
 */
export const NoticePayItForward = NoticeGiftPaidUpgrade

/**
 * @since 0.1.0
 * @category models
 */
export const NoticeRaid = Schema.Struct({
  user_id: Schema.String,
  user_name: Schema.String,
  user_login: Schema.String,
  viewer_count: Schema.Number,
  profile_image_url: Schema.String
})

/**
 * @since 0.1.0
 * @category models
 */
export const NoticeUnraid = Schema.Struct({})

/**
 * @since 0.1.0
 * @category models
 */
export const NoticeAnnouncement = Schema.Struct({
  color: Schema.String
})

/**
 * @since 0.1.0
 * @category models
 */
export const NoticeBitsBadgeTier = Schema.Struct({
  tier: Schema.Number
})

/**
 * @since 0.1.0
 * @category models
 */
export const NoticeCharityDonation = Schema.Struct({
  charity_name: Schema.String,
  amount: Schema.Struct({
    value: Schema.Number,
    decimal_place: Schema.Number,
    currency: Schema.String
  })
})

/**
 * A watch streak (`notice_type` `watch_streak`, 2026-04-02).
 *
 * @since 0.1.0
 * @category models
 */
export const NoticeWatchStreak = Schema.Struct({
  streak_count: Schema.Number,
  channel_points_awarded: Schema.Number
})

/**
 * A moderator anniversary (`notice_type` `modiversary` / `shared_chat_modiversary`, 2026-06-12). Our
 * sources do not agree on its fields yet: `months` is optional.
 *
 * @since 0.1.0
 * @category models
 */
export const NoticeModiversary = Schema.Struct({
  months: Schema.optionalWith(Schema.Number, { exact: true })
})

// channel.moderate action payloads

/**
 * @since 0.1.0
 * @category models
 */
export const ModerateUser = Schema.Struct({
  user_id: Schema.String,
  user_login: Schema.String,
  user_name: Schema.String
})

/**
 * @since 0.1.0
 * @category models
 */
export const ModerateFollowers = Schema.Struct({
  follow_duration_minutes: Schema.Number
})

/**
 * @since 0.1.0
 * @category models
 */
export const ModerateSlow = Schema.Struct({
  wait_time_seconds: Schema.Number
})

/**
 * @since 0.1.0
 * @category models
 */
export const ModerateBan = Schema.Struct({
  ...ModerateUser.fields,
  reason: Nullable(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export const ModerateTimeout = Schema.Struct({
  ...ModerateUser.fields,
  reason: Nullable(Schema.String),
  expires_at: Schema.String
})

/**
 * @since 0.1.0
 * @category models
 */
export const ModerateRaid = Schema.Struct({
  ...ModerateUser.fields,
  viewer_count: Schema.Number
})

/**
 * @since 0.1.0
 * @category models
 */
export const ModerateDelete = Schema.Struct({
  ...ModerateUser.fields,
  message_id: Schema.String,
  message_body: Schema.String
})

/**
 * @since 0.1.0
 * @category models
 */
export const ModerateAutomodTerms = Schema.Struct({
  action: Schema.String,
  list: Schema.String,
  terms: Schema.Array(Schema.String),
  from_automod: Schema.Boolean
})

/**
 * @since 0.1.0
 * @category models
 */
export const ModerateUnbanRequest = Schema.Struct({
  ...ModerateUser.fields,
  is_approved: Schema.Boolean,
  moderator_message: Nullable(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export const ModerateWarn = Schema.Struct({
  ...ModerateUser.fields,
  reason: Nullable(Schema.String),
  chat_rules_cited: Nullable(Schema.Array(Schema.String))
})
