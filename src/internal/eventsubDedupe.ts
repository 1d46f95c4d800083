// Dedupe of EventSub message ids: bounded, O(1), no timers, and no heap object kept per id.
//
// Twitch's message ids are UUIDs. Written in lowercase hex (as Twitch sends them), a UUID is stored
// exactly as four 32-bit words in an open-addressing table backed by one `Uint32Array`, so remembering
// 100,000 ids costs no allocation and nothing for the garbage collector to trace or promote (keeping the
// id strings in a `Set` cost ~1 µs per message at 60k messages/s, mostly GC). Any other id (another
// format, uppercase, the all-zero UUID) goes to a `Set` of strings: still exact.
//
// Two generations: ids go into the current one; when it holds `capacity` ids it becomes the previous
// one and the old previous is cleared whole. So at least the last `capacity` ids are remembered (at
// most twice that), without per-id deletes. Ids longer than `maxMessageIdLength` are not remembered, so the
// memory is bounded by capacity × that length.

/**
 * Longer ids are never remembered (`check` answers false): Twitch's are 36-character UUIDs, and a hostile
 * server's 200 KB ids would otherwise make the table of "other" ids hold megabytes.
 *
 * @internal
 */
export const maxMessageIdLength = 128

/** @internal */
export class Dedupe {
  private readonly mask: number
  private current: Uint32Array
  private previous: Uint32Array
  private otherCurrent = new Set<string>()
  private otherPrevious = new Set<string>()
  /** ids recorded in the current generation (both kinds) */
  private count = 0
  private readonly words = new Uint32Array(4)

  constructor(readonly capacity: number) {
    // load factor ≤ 1/2: the table has at least 2 × capacity slots (a power of two) of 4 words
    let slots = 2
    while (slots < 2 * capacity) slots *= 2
    this.mask = slots - 1
    this.current = new Uint32Array(slots * 4)
    this.previous = new Uint32Array(slots * 4)
  }

  /** true when the id was seen before (and records it otherwise); false for ids over `maxMessageIdLength` */
  check(id: string): boolean {
    if (id.length > maxMessageIdLength) return false
    const words = this.words
    const uuid = parseUuid(id, words)
    if (uuid) {
      if (find(this.current, this.mask, words) >= 0 || find(this.previous, this.mask, words) >= 0) return true
    } else if (this.otherCurrent.has(id) || this.otherPrevious.has(id)) return true
    if (this.count >= this.capacity) this.rotate()
    this.count++
    if (uuid) insert(this.current, this.mask, words)
    else this.otherCurrent.add(id)
    return false
  }

  private rotate(): void {
    const cleared = this.previous
    cleared.fill(0)
    this.previous = this.current
    this.current = cleared
    this.otherPrevious = this.otherCurrent
    this.otherCurrent = new Set()
    this.count = 0
  }
}

/** the value of a lowercase hex digit, or -1 */
const hex = (code: number): number => code >= 48 && code <= 57 ? code - 48 : code >= 97 && code <= 102 ? code - 87 : -1

/**
 * Parses `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (lowercase hex) into four 32-bit words; false for
 * anything else, and for the all-zero UUID (zero words mark an empty slot).
 *
 * @internal
 */
export const parseUuid = (id: string, words: Uint32Array): boolean => {
  if (id.length !== 36) return false
  let word = 0
  let nibbles = 0
  let w = 0
  for (let i = 0; i < 36; i++) {
    const code = id.charCodeAt(i)
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (code !== 45 /* - */) return false
      continue
    }
    const digit = hex(code)
    if (digit < 0) return false
    word = (word << 4) | digit
    if (++nibbles === 8) {
      words[w++] = word >>> 0
      word = 0
      nibbles = 0
    }
  }
  return (words[0]! | words[1]! | words[2]! | words[3]!) !== 0
}

const slotOf = (mask: number, words: Uint32Array): number =>
  (Math.imul(words[0]! ^ words[3]!, 0x9e3779b1) ^ Math.imul(words[1]! ^ words[2]!, 0x85ebca6b)) >>> 0 & mask

/** the slot holding `words`, or -1 (linear probing; the table is never more than half full) */
const find = (table: Uint32Array, mask: number, words: Uint32Array): number => {
  const a = words[0]!, b = words[1]!, c = words[2]!, d = words[3]!
  for (let slot = slotOf(mask, words);; slot = (slot + 1) & mask) {
    const i = slot * 4
    const t0 = table[i]!, t1 = table[i + 1]!, t2 = table[i + 2]!, t3 = table[i + 3]!
    if (t0 === a && t1 === b && t2 === c && t3 === d) return slot
    if ((t0 | t1 | t2 | t3) === 0) return -1
  }
}

const insert = (table: Uint32Array, mask: number, words: Uint32Array): void => {
  let slot = slotOf(mask, words)
  while ((table[slot * 4]! | table[slot * 4 + 1]! | table[slot * 4 + 2]! | table[slot * 4 + 3]!) !== 0) {
    slot = (slot + 1) & mask
  }
  table.set(words, slot * 4)
}
