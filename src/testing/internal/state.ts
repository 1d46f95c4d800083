// The simulator's in-memory world: clients, users, tokens, device codes, channel data, rate-limit buckets,
// faults and the request log. Plain synchronous code; every method takes `now` (epoch millis, read from
// Effect's `Clock` by the caller) so that `TestClock` drives expiry and refill.
import * as Crypto from "node:crypto"
import type {
  BanRecord,
  Counters,
  FaultKind,
  RequestLogEntry,
  SentAnnouncement,
  SentChatMessage,
  SentWhisper,
  SimUser
} from "../SimulatorModels.js"
import type { SimAuth, SimAuthResult, SimTokenInfo } from "./contracts.js"

/** @internal */
export interface SimClient {
  readonly clientId: string
  /** null for public clients */
  readonly clientSecret: string | null
}

/** @internal */
export interface SimChannel {
  broadcaster_id: string
  broadcaster_login: string
  broadcaster_name: string
  broadcaster_language: string
  game_id: string
  game_name: string
  title: string
  delay: number
  tags: Array<string>
  content_classification_labels: Array<string>
  is_branded_content: boolean
}

/** @internal */
export interface SimStream {
  id: string
  user_id: string
  user_login: string
  user_name: string
  game_id: string
  game_name: string
  type: string
  title: string
  tags: Array<string>
  viewer_count: number
  started_at: string
  language: string
  thumbnail_url: string
  tag_ids: Array<string>
  is_mature: boolean
}

/** @internal */
export interface SimChatSettings {
  broadcaster_id: string
  emote_mode: boolean
  follower_mode: boolean
  follower_mode_duration: number | null
  moderator_id: string
  non_moderator_chat_delay: boolean
  non_moderator_chat_delay_duration: number | null
  slow_mode: boolean
  slow_mode_wait_time: number | null
  subscriber_mode: boolean
  unique_chat_mode: boolean
}

/** @internal */
export interface SimChatter {
  readonly user_id: string
  readonly user_login: string
  readonly user_name: string
}

/** @internal */
export interface SimFollower extends SimChatter {
  readonly followed_at: string
}

/** A run of followers: one explicit user, or `count` generated ones (cheap for 100,000). @internal */
type FollowerSegment =
  | { readonly _tag: "One"; readonly follower: SimFollower }
  | { readonly _tag: "Generated"; readonly firstId: number; readonly count: number; readonly addedAt: number }

/** @internal */
export interface TokenRecord extends SimTokenInfo {
  revoked: boolean
  /** epoch millis; mutable so tests can expire a token */
  expiresAt: number
  readonly refreshToken: string | null
}

/** @internal */
interface RefreshRecord {
  readonly refreshToken: string
  readonly clientId: string
  readonly userId: string
  readonly scopes: ReadonlyArray<string>
  readonly expiresAt: number | null
  used: boolean
}

/** @internal */
export interface DeviceRecord {
  readonly deviceCode: string
  readonly userCode: string
  readonly clientId: string
  readonly scopes: ReadonlyArray<string>
  readonly expiresAt: number
  status: "pending" | "approved" | "denied" | "used"
  approvedUserId: string | null
  autoApproveAt: number | null
  autoApproveUserId: string | null
}

/** @internal */
interface AuthCodeRecord {
  readonly code: string
  readonly clientId: string
  readonly userId: string
  readonly scopes: ReadonlyArray<string>
  readonly redirectUri: string
  readonly expiresAt: number
}

/** @internal */
export interface FaultRecord {
  remaining: number
  readonly kind: FaultKind
  readonly pathPrefix: string | null
}

/** @internal */
export interface RateLimitConfig {
  readonly capacity: number
  readonly refillPerSecond: number
}

/** @internal */
export interface Bucket {
  tokens: number
  updatedAt: number
}

/** @internal */
export interface BucketState {
  readonly limit: number
  readonly remaining: number
  /** epoch seconds (of the reported clock) when the bucket is full again */
  readonly reset: number
}

const ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

/** @internal */
export const randomString = (length: number, alphabet: string = ALNUM): string => {
  const bytes = Crypto.randomBytes(length)
  let out = ""
  for (let i = 0; i < length; i++) out += alphabet[bytes[i]! % alphabet.length]
  return out
}

/** @internal */
export const randomId = (): string => Crypto.randomUUID()

