// The webhook transport's HTTP side: the `@effect/platform` handler and the plain Node listener, both reading the
// body bounded by `max` bytes and handing it to the engine (`eventsubWebhook.ts`).
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { IncomingMessage, ServerResponse } from "node:http"
import type * as Webhook from "./eventsubWebhook.js"

const plain = "text/plain; charset=utf-8"

/** A body over `max` bytes (by its Content-Length, or counted while reading) is `undefined`. */
const readBody = <E>(
  stream: Stream.Stream<Uint8Array, E>,
  length: string | undefined,
  max: number
): Effect.Effect<Uint8Array | undefined, E> => {
  if (length !== undefined && Number(length) > max) return Effect.succeed(undefined)
  return Effect.map(
    Stream.runFoldWhile(stream, { chunks: [] as Array<Uint8Array>, size: 0 }, (s) => s.size <= max, (s, chunk) => {
      s.chunks.push(chunk)
      s.size += chunk.length
      return s
    }),
    (s) => s.size > max ? undefined : Buffer.concat(s.chunks)
  )
}

const toHttpResponse = (response: Webhook.WebhookResponse): HttpServerResponse.HttpServerResponse =>
  response.body === ""
    ? HttpServerResponse.empty({ status: response.status })
    : HttpServerResponse.text(response.body, { status: response.status, contentType: plain })

/** The `HttpRouter` handler: reads the body (bounded), hands it to the engine, answers. */
const httpApp = (engine: Webhook.WebhookEngine, max: number) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const header = (name: string): string | undefined => request.headers[name]
    const body = yield* Effect.either(readBody(request.stream, header("content-length"), max))
    if (body._tag === "Left") return toHttpResponse({ status: 400, body: "unreadable body" })
    const response = body.right === undefined
      ? yield* engine.tooLarge(header("twitch-eventsub-message-id"), max)
      : yield* engine.handle({ header, body: body.right })
    return toHttpResponse(response)
  })

/** Reads a Node request body, at most `max` bytes (`undefined` beyond). */
const readNodeBody = (request: IncomingMessage, max: number): Effect.Effect<Uint8Array | undefined, Error> =>
  Effect.async<Uint8Array | undefined, Error>((resume) => {
    const chunks: Array<Buffer> = []
    let size = 0
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > max) {
        request.off("data", onData)
        request.resume() // drain the rest unread
        resume(Effect.succeed(undefined))
      } else chunks.push(chunk)
    }
    request.on("data", onData)
    request.once("end", () => {
      if (size <= max) resume(Effect.succeed(Buffer.concat(chunks)))
    })
    request.once("error", (error) => resume(Effect.fail(error)))
  })

const nodeHeader = (request: IncomingMessage) => (name: string): string | undefined => {
  const value = request.headers[name]
  return typeof value === "string" ? value : undefined
}

/** The plain Node listener's answer to one request. */
const answerNode = (engine: Webhook.WebhookEngine, max: number, request: IncomingMessage) =>
  Effect.gen(function*() {
    const header = nodeHeader(request)
    const id = header("twitch-eventsub-message-id")
    const length = header("content-length")
    if (length !== undefined && Number(length) > max) return yield* engine.tooLarge(id, max)
    const body = yield* Effect.either(readNodeBody(request, max))
    if (body._tag === "Left") return { status: 400, body: "unreadable body" }
    if (body.right === undefined) return yield* engine.tooLarge(id, max)
    return yield* engine.handle({ header, body: body.right })
  })

const handleNode = (engine: Webhook.WebhookEngine, max: number, request: IncomingMessage, response: ServerResponse) =>
  Effect.flatMap(answerNode(engine, max, request), (answer) =>
    Effect.sync(() => {
      response.writeHead(answer.status, answer.body === "" ? {} : { "content-type": plain })
      response.end(answer.body)
    }))

/** What `EventSubWebhook` offers: the `HttpRouter` handler and the Node listener. @internal */
export interface Handlers {
  readonly httpApp: Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest>
  readonly nodeHandler: (request: IncomingMessage, response: ServerResponse) => void
}

/** The handlers over an engine; Node requests run in fibers of the scope. @internal */
export const handlers = (engine: Webhook.WebhookEngine, max: number): Effect.Effect<Handlers, never, Scope.Scope> =>
  Effect.map(FiberSet.makeRuntime<never, void, never>(), (runFork) => ({
    httpApp: httpApp(engine, max),
    nodeHandler: (request, response) => {
      runFork(handleNode(engine, max, request, response))
    }
  }))
