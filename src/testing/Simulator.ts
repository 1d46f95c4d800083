/**
 * A local Twitch: OAuth (id.twitch.tv), Helix (api.twitch.tv/helix), EventSub (WebSocket + subscriptions REST)
 * and a control API, on one port of 127.0.0.1 (and `::1`, so `localhost` works too).
 *
 * URL layout:
 * - native: `/oauth2/{device,token,validate,revoke,authorize}`, `/helix/<path>`, `/ws`
 * - twitch-cli mock layout (what Twurple uses with `TWURPLE_MOCK_API_PORT`): `/mock/<helix path>`,
 *   `/eventsub/subscriptions`, `/auth/<oauth path>` (incl. `POST /auth/authorize?grant_type=user_token`)
 * - control (JSON): see {@link Simulator.Service} and the `/_sim/...` routes listed in `main.ts`' output.
 *
 * Time (token expiry, device-code expiry, rate-limit refill, auto-approval) follows Effect's `Clock`, so tests
 * running the layer under `TestClock` control it. Every answer carries a `Date` header from that clock, as
 * Twitch's do; `clockSkewSeconds` / `setClockSkew` make the simulator's reported clock (`Date`,
 * `Ratelimit-Reset`) run ahead of or behind the client's.
 *
 * @since 0.1.0
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Http from "node:http"
import type * as Net from "node:net"
import type { Duplex } from "node:stream"
import * as ChatSender from "../ChatSender.js"
import * as Scopes from "../Scopes.js"
import { UserToken } from "../Token.js"
import * as TokenStore from "../TokenStore.js"
import * as TwitchConfig from "../TwitchConfig.js"
import * as control from "./internal/control.js"
import * as EventSubPart from "./internal/eventsub.js"
import * as helix from "./internal/helix.js"
import { redeem } from "./internal/helix/rewards.js"
import { HelixStore, nested } from "./internal/helix/store.js"
import { helixError, json, originalPath } from "./internal/http.js"
import * as oauth from "./internal/oauth.js"
import { makeUser, SimState } from "./internal/state.js"
import type {
  BanRecord,
  Counters,
  EventSubControl,
  EventSubOptions,
  FaultKind,
  RequestLogEntry,
  SentAnnouncement,
  SentChatMessage,
  SentWhisper,
  SimUser
} from "./SimulatorModels.js"

/**
 * @since 0.1.0
 * @category tags
 */
export class Simulator extends Context.Tag("effect-twitch/testing/Simulator")<Simulator, Simulator.Service>() {}

/**
 * A user as Helix `GET /users` returns it.
 *
 * @since 0.1.0
 * @category models
 */
export type User = SimUser

/**
 * The simulator's models (users, counters, the EventSub control API), also reachable as
 * `SimulatorModels` from `effect-twitch/testing`.
 *
 * @since 0.1.0
 */
export type * from "./SimulatorModels.js"

/**
 * Input for {@link Simulator.Service.addUser}; `id` defaults to a fresh numeric id.
 *
 * @since 0.1.0
 * @category models
 */