/** A chat message of plain text as Helix and EventSub carry it: one text fragment. @internal */
export const plainChatMessage = (text: string) => ({
  text,
  fragments: [{ type: "text", text, cheermote: null, emote: null, mention: null }]
})

/** @internal */
export const LOG_CAPACITY = 10_000
const SENT_CAPACITY = 10_000

/** Keep a bounded array (drops the oldest). @internal */
const pushBounded = <A>(array: Array<A>, item: A, capacity: number): void => {
  array.push(item)
  // `shift` trims the array in place (O(1)); `splice(0, n)` on a full 10,000-entry log moved every
  // entry on each request (~60 µs per Helix request once the log was full)
  while (array.length > capacity) array.shift()
}

/** Twitch's chat send limits (the same numbers as `ChatSender.Limits`). @internal */
export interface ChatLimitsConfig {
  readonly windowMillis: number
  readonly perWindow: number
  readonly perWindowPrivileged: number
  readonly minIntervalMillis: number
  readonly verifiedPerWindow: number
  readonly maxLength: number
}

/** @internal */
export interface StateOptions {
  readonly clients: ReadonlyArray<SimClient>
  readonly users: ReadonlyArray<SimUser>
  readonly userTokenExpiresInSeconds: number
  readonly appTokenExpiresInSeconds: number
  readonly rateLimit: RateLimitConfig
  readonly autoApproveDevice: { readonly afterMillis: number; readonly userId: string } | null
  readonly authorizeUserId: string
  /** how far the clock the simulator reports (`Date`, `Ratelimit-Reset`) is ahead of the `Clock` (ms) */
  readonly clockSkewMillis: number
}

/** @internal */
export const DEVICE_CODE_SECONDS = 1800
/** @internal */
export const DEVICE_INTERVAL_SECONDS = 5
const PUBLIC_REFRESH_SECONDS = 30 * 24 * 3600
const AUTH_CODE_SECONDS = 600
const GENERATED_ID_BASE = 900_000_000

/** @internal */
export class SimState {
  readonly clients = new Map<string, SimClient>()
  readonly users = new Map<string, SimUser>()
  readonly usersByLogin = new Map<string, SimUser>()
  readonly tokens = new Map<string, TokenRecord>()
  readonly refreshTokens = new Map<string, RefreshRecord>()
  readonly devices = new Map<string, DeviceRecord>()
  readonly devicesByUserCode = new Map<string, DeviceRecord>()
  readonly authCodes = new Map<string, AuthCodeRecord>()
  readonly channels = new Map<string, SimChannel>()
  readonly streams = new Map<string, SimStream>()
  readonly chatSettings = new Map<string, SimChatSettings>()
  readonly followers = new Map<string, Array<FollowerSegment>>()
  readonly chatters = new Map<string, Array<SimChatter>>()
  readonly moderators = new Map<string, Set<string>>()
  readonly bans = new Map<string, Map<string, BanRecord>>()
  readonly buckets = new Map<string, Bucket>()
  readonly faults: Array<FaultRecord> = []
  readonly log: Array<RequestLogEntry> = []
  readonly chatMessages: Array<SentChatMessage> = []
  readonly whispers: Array<SentWhisper> = []
  readonly announcements: Array<SentAnnouncement> = []
  readonly counters: Counters = {
    tokenRefreshes: 0,
    tokenRefreshFailures: 0,
    devicePolls: 0,
    tokensIssued: 0,
    validations: 0,
    revocations: 0,
    helixRequests: 0,
    rateLimited: 0,
    chatRateLimited: 0,
    faultsInjected: 0
  }
  private readonly revokeListeners: Array<(token: SimTokenInfo) => void> = []
  deviceSlowDown = false
  chatDrop: { readonly code: string; readonly message: string } | null = null
  /** Twitch's chat send limits (`null`: not enforced), the verified bots, and the send times they count */
  chatLimits: ChatLimitsConfig | null = null
  readonly verifiedBots = new Set<string>()
  readonly chatSendTimes = new Map<string, Array<number>>()
  rateLimit: RateLimitConfig
  userTokenExpiresInSeconds: number
  appTokenExpiresInSeconds: number
  autoApproveDevice: { readonly afterMillis: number; readonly userId: string } | null
  authorizeUserId: string
  clockSkewMillis: number
  private nextGeneratedId = GENERATED_ID_BASE

