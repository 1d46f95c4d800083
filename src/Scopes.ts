/**
 * Every Twitch OAuth scope, as a typed literal and as named constants (`Scopes.USER_READ_CHAT`).
 *
 * Source: the oauth2 security scheme of Twitch's Helix reference (helix-openapi.json).
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * View analytics data for the Twitch Extensions owned by the authenticated account.
 *
 * @since 0.1.0
 * @category constants
 */
export const ANALYTICS_READ_EXTENSIONS = "analytics:read:extensions" as const

/**
 * View analytics data for the games owned by the authenticated account.
 *
 * @since 0.1.0
 * @category constants
 */
export const ANALYTICS_READ_GAMES = "analytics:read:games" as const

/**
 * View Bits information for a channel.
 *
 * @since 0.1.0
 * @category constants
 */
export const BITS_READ = "bits:read" as const

/**
 * Joins your channel’s chatroom as a bot user, and perform chat-related actions as that user.
 *
 * @since 0.1.0
 * @category constants
 */
export const CHANNEL_BOT = "channel:bot" as const

/**
 * Run commercials on a channel.
 *
 * @since 0.1.0
 * @category constants
 */
export const CHANNEL_EDIT_COMMERCIAL = "channel:edit:commercial" as const

/**
 * Manage ads schedule on a channel.
 *
 * @since 0.1.0
 * @category constants
 */
export const CHANNEL_MANAGE_ADS = "channel:manage:ads" as const

/**
 * Manage a channel’s broadcast configuration, including updating channel configuration and managing stream markers and stream tags.
 *
 * @since 0.1.0
 * @category constants
 */
export const CHANNEL_MANAGE_BROADCAST = "channel:manage:broadcast" as const

/**
 * Manage Clips for a channel.
 *
 * @since 0.1.0
 * @category constants
 */
export const CHANNEL_MANAGE_CLIPS = "channel:manage:clips" as const

/**
 * Manage a channel’s Extension configuration, including activating Extensions.
 *
 * @since 0.1.0
 * @category constants
 */
export const CHANNEL_MANAGE_EXTENSIONS = "channel:manage:extensions" as const

/**
 * Manage Guest Star for your channel.
 *
 * @since 0.1.0
 * @category constants
 */
export const CHANNEL_MANAGE_GUEST_STAR = "channel:manage:guest_star" as const

/**
 * Add or remove the moderator role from users in your channel.
 *
 * @since 0.1.0
 * @category constants
 */
export const CHANNEL_MANAGE_MODERATORS = "channel:manage:moderators" as const

/**
 * Manage a channel’s polls.
 *
 * @since 0.1.0
 * @category constants
 */
export const CHANNEL_MANAGE_POLLS = "channel:manage:polls" as const

/**
 * Manage of channel’s Channel Points Predictions
 *
 * @since 0.1.0
 * @category constants
 */
export const CHANNEL_MANAGE_PREDICTIONS = "channel:manage:predictions" as const

/**
 * Manage a channel raiding another channel.
 *
 * @since 0.1.0
 * @category constants
 */
export const CHANNEL_MANAGE_RAIDS = "channel:manage:raids" as const

/**
 * Manage Channel Points custom rewards and their redemptions on a channel.
 *
 * @since 0.1.0
 * @category constants
 */
export const CHANNEL_MANAGE_REDEMPTIONS = "channel:manage:redemptions" as const

/**
 * Manage a channel’s stream schedule.
 *
 * @since 0.1.0
 * @category constants
 */
export const CHANNEL_MANAGE_SCHEDULE = "channel:manage:schedule" as const

/**
 * Manage a channel’s videos, including deleting videos.
 *
 * @since 0.1.0
 * @category constants
 */
export const CHANNEL_MANAGE_VIDEOS = "channel:manage:videos" as const

/**
 * Add or remove the VIP role from users in your channel.
 *
 * @since 0.1.0
 * @category constants
 */
export const CHANNEL_MANAGE_VIPS = "channel:manage:vips" as const

/**
 * Perform moderation actions in a channel.
 *
 * @since 0.1.0
 * @category constants
 */
export const CHANNEL_MODERATE = "channel:moderate" as const

/**
 * Read the ads schedule and details on your channel.
 *
 * @since 0.1.0
 * @category constants
 */