export interface UserInput {
  readonly id?: string | undefined
  readonly login: string
  readonly displayName?: string | undefined
  readonly broadcasterType?: "" | "affiliate" | "partner" | undefined
  readonly description?: string | undefined
  readonly email?: string | undefined
  readonly createdAt?: string | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface IssuedToken {
  readonly accessToken: string
  readonly refreshToken: string
  readonly expiresIn: number
  readonly scopes: ReadonlyArray<string>
}

/**
 * A device code waiting for the user (see {@link Simulator.Service.approveDevice}).
 *
 * @since 0.1.0
 * @category models
 */
export interface PendingDevice {
  readonly userCode: string
  readonly clientId: string
  readonly scopes: ReadonlyArray<string>
}

/**
 * What the simulator knows about an access token.
 *
 * @since 0.1.0
 * @category models
 */
export interface TokenInfo {
  readonly clientId: string
  readonly userId: string | null
  readonly scopes: ReadonlyArray<string>
  /** epoch millis */
  readonly expiresAt: number
  readonly revoked: boolean
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ChannelInput {
  readonly title?: string | undefined
  readonly gameId?: string | undefined
  readonly gameName?: string | undefined
  readonly language?: string | undefined
  readonly tags?: ReadonlyArray<string> | undefined
  readonly delay?: number | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface StreamInput {
  readonly title?: string | undefined
  readonly gameId?: string | undefined
  readonly gameName?: string | undefined
  readonly viewerCount?: number | undefined
  /** ISO timestamp; default: now */
  readonly startedAt?: string | undefined
  readonly language?: string | undefined
  readonly tags?: ReadonlyArray<string> | undefined
}

/**
 * The token bucket per (client id, user id or app): `capacity` points, refilled at `refillPerSecond`.
 *
 * @since 0.1.0
 * @category models
 */
export interface RateLimit {
  readonly capacity: number
  readonly refillPerSecond: number
}

/**
 * The next `count` Helix requests (optionally only those whose Helix path, e.g. `/users` or
 * `/eventsub/subscriptions`, starts with `pathPrefix`) answer with the fault: 500 / 503, 429 (with
 * `Ratelimit-Reset` 3 s ahead), a malformed (truncated JSON) 200 body, or a delay before the normal answer.
 *
 * @since 0.1.0
 * @category models
 */
export interface FaultOptions {
  readonly count: number
  readonly kind: FaultKind
  readonly pathPrefix?: string | undefined
}

/**
 * Which requests {@link Simulator.Service.countRequests} counts; every given field must match.
 *
 * @since 0.1.0
 * @category models
 */
export interface RequestFilter {
  /** prefix of the path as sent (`/helix/users`) or of the Helix path (`/users`) */
  readonly path?: string | undefined
  readonly method?: string | undefined
  readonly token?: string | undefined
  readonly userId?: string | undefined
  readonly status?: number | undefined
}

/**
 * Failure of a control call (unknown user, user code, token).
 *
 * @since 0.1.0
 * @category errors
 */
export class SimulatorError extends Schema.TaggedError<SimulatorError>("effect-twitch/testing/SimulatorError")(
  "SimulatorError",
  { reason: Schema.String }
) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return this.reason
  }
}

/**
 * Ids of the users seeded by default.
 *
 * @since 0.1.0
 * @category defaults
 */
export const defaultUsers = {
  /** `simbroadcaster` (affiliate) */
  broadcaster: "100000001",
  /** `simmoderator`, a moderator in the broadcaster's channel */
  moderator: "100000002",
  /** `simviewer` */
  viewer: "100000003",
  /** `simbot`, a moderator in the broadcaster's channel */
  bot: "100000004"
} as const

/**
 * Defaults of {@link Options}.
 *
 * @since 0.1.0
 * @category defaults
 */
export const defaults = {
  clientId: "simulatorclientid0000000000001",
  clientSecret: "simulatorclientsecret000000001",
  publicClientId: "simulatorpublicclient000000001",
  userTokenExpiresInSeconds: 14_400,
  appTokenExpiresInSeconds: 5_011_271,
  rateLimit: { capacity: 800, refillPerSecond: 800 / 60 }
} as const

/**
 * @since 0.1.0
 */
export declare namespace Simulator {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    readonly port: number
    /** `http://127.0.0.1:<port>` */
    readonly baseUrl: string
    /** `${baseUrl}/oauth2` */
    readonly authUrl: string
    /** `${baseUrl}/helix` */
    readonly helixUrl: string
    /** `ws://127.0.0.1:<port>/ws` */
    readonly eventSubWsUrl: string
    /** the default confidential app */
    readonly clientId: string
    readonly clientSecret: string
    /** a default public client (device flow, no secret) */
    readonly publicClientId: string
    /** ids of the seeded users */
    readonly users: typeof defaultUsers

    readonly addUser: (user: UserInput) => Effect.Effect<User>
    readonly getUser: (id: string) => Effect.Effect<Option.Option<User>>
    /** register another app; no secret = public client */
    readonly addClient: (
      client: { readonly clientId: string; readonly clientSecret?: string | undefined }
    ) => Effect.Effect<void>

    /** A user token (with refresh token) as if the user had authorized the app (default: the confidential app). */
    readonly issueUserToken: (options: {
      readonly userId: string
      readonly scopes: ReadonlyArray<string>
      readonly clientId?: string | undefined
      readonly expiresInSeconds?: number | undefined
    }) => Effect.Effect<IssuedToken, SimulatorError>
    /** An app token (client credentials) for the confidential app or `clientId`. */
    readonly issueAppToken: (options?: {
      readonly clientId?: string | undefined
      readonly expiresInSeconds?: number | undefined
    }) => Effect.Effect<{ readonly accessToken: string; readonly expiresIn: number }, SimulatorError>
    readonly tokenInfo: (accessToken: string) => Effect.Effect<Option.Option<TokenInfo>>
    /** the token answers 401 from now on (as if its lifetime ran out) */
    readonly expireToken: (accessToken: string) => Effect.Effect<void, SimulatorError>
    /** as `POST /oauth2/revoke`: Helix answers 401, EventSub subscriptions get `authorization_revoked` */
    readonly revokeToken: (accessToken: string) => Effect.Effect<void, SimulatorError>

    readonly pendingDevices: Effect.Effect<ReadonlyArray<PendingDevice>>
    readonly approveDevice: (userCode: string, userId: string) => Effect.Effect<void, SimulatorError>
    readonly denyDevice: (userCode: string) => Effect.Effect<void, SimulatorError>
    /** `true`: every device poll answers `slow_down` until switched off; a number: the next N polls. */
    readonly setDeviceSlowDown: (enabled: boolean | number) => Effect.Effect<void>
    /** change or disable (null) auto-approval of new device codes */
    readonly setAutoApproveDevice: (
      options: { readonly afterMillis: number; readonly userId: string } | null
    ) => Effect.Effect<void>

