import { WebSocket } from 'ws'
import { LifelineError } from '../protocol/errors'
import { Code, isResumable } from '../protocol/frames'
import type { Upstream, UpstreamTarget } from './options'
import type { ServerSession, SessionHost } from './session'

/**
 * Browser request headers a gateway forwards to its upstream when `upstream` is a URL (or a
 * function returning a bare URL): what a plain WebSocket server in front of which the gateway is
 * put would have received from the browser itself. `origin` is the session's origin;
 * `x-forwarded-for` gets the browser's address appended.
 */
export const FORWARDED_HEADERS = ['cookie', 'authorization'] as const

/** How often a gateway whose upstream went looks whether the browser acknowledged the rest, ms. */
const DRAIN_POLL = 20

/** The relay of each live session, for tests and diagnostics. @internal */
export const _relays = new WeakMap<ServerSession, Relay>()

/**
 * Check a static `upstream` option at construction, so a typo fails at start-up rather than on
 * every session. Throws `LL_ERR_INVALID_OPTION`.
 * @internal
 */
export function checkUpstream(upstream: Upstream): void {
  if (typeof upstream == 'string') wsUrl(upstream)
  else if (typeof upstream != 'function')
    throw new LifelineError('LL_ERR_INVALID_OPTION', 'upstream must be a ws(s):// URL or a function of the session')
}

/**
 * Gateway mode: give `s` its own plain WebSocket to the upstream and relay both ways until
 * either side closes. Called once per session, when the session is confirmed.
 * @internal
 */
export function relay(s: ServerSession, upstream: Upstream, host: RelayHost): Relay {
  const r = new Relay(s, upstream, host)
  _relays.set(s, r)
  return r
}

/** What a relay needs of its server. @internal */
export type RelayHost = Pick<SessionHost, 'o' | 'log'>

/** One session's upstream WebSocket and the flow control between the two. @internal */
export class Relay {
  ws?: WebSocket
  /** Reading the upstream is paused because the browser is behind (session buffer past half). */
  downPaused = false
  /** The session's incoming messages are held because the upstream is not taking them. */
  upPaused = true
  private _gone = false
  private _waitT?: unknown
  private _pingT?: unknown
  /** The upstream has shown life since the last ping. */
  private _alive = true

  constructor(
    readonly s: ServerSession,
    upstream: Upstream,
    private _host: RelayHost,
  ) {
    // Messages from the browser wait, unacknowledged, until the upstream socket is open.
    s.pause()
    s.on('message', this._fromBrowser)
    s.on('close', this._sessionClosed)
    s.on('drain', () => {
      if (this.downPaused && this.ws && !this._gone) {
        this.downPaused = false
        // A pong may be waiting unread behind the pause: do not count the pause as silence.
        this._alive = true
        this.ws.resume()
      }
    })
    this._connect(upstream).catch((e) => {
      // The details (a URL, perhaps with a token in it) go to the log, not to the page.
      _host.log('warn', 'upstream option failed:', e)
      this._end(Code.UPSTREAM_UNREACHABLE, 'upstream misconfigured')
    })
  }

  private async _connect(upstream: Upstream): Promise<void> {
    const s = this.s
    const o = this._host.o
    const got: UpstreamTarget = typeof upstream == 'function' ? await upstream(s) : upstream
    const url = wsUrl(typeof got == 'string' ? got : got.url)
    const headers = typeof got == 'string' || !got.headers ? forwarded(s) : got.headers
    if (s.closed) return
    const ws = (this.ws = new WebSocket(url, {
      headers,
      perMessageDeflate: false,
      maxPayload: o.maxMessageSize,
      handshakeTimeout: o.requestTimeout,
    }))
    let opened = false
    let error: Error | undefined
    ws.on('error', (e) => (error = error || e))
    ws.on('open', () => {
      opened = true
      this._host.log('debug', 'upstream open', s.id)
      // An upstream that stops answering pings is lost, as a browser that stops answering is.
      this._pingT = o.clock.setInterval(() => {
        if (!this._alive && !this.downPaused) {
          error = new Error('no answer to ping')
          return ws.terminate()
        }
        this._alive = false
        ws.ping()
      }, o.heartbeatInterval)
      o.clock.unref(this._pingT)
      this.upPaused = false
      s.resume()
    })
    ws.on('pong', () => (this._alive = true))
    ws.on('message', (data, isBinary) => {
      this._alive = true
      if (s.closed || this._gone) return
      const d = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data)
      // false: the session overflowed and is closed (4000); its close handler ends the upstream.
      if (!s.send(isBinary ? d : d.toString()) || this.downPaused) return
      // The session emits `drain` only after passing half its bound, so pause exactly there.
      if (s.bufferedAmount > o.maxBufferedAmount / 2) {
        this.downPaused = true
        ws.pause()
      }
    })
    ws.on('close', (code, why) => {
      o.clock.clearInterval(this._pingT)
      if (s.closed || this._gone) return
      const reason = why.toString()
      if (!opened) return this._end(Code.UPSTREAM_UNREACHABLE, unreachable(error))
      if (error && (error as { code?: string }).code == 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH')
        return this._end(Code.MESSAGE_TOO_BIG, 'upstream message over maxMessageSize ' + o.maxMessageSize)
      if (code == 1006 || code == 1015)
        return this._end(Code.UPSTREAM_LOST, clip('upstream connection lost' + (error ? ': ' + error.message : '')))
      // Codes the client would take as "start a new session", or as Lifeline's own, must not pass as
      // they are: the app would never hear its server's close, and the client could loop on a
      // refusing upstream. The application's 4000-4999 pass untouched.
      if (isResumable(code) || (code >= Code.OWN_FROM && code <= Code.OWN_TO))
        return this._end(Code.UPSTREAM_LOST, clip('upstream closed ' + code + (reason ? ': ' + reason : '')))
      this._end(code, reason)
    })
  }