export const CHANNEL_READ_ADS = "channel:read:ads" as const

/**
 * Read charity campaign details and user donations on your channel.
 *
 * @since 0.1.0
 * @category constants
 */
export const CHANNEL_READ_CHARITY = "channel:read:charity" as const

/**
 * View a list of users with the editor role for a channel.
 *
 * @since 0.1.0
 * @category constants
 */
export const CHANNEL_READ_EDITORS = "channel:read:editors" as const

/**
 * View Creator Goals for a channel.
 *
 * @since 0.1.0
 * @category constants
 */
export const CHANNEL_READ_GOALS = "channel:read:goals" as const

/**
 * Read Guest Star details for your channel.
 *
 * @since 0.1.0
 * @category constants
 */
export const CHANNEL_READ_GUEST_STAR = "channel:read:guest_star" as const

/**
 * View Hype Train information for a channel.
 *
 * @since 0.1.0
 * @category constants
 */
export const CHANNEL_READ_HYPE_TRAIN = "channel:read:hype_train" as const

/**
 * View a channel’s polls.
 *
 * @since 0.1.0
 * @category constants
 */
export const CHANNEL_READ_POLLS = "channel:read:polls" as const

/**
 * View a channel’s Channel Points Predictions.
 *
 * @since 0.1.0
 * @category constants
 */
export const CHANNEL_READ_PREDICTIONS = "channel:read:predictions" as const

/**
 * View Channel Points custom rewards and their redemptions on a channel.
 *
 * @since 0.1.0
 * @category constants
 */
export const CHANNEL_READ_REDEMPTIONS = "channel:read:redemptions" as const

/**
 * View an authorized user’s stream key.
 *
 * @since 0.1.0
 * @category constants
 */
export const CHANNEL_READ_STREAM_KEY = "channel:read:stream_key" as const

/**
 * View a list of all subscribers to a channel and check if a user is subscribed to a channel.
 *
 * @since 0.1.0
 * @category constants
 */
export const CHANNEL_READ_SUBSCRIPTIONS = "channel:read:subscriptions" as const

/**
 * Read the list of VIPs in your channel.
 *
 * @since 0.1.0
 * @category constants
 */
export const CHANNEL_READ_VIPS = "channel:read:vips" as const

/**
 * Send chat messages to a chatroom using an IRC connection.
 *
 * @since 0.1.0
 * @category constants
 */
export const CHAT_EDIT = "chat:edit" as const

/**
 * View chat messages sent in a chatroom using an IRC connection.
 *
 * @since 0.1.0
 * @category constants
 */
export const CHAT_READ = "chat:read" as const

/**
 * Manage Clips for a channel.
 *
 * @since 0.1.0
 * @category constants
 */
export const CLIPS_EDIT = "clips:edit" as const

/**
 * Manage Clips as an editor.
 *
 * @since 0.1.0
 * @category constants
 */
export const EDITOR_MANAGE_CLIPS = "editor:manage:clips" as const

/**
 * View a channel’s moderation data including Moderators, Bans, Timeouts, and Automod settings.
 *
 * @since 0.1.0
 * @category constants
 */
export const MODERATION_READ = "moderation:read" as const

/**
 * Send announcements in channels where you have the moderator role.
 *
 * @since 0.1.0
 * @category constants
 */
export const MODERATOR_MANAGE_ANNOUNCEMENTS = "moderator:manage:announcements" as const

/**
 * Manage messages held for review by AutoMod in channels where you are a moderator.
 *
 * @since 0.1.0
 * @category constants
 */
export const MODERATOR_MANAGE_AUTOMOD = "moderator:manage:automod" as const

/**
 * Manage a broadcaster’s AutoMod settings.
 *
 * @since 0.1.0
 * @category constants
 */
export const MODERATOR_MANAGE_AUTOMOD_SETTINGS = "moderator:manage:automod_settings" as const

/**
 * Ban and unban users.
 *
 * @since 0.1.0
 * @category constants
 */
export const MODERATOR_MANAGE_BANNED_USERS = "moderator:manage:banned_users" as const

/**
 * Manage a broadcaster’s list of blocked terms.
 *
 * @since 0.1.0
 * @category constants
 */
export const MODERATOR_MANAGE_BLOCKED_TERMS = "moderator:manage:blocked_terms" as const