    /** `n` generated followers (cheap for 100,000) or the given user ids, followed after the existing ones */
    readonly addFollowers: (
      broadcasterId: string,
      followers: number | ReadonlyArray<string>
    ) => Effect.Effect<void, SimulatorError>
    readonly addChatters: (
      broadcasterId: string,
      chatters: number | ReadonlyArray<string>
    ) => Effect.Effect<void, SimulatorError>
    readonly addModerator: (broadcasterId: string, userId: string) => Effect.Effect<void, SimulatorError>
    readonly setChannel: (broadcasterId: string, channel: ChannelInput) => Effect.Effect<void, SimulatorError>
    /** go live (or update) with `stream`, or offline with `null` */
    readonly setStream: (userId: string, stream: StreamInput | null) => Effect.Effect<void, SimulatorError>

    readonly setRateLimit: (rateLimit: RateLimit) => Effect.Effect<void>
    /** the clock reported in `Date` and `Ratelimit-Reset` runs `seconds` ahead of the `Clock` (negative: behind) */
    readonly setClockSkew: (seconds: number) => Effect.Effect<void>
    readonly injectFaults: (options: FaultOptions) => Effect.Effect<void>
    readonly clearFaults: Effect.Effect<void>
    /** change Twitch's chat send limits (`false`: stop enforcing them); the counts so far are kept */
    readonly setChatLimits: (limits: ChatSender.Limits | false) => Effect.Effect<void>
    /** `true` (a default reason) or a reason: `POST /chat/messages` answers `is_sent: false`; `false` to stop */
    readonly setChatDrop: (
      drop: boolean | { readonly code: string; readonly message: string }
    ) => Effect.Effect<void>

    /** the last 10,000 requests (control routes excluded), oldest first */
    readonly requestLog: Effect.Effect<ReadonlyArray<RequestLogEntry>>
    readonly clearRequestLog: Effect.Effect<void>
    readonly countRequests: (filter: RequestFilter) => Effect.Effect<number>
    /** snapshot of the counters (token refreshes, device polls, 429s, ...) */
    readonly counters: Effect.Effect<Counters>
    readonly chatMessages: Effect.Effect<ReadonlyArray<SentChatMessage>>
    readonly whispers: Effect.Effect<ReadonlyArray<SentWhisper>>
    readonly announcements: Effect.Effect<ReadonlyArray<SentAnnouncement>>
    readonly bans: (broadcasterId: string) => Effect.Effect<ReadonlyArray<BanRecord>>
    /** `userId` subscribes to `broadcasterId` (tier `"1000"` unless given; with `gifterId`: a gifted subscription) */
    readonly addSubscription: (options: {
      readonly broadcasterId: string
      readonly userId: string
      readonly tier?: "1000" | "2000" | "3000" | undefined
      readonly gifterId?: string | undefined
    }) => Effect.Effect<void, SimulatorError>
    /**
     * A viewer redeems a custom reward created through Helix (`channel.channel_points_custom_reward_redemption.add`
     * goes to subscribers); returns the redemption's id.
     */
    readonly redeemReward: (options: {
      readonly broadcasterId: string
      readonly rewardId: string
      readonly userId: string
      readonly userInput?: string | undefined
    }) => Effect.Effect<string, SimulatorError>

    /** the EventSub part: trigger events, reconnect, close sessions, ... */
    readonly eventSub: EventSubControl
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Port to listen on (default: a free one). If taken, a free port is used unless `strictPort`. */
  readonly port?: number | undefined
  readonly strictPort?: boolean | undefined
  readonly clientId?: string | undefined
  readonly clientSecret?: string | undefined
  readonly publicClientId?: string | undefined
  /** Seed the default users (see {@link defaultUsers}); default true. */
  readonly seedDefaultUsers?: boolean | undefined
  /** Further users to seed. */
  readonly users?: ReadonlyArray<UserInput> | undefined
  /** New device codes are approved as `userId` (default: the broadcaster) once `afterMillis` passed (Clock time). */
  readonly autoApproveDevice?: { readonly afterMillis: number; readonly userId?: string | undefined } | undefined
  /** The user `/authorize` signs in as (default: the broadcaster). */
  readonly authorizeUserId?: string | undefined
  /** default 14400 */
  readonly userTokenExpiresInSeconds?: number | undefined
  /** default 5011271 */
  readonly appTokenExpiresInSeconds?: number | undefined
  /** default 800 points, 800 per 60 s */
  readonly rateLimit?: RateLimit | undefined
  /**
   * The clock the simulator reports (`Date`, `Ratelimit-Reset`) runs this many seconds ahead of the `Clock`
   * it runs on (negative: behind), as Twitch's clock is to a client whose clock is wrong (default 0).
   */
  readonly clockSkewSeconds?: number | undefined
  /** EventSub part options (keepalive default, subscribe deadline, reconnect grace, pings). */
  readonly eventSub?: EventSubOptions | undefined
  /** The ids Helix operations create (polls, predictions, rewards, segments, ...) follow this seed (default 0). */
  readonly seed?: number | undefined
  /**
   * Twitch's chat send limits, enforced on `POST /chat/messages` (default `ChatSender.twitchLimits`;
   * `false`: none). A sender over them gets Twitch's answer: 200, `is_sent: false`, `drop_reason.code`
   * `msg_ratelimit`. `ChatSender.scaleTime` runs the same limits on a faster clock.
   */
  readonly chatLimits?: ChatSender.Limits | false | undefined
  /** senders treated as verified bots (7,500 messages per 30 s across channels, besides the channel limits) */
  readonly verifiedBots?: ReadonlyArray<string> | undefined
}

const DEFAULT_SEED: ReadonlyArray<UserInput> = [
  {
    id: defaultUsers.broadcaster,
    login: "simbroadcaster",
    displayName: "SimBroadcaster",
    broadcasterType: "affiliate"
  },
  { id: defaultUsers.moderator, login: "simmoderator", displayName: "SimModerator" },
  { id: defaultUsers.viewer, login: "simviewer", displayName: "SimViewer" },
  { id: defaultUsers.bot, login: "simbot", displayName: "SimBot" }
]

// ------------------------------------------------------------------------------------------------ listening

interface Bound {
  readonly port: number
  readonly servers: ReadonlyArray<Http.Server>
}

const listenOne = (server: Http.Server, port: number, host: string): Effect.Effect<number, NodeJS.ErrnoException> =>
  Effect.async<number, NodeJS.ErrnoException>((resume) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off("listening", onListening)
      resume(Effect.fail(error))
    }
    const onListening = () => {
      server.off("error", onError)
      resume(Effect.succeed((server.address() as Net.AddressInfo).port))
    }
    server.once("error", onError)
    server.once("listening", onListening)
    server.listen({ port, host, exclusive: true, backlog: 4096 })
  })

