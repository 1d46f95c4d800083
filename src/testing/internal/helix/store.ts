// The Helix simulator's stateful areas (polls, predictions, rewards, ...), and deterministic ids from a seed.
import * as Crypto from "node:crypto"
import { Conduits } from "../eventsub/conduits.js"
import { makeClock, Registry } from "../eventsub/registry.js"
import type { BlockedTerm } from "./blockedTerms.js"
import type { Pin } from "./chat.js"
import type { Poll } from "./polls.js"
import type { Prediction } from "./predictions.js"
import type { Raid } from "./raids.js"
import type { Redemption, Reward } from "./rewards.js"
import type { Schedule } from "./schedule.js"
import type { ShieldMode } from "./shieldMode.js"
import type { Subscription } from "./subscriptions.js"

/** A map of maps, created on first use. @internal */
export const nested = <K, V>(outer: Map<string, Map<K, V>>, key: string): Map<K, V> => {
  let inner = outer.get(key)
  if (inner === undefined) {
    inner = new Map()
    outer.set(key, inner)
  }
  return inner
}

/** @internal */
export class HelixStore {
  /** broadcaster id → poll id → poll */
  readonly polls = new Map<string, Map<string, Poll>>()
  readonly predictions = new Map<string, Map<string, Prediction>>()
  readonly rewards = new Map<string, Map<string, Reward>>()
  /** broadcaster id → redemption id → redemption */
  readonly redemptions = new Map<string, Map<string, Redemption>>()
  /** broadcaster id → user ids */
  readonly vips = new Map<string, Map<string, string>>()
  readonly blockedTerms = new Map<string, Map<string, BlockedTerm>>()
  /** raiding broadcaster id → pending raid */
  readonly raids = new Map<string, Raid>()
  readonly schedules = new Map<string, Schedule>()
  readonly shieldMode = new Map<string, ShieldMode>()
  /** broadcaster id → its pinned chat message */
  readonly pins = new Map<string, Pin>()
  /** broadcaster id → subscriber id → subscription */
  readonly subscriptions = new Map<string, Map<string, Subscription>>()
  private counter = 0

  /**
   * @param conduits the conduits and their shards, shared with the EventSub part (which routes notifications to
   * them); by default a store of its own
   */
  constructor(
    readonly seed: number,
    readonly conduits: Conduits = new Conduits(new Registry(makeClock(() => Date.now())))
  ) {}

  /** A UUID-shaped id, the same sequence for the same seed. */
  nextId(): string {
    const h = Crypto.createHash("sha256").update(`${this.seed}:${this.counter++}`).digest("hex")
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`
  }
}
