import type { IncomingMessage, Server as HttpServer } from 'node:http'
import type { Server as HttpsServer } from 'node:https'
import type { Logger, LogLevel } from '../protocol/log'
import type { ServerClock } from './clock'
import type { ClusterOptions } from './cluster/options'
import type { ServerSession } from './session'
import type { TransportName } from '../protocol/frames'

/** What `authenticate` resolves to; a refusal closes with `1008` and `reason` (the client ends, no retry). */
export type AuthResult = { ok: true; data?: unknown } | { ok: false; reason?: string }

/**
 * Gateway mode: where one session's plain WebSocket goes. A bare URL forwards the browser's
 * `cookie` and `authorization` headers, its origin and `X-Forwarded-For`; with `headers`
 * exactly those are sent instead (docs/gateway.md "Headers").
 */
export type UpstreamTarget = string | { url: string; headers?: Record<string, string> }

/** Gateway mode: a `ws(s)://` URL, or a function of the session (may be async) giving one. */
export type Upstream = string | ((session: ServerSession) => UpstreamTarget | Promise<UpstreamTarget>)

export type { TransportName }

/** Where the server logs: the client's {@link Logger}, under the name earlier versions gave it. */
export type ServerLogger = Logger

/**
 * Options of {@link LifelineServer}; every limit has a default. Each limit says what a client
 * past it gets (a close code, or an HTTP status for a request that has no session to close) and
 * where it is tested at its edge; SECURITY.md has the whole list.
 *
 * @example
 * new LifelineServer({ server: httpServer, path: '/rt', origins: ['https://app.example.com'] })
 */