  constructor(options: StateOptions) {
    for (const client of options.clients) this.clients.set(client.clientId, client)
    for (const user of options.users) this.putUser(user)
    this.rateLimit = options.rateLimit
    this.userTokenExpiresInSeconds = options.userTokenExpiresInSeconds
    this.appTokenExpiresInSeconds = options.appTokenExpiresInSeconds
    this.autoApproveDevice = options.autoApproveDevice
    this.authorizeUserId = options.authorizeUserId
    this.clockSkewMillis = options.clockSkewMillis
  }

  /** The time the simulator reports (its "server clock"): `Clock` time plus the skew. */
  reportedTime(now: number): number {
    return now + this.clockSkewMillis
  }

  // ---------------------------------------------------------------------------------------------- users

  putUser(user: SimUser): SimUser {
    const old = this.users.get(user.id)
    if (old !== undefined) this.usersByLogin.delete(old.login)
    this.users.set(user.id, user)
    this.usersByLogin.set(user.login.toLowerCase(), user)
    return user
  }

  userById(id: string): SimUser | undefined {
    return this.users.get(id) ?? this.generatedUser(id)
  }

  userByLogin(login: string): SimUser | undefined {
    const user = this.usersByLogin.get(login.toLowerCase())
    if (user !== undefined) return user
    const match = /^simfollower(\d+)$/.exec(login.toLowerCase())
    return match === null ? undefined : this.generatedUser(match[1]!)
  }

  /** Generated followers/chatters are users too (ids from {@link GENERATED_ID_BASE} on). */
  private generatedUser(id: string): SimUser | undefined {
    const n = Number(id)
    if (!/^\d+$/.test(id) || n < GENERATED_ID_BASE || n >= this.nextGeneratedId) return undefined
    return makeUser({ id, login: `simfollower${id}` })
  }

  allocateGeneratedIds(count: number): number {
    const first = this.nextGeneratedId
    this.nextGeneratedId += count
    return first
  }

  // ---------------------------------------------------------------------------------------------- tokens

  issueToken(
    now: number,
    params: {
      readonly clientId: string
      readonly userId: string | null
      readonly scopes: ReadonlyArray<string>
      readonly expiresInSeconds?: number | undefined
      readonly withRefreshToken: boolean
      readonly refreshToken?: string | undefined
    }
  ): TokenRecord {
    const user = params.userId === null ? undefined : this.userById(params.userId)
    const expiresIn = params.expiresInSeconds ??
      (params.userId === null ? this.appTokenExpiresInSeconds : this.userTokenExpiresInSeconds)
    const refreshToken = params.withRefreshToken ? (params.refreshToken ?? randomString(30)) : null
    const record: TokenRecord = {
      token: randomString(30),
      clientId: params.clientId,
      userId: params.userId,
      login: user?.login ?? null,
      scopes: [...params.scopes],
      expiresAt: now + expiresIn * 1000,
      revoked: false,
      refreshToken
    }
    this.tokens.set(record.token, record)
    if (refreshToken !== null && params.userId !== null && !this.refreshTokens.has(refreshToken)) {
      const client = this.clients.get(params.clientId)
      this.refreshTokens.set(refreshToken, {
        refreshToken,
        clientId: params.clientId,
        userId: params.userId,
        scopes: [...params.scopes],
        expiresAt: client?.clientSecret === null ? now + PUBLIC_REFRESH_SECONDS * 1000 : null,
        used: false
      })
    }
    this.counters.tokensIssued++
    return record
  }

  /** A token usable right now, or the reason it is not. */
  lookupToken(token: string, now: number): TokenRecord | "unknown" | "expired" | "revoked" {
    const record = this.tokens.get(token)
    if (record === undefined) return "unknown"
    if (record.revoked) return "revoked"
    if (record.expiresAt <= now) return "expired"
    return record
  }

  /** Refresh-grant logic; returns the new token record or an OAuth error (status, message). */
  refresh(
    now: number,
    params: { readonly clientId: string; readonly clientSecret: string | undefined; readonly refreshToken: string }
  ): TokenRecord | { readonly status: number; readonly message: string } {
    const client = this.clients.get(params.clientId)
    if (client === undefined) return { status: 400, message: "invalid client" }
    if (client.clientSecret !== null) {
      if (params.clientSecret === undefined || params.clientSecret === "") {
        return { status: 400, message: "missing client secret" }
      }
      if (params.clientSecret !== client.clientSecret) return { status: 403, message: "invalid client secret" }
    }
    const record = this.refreshTokens.get(params.refreshToken)
    if (
      record === undefined || record.used || record.clientId !== params.clientId ||
      (record.expiresAt !== null && record.expiresAt <= now)
    ) {
      return { status: 400, message: "Invalid refresh token" }
    }
    // Public clients: one-time refresh tokens. Confidential clients keep theirs.
    const isPublic = client.clientSecret === null
    if (isPublic) record.used = true
    return this.issueToken(now, {
      clientId: record.clientId,
      userId: record.userId,
      scopes: record.scopes,
      withRefreshToken: true,
      refreshToken: isPublic ? undefined : record.refreshToken
    })
  }

