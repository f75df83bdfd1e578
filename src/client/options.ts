import type { Clock } from './clock'
import type { TransportClass, TransportName } from './transports/transport'
import type { Logger, LogLevel } from '../protocol/log'

export type { Logger, LogLevel }

/** Key-value storage for what worked per endpoint; `localStorage` fits. */
export interface Storage {
  getItem(key: string): string | null
  setItem(key: string, value: string): void
}

/**
 * Everything a connection can be told. Every field is optional; defaults are in
 * {@link DEFAULTS} and in the README's option table.
 *
 * @example
 * new Lifeline('/rt', { transports: ['websocket', 'polling'], maxDelay: 30000 })
 */
export interface LifelineOptions {
  /**
   * Which transports to use and in which order of preference: names, or transport classes for
   * a bundle that should ship only those.
   * @default ['websocket', 'stream', 'polling']
   */
  transports?: Array<TransportName | TransportClass>
  /** First reconnect delay cap, ms. @default 500 */
  minDelay?: number
  /** Largest reconnect delay, ms. @default 10000 */
  maxDelay?: number
  /** Growth of the delay cap per failed attempt. @default 2 */
  factor?: number
  /** Full jitter: pick each delay uniformly in [0, cap]. @default true */
  jitter?: boolean
  /** Give up (close with 1006) after this many failed attempts in a row. @default Infinity */
  maxRetries?: number
  /** A connection must stay up this long, ms, before the attempt count resets. @default 5000 */
  minUptime?: number
  /**
   * A session the server ends as a protocol error (1002) is replaced by a new one (a `reset`); the
   * `maxProtocolErrors`-th such end within a minute closes the connection with 1002 instead. @default 3
   */
  maxProtocolErrors?: number
  /**
   * Bytes sent but not yet acknowledged that `send` accepts before it throws `LL_ERR_BUFFER_FULL`. @default 16777216
   */
  maxBufferedAmount?: number
  /**
   * Messages sent but not yet acknowledged that `send` accepts before it throws `LL_ERR_BUFFER_FULL`. @default 100000
   */
  maxQueueLength?: number
  /** Largest message, in bytes, either way; the server's own limit applies too. @default 4194304 */
  maxMessageSize?: number
  /**
   * Heartbeat interval asked of the server, ms; shortened by itself when a proxy cuts idle connections. @default 25000
   */
  heartbeatInterval?: number
  /** Silence beyond the heartbeat interval after which a connection counts as dead, ms. @default 20000 */
  heartbeatTimeout?: number
  /** Give up on one connection attempt after this long, ms. @default 15000 */
  connectTimeout?: number
  /**
   * Start the next transport in parallel if the current one has not proven itself in this long (plus the round trip),
   * ms. @default 400
   */
  raceDelay?: number
  /** First delay before re-testing a better transport in the background, ms; doubles on failure. @default 3000 */
  upgradeDelay?: number
  /** How long to remember which transport worked for this endpoint, ms; 0 disables. @default 1800000 */
  rememberFor?: number
  /**
   * Acknowledge, keep and resend messages so none is lost across reconnects; false is fire-and-forget. @default true
   */
  resume?: boolean
  /** Send cookies and HTTP auth on cross-origin HTTP requests. @default false */
  withCredentials?: boolean
  /**
   * A token for the server's `authenticate` hook, sent as the `token` query parameter; a function is called before each
   * connection.
   */
  token?: string | (() => string | Promise<string>)
  /**
   * `LifelinePlain`: a message to send every `heartbeatInterval` as an application-level ping; any
   * message from the server then counts as a sign of life, and silence past
   * `heartbeatTimeout` as a dead connection. Without it, plain mode relies on the browser's
   * own close events.
   */
  plainPing?: string
  /** The WebSocket constructor. @default globalThis.WebSocket */
  WebSocket?: typeof WebSocket
  /**
   * The fetch function; `null` makes the HTTP transports use XMLHttpRequest, as in webviews without fetch streaming.
   * @default globalThis.fetch
   */
  fetch?: typeof fetch | null
  /** Timers and wall clock. @default realClock */
  clock?: Clock
  /** Where to remember what worked. @default localStorage when available */
  storage?: Storage | null
  /** Where to log; `null` for nowhere. @default console */
  logger?: Logger | null
  /** What to log: `debug`, `info`, `warn`, `error` or `silent`. @default 'warn' */
  logLevel?: LogLevel
  /** Log every decision (`logLevel: 'debug'`). @default false */
  debug?: boolean
}

/** Defaults for every option. */
export const DEFAULTS = /* @__PURE__ */ Object.freeze({
  minDelay: 500,
  maxDelay: 10000,
  factor: 2,
  jitter: true,
  maxRetries: Infinity,
  minUptime: 5000,
  maxProtocolErrors: 3,
  maxBufferedAmount: 16777216,
  maxQueueLength: 100000,
  maxMessageSize: 4194304,
  heartbeatInterval: 25000,
  heartbeatTimeout: 20000,
  connectTimeout: 15000,
  raceDelay: 400,
  upgradeDelay: 3000,
  rememberFor: 1800000,
  resume: true,
  withCredentials: false,
  logLevel: 'warn' as LogLevel,
  debug: false,
})

/** Options after defaults are applied. @internal */
export type Resolved = typeof DEFAULTS & LifelineOptions & { clock: Clock }