export interface ServerOptions {
  /**
   * HTTP(S) server to attach to; without it, call `handleRequest` and `handleUpgrade` yourself.
   * Lifeline takes the requests for its path before any of the server's `request` listeners,
   * added before or after it, sees them; they get every other request. It lowers the server's
   * `headersTimeout` to `requestTimeout` if it is longer (see there).
   */
  server?: HttpServer | HttpsServer
  /**
   * Endpoint path; every transport is served here. Under a framework's mount
   * (`app.use('/rt', handler)` in Express, which strips the prefix from `req.url`), the full path
   * as the client asks for it: it is compared with `req.originalUrl` too.
   * @default '/lifeline'
   */
  path?: string
  /**
   * Serve the script-tag build that matches this server at `<path>/lifeline.min.js` (and its
   * source map at `<path>/lifeline.min.js.map`), gzipped when the browser accepts it, with an
   * `ETag` (the browser keeps a copy and revalidates it: the URL carries no version). Read from
   * beside the server's own bundle, once, on the first request for it; `false` leaves those URLs
   * to the app. @default true
   */
  serveClient?: boolean
  /**
   * Which pages may use the server. By default, pages on the server's own host name: the `Origin`
   * host must equal the `Host` header's host (or, with `trustProxy`, an `X-Forwarded-Host` or
   * `Forwarded: host=` a trusted proxy wrote); ports and schemes are not compared, so a proxy that
   * drops the port or ends TLS changes nothing. A list names origins (`'https://app.example.com'`:
   * that scheme, host and port, however written; `'//app.example.com'`: that host on any scheme and
   * port; `'//app.example.com:8443'`: that host and port; other strings such as `'null'` exactly);
   * `'*'` allows any (no credentials then); a function decides alone (one that throws refuses).
   * Requests without an `Origin` header (non-browser clients) are allowed. A refused origin gets
   * HTTP 403 on every transport, WebSocket upgrades included (RFC 6455 §10.2). An HTTP refusal's
   * body is a `1008` close frame saying why, readable by the page (`Access-Control-Allow-Origin: *`,
   * no credentials), so the client ends with that reason instead of retrying; each refused origin
   * is logged once at `warn` with what was compared and the option that fixes it.
   * @default the page's host name must be the server's own (see above)
   */
  origins?: string[] | '*' | ((origin: string, req: IncomingMessage) => boolean)
  /**
   * Run before a connection that makes or resumes a session is accepted (every WebSocket, every
   * stream, the first poll of a polling connection; token from `?token=`, an `Authorization:
   * Bearer` header or a `lifeline_token` cookie). A refusal or a throw answers `1008` with the
   * reason; no answer within `requestTimeout` answers `1013`. Within a connection, polls and POSTs
   * are authorized by the session id and its bound origin.
   */
  authenticate?: (req: IncomingMessage, token: string | null) => AuthResult | Promise<AuthResult>
  /**
   * Gateway mode: relay each session to its own plain WebSocket to this server (docs/gateway.md).
   * @example new LifelineServer({ server, path: '/rt', upstream: 'ws://127.0.0.1:9000/chat' })
   */
  upstream?: Upstream
  /**
   * Gateway mode: bytes waiting to be written to an upstream after which the session holds the
   * browser's messages unacknowledged, until they fall to a quarter of it. @default 1048576
   */
  upstreamHighWaterMark?: number
  /**
   * Largest application message, bytes (UTF-8 for text). One over closes the session with
   * `1009`; a WebSocket frame over `maxMessageSize` + 64 KiB (a batch carries several) too.
   * @default 4194304
   */
  maxMessageSize?: number
  /**
   * Unacknowledged bytes kept per session, and bytes waiting in its WebSocket or stream socket
   * (a client acknowledging without reading); past either the session closes with `3900`.
   * @default 16777216
   */
  maxBufferedAmount?: number
  /** Unacknowledged messages kept per session; one more closes it with `3900`. @default 100000 */
  maxQueueLength?: number
  /**
   * Bytes held across all sessions: unacknowledged messages, ended sessions' unread last words,
   * POST bodies being received. A send past it closes that session with `3900`; a POST past it
   * gets HTTP 503. @default 536870912
   */
  maxTotalBuffered?: number
  /**
   * Sessions in total; a new one past it is refused with `1013` (try again later), in the
   * response of an HTTP request (status 200) or over the WebSocket. Also the most ended
   * sessions remembered for late requests. With `cluster`, sessions are counted across every node.
   * @default 100000
   */
  maxSessions?: number
  /**
   * Sessions per remote address; one more is refused with `3929` (the client tries again later,
   * with its backoff). Behind proxies set `trustProxy`, or every client has the proxy's address.
   * With `cluster`, sessions are counted across every node.
   * @default 1000
   */
  maxSessionsPerAddress?: number
  /**
   * How many proxies in front of the server append to `X-Forwarded-For` and are trusted: the
   * client's address is that many entries from the right (`true` is 1), for
   * `maxSessionsPerAddress` and `session.remoteAddress`; the default origin check also accepts the
   * host names in the last that many `X-Forwarded-Host` entries and `Forwarded` elements' `host=`
   * (what Apache's default `ProxyPreserveHost Off` needs). Only when clients cannot reach the
   * server except through those proxies, and they set these headers: otherwise anyone can claim any
   * address. A request with fewer entries keeps its socket's address. @default false (the socket's
   * address; forwarded hosts ignored)
   */
  trustProxy?: boolean | number
  /**
   * Largest POST body, bytes; one more gets HTTP 413 (with `Connection: close`, the rest is not
   * read). Clients keep bodies under 512 KiB plus one message. @default maxMessageSize + 2 MiB
   */
  maxPostBytes?: number
  /** Most frames in one POST; one more gets HTTP 413. @default 10000 */
  maxFramesPerPost?: number
  /**
   * Out-of-order POSTs held per session, unanswered, while an earlier one is missing; one more is refused with HTTP
   * 503 (the client sends it again, the session goes on). @default 4
   */
  maxParkedPosts?: number
  /**
   * How long a session outlives its last connection, waiting for the client to resume, ms; then `3901`. @default 60000
   */
  sessionTtl?: number
  /**
   * Messages a room keeps for members coming back (PROTOCOL.md §6.5): a client whose position in the room is older
   * gets a room reset (`roomreset`) and the room from then on. @default 1000
   */
  roomHistorySize?: number
  /** How long a room keeps a message for members coming back, ms (as `roomHistorySize`). @default 60000 */
  roomHistoryAge?: number
  /** Longest heartbeat interval, ms (clients may ask for shorter, down to 1000). @default 25000 */
  heartbeatInterval?: number
  /**
   * Silence beyond the heartbeat interval after which a connection is dropped (the session waits `sessionTtl`), ms.
   * @default 20000
   */
  heartbeatTimeout?: number
  /** Longest time a poll is held open, ms; below common 30-60 s proxy timeouts. @default 25000 */
  pollHold?: number
  /** Bytes after which a stream response is ended (the client reopens it at once). @default 1048576 */
  streamMaxBytes?: number
  /**
   * Slow clients, ms. A POST body not complete within it gets HTTP 408 and its connection is
   * closed; `authenticate` not done within it answers `1013`; a session whose client never spoke
   * and has no connection left is dropped after it (a later request for it gets `3901`; one still
   * connected is judged by heartbeats); a WebSocket not answering our
   * close within it is cut. Request headers (slowloris): Node's `headersTimeout` of the attached
   * server, lowered to this if longer, answers HTTP 408; Node checks it every
   * `connectionsCheckingInterval` (30 s unless the server was made with less). Without `server`,
   * set `headersTimeout` yourself. @default 10000
   */
  requestTimeout?: number
  /** Period of the housekeeping sweep (heartbeats, expiry), ms. @default 1000 */
  sweepInterval?: number
  /**
   * Where to log; `null` for nowhere (a misconfiguration that breaks clients is then still told
   * once as a process warning, `LifelineWarning`, as Node's own go to stderr). Session ids appear
   * only at `debug`. @default console
   */
  logger?: Logger | null
  /**
   * What to log: `debug`, `info`, `warn`, `error` or `silent`. At `warn`: a throw from the app's
   * handlers (the session carries on), a refused origin (once per origin), a POST body refused
   * with 413 or 408, a new session refused by `maxSessions` or `maxSessionsPerAddress` (each of
   * these at most once a minute); at `error` misconfigurations (once each). @default 'warn'
   */
  logLevel?: LogLevel
  /**
   * Distinct fallback reasons counted per transport in `stats()`; others count as `other`, so
   * clients cannot grow the table without bound. @default 50
   */
  statsMaxReasons?: number
  /** Emit `stats` with a snapshot every this many ms; 0 never (call `stats()` instead). @default 0 */
  statsInterval?: number
  /**
   * Cluster mode (docs/scaling.md): sessions live in Redis, so any number of these servers, behind
   * any balancer and without sticky sessions, serve any request of any session, and a node's
   * death costs no message. `{ redis: 'redis://…' }`, a connected node-redis 6 client, or a
   * `RedisLink`; `prefix`, `nodeLease`, `fanoutChunk`, `durable`. A bad value throws `LL_ERR_INVALID_OPTION`.
   * @default none (every session in this process's memory)
   */
  cluster?: ClusterOptions
}