  expireToken(token: string, now: number): boolean {
    const record = this.tokens.get(token)
    if (record === undefined) return false
    record.expiresAt = Math.min(record.expiresAt, now)
    return true
  }

  revokeToken(token: string): boolean {
    const record = this.tokens.get(token)
    if (record === undefined || record.revoked) return false
    record.revoked = true
    if (record.refreshToken !== null) {
      const refresh = this.refreshTokens.get(record.refreshToken)
      if (refresh !== undefined) refresh.used = true
    }
    for (const listener of this.revokeListeners) listener(record)
    return true
  }

  // ---------------------------------------------------------------------------------------------- device flow

  startDevice(now: number, clientId: string, scopes: ReadonlyArray<string>): DeviceRecord {
    let userCode = randomString(8, UPPER)
    while (this.devicesByUserCode.has(userCode)) userCode = randomString(8, UPPER)
    const auto = this.autoApproveDevice
    const record: DeviceRecord = {
      deviceCode: randomString(40, ALNUM + "ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
      userCode,
      clientId,
      scopes: [...scopes],
      expiresAt: now + DEVICE_CODE_SECONDS * 1000,
      status: "pending",
      approvedUserId: null,
      autoApproveAt: auto === null ? null : now + auto.afterMillis,
      autoApproveUserId: auto === null ? null : auto.userId
    }
    this.devices.set(record.deviceCode, record)
    this.devicesByUserCode.set(userCode, record)
    return record
  }

  deviceByUserCode(userCode: string): DeviceRecord | undefined {
    return this.devicesByUserCode.get(userCode.toUpperCase())
  }

  pendingDevices(now: number): ReadonlyArray<DeviceRecord> {
    return [...this.devices.values()].filter((d) => d.status === "pending" && d.expiresAt > now)
  }

  // ---------------------------------------------------------------------------------------------- auth codes

  createAuthCode(
    now: number,
    params: { clientId: string; userId: string; scopes: ReadonlyArray<string>; redirectUri: string }
  ): string {
    const code = randomString(30)
    this.authCodes.set(code, { code, ...params, expiresAt: now + AUTH_CODE_SECONDS * 1000 })
    return code
  }

  takeAuthCode(code: string, now: number): AuthCodeRecord | undefined {
    const record = this.authCodes.get(code)
    if (record === undefined) return undefined
    this.authCodes.delete(code)
    return record.expiresAt > now ? record : undefined
  }

  // ---------------------------------------------------------------------------------------------- SimAuth

  /** Twitch's Helix auth check. */
  authenticate(authorization: string | undefined, clientId: string | undefined, now: number): SimAuthResult {
    const match = authorization === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(authorization)
    if (match === null) return { _tag: "Unauthorized", message: "OAuth token is missing" }
    const found = this.lookupToken(match[1]!, now)
    if (typeof found === "string") return { _tag: "Unauthorized", message: "Invalid OAuth token" }
    if (clientId === undefined || clientId === "" || clientId !== found.clientId) {
      return { _tag: "Unauthorized", message: "Client ID and OAuth token do not match" }
    }
    return { _tag: "Ok", token: found }
  }

  /** See `SimAuth.grantedScopes`. */
  grantedScopes(clientId: string, userId: string): ReadonlyArray<string> | null {
    let granted: Set<string> | null = null
    for (const record of this.tokens.values()) {
      if (record.clientId !== clientId || record.userId !== userId || record.revoked) continue
      granted ??= new Set()
      for (const scope of record.scopes) granted.add(scope)
    }
    return granted === null ? null : [...granted]
  }

  readonly simAuth: SimAuth = {
    authenticate: (authorization, clientId, now) => this.authenticate(authorization, clientId, now),
    grantedScopes: (clientId, userId) => this.grantedScopes(clientId, userId),
    onRevoke: (listener) => {
      this.revokeListeners.push(listener)
    }
  }

  // ---------------------------------------------------------------------------------------------- rate limit

  private bucketAt(key: string, now: number): Bucket {
    const { capacity, refillPerSecond } = this.rateLimit
    let bucket = this.buckets.get(key)
    if (bucket === undefined) {
      bucket = { tokens: capacity, updatedAt: now }
      this.buckets.set(key, bucket)
    } else if (now > bucket.updatedAt) {
      bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.updatedAt) / 1000) * refillPerSecond)
      bucket.updatedAt = now
    }
    return bucket
  }

  private bucketState(bucket: Bucket, now: number): BucketState {
    const { capacity, refillPerSecond } = this.rateLimit
    const missing = capacity - bucket.tokens
    const fullAt = missing <= 0 || refillPerSecond <= 0 ? now : now + (missing / refillPerSecond) * 1000
    return {
      limit: capacity,
      remaining: Math.max(0, Math.floor(bucket.tokens)),
      reset: Math.ceil(this.reportedTime(fullAt) / 1000)
    }
  }

  /** Take one point; `ok: false` when empty. */
  consume(key: string, now: number): { readonly ok: boolean; readonly state: BucketState } {
    const bucket = this.bucketAt(key, now)
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1
      return { ok: true, state: this.bucketState(bucket, now) }
    }
    this.counters.rateLimited++
    return { ok: false, state: this.bucketState(bucket, now) }
  }

  setRateLimit(config: RateLimitConfig): void {
    this.rateLimit = config
    this.buckets.clear()
  }

  // ---------------------------------------------------------------------------------------------- faults

  /** The fault to apply to this request (Helix-relative path), consuming one occurrence. */
  takeFault(helixPath: string): FaultKind | null {
    const index = this.faults.findIndex((f) =>
      f.remaining > 0 && (f.pathPrefix === null || helixPath.startsWith(f.pathPrefix))
    )
    if (index < 0) return null
    const fault = this.faults[index]!
    fault.remaining--
    if (fault.remaining <= 0) this.faults.splice(index, 1)
    this.counters.faultsInjected++
    return fault.kind
  }

  // ---------------------------------------------------------------------------------------------- log

  record(entry: RequestLogEntry): void {
    pushBounded(this.log, entry, LOG_CAPACITY)
  }

  recordChatMessage(message: SentChatMessage): void {
    pushBounded(this.chatMessages, message, SENT_CAPACITY)
  }

  recordWhisper(whisper: SentWhisper): void {
    pushBounded(this.whispers, whisper, SENT_CAPACITY)
  }

  recordAnnouncement(announcement: SentAnnouncement): void {
    pushBounded(this.announcements, announcement, SENT_CAPACITY)
  }

  // ---------------------------------------------------------------------------------------------- channel data

  channel(broadcasterId: string): SimChannel | undefined {
    const existing = this.channels.get(broadcasterId)
    if (existing !== undefined) return existing
    const user = this.users.get(broadcasterId)
    if (user === undefined) return undefined
    const channel: SimChannel = {
      broadcaster_id: user.id,
      broadcaster_login: user.login,
      broadcaster_name: user.display_name,
      broadcaster_language: "en",
      game_id: "",
      game_name: "",
      title: "",
      delay: 0,
      tags: [],
      content_classification_labels: [],
      is_branded_content: false
    }
    this.channels.set(broadcasterId, channel)
    return channel
  }

  chatSettingsFor(broadcasterId: string): SimChatSettings {
    let settings = this.chatSettings.get(broadcasterId)
    if (settings === undefined) {
      settings = {
        broadcaster_id: broadcasterId,
        emote_mode: false,
        follower_mode: false,
        follower_mode_duration: null,
        moderator_id: broadcasterId,
        non_moderator_chat_delay: false,
        non_moderator_chat_delay_duration: null,
        slow_mode: false,
        slow_mode_wait_time: null,
        subscriber_mode: false,
        unique_chat_mode: false
      }
      this.chatSettings.set(broadcasterId, settings)
    }
    return settings
  }

  isModerator(broadcasterId: string, userId: string): boolean {
    return broadcasterId === userId || (this.moderators.get(broadcasterId)?.has(userId) ?? false)
  }

  addModerator(broadcasterId: string, userId: string): void {
    let set = this.moderators.get(broadcasterId)
    if (set === undefined) {
      set = new Set()
      this.moderators.set(broadcasterId, set)
    }
    set.add(userId)
  }

  // ---------------------------------------------------------------------------------------------- followers

  addFollowerUsers(broadcasterId: string, users: ReadonlyArray<SimUser>, now: number): void {
    const list = this.followerList(broadcasterId)
    users.forEach((user, i) => {
      list.push({
        _tag: "One",
        follower: {
          user_id: user.id,
          user_login: user.login,
          user_name: user.display_name,
          followed_at: new Date(now + i).toISOString()
        }
      })
    })
  }

  addGeneratedFollowers(broadcasterId: string, count: number, now: number): void {
    if (count <= 0) return
    const firstId = this.allocateGeneratedIds(count)
    this.followerList(broadcasterId).push({ _tag: "Generated", firstId, count, addedAt: now })
  }

  private followerList(broadcasterId: string): Array<FollowerSegment> {
    let list = this.followers.get(broadcasterId)
    if (list === undefined) {
      list = []
      this.followers.set(broadcasterId, list)
    }
    return list
  }

  followerTotal(broadcasterId: string): number {
    let total = 0
    for (const segment of this.followers.get(broadcasterId) ?? []) total += segment._tag === "One" ? 1 : segment.count
    return total
  }

  /** Followers newest first, `[offset, offset + count)`. */
  followerSlice(broadcasterId: string, offset: number, count: number): Array<SimFollower> {
    const list = this.followers.get(broadcasterId) ?? []
    const out: Array<SimFollower> = []
    let skip = offset
    for (let s = list.length - 1; s >= 0 && out.length < count; s--) {
      const segment = list[s]!
      const size = segment._tag === "One" ? 1 : segment.count
      if (skip >= size) {
        skip -= size
        continue
      }
      if (segment._tag === "One") {
        out.push(segment.follower)
      } else {
        // newest first within the segment: highest index first
        for (let k = segment.count - 1 - skip; k >= 0 && out.length < count; k--) {
          out.push(generatedFollower(segment.firstId + k, segment.addedAt - (segment.count - 1 - k) * 1000))
        }
      }
      skip = 0
    }
    return out
  }

  findFollower(broadcasterId: string, userId: string): SimFollower | undefined {
    const n = Number(userId)
    for (const segment of this.followers.get(broadcasterId) ?? []) {
      if (segment._tag === "One") {
        if (segment.follower.user_id === userId) return segment.follower
      } else if (/^\d+$/.test(userId) && n >= segment.firstId && n < segment.firstId + segment.count) {
        const k = n - segment.firstId
        return generatedFollower(n, segment.addedAt - (segment.count - 1 - k) * 1000)
      }
    }
    return undefined
  }

  // ---------------------------------------------------------------------------------------------- chatters

  addChatterUsers(broadcasterId: string, users: ReadonlyArray<SimChatter>): void {
    let list = this.chatters.get(broadcasterId)
    if (list === undefined) {
      list = []
      this.chatters.set(broadcasterId, list)
    }
    for (const user of users) list.push(user)
  }

  generatedChatters(count: number): Array<SimChatter> {
    const first = this.allocateGeneratedIds(count)
    const out: Array<SimChatter> = []
    for (let i = 0; i < count; i++) {
      const id = String(first + i)
      out.push({ user_id: id, user_login: `simfollower${id}`, user_name: `SimFollower${id}` })
    }
    return out
  }
}

const generatedFollower = (id: number, at: number): SimFollower => ({
  user_id: String(id),
  user_login: `simfollower${id}`,
  user_name: `SimFollower${id}`,
  followed_at: new Date(at).toISOString()
})

/** @internal */
export const makeUser = (params: {
  readonly id: string
  readonly login: string
  readonly displayName?: string | undefined
  readonly broadcasterType?: string | undefined
  readonly description?: string | undefined
  readonly email?: string | undefined
  readonly createdAt?: string | undefined
}): SimUser => ({
  id: params.id,
  login: params.login.toLowerCase(),
  display_name: params.displayName ?? params.login,
  type: "",
  broadcaster_type: params.broadcasterType ?? "",
  description: params.description ?? "",
  profile_image_url:
    `https://static-cdn.jtvnw.net/jtv_user_pictures/${params.login.toLowerCase()}-profile_image-300x300.png`,
  offline_image_url: "",
  view_count: 0,
  email: params.email ?? `${params.login.toLowerCase()}@example.invalid`,
  created_at: params.createdAt ?? "2020-01-01T00:00:00Z"
})