const closeServer = (server: Http.Server): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    if (!server.listening) return resume(Effect.void)
    server.close(() => resume(Effect.void))
    server.closeAllConnections()
  })

/** 127.0.0.1 on a (free) port, then ::1 on the same port when the host has IPv6 loopback. */
const bind = (
  makeServer: () => Http.Server,
  port: number,
  strictPort: boolean
): Effect.Effect<Bound, never, Scope.Scope> => {
  const attempt = (wanted: number): Effect.Effect<Bound, NodeJS.ErrnoException> =>
    Effect.gen(function*() {
      const v4 = makeServer()
      const actual = yield* listenOne(v4, wanted, "127.0.0.1")
      const v6 = makeServer()
      return yield* listenOne(v6, actual, "::1").pipe(
        Effect.as<Bound>({ port: actual, servers: [v4, v6] }),
        Effect.catchAll((error) =>
          error.code === "EADDRINUSE"
            ? Effect.zipRight(closeServer(v4), Effect.fail(error))
            : Effect.succeed<Bound>({ port: actual, servers: [v4] })
        )
      )
    })
  const withRetries: Effect.Effect<Bound, NodeJS.ErrnoException> = attempt(port).pipe(
    Effect.catchAll((error) =>
      error.code === "EADDRINUSE" && !(strictPort && port !== 0)
        ? Effect.retry(attempt(0), { times: 5 })
        : Effect.fail(error)
    )
  )
  return Effect.acquireRelease(
    Effect.orDieWith(withRetries, (e) => new Error(`Simulator: cannot listen on port ${port}: ${e.message}`)),
    (bound) => Effect.forEach(bound.servers, closeServer, { discard: true })
  )
}

// ------------------------------------------------------------------------------------------------ make

/** The Helix handlers' `later`: a fiber in the simulator's scope, on the clock the simulator was made with. */
const laterIn = (scope: Scope.Scope, clock: Clock.Clock): helix.HelixWorld["later"] => (millis, effect) =>
  Effect.asVoid(Effect.forkIn(Effect.withClock(Effect.delay(effect, millis), clock), scope))