/**
 * Delete chat messages in channels where you have the moderator role
 *
 * @since 0.1.0
 * @category constants
 */
export const MODERATOR_MANAGE_CHAT_MESSAGES = "moderator:manage:chat_messages" as const

/**
 * Manage a broadcaster’s chat room settings.
 *
 * @since 0.1.0
 * @category constants
 */
export const MODERATOR_MANAGE_CHAT_SETTINGS = "moderator:manage:chat_settings" as const

/**
 * Manage Guest Star for channels where you are a Guest Star moderator.
 *
 * @since 0.1.0
 * @category constants
 */
export const MODERATOR_MANAGE_GUEST_STAR = "moderator:manage:guest_star" as const

/**
 * Manage a broadcaster’s Shield Mode status.
 *
 * @since 0.1.0
 * @category constants
 */
export const MODERATOR_MANAGE_SHIELD_MODE = "moderator:manage:shield_mode" as const

/**
 * Manage a broadcaster’s shoutouts.
 *
 * @since 0.1.0
 * @category constants
 */
export const MODERATOR_MANAGE_SHOUTOUTS = "moderator:manage:shoutouts" as const

/**
 * Manage suspicious user statuses in channels where the user has the moderator role.
 *
 * @since 0.1.0
 * @category constants
 */
export const MODERATOR_MANAGE_SUSPICIOUS_USERS = "moderator:manage:suspicious_users" as const

/**
 * Manage a broadcaster’s unban requests.
 *
 * @since 0.1.0
 * @category constants
 */
export const MODERATOR_MANAGE_UNBAN_REQUESTS = "moderator:manage:unban_requests" as const

/**
 * Warn users in channels where you have the moderator role.
 *
 * @since 0.1.0
 * @category constants
 */
export const MODERATOR_MANAGE_WARNINGS = "moderator:manage:warnings" as const

/**
 * View a broadcaster’s AutoMod settings.
 *
 * @since 0.1.0
 * @category constants
 */
export const MODERATOR_READ_AUTOMOD_SETTINGS = "moderator:read:automod_settings" as const

/**
 * Read the list of bans or unbans in channels where you have the moderator role.
 *
 * @since 0.1.0
 * @category constants
 */
export const MODERATOR_READ_BANNED_USERS = "moderator:read:banned_users" as const

/**
 * View a broadcaster’s list of blocked terms.
 *
 * @since 0.1.0
 * @category constants
 */
export const MODERATOR_READ_BLOCKED_TERMS = "moderator:read:blocked_terms" as const

/**
 * Read deleted chat messages in channels where you have the moderator role.
 *
 * @since 0.1.0
 * @category constants
 */
export const MODERATOR_READ_CHAT_MESSAGES = "moderator:read:chat_messages" as const

/**
 * View a broadcaster’s chat room settings.
 *
 * @since 0.1.0
 * @category constants
 */
export const MODERATOR_READ_CHAT_SETTINGS = "moderator:read:chat_settings" as const

/**
 * View the chatters in a broadcaster’s chat room.
 *
 * @since 0.1.0
 * @category constants
 */
export const MODERATOR_READ_CHATTERS = "moderator:read:chatters" as const

/**
 * Read the followers of a broadcaster.
 *
 * @since 0.1.0
 * @category constants
 */
export const MODERATOR_READ_FOLLOWERS = "moderator:read:followers" as const

/**
 * Read Guest Star details for channels where you are a Guest Star moderator.
 *
 * @since 0.1.0
 * @category constants
 */
export const MODERATOR_READ_GUEST_STAR = "moderator:read:guest_star" as const

/**
 * Read the list of moderators in channels where you have the moderator role.
 *
 * @since 0.1.0
 * @category constants
 */
export const MODERATOR_READ_MODERATORS = "moderator:read:moderators" as const

/**
 * View a broadcaster’s Shield Mode status.
 *
 * @since 0.1.0
 * @category constants
 */
export const MODERATOR_READ_SHIELD_MODE = "moderator:read:shield_mode" as const

/**
 * View a broadcaster’s shoutouts.
 *
 * @since 0.1.0
 * @category constants
 */
export const MODERATOR_READ_SHOUTOUTS = "moderator:read:shoutouts" as const

/**
 * Read chat messages from suspicious users and see users flagged as suspicious in channels where the user has the moderator role.
 *
 * @since 0.1.0
 * @category constants
 */
