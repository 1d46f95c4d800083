// Burst: `count` notifications for one subscription as fast as the socket takes them. Every frame of a burst has
// the same byte length (only the 36-character message id differs), so a batch buffer of BURST_BATCH ready
// WebSocket frames is built once and only the ids are overwritten before each write to the raw socket. At most
// BURST_IN_FLIGHT batches are in flight: the socket's write callbacks are the backpressure. Frames are whole and
// written synchronously, so they never interleave with the `ws` sender's own frames.
import * as Effect from "effect/Effect"
import { randomUUID } from "node:crypto"
import type { SimEventSubBurstOptions, SimEventSubBurstResult } from "../../SimulatorModels.js"
import type { Catalogue } from "./catalogue.js"
import { notificationPayload, subscriptionFrame } from "./delivery.js"
import { controlError, messageView, type Session, type SimEventSubControlError, type Sub } from "./model.js"
import type { Registry } from "./registry.js"
import type { WebSocketTransport } from "./websocket.js"

/** frames per socket write, and writes in flight at most (bounds the memory a burst holds) */
const BURST_BATCH = 512
const BURST_IN_FLIGHT = 4
const PLACEHOLDER = "00000000-0000-0000-0000-000000000000"

const frameHeader = (length: number): Buffer => {
  if (length < 126) return Buffer.from([0x81, length])
  if (length < 65536) return Buffer.from([0x81, 126, length >> 8, length & 0xff])
  const header = Buffer.alloc(10)
  header[0] = 0x81
  header[1] = 127
  header.writeBigUInt64BE(BigInt(length), 2)
  return header
}

/** Ready frames for one session: a template with a placeholder id, and a pool of batch buffers. */
class Batches {
  readonly frameLength: number
  readonly idOffset: number
  private readonly template: Buffer
  readonly pool: Array<Buffer> = []

  constructor(readonly session: Session | undefined, frame: Buffer) {
    const header = frameHeader(frame.length)
    this.frameLength = header.length + frame.length
    this.idOffset = header.length + frame.indexOf(PLACEHOLDER)
    this.template = Buffer.concat([header, frame])
  }

  take(): Buffer {
    const pooled = this.pool.pop()
    if (pooled !== undefined) return pooled
    const buffer = Buffer.allocUnsafe(this.frameLength * BURST_BATCH)
    for (let k = 0; k < BURST_BATCH; k++) this.template.copy(buffer, k * this.frameLength)
    return buffer
  }
}

interface Progress {
  sent: number
  firstMessageId: string | null
  lastMessageId: string | null
}

/** Writes the frames; completes with the number written when done, the subscription stops or the socket fails. */
const pump = (
  registry: Registry,
  ws: WebSocketTransport,
  sub: Sub,
  payload: ReturnType<typeof notificationPayload>,
  count: number,
  progress: Progress
) =>
  Effect.async<void>((resume) => {
    let inFlight = 0
    let finished = false
    let batches: Batches | undefined
    const finish = (): void => {
      if (finished) return
      finished = true
      resume(Effect.void)
    }
    const prepare = (): Batches => {
      const frame = subscriptionFrame(
        sub,
        "notification",
        PLACEHOLDER,
        registry.clock.timestamp(registry.clock.now()),
        {
          ...payload,
          subscription: messageView(sub, "enabled")
        }
      )
      return new Batches(registry.sessions.get(sub.sessionId), Buffer.from(frame))
    }
    const writeIds = (buffer: Buffer, b: Batches, n: number): void => {
      for (let k = 0; k < n; k++) {
        const id = randomUUID()
        buffer.write(id, k * b.frameLength + b.idOffset, "latin1")
        if (progress.firstMessageId === null) progress.firstMessageId = id
        progress.lastMessageId = id
      }
    }
    const step = (): void => {
      while (!finished && inFlight < BURST_IN_FLIGHT) {
        // a reconnect hands the subscription to another session: follow it
        if (batches === undefined || batches.session?.id !== sub.sessionId) batches = prepare()
        const b = batches
        const target = b.session
        if (progress.sent >= count || sub.status !== "enabled" || target === undefined || !ws.isOpen(target)) {
          if (inFlight === 0) finish()
          return
        }
        const buffer = b.take()
        const n = Math.min(BURST_BATCH, count - progress.sent)
        writeIds(buffer, b, n)
        progress.sent += n
        inFlight++
        target.lastSentMs = registry.clock.now()
        target.raw.write(n === BURST_BATCH ? buffer : buffer.subarray(0, n * b.frameLength), (err) => {
          inFlight--
          if (err !== undefined && err !== null) return finish()
          b.pool.push(buffer)
          step()
        })
      }
    }
    step()
    return Effect.sync(() => {
      finished = true
    })
  })

/** @internal */
export const make = (registry: Registry, catalogue: Catalogue, ws: WebSocketTransport) =>
(
  options: SimEventSubBurstOptions
): Effect.Effect<SimEventSubBurstResult, SimEventSubControlError> =>
  Effect.gen(function*() {
    yield* catalogue.check(options.type, options.version)
    const sub = registry.matching(options).find((s) => s.webhook === null && s.conduitId === null)
    if (sub === undefined) return yield* controlError("no enabled subscription matches the burst target")
    const progress: Progress = { sent: 0, firstMessageId: null, lastMessageId: null }
    yield* pump(
      registry,
      ws,
      sub,
      notificationPayload(sub, options.event),
      Math.max(0, Math.floor(options.count)),
      progress
    )
    return { sent: progress.sent, firstMessageId: progress.firstMessageId, lastMessageId: progress.lastMessageId }
  })