/**
 * Start a simulator in the current scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<Simulator.Service, never, Scope.Scope> =>
  Effect.gen(function*() {
    const clientId = options.clientId ?? defaults.clientId
    const clientSecret = options.clientSecret ?? defaults.clientSecret
    const publicClientId = options.publicClientId ?? defaults.publicClientId
    const seed = [...(options.seedDefaultUsers === false ? [] : DEFAULT_SEED), ...(options.users ?? [])]
    let nextUserId = 200_000_001
    const toUser = (input: UserInput): SimUser =>
      makeUser({
        id: input.id ?? String(nextUserId++),
        login: input.login,
        displayName: input.displayName,
        broadcasterType: input.broadcasterType,
        description: input.description,
        email: input.email,
        createdAt: input.createdAt
      })
    const state = new SimState({
      clients: [{ clientId, clientSecret }, { clientId: publicClientId, clientSecret: null }],
      users: seed.map(toUser),
      userTokenExpiresInSeconds: options.userTokenExpiresInSeconds ?? defaults.userTokenExpiresInSeconds,
      appTokenExpiresInSeconds: options.appTokenExpiresInSeconds ?? defaults.appTokenExpiresInSeconds,
      rateLimit: options.rateLimit ?? defaults.rateLimit,
      autoApproveDevice: options.autoApproveDevice === undefined ? null : {
        afterMillis: options.autoApproveDevice.afterMillis,
        userId: options.autoApproveDevice.userId ?? defaultUsers.broadcaster
      },
      authorizeUserId: options.authorizeUserId ?? defaultUsers.broadcaster,
      clockSkewMillis: (options.clockSkewSeconds ?? 0) * 1000
    })
    state.chatLimits = options.chatLimits === false ? null : options.chatLimits ?? ChatSender.twitchLimits
    for (const bot of options.verifiedBots ?? []) state.verifiedBots.add(bot)
    if (options.seedDefaultUsers !== false) {
      state.addModerator(defaultUsers.broadcaster, defaultUsers.moderator)
      state.addModerator(defaultUsers.broadcaster, defaultUsers.bot)
    }
    const switches: oauth.OAuthSwitches = { slowDownRemaining: 0 }

    // Bind first (the EventSub part needs the port for reconnect URLs); requests before wiring get 503.
    let requestListener: Http.RequestListener = (_req, res) => {
      res.writeHead(503).end()
    }
    let upgradeListener = (_req: Http.IncomingMessage, socket: Duplex, _head: Buffer) => {
      socket.destroy()
    }
    const bound = yield* bind(
      () => {
        const server = Http.createServer((req, res) => requestListener(req, res))
        server.on("upgrade", (req, socket, head) => upgradeListener(req, socket, head))
        return server
      },
      options.port ?? 0,
      options.strictPort ?? false
    )
    const port = bound.port
    const baseUrl = `http://127.0.0.1:${port}`
    const eventSubWsUrl = `ws://127.0.0.1:${port}/ws`

    const eventSub = yield* EventSubPart.make(state.simAuth, { ...options.eventSub, baseWsUrl: eventSubWsUrl })

    const world: helix.HelixWorld = {
      state,
      store: new HelixStore(options.seed ?? 0, eventSub.conduits),
      emit: (type, condition, event) => Effect.ignore(eventSub.control.trigger({ type, condition, event })),
      later: laterIn(yield* Effect.scope, yield* Effect.clock)
    }
    const service = makeService(state, world, switches, {
      port,
      baseUrl,
      authUrl: `${baseUrl}/oauth2`,
      helixUrl: `${baseUrl}/helix`,
      eventSubWsUrl,
      clientId,
      clientSecret,
      publicClientId,
      users: defaultUsers,
      eventSub: eventSub.control
    }, toUser)

    const oauthRouter = oauth.makeRouter(state, switches)
    const helixRouter = helix.makeRouter(world, eventSub.subscriptionsApp)
    const router = HttpRouter.empty.pipe(
      HttpRouter.get("/", Effect.sync(() => json(describe(service)))),
      HttpRouter.mount("/oauth2", oauthRouter),
      HttpRouter.mount("/auth", oauthRouter),
      HttpRouter.mount("/helix", helixRouter),
      HttpRouter.mount("/mock", helixRouter),
      HttpRouter.all("/eventsub/subscriptions", helix.wrapSubscriptionsApp(state, eventSub.subscriptionsApp)),
      HttpRouter.mount("/_sim", control.makeRouter(service, eventSub.httpControlApp))
    )
    const app = yield* HttpRouter.toHttpApp(router)
    const logged = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const path = originalPath(request)
      const isControl = path.startsWith("/_sim")
      const response: HttpServerResponse.HttpServerResponse = (isControl ? control.rejectForged(request) : undefined) ??
        (yield* app.pipe(
          Effect.catchAll((error) =>
            Effect.succeed(
              error._tag === "RouteNotFound"
                ? helixError(404, "Not Found")
                : helixError(500, "Internal Server Error")
            )
          )
        ))
      const now = yield* Clock.currentTimeMillis
      if (!isControl) {
        const match = /^(?:Bearer|OAuth)\s+(\S+)/i.exec(request.headers["authorization"] ?? "")
        const token = match === null ? null : match[1]!
        const record = token === null ? undefined : state.tokens.get(token)
        state.record({
          at: now,
          method: request.method,
          path,
          status: response.status,
          clientId: request.headers["client-id"] ?? null,
          token,
          userId: record?.userId ?? null
        })
      }
      return HttpServerResponse.setHeader(response, "date", httpDate(state.reportedTime(now)))
    })
    requestListener = yield* NodeHttpServer.makeHandler(logged)
    upgradeListener = eventSub.handleUpgrade
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        requestListener = (_req, res) => {
          res.writeHead(503).end()
        }
        upgradeListener = (_req, socket) => {
          socket.destroy()
        }
      })
    )
    return service
  })

/** `Date` header text (RFC 9110 IMF-fixdate), made once per second. */
const httpDate = (() => {
  let second = NaN
  let text = ""
  return (millis: number): string => {
    const current = Math.floor(millis / 1000)
    if (current !== second) {
      second = current
      text = new Date(current * 1000).toUTCString()
    }
    return text
  }
})()

const describe = (service: Simulator.Service) => ({
  simulator: "effect-twitch",
  baseUrl: service.baseUrl,
  authUrl: service.authUrl,
  helixUrl: service.helixUrl,
  eventSubWsUrl: service.eventSubWsUrl,
  clientId: service.clientId,
  publicClientId: service.publicClientId,
  users: service.users
})

const helixRelative = (path: string): string => path.replace(/^\/(?:helix|mock)(?=\/)/, "")

type Base = Pick<
  Simulator.Service,
  | "port"
  | "baseUrl"
  | "authUrl"
  | "helixUrl"
  | "eventSubWsUrl"
  | "clientId"
  | "clientSecret"
  | "publicClientId"
  | "users"
  | "eventSub"