export const MODERATOR_READ_SUSPICIOUS_USERS = "moderator:read:suspicious_users" as const

/**
 * View a broadcaster’s unban requests.
 *
 * @since 0.1.0
 * @category constants
 */
export const MODERATOR_READ_UNBAN_REQUESTS = "moderator:read:unban_requests" as const

/**
 * Read the list of VIPs in channels where you have the moderator role.
 *
 * @since 0.1.0
 * @category constants
 */
export const MODERATOR_READ_VIPS = "moderator:read:vips" as const

/**
 * Read warnings in channels where you have the moderator role.
 *
 * @since 0.1.0
 * @category constants
 */
export const MODERATOR_READ_WARNINGS = "moderator:read:warnings" as const

/**
 * Join a specified chat channel as your user and appear as a bot, and perform chat-related actions as your user.
 *
 * @since 0.1.0
 * @category constants
 */
export const USER_BOT = "user:bot" as const

/**
 * Manage a user object.
 *
 * @since 0.1.0
 * @category constants
 */
export const USER_EDIT = "user:edit" as const

/**
 * View and edit a user’s broadcasting configuration, including Extension configurations.
 *
 * @since 0.1.0
 * @category constants
 */
export const USER_EDIT_BROADCAST = "user:edit:broadcast" as const

/**
 * Manage the block list of a user.
 *
 * @since 0.1.0
 * @category constants
 */
export const USER_MANAGE_BLOCKED_USERS = "user:manage:blocked_users" as const

/**
 * Update the color used for the user’s name in chat.
 *
 * @since 0.1.0
 * @category constants
 */
export const USER_MANAGE_CHAT_COLOR = "user:manage:chat_color" as const

/**
 * Receive whispers sent to your user, and send whispers on your user’s behalf.
 *
 * @since 0.1.0
 * @category constants
 */
export const USER_MANAGE_WHISPERS = "user:manage:whispers" as const

/**
 * View the block list of a user.
 *
 * @since 0.1.0
 * @category constants
 */
export const USER_READ_BLOCKED_USERS = "user:read:blocked_users" as const

/**
 * View a user’s broadcasting configuration, including Extension configurations.
 *
 * @since 0.1.0
 * @category constants
 */
export const USER_READ_BROADCAST = "user:read:broadcast" as const

/**
 * Receive chatroom messages and informational notifications relating to a channel’s chatroom.
 *
 * @since 0.1.0
 * @category constants
 */
export const USER_READ_CHAT = "user:read:chat" as const

/**
 * View a user’s email address.
 *
 * @since 0.1.0
 * @category constants
 */
export const USER_READ_EMAIL = "user:read:email" as const

/**
 * View emotes available to a user
 *
 * @since 0.1.0
 * @category constants
 */
export const USER_READ_EMOTES = "user:read:emotes" as const

/**
 * View the list of channels a user follows.
 *
 * @since 0.1.0
 * @category constants
 */
export const USER_READ_FOLLOWS = "user:read:follows" as const

/**
 * Read the list of channels you have moderator privileges in.
 *
 * @since 0.1.0
 * @category constants
 */
export const USER_READ_MODERATED_CHANNELS = "user:read:moderated_channels" as const

/**
 * View if an authorized user is subscribed to specific channels.
 *
 * @since 0.1.0
 * @category constants
 */
export const USER_READ_SUBSCRIPTIONS = "user:read:subscriptions" as const

/**
 * Receive whispers sent to your user.
 *
 * @since 0.1.0
 * @category constants
 */
export const USER_READ_WHISPERS = "user:read:whispers" as const

/**
 * Send chat messages to a chatroom.
 *
 * @since 0.1.0
 * @category constants
 */
export const USER_WRITE_CHAT = "user:write:chat" as const

/**
 * Receive whisper messages for your user using PubSub.
 *
 * @since 0.1.0
 * @category constants
 */
export const WHISPERS_READ = "whispers:read" as const

/**
 * Any Twitch scope.
 *
 * @since 0.1.0
 * @category models
 */
export type Scope = (typeof all)[number]

/**
 * Every scope, sorted.
 *
 * @since 0.1.0
 * @category constants
 */
