// The webhook transport, as Twitch delivers (REFERENCE.md §3b; dev.twitch.tv "Handling webhook events"): signed
// POSTs to the subscription's callback with every Twitch-Eventsub-* header; the `webhook_callback_verification`
// challenge after creation (enabled only when the callback answers 200 with exactly the challenge); notifications
// retried with the same message id and `Twitch-Eventsub-Message-Retry` incremented, backing off on the part's
// `Clock`; after the last failed attempt a `notification_failures_exceeded` revocation.
//
// The simulator POSTs to loopback callbacks only (127.0.0.0/8, ::1, localhost): every other host counts as
// unreachable, so a test never sends anything off the machine.
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { createHmac, randomBytes, randomUUID } from "node:crypto"
import * as http from "node:http"
import * as https from "node:https"
import { messageView, type Sub, type WebhookTarget } from "./model.js"
import type { Registry } from "./registry.js"
import type { Run } from "./websocket.js"

/** Settings of the transport (see `SimulatorModels.EventSubOptions`). @internal */
export interface WebhookSettings {
  /** an answer slower than this is a failure */
  readonly timeoutMillis: number
  /** attempts per notification (the first and the retries) */
  readonly attempts: number
  /** delay before the first retry; doubled before each further one */
  readonly retryDelayMillis: number
}

/** A message as POSTed: the same id, timestamp and body on every attempt. @internal */
export interface WebhookMessage {
  readonly id: string
  readonly type: "notification" | "webhook_callback_verification" | "revocation"
  readonly timestamp: string
  readonly body: string
}

interface Answer {
  readonly status: number
  readonly body: string
}

/** answers are read up to this size (a challenge is short) */
const MAX_ANSWER_BYTES = 64 * 1024
const LOOPBACK = /^(?:127(?:\.\d{1,3}){3}|\[::1\]|::1|localhost)$/i

/** `sha256=` + hex HMAC-SHA256(secret, id + timestamp + body), as in `Twitch-Eventsub-Message-Signature`. @internal */
export const signature = (secret: string, id: string, timestamp: string, body: string): string =>
  "sha256=" + createHmac("sha256", secret).update(id + timestamp).update(body).digest("hex")

/** @internal */
export const headers = (sub: Sub, target: WebhookTarget, message: WebhookMessage, retry: number) => ({
  "content-type": "application/json",
  "twitch-eventsub-message-id": message.id,
  "twitch-eventsub-message-retry": String(retry),
  "twitch-eventsub-message-type": message.type,
  "twitch-eventsub-message-signature": signature(target.secret, message.id, message.timestamp, message.body),
  "twitch-eventsub-message-timestamp": message.timestamp,
  "twitch-eventsub-subscription-type": sub.def.type,
  "twitch-eventsub-subscription-version": sub.def.version
})

const readAnswer = (res: http.IncomingMessage, done: (answer: Answer) => void): void => {
  const chunks: Array<Buffer> = []
  let size = 0
  res.on("data", (chunk: Buffer) => {
    size += chunk.length
    if (size <= MAX_ANSWER_BYTES) chunks.push(chunk)
  })
  res.on("end", () => done({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }))
}

/** One POST; none when the callback is unreachable (not loopback, refused, reset). */
const post = (url: URL, head: Record<string, string>, body: string): Effect.Effect<Option.Option<Answer>> =>
  Effect.async<Option.Option<Answer>>((resume) => {
    if (!LOOPBACK.test(url.hostname)) return resume(Effect.succeed(Option.none()))
    const client = url.protocol === "https:" ? https : http
    const req = client.request(url, { method: "POST", headers: { ...head, "content-length": Buffer.byteLength(body) } })
    req.on("response", (res) => {
      res.on("error", () => resume(Effect.succeed(Option.none())))
      readAnswer(res, (answer) => resume(Effect.succeed(Option.some(answer))))
    })
    req.on("error", () => resume(Effect.succeed(Option.none())))
    req.end(body)
    return Effect.sync(() => req.destroy())
  })

const isSuccess = (answer: Option.Option<Answer>): boolean =>
  Option.isSome(answer) && answer.value.status >= 200 && answer.value.status < 300

/**
 * Sends the webhook messages of the part's webhook subscriptions.
 * @internal
 */
export class WebhookTransport {
  constructor(
    private readonly registry: Registry,
    private readonly run: Run,
    private readonly settings: WebhookSettings
  ) {}

  /** Sends the challenge; the subscription becomes `enabled` or `webhook_callback_verification_failed`. */
  verify(sub: Sub): void {
    const challenge = randomBytes(24).toString("base64url")
    const message = this.message(
      "webhook_callback_verification",
      JSON.stringify({ challenge, subscription: messageView(sub, "webhook_callback_verification_pending") })
    )
    this.run(Effect.map(this.attempt(sub, message, 0), (answer) => {
      if (sub.status !== "webhook_callback_verification_pending") return
      const verified = Option.isSome(answer) && answer.value.status === 200 && answer.value.body === challenge
      sub.status = verified ? "enabled" : "webhook_callback_verification_failed"
      if (!verified) sub.disabledAtMs = this.registry.clock.now()
    }))
  }

  /** Sends a notification (retried until it succeeds or the attempts are used up, which revokes the subscription). */
  notify(sub: Sub, message: WebhookMessage): void {
    this.run(this.withRetries(sub, message))
  }

  /** Sends the revocation once (the answer does not matter) and disables the subscription. */
  revoke(sub: Sub, status: string): void {
    if (sub.status !== "enabled") return
    const message = this.message("revocation", JSON.stringify({ subscription: messageView(sub, status) }))
    this.registry.disable(sub, status, false)
    this.run(Effect.asVoid(this.attempt(sub, message, 0)))
  }

  /** A message with a fresh id, timestamped now. */
  message(type: WebhookMessage["type"], body: string, timestamp?: string): WebhookMessage {
    const clock = this.registry.clock
    return { id: randomUUID(), type, timestamp: timestamp ?? clock.timestamp(clock.now()), body }
  }

  private attempt(sub: Sub, message: WebhookMessage, retry: number): Effect.Effect<Option.Option<Answer>> {
    const target = sub.webhook
    if (target === null) return Effect.succeed(Option.none())
    return post(new URL(target.callback), headers(sub, target, message, retry), message.body).pipe(
      Effect.timeoutTo({
        duration: Duration.millis(this.settings.timeoutMillis),
        onSuccess: (answer) => answer,
        onTimeout: () => Option.none<Answer>()
      })
    )
  }

  private withRetries(sub: Sub, message: WebhookMessage): Effect.Effect<void> {
    const { attempts, retryDelayMillis } = this.settings
    const attempt = (retry: number) => this.attempt(sub, message, retry)
    const giveUp = Effect.sync(() => this.revoke(sub, "notification_failures_exceeded"))
    return Effect.gen(function*() {
      for (let retry = 0; retry < attempts; retry++) {
        if (retry > 0) yield* Effect.sleep(Duration.millis(retryDelayMillis * 2 ** (retry - 1)))
        if (sub.status !== "enabled") return
        if (isSuccess(yield* attempt(retry))) return
      }
      yield* giveUp
    })
  }
}