>

const fail = (reason: string) => Effect.fail(new SimulatorError({ reason }))

const requireUser = (state: SimState, id: string) => state.users.has(id) ? Effect.void : fail(`unknown user ${id}`)

const userList = (state: SimState, ids: ReadonlyArray<string>) =>
  Effect.forEach(ids, (id) => {
    const user = state.userById(id)
    return user === undefined ? fail(`unknown user ${id}`) : Effect.succeed(user)
  })

/** The control methods for users, apps and tokens. */
const accounts = (
  state: SimState,
  base: Base,
  toUser: (input: UserInput) => SimUser
): Pick<
  Simulator.Service,
  "addUser" | "getUser" | "addClient" | "issueUserToken" | "issueAppToken" | "tokenInfo" | "expireToken" | "revokeToken"
> => {
  const token = (accessToken: string) => {
    const record = state.tokens.get(accessToken)
    return record === undefined ? fail("unknown access token") : Effect.succeed(record)
  }
  const client = (id: string) => state.clients.has(id) ? Effect.void : fail(`unknown client ${id}`)
  return {
    addUser: (input) => Effect.sync(() => state.putUser(toUser(input))),
    getUser: (id) => Effect.sync(() => Option.fromNullable(state.userById(id))),
    addClient: (c) =>
      Effect.sync(() => {
        state.clients.set(c.clientId, { clientId: c.clientId, clientSecret: c.clientSecret ?? null })
      }),
    issueUserToken: (options) =>
      Effect.gen(function*() {
        const clientId = options.clientId ?? base.clientId
        yield* client(clientId)
        yield* requireUser(state, options.userId)
        const now = yield* Clock.currentTimeMillis
        const record = state.issueToken(now, {
          clientId,
          userId: options.userId,
          scopes: options.scopes,
          expiresInSeconds: options.expiresInSeconds,
          withRefreshToken: true
        })
        return {
          accessToken: record.token,
          refreshToken: record.refreshToken!,
          expiresIn: Math.floor((record.expiresAt - now) / 1000),
          scopes: record.scopes
        }
      }),
    issueAppToken: (options) =>
      Effect.gen(function*() {
        const clientId = options?.clientId ?? base.clientId
        yield* client(clientId)
        const now = yield* Clock.currentTimeMillis
        const record = state.issueToken(now, {
          clientId,
          userId: null,
          scopes: [],
          expiresInSeconds: options?.expiresInSeconds,
          withRefreshToken: false
        })
        return { accessToken: record.token, expiresIn: Math.floor((record.expiresAt - now) / 1000) }
      }),
    tokenInfo: (accessToken) =>
      Effect.sync(() =>
        Option.map(Option.fromNullable(state.tokens.get(accessToken)), (r) => ({
          clientId: r.clientId,
          userId: r.userId,
          scopes: r.scopes,
          expiresAt: r.expiresAt,
          revoked: r.revoked
        }))
      ),
    expireToken: (accessToken) =>
      Effect.flatMap(
        token(accessToken),
        (r) => Effect.map(Clock.currentTimeMillis, (now) => void state.expireToken(r.token, now))
      ),
    revokeToken: (accessToken) =>
      Effect.flatMap(token(accessToken), (r) => Effect.sync(() => void state.revokeToken(r.token)))
  }
}

/** The control methods for the device flow. */
const devices = (
  state: SimState,
  switches: oauth.OAuthSwitches
): Pick<
  Simulator.Service,
  "pendingDevices" | "approveDevice" | "denyDevice" | "setDeviceSlowDown" | "setAutoApproveDevice"
> => {
  const device = (userCode: string) => {
    const record = state.deviceByUserCode(userCode)
    return record === undefined ? fail(`unknown user code ${userCode}`) : Effect.succeed(record)
  }
  return {
    pendingDevices: Effect.map(
      Clock.currentTimeMillis,
      (now) => state.pendingDevices(now).map((d) => ({ userCode: d.userCode, clientId: d.clientId, scopes: d.scopes }))
    ),
    approveDevice: (userCode, userId) =>
      Effect.gen(function*() {
        yield* requireUser(state, userId)
        const record = yield* device(userCode)
        if (record.status !== "pending") return yield* fail(`device code ${userCode} is ${record.status}`)
        record.status = "approved"
        record.approvedUserId = userId
      }),
    denyDevice: (userCode) =>
      Effect.gen(function*() {
        const record = yield* device(userCode)
        if (record.status !== "pending") return yield* fail(`device code ${userCode} is ${record.status}`)
        record.status = "denied"
      }),
    setDeviceSlowDown: (enabled) =>
      Effect.sync(() => {
        switches.slowDownRemaining = enabled === true ? Infinity : enabled === false ? 0 : Math.max(0, enabled)
      }),
    setAutoApproveDevice: (options) =>
      Effect.sync(() => {
        state.autoApproveDevice = options
      })
  }
}

/** The control methods for what happens in channels. */
const channels = (
  state: SimState,
  world: helix.HelixWorld
): Pick<
  Simulator.Service,
  "addFollowers" | "addChatters" | "addModerator" | "setChannel" | "setStream" | "addSubscription" | "redeemReward"