export const all = [
  ANALYTICS_READ_EXTENSIONS,
  ANALYTICS_READ_GAMES,
  BITS_READ,
  CHANNEL_BOT,
  CHANNEL_EDIT_COMMERCIAL,
  CHANNEL_MANAGE_ADS,
  CHANNEL_MANAGE_BROADCAST,
  CHANNEL_MANAGE_CLIPS,
  CHANNEL_MANAGE_EXTENSIONS,
  CHANNEL_MANAGE_GUEST_STAR,
  CHANNEL_MANAGE_MODERATORS,
  CHANNEL_MANAGE_POLLS,
  CHANNEL_MANAGE_PREDICTIONS,
  CHANNEL_MANAGE_RAIDS,
  CHANNEL_MANAGE_REDEMPTIONS,
  CHANNEL_MANAGE_SCHEDULE,
  CHANNEL_MANAGE_VIDEOS,
  CHANNEL_MANAGE_VIPS,
  CHANNEL_MODERATE,
  CHANNEL_READ_ADS,
  CHANNEL_READ_CHARITY,
  CHANNEL_READ_EDITORS,
  CHANNEL_READ_GOALS,
  CHANNEL_READ_GUEST_STAR,
  CHANNEL_READ_HYPE_TRAIN,
  CHANNEL_READ_POLLS,
  CHANNEL_READ_PREDICTIONS,
  CHANNEL_READ_REDEMPTIONS,
  CHANNEL_READ_STREAM_KEY,
  CHANNEL_READ_SUBSCRIPTIONS,
  CHANNEL_READ_VIPS,
  CHAT_EDIT,
  CHAT_READ,
  CLIPS_EDIT,
  EDITOR_MANAGE_CLIPS,
  MODERATION_READ,
  MODERATOR_MANAGE_ANNOUNCEMENTS,
  MODERATOR_MANAGE_AUTOMOD,
  MODERATOR_MANAGE_AUTOMOD_SETTINGS,
  MODERATOR_MANAGE_BANNED_USERS,
  MODERATOR_MANAGE_BLOCKED_TERMS,
  MODERATOR_MANAGE_CHAT_MESSAGES,
  MODERATOR_MANAGE_CHAT_SETTINGS,
  MODERATOR_MANAGE_GUEST_STAR,
  MODERATOR_MANAGE_SHIELD_MODE,
  MODERATOR_MANAGE_SHOUTOUTS,
  MODERATOR_MANAGE_SUSPICIOUS_USERS,
  MODERATOR_MANAGE_UNBAN_REQUESTS,
  MODERATOR_MANAGE_WARNINGS,
  MODERATOR_READ_AUTOMOD_SETTINGS,
  MODERATOR_READ_BANNED_USERS,
  MODERATOR_READ_BLOCKED_TERMS,
  MODERATOR_READ_CHAT_MESSAGES,
  MODERATOR_READ_CHAT_SETTINGS,
  MODERATOR_READ_CHATTERS,
  MODERATOR_READ_FOLLOWERS,
  MODERATOR_READ_GUEST_STAR,
  MODERATOR_READ_MODERATORS,
  MODERATOR_READ_SHIELD_MODE,
  MODERATOR_READ_SHOUTOUTS,
  MODERATOR_READ_SUSPICIOUS_USERS,
  MODERATOR_READ_UNBAN_REQUESTS,
  MODERATOR_READ_VIPS,
  MODERATOR_READ_WARNINGS,
  USER_BOT,
  USER_EDIT,
  USER_EDIT_BROADCAST,
  USER_MANAGE_BLOCKED_USERS,
  USER_MANAGE_CHAT_COLOR,
  USER_MANAGE_WHISPERS,
  USER_READ_BLOCKED_USERS,
  USER_READ_BROADCAST,
  USER_READ_CHAT,
  USER_READ_EMAIL,
  USER_READ_EMOTES,
  USER_READ_FOLLOWS,
  USER_READ_MODERATED_CHANNELS,
  USER_READ_SUBSCRIPTIONS,
  USER_READ_WHISPERS,
  USER_WRITE_CHAT,
  WHISPERS_READ
] as const

/**
 * Schema of a known scope literal.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ScopeSchema: Schema.Schema<Scope> = Schema.Literal(...all)

/**
 * Whether a string is a known Twitch scope.
 *
 * @since 0.1.0
 * @category guards
 */
export const isScope: (u: unknown) => u is Scope = Schema.is(ScopeSchema)