  private _fromBrowser = (data: string | Buffer, isBinary: boolean): void => {
    const ws = this.ws
    if (!ws || ws.readyState != WebSocket.OPEN) return
    ws.send(data, { binary: isBinary }, this._written)
    if (!this.upPaused && ws.bufferedAmount > this._host.o.upstreamHighWaterMark) {
      this.upPaused = true
      this.s.pause()
    }
  }

  /** A send reached the socket: resume the browser's messages once the upstream has caught up. */
  private _written = (): void => {
    const ws = this.ws
    if (!this.upPaused || this._gone || this.s.closed || !ws || ws.readyState != WebSocket.OPEN) return
    if (ws.bufferedAmount <= this._host.o.upstreamHighWaterMark / 4) {
      this.upPaused = false
      this.s.resume()
    }
  }

  /**
   * The upstream is gone (or never came): close the session with `code`, but first let the
   * browser acknowledge what the upstream sent before it went, as a WebSocket delivers data
   * that preceded its close. Browser messages from now on are held and come back to the page in
   * its close event's `unacked`.
   */
  private _end(code: number, reason: string): void {
    const s = this.s
    if (this._gone || s.closed) return
    this._gone = true
    this.upPaused = true
    s.pause()
    this._host.log(code == Code.UPSTREAM_UNREACHABLE ? 'warn' : 'debug', 'upstream ended', code, reason)
    const clock = this._host.o.clock
    const deadline = clock.now() + this._host.o.sessionTtl
    const wait = () => {
      if (s.closed) return
      if (!s.reliable || s.bufferedAmount == 0 || clock.now() > deadline) return s._end(code, reason)
      this._waitT = clock.setTimeout(wait, DRAIN_POLL)
      clock.unref(this._waitT)
    }
    wait()
  }

  private _sessionClosed = (code: number, reason: string): void => {
    const clock = this._host.o.clock
    clock.clearTimeout(this._waitT)
    clock.clearInterval(this._pingT)
    const ws = this.ws
    if (!ws || this._gone) return
    this._gone = true
    if (ws.readyState == WebSocket.CONNECTING) return ws.terminate()
    if (ws.readyState != WebSocket.OPEN) return
    // A paused socket would never read the upstream's answer to our close.
    if (this.downPaused) ws.resume()
    ws.close(wsCode(code), clip(reason))
  }
}

/** The session's close code as one a WebSocket may send: 1005 (none) as 1000, others 1001. */
export function wsCode(code: number): number {
  const valid =
    (code >= 1000 && code <= 1014 && code != 1004 && code != 1005 && code != 1006) || (code >= 3000 && code <= 4999)
  return valid ? code : code == 1005 ? 1000 : 1001
}

/** Default upstream headers: {@link FORWARDED_HEADERS}, the origin, and X-Forwarded-For. */
function forwarded(s: ServerSession): Record<string, string> {
  const h: Record<string, string> = {}
  for (const k of FORWARDED_HEADERS) {
    const v = s.headers[k]
    if (typeof v == 'string') h[k] = v
  }
  if (s.origin) h.origin = s.origin
  const xff = s.headers['x-forwarded-for']
  // What this hop received from: the socket's address, as every proxy appends.
  const peer = s._peer || s.remoteAddress
  if (peer) h['x-forwarded-for'] = (typeof xff == 'string' ? xff + ', ' : '') + peer
  return h
}

/** A ws(s) URL from ws(s) or http(s); throws `LL_ERR_INVALID_OPTION`. */
function wsUrl(url: string): string {
  let u: URL | undefined
  try {
    u = new URL(url)
  } catch (e) {}
  if (!u || !/^(ws|http)s?:$/.test(u.protocol))
    throw new LifelineError(
      'LL_ERR_INVALID_OPTION',
      'upstream ' + JSON.stringify(url) + ' is not a ws:// or wss:// URL',
    )
  u.protocol = u.protocol.replace('http', 'ws')
  u.hash = ''
  return u.href
}

/** A clear reason for a connection or handshake that failed. */
function unreachable(e?: Error): string {
  const code = e && (e as { code?: string }).code
  const m = e ? e.message : ''
  const status = /Unexpected server response: (\d+)/.exec(m)
  if (status) return 'upstream refused the WebSocket handshake: HTTP ' + status[1]
  if (code == 'ECONNREFUSED') return 'upstream unreachable: connection refused'
  if (code == 'ENOTFOUND' || code == 'EAI_AGAIN') return 'upstream unreachable: host not found'
  if (/timed out/i.test(m) || code == 'ETIMEDOUT') return 'upstream unreachable: handshake timed out'
  return clip('upstream unreachable' + (m ? ': ' + m : ''))
}

/** At most 123 bytes of UTF-8, the limit of a WebSocket close reason. */
function clip(reason: string): string {
  if (Buffer.byteLength(reason) <= 123) return reason
  let r = reason.slice(0, 123)
  while (Buffer.byteLength(r) > 120) r = r.slice(0, -1)
  return r + '...'
}