> => {
  return {
    addFollowers: (broadcasterId, followers) =>
      Effect.gen(function*() {
        yield* requireUser(state, broadcasterId)
        const now = yield* Clock.currentTimeMillis
        if (typeof followers === "number") state.addGeneratedFollowers(broadcasterId, followers, now)
        else state.addFollowerUsers(broadcasterId, yield* userList(state, followers), now)
      }),
    addChatters: (broadcasterId, chatters) =>
      Effect.gen(function*() {
        yield* requireUser(state, broadcasterId)
        const list = typeof chatters === "number"
          ? state.generatedChatters(chatters)
          : (yield* userList(state, chatters)).map((u) => ({
            user_id: u.id,
            user_login: u.login,
            user_name: u.display_name
          }))
        state.addChatterUsers(broadcasterId, list)
      }),
    addModerator: (broadcasterId, userId) =>
      Effect.zipRight(
        Effect.zipRight(requireUser(state, broadcasterId), requireUser(state, userId)),
        Effect.sync(() => state.addModerator(broadcasterId, userId))
      ),
    setChannel: (broadcasterId, input) =>
      Effect.gen(function*() {
        yield* requireUser(state, broadcasterId)
        const channel = state.channel(broadcasterId)!
        if (input.title !== undefined) channel.title = input.title
        if (input.gameId !== undefined) channel.game_id = input.gameId
        if (input.gameName !== undefined) channel.game_name = input.gameName
        if (input.language !== undefined) channel.broadcaster_language = input.language
        if (input.tags !== undefined) channel.tags = [...input.tags]
        if (input.delay !== undefined) channel.delay = input.delay
      }),
    setStream: (userId, input) =>
      Effect.gen(function*() {
        yield* requireUser(state, userId)
        if (input === null) {
          state.streams.delete(userId)
          return
        }
        const now = yield* Clock.currentTimeMillis
        const user = state.users.get(userId)!
        const channel = state.channel(userId)!
        const previous = state.streams.get(userId)
        state.streams.set(userId, {
          id: previous?.id ?? String(40_000_000_000 + Math.floor(now % 1_000_000_000)),
          user_id: user.id,
          user_login: user.login,
          user_name: user.display_name,
          game_id: input.gameId ?? previous?.game_id ?? channel.game_id,
          game_name: input.gameName ?? previous?.game_name ?? channel.game_name,
          type: "live",
          title: input.title ?? previous?.title ?? channel.title,
          tags: [...(input.tags ?? previous?.tags ?? channel.tags)],
          viewer_count: input.viewerCount ?? previous?.viewer_count ?? 0,
          started_at: input.startedAt ?? previous?.started_at ?? new Date(now).toISOString(),
          language: input.language ?? previous?.language ?? channel.broadcaster_language,
          thumbnail_url: `https://static-cdn.jtvnw.net/previews-ttv/live_user_${user.login}-{width}x{height}.jpg`,
          tag_ids: [],
          is_mature: false
        })
      }),
    addSubscription: (options) =>
      Effect.zipRight(
        Effect.zipRight(requireUser(state, options.broadcasterId), requireUser(state, options.userId)),
        Effect.sync(() => {
          nested(world.store.subscriptions, options.broadcasterId).set(options.userId, {
            broadcasterId: options.broadcasterId,
            userId: options.userId,
            tier: options.tier ?? "1000",
            gifterId: options.gifterId ?? null
          })
        })
      ),
    redeemReward: (options) =>
      Effect.gen(function*() {
        yield* requireUser(state, options.userId)
        const now = yield* Clock.currentTimeMillis
        const id = yield* redeem({ ...world, now }, options)
        return id === undefined ? yield* fail(`unknown custom reward ${options.rewardId}`) : id
      })
  }
}

/** The control methods for rate limit, clock skew, faults and dropped chat. */
const switchesOf = (
  state: SimState
): Pick<
  Simulator.Service,
  "setRateLimit" | "setClockSkew" | "injectFaults" | "clearFaults" | "setChatDrop" | "setChatLimits"
> => {
  return {
    setRateLimit: (rateLimit) => Effect.sync(() => state.setRateLimit(rateLimit)),
    setClockSkew: (seconds) =>
      Effect.sync(() => {
        state.clockSkewMillis = seconds * 1000
      }),
    injectFaults: (options) =>
      Effect.sync(() => {
        if (options.count > 0) {
          state.faults.push({ remaining: options.count, kind: options.kind, pathPrefix: options.pathPrefix ?? null })
        }
      }),
    clearFaults: Effect.sync(() => {
      state.faults.length = 0
    }),
    setChatLimits: (limits) =>
      Effect.sync(() => {
        state.chatLimits = limits === false ? null : limits
      }),
    setChatDrop: (drop) =>
      Effect.sync(() => {
        state.chatDrop = drop === false
          ? null
          : drop === true
          ? { code: "msg_rejected", message: "Your message is being checked by mods and has not been sent." }
          : drop
      })
  }
}