/** Server defaults. */
export const SERVER_DEFAULTS = Object.freeze({
  path: '/lifeline',
  serveClient: true,
  maxMessageSize: 4194304,
  maxBufferedAmount: 16777216,
  maxQueueLength: 100000,
  maxTotalBuffered: 536870912,
  maxSessions: 100000,
  maxSessionsPerAddress: 1000,
  maxFramesPerPost: 10000,
  maxParkedPosts: 4,
  sessionTtl: 60000,
  roomHistorySize: 1000,
  roomHistoryAge: 60000,
  heartbeatInterval: 25000,
  heartbeatTimeout: 20000,
  pollHold: 25000,
  streamMaxBytes: 1048576,
  requestTimeout: 10000,
  sweepInterval: 1000,
  upstreamHighWaterMark: 1048576,
  statsMaxReasons: 50,
  statsInterval: 0,
  logLevel: 'warn' as LogLevel,
})

/**
 * Each default's type rather than its value's: the frozen defaults type `maxBufferedAmount` as
 * 16777216, and a test's or an app's other value did not fit `ServerResolved`.
 */
type Widened<T> = {
  readonly [K in keyof T]: T[K] extends number
    ? number
    : T[K] extends boolean
      ? boolean
      : T[K] extends string
        ? string
        : T[K]
}

/**
 * Options with every default filled in (internal; in the published types because `ServerSession`'s constructor names
 * it).
 */
export type ServerResolved = Widened<typeof SERVER_DEFAULTS> &
  ServerOptions & {
    maxPostBytes: number
    /** Every timer and `now` of the server: the real one, or a test's fake. @internal */
    clock: ServerClock
  }
