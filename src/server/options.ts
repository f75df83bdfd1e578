import type { IncomingMessage, Server as HttpServer } from 'node:http'
import type { Server as HttpsServer } from 'node:https'
import type { ServerSession } from './session'

/** What `authenticate` resolves to. */
export type AuthResult = { ok: true; data?: unknown } | { ok: false; status?: number; reason?: string }

/**
 * Gateway mode: where one session's plain WebSocket goes. A bare URL forwards the browser's
 * `cookie` and `authorization` headers, its origin and `X-Forwarded-For`; with `headers`
 * exactly those are sent instead (docs/gateway.md "Headers").
 */
export type UpstreamTarget = string | { url: string; headers?: Record<string, string> }

/** Gateway mode: a `ws(s)://` URL, or a function of the session (may be async) giving one. */
export type Upstream = string | ((session: ServerSession) => UpstreamTarget | Promise<UpstreamTarget>)

/** Where the server logs; `console` fits. Session ids are never logged below `debug`. */
export interface ServerLogger {
  debug(...args: unknown[]): void
  info(...args: unknown[]): void
  warn(...args: unknown[]): void
  error(...args: unknown[]): void
}

/**
 * Options of {@link LifelineServer}; every limit has a default (README "Server options").
 *
 * @example
 * new LifelineServer({ server: httpServer, path: '/rt', origins: ['https://app.example.com'] })
 */
export interface ServerOptions {
  /** HTTP(S) server to attach to; without it, call `handleRequest` and `handleUpgrade` yourself. */
  server?: HttpServer | HttpsServer
  /** Endpoint path; every transport is served here. @default '/lifeline' */
  path?: string
  /**
   * Allowed page origins (`https://app.example.com`), `'*'` for any (no credentials then), or a
   * function. Requests without an `Origin` header (non-browser clients) are allowed.
   * @default same origin only (the `Origin` host must equal the `Host` header)
   */
  origins?: string[] | '*' | ((origin: string, req: IncomingMessage) => boolean)
  /** Run before a connection is accepted (token from `?token=`, a header or a cookie). */
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
  /** Largest application message, bytes. @default 4194304 */
  maxMessageSize?: number
  /** Unacknowledged bytes kept per session before it is closed with 4000. @default 16777216 */
  maxBufferedAmount?: number
  /** Unacknowledged bytes kept across all sessions; a send past it closes that session with 4000. @default 536870912 */
  maxTotalBuffered?: number
  /** Sessions in total; more are refused with 4029 / HTTP 503. @default 100000 */
  maxSessions?: number
  /** Sessions per remote address; more are refused with 4029 / HTTP 429. @default 1000 */
  maxSessionsPerAddress?: number
  /** Largest POST body, bytes; more gets HTTP 413. Clients keep bodies under 1 MiB plus one message. @default maxMessageSize + 2 MiB */
  maxPostBytes?: number
  /** Most frames in one POST; more gets HTTP 413. @default 10000 */
  maxFramesPerPost?: number
  /** Out-of-order POSTs held per session while an earlier one is missing. @default 4 */
  maxParkedPosts?: number
  /** How long a session outlives its last connection, waiting for the client to resume, ms. @default 60000 */
  sessionTtl?: number
  /** Longest heartbeat interval, ms (clients may ask for shorter, down to 1000). @default 25000 */
  heartbeatInterval?: number
  /** Silence beyond the heartbeat interval after which a connection is dropped, ms. @default 20000 */
  heartbeatTimeout?: number
  /** Longest time a poll is held open, ms; below common 30-60 s proxy timeouts. @default 25000 */
  pollHold?: number
  /** Bytes after which a stream response is ended (the client reopens it at once). @default 1048576 */
  streamMaxBytes?: number
  /** Time allowed for a WebSocket handshake or a POST body to arrive, ms. @default 10000 */
  requestTimeout?: number
  /** Period of the housekeeping sweep (heartbeats, expiry), ms. @default 1000 */
  sweepInterval?: number
  logger?: ServerLogger | null
}

/** Server defaults. */
export const SERVER_DEFAULTS = Object.freeze({
  path: '/lifeline',
  maxMessageSize: 4194304,
  maxBufferedAmount: 16777216,
  maxTotalBuffered: 536870912,
  maxSessions: 100000,
  maxSessionsPerAddress: 1000,
  maxFramesPerPost: 10000,
  maxParkedPosts: 4,
  sessionTtl: 60000,
  heartbeatInterval: 25000,
  heartbeatTimeout: 20000,
  pollHold: 25000,
  streamMaxBytes: 1048576,
  requestTimeout: 10000,
  sweepInterval: 1000,
  upstreamHighWaterMark: 1048576,
})

/** @internal */
export type ServerResolved = typeof SERVER_DEFAULTS & ServerOptions & { maxPostBytes: number }