/** The control methods for what the simulator recorded. */
const records = (
  state: SimState
): Pick<
  Simulator.Service,
  | "requestLog"
  | "clearRequestLog"
  | "countRequests"
  | "counters"
  | "chatMessages"
  | "whispers"
  | "announcements"
  | "bans"
> => {
  return {
    requestLog: Effect.sync(() => [...state.log]),
    clearRequestLog: Effect.sync(() => {
      state.log.length = 0
    }),
    countRequests: (filter) =>
      Effect.sync(() =>
        state.log.filter((e) =>
          (filter.path === undefined || e.path.startsWith(filter.path) ||
            helixRelative(e.path).startsWith(filter.path)) &&
          (filter.method === undefined || e.method === filter.method.toUpperCase()) &&
          (filter.token === undefined || e.token === filter.token) &&
          (filter.userId === undefined || e.userId === filter.userId) &&
          (filter.status === undefined || e.status === filter.status)
        ).length
      ),
    counters: Effect.sync(() => ({ ...state.counters })),
    chatMessages: Effect.sync(() => [...state.chatMessages]),
    whispers: Effect.sync(() => [...state.whispers]),
    announcements: Effect.sync(() => [...state.announcements]),
    bans: (broadcasterId) => Effect.sync(() => [...(state.bans.get(broadcasterId)?.values() ?? [])])
  }
}

const makeService = (
  state: SimState,
  world: helix.HelixWorld,
  switches: oauth.OAuthSwitches,
  base: Base,
  toUser: (input: UserInput) => SimUser
): Simulator.Service => ({
  ...base,
  ...accounts(state, base, toUser),
  ...devices(state, switches),
  ...channels(state, world),
  ...switchesOf(state),
  ...records(state)
})

/**
 * The simulator as a layer (scoped: the ports close with the layer). Seeds the users in {@link defaultUsers}
 * (`simbroadcaster` 100000001, `simmoderator` 100000002 and `simbot` 100000004 are moderators of the
 * broadcaster, `simviewer` 100000003), a confidential app ({@link defaults}.clientId / clientSecret) and a
 * public client ({@link defaults}.publicClientId). Needs nothing: it opens its own Node HTTP servers.
 *
 * Request handlers run with the services in effect where the layer is built: build it inside a test
 * (`it.scoped`) and the test's `TestClock` drives token/device-code expiry, rate-limit refill and delays.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<Simulator> => Layer.scoped(Simulator, make(options))

/**
 * `TwitchConfig` pointing at the simulator, as its confidential app (client id + secret).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTwitchConfig: Layer.Layer<TwitchConfig.TwitchConfig, never, Simulator> = Layer.effect(
  TwitchConfig.TwitchConfig,
  Effect.map(Simulator, (sim) =>
    TwitchConfig.make({
      clientId: sim.clientId,
      clientSecret: Redacted.make(sim.clientSecret),
      authUrl: sim.authUrl,
      helixUrl: sim.helixUrl,
      eventSubWsUrl: sim.eventSubWsUrl
    }))
)

/**
 * `TwitchConfig` pointing at the simulator, as its public client (no secret; device flow).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTwitchConfigPublic: Layer.Layer<TwitchConfig.TwitchConfig, never, Simulator> = Layer.effect(
  TwitchConfig.TwitchConfig,
  Effect.map(Simulator, (sim) =>
    TwitchConfig.make({
      clientId: sim.publicClientId,
      authUrl: sim.authUrl,
      helixUrl: sim.helixUrl,
      eventSubWsUrl: sim.eventSubWsUrl
    }))
)

/**
 * A `UserToken` issued by the simulator for one of its users (every scope unless `scopes` is given),
 * ready to put into a `TokenStore`: how tests give a program a logged-in user.
 *
 * @since 0.1.0
 * @category tokens
 */
export const userToken = (options: {
  readonly userId: string
  readonly scopes?: ReadonlyArray<string> | undefined
  readonly clientId?: string | undefined
}): Effect.Effect<UserToken, SimulatorError, Simulator> =>
  Effect.gen(function*() {
    const sim = yield* Simulator
    const issued = yield* sim.issueUserToken({
      userId: options.userId,
      scopes: options.scopes ?? Scopes.all,
      clientId: options.clientId
    })
    const user = yield* sim.getUser(options.userId)
    const now = yield* DateTime.now
    return new UserToken({
      userId: options.userId,
      login: Option.match(user, { onNone: () => options.userId, onSome: (u) => u.login }),
      scopes: [...issued.scopes],
      accessToken: Redacted.make(issued.accessToken),
      refreshToken: Option.some(Redacted.make(issued.refreshToken)),
      expiresAt: Option.some(DateTime.add(now, { seconds: issued.expiresIn })),
      obtainedAt: now
    })
  })

/**
 * A memory `TokenStore` holding simulator-issued tokens for the given users (default: the seeded
 * broadcaster), each with every scope.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTokenStore = (
  userIds: ReadonlyArray<string> = [defaultUsers.broadcaster]
): Layer.Layer<TokenStore.TokenStore, SimulatorError, Simulator> =>
  Layer.unwrapEffect(
    Effect.map(
      Effect.forEach(userIds, (userId) => userToken({ userId })),
      (tokens) => TokenStore.layerMemory(tokens)
    )
  )
