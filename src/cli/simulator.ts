// `effect-twitch simulator [--port n]`: the local Twitch simulator until Ctrl-C. Prints its URLs, the environment
// to point the library (or Twurple) at it, the seeded users with ready-made tokens (it is a test double: these
// tokens are the simulator's own and open nothing on Twitch), and the control routes.
// The simulator's module (and its HTTP server) is loaded only by this command.
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Config from "effect/Config"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as SimulatorModule from "../testing/Simulator.js"

const ALL_USER_SCOPES = [
  "channel:manage:broadcast",
  "channel:read:subscriptions",
  "channel:bot",
  "chat:read",
  "chat:edit",
  "moderator:manage:announcements",
  "moderator:manage:banned_users",
  "moderator:manage:chat_settings",
  "moderator:read:chatters",
  "moderator:read:followers",
  "user:bot",
  "user:manage:whispers",
  "user:read:chat",
  "user:read:email",
  "user:write:chat"
]

const banner = (Simulator: typeof SimulatorModule) =>
  Effect.gen(function*() {
    const sim = yield* Simulator.Simulator
    yield* sim.addFollowers(sim.users.broadcaster, 1000)
    yield* sim.addChatters(sim.users.broadcaster, [sim.users.moderator, sim.users.viewer, sim.users.bot])
    const lines: Array<string> = [
      `effect-twitch simulator listening on ${sim.baseUrl} (and localhost:${sim.port})`,
      "",
      `  OAuth     ${sim.authUrl}   (twitch-cli layout: http://localhost:${sim.port}/auth)`,
      `  Helix     ${sim.helixUrl}    (twitch-cli layout: http://localhost:${sim.port}/mock)`,
      `  EventSub  ${sim.eventSubWsUrl}   subscriptions REST: ${sim.helixUrl}/eventsub/subscriptions`,
      "",
      "Environment for effect-twitch (confidential app):",
      `  TWITCH_CLIENT_ID=${sim.clientId} TWITCH_CLIENT_SECRET=${sim.clientSecret} TWITCH_AUTH_URL=${sim.authUrl} ` +
      `TWITCH_HELIX_URL=${sim.helixUrl} TWITCH_EVENTSUB_WS_URL=${sim.eventSubWsUrl}`,
      "Public client (device flow, no secret):",
      `  TWITCH_CLIENT_ID=${sim.publicClientId} TWITCH_AUTH_URL=${sim.authUrl} TWITCH_HELIX_URL=${sim.helixUrl} ` +
      `TWITCH_EVENTSUB_WS_URL=${sim.eventSubWsUrl}`,
      "The command-line tool:",
      `  effect-twitch <command> --simulator-url ${sim.baseUrl}   (or SIM_URL=${sim.baseUrl})`,
      "Twurple:",
      `  TWURPLE_MOCK_API_PORT=${sim.port}`,
      "",
      "Seeded users (user tokens carry all common scopes, 4 h):"
    ]
    for (const [role, id] of Object.entries(sim.users)) {
      const user = yield* sim.getUser(id)
      const token = yield* sim.issueUserToken({ userId: id, scopes: ALL_USER_SCOPES })
      lines.push(
        `  ${role.padEnd(12)} id=${id} login=${Option.match(user, { onNone: () => "?", onSome: (u) => u.login })}` +
          ` access_token=${token.accessToken} refresh_token=${token.refreshToken}`
      )
    }
    const app = yield* sim.issueAppToken()
    lines.push(
      `  app token    ${app.accessToken}`,
      "",
      "Control under /_sim (Host 127.0.0.1, [::1] or localhost; bodies Content-Type: application/json):",
      "  POST device/approve {user_code,user_id} · device/deny {user_code} · device/slow_down {enabled}",
      "  GET  device/pending",
      "  POST tokens/user {user_id,scopes} · tokens/app · tokens/expire {access_token} · tokens/revoke {access_token}",
      "  POST users {login} · followers {broadcaster_id,count|user_ids} · chatters (same) · moderators · channels",
      "  POST streams {user_id,live} · ratelimit {capacity,refill_per_second} · clock {skew_seconds}",
      "  POST faults {count,kind,delay_ms?,path_prefix?} · DELETE faults · POST chat/drop {enabled,code?,message?}",
      "  GET  log · counters · chat/messages · whispers",
      "  POST eventsub/{trigger,send-old,reconnect,close,keepalive,half-open,resend,malformed,revoke,subscription-status,burst}",
      "  GET  eventsub/{sessions,subscriptions}",
      "",
      "Ctrl-C to stop."
    )
    yield* Console.log(lines.join("\n"))
  })

const port = Options.integer("port").pipe(
  Options.withAlias("p"),
  Options.withDescription("The port (0: a free one); or SIM_PORT; default 8080, a free port if 8080 is taken"),
  Options.withFallbackConfig(Config.integer("SIM_PORT")),
  Options.withDefault(8080),
  Options.filterMap(
    (n) => Number.isInteger(n) && n >= 0 && n < 65536 ? Option.some(n) : Option.none(),
    "--port must be a port number, 0 to 65535"
  )
)

/** @internal */
export const command = Command.make(
  "simulator",
  { port },
  (args) =>
    Effect.flatMap(Effect.promise(() => import("../testing/Simulator.js")), (Simulator) =>
      Layer.launch(
        Layer.effectDiscard(banner(Simulator)).pipe(
          Layer.provideMerge(Simulator.layer({ port: args.port }))
        )
      ))
).pipe(
  Command.withDescription(
    "Run the local Twitch simulator (OAuth, Helix, EventSub, a control API) until Ctrl-C"
  )
)
