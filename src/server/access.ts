import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http'
import { Code, closeFrame, VERSION, type Frame } from '../protocol/frames'
import type { ServerResolved } from './options'
import type { SessionHost } from './link'
import type { ServerSession } from './session'

/** What a request asks for, from its query (PROTOCOL.md "Requests"). @internal */
export interface Ask {
  t: string
  /** Protocol version the client speaks. */
  version: number
  sid?: string
  ack: number
  hb: number
  /** Answer with a hello; authenticate first. Always so for a WebSocket or a new session. */
  opening: boolean
  token: string | null
  /** Why the client is on this transport, as it says (`why`; for stats only). */
  why: string | null
  resume: boolean
  /** The client reads `w` frames in upload answers (`w=1`, PROTOCOL.md §1). */
  owed: boolean
  /**
   * The client's room positions (`g`, PROTOCOL.md §6.5): room to the last offset it received.
   * Undefined when it sent none: a client before room logs, which gets room messages in its own
   * sequence.
   */
  got?: Map<string, number>
  origin: string
  address: string
  /** Headers every answer to it carries: {@link NO_STORE}, and CORS once its origin has passed. */
  head: OutgoingHttpHeaders
}

/**
 * Headers of every HTTP answer: nothing cached or transformed, nothing sniffed. Given whole to
 * `writeHead` rather than through `setHeader`, which would keep a headers map (~450 bytes) alive
 * with every response held open (a stream, a poll waiting for data).
 * @internal
 */
export const NO_STORE: OutgoingHttpHeaders = {
  'Cache-Control': 'no-store, no-cache, must-revalidate, no-transform',
  Pragma: 'no-cache',
  'X-Content-Type-Options': 'nosniff',
}
/** Headers of a stream or poll's answer besides {@link Ask.head}: binary, and not buffered by nginx. @internal */
export const BODY: OutgoingHttpHeaders = { 'Content-Type': 'application/octet-stream', 'X-Accel-Buffering': 'no' }
const ANY_ORIGIN: OutgoingHttpHeaders = { ...NO_STORE, Vary: 'Origin', 'Access-Control-Allow-Origin': '*' }
/**
 * Headers of an HTTP answer refusing an origin: readable by that page, without credentials, so
 * the client can read the 1008 close frame in it and end with its reason instead of retrying a
 * "network error" forever. It holds nothing but that reason. Preflights are refused without
 * them, so a refused page still cannot send anything but a simple request.
 * @internal
 */
export const REFUSED_ORIGIN = ANY_ORIGIN

const SID = /^[A-Za-z0-9_-]{22}$/

/** Parse and check the query; undefined when malformed. @internal */
export function parseAsk(req: IncomingMessage, o: ServerResolved): Ask | undefined {
  const p = new URLSearchParams((req.url || '').split('?')[1] || '')
  const sid = p.get('sid') || undefined
  const ack = +(p.get('ack') || 0)
  const hb = +(p.get('hb') || o.heartbeatInterval)
  const t = p.get('t') || ''
  // Version 1 clients are served too: they differ only in how Lifeline's close codes are numbered.
  const version = +(p.get('v') || 0)
  if (
    !(version == 1 || version == VERSION) ||
    (sid && !SID.test(sid)) ||
    !(ack >= 0 && ack <= Number.MAX_SAFE_INTEGER && ack % 1 == 0) ||
    !(hb > 0)
  )
    return
  return {
    t,
    version,
    sid,
    ack,
    hb: Math.max(1000, Math.min(hb, o.heartbeatInterval)),
    // A WebSocket always gets a hello, and a request without `sid` makes a session: neither may
    // skip `authenticate` by leaving out `o=1` (regression test in test/server/access.test.ts).
    opening: p.get('o') == '1' || t == 'websocket' || !sid,
    token: p.get('token'),
    why: p.get('why'),
    resume: p.get('r') != '0',
    owed: p.get('w') == '1',
    got: positions(p.get('g')),
    origin: (req.headers.origin as string) || '',
    address: clientAddress(req, o.trustProxy),
    head: NO_STORE,
  }
}

/**
 * The client's address: the socket's, or with `trustProxy` set to n, the n-th `X-Forwarded-For`
 * entry from the right (each trusted proxy appended the address it received from).
 * @internal
 */
export function clientAddress(req: IncomingMessage, trust: boolean | number | undefined): string {
  const peer = req.socket.remoteAddress || ''
  const n = trust === true ? 1 : +(trust || 0)
  if (!(n >= 1)) return peer
  const list = String(req.headers['x-forwarded-for'] || '')
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean)
  return list.length >= n ? list[list.length - n] : peer
}

/** Headers that only carried one WebSocket handshake: a session does not keep them. */
const HANDSHAKE = new Set([
  'connection',
  'upgrade',
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-extensions',
])

/**
 * The headers a session keeps from the request that made it: all but the WebSocket handshake's
 * own, which say nothing about the client (a session made by a stream or a poll never had them)
 * and would stay in memory as long as the session (its key is unique to each request).
 * @internal
 */
export function sessionHeaders(h: IncomingHttpHeaders): IncomingHttpHeaders {
  if (!h['sec-websocket-key']) return h
  const kept: IncomingHttpHeaders = {}
  for (const k of Object.keys(h)) if (!HANDSHAKE.has(k)) kept[k] = h[k]
  return kept
}

/**
 * {@link NO_STORE} with the CORS headers for an allowed origin: the origin itself with
 * credentials, or `*` without them when any origin is allowed. Never an arbitrary origin with
 * credentials.
 * @internal
 */
export function corsHeaders(o: ServerResolved, origin: string): OutgoingHttpHeaders {
  if (o.origins == '*') return ANY_ORIGIN
  return {
    ...NO_STORE,
    Vary: 'Origin',
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Allow-Credentials': 'true',
  }
}

/**
 * Run `authenticate` for a connection-opening request, new session or resume, within
 * `requestTimeout`. Resolves to nothing when it passes, else to the close frame to answer with.
 * @internal
 */
export async function authenticate(o: ServerResolved, req: IncomingMessage, ask: Ask): Promise<Frame[] | void> {
  const refuse = (code: number, reason: string) => [closeFrame(code, reason, ask.version)]
  if (!ask.opening || !o.authenticate) return
  let timer: unknown
  const late = new Promise<'late'>((res) => (timer = o.clock.setTimeout(() => res('late'), o.requestTimeout)))
  let r
  try {
    r = await Promise.race([o.authenticate(req, ask.token || tokenFrom(req)), late])
  } catch (e) {
    r = { ok: false as const, reason: 'authentication failed' }
  }
  o.clock.clearTimeout(timer)
  // A slow identity provider is not the client's fault: 1013 makes it try again later.
  if (r == 'late') return refuse(Code.TRY_AGAIN_LATER, 'authentication timed out')
  if (!r || !r.ok) return refuse(Code.POLICY_VIOLATION, (r && r.reason) || 'unauthorized')
  ;(req as { lifelineData?: unknown }).lifelineData = r.data
}

/** The token from an `Authorization: Bearer` header or a `lifeline_token` cookie. */
function tokenFrom(req: IncomingMessage): string | null {
  const auth = req.headers.authorization
  if (auth && /^Bearer /i.test(auth)) return auth.slice(7)
  const m = /(?:^|;\s*)lifeline_token=([^;]*)/.exec(req.headers.cookie || '')
  if (!m) return null
  try {
    return decodeURIComponent(m[1])
  } catch (e) {
    // A malformed escape is the token as it stands; `authenticate` decides what it is worth.
    return m[1]
  }
}

/**
 * Whether a request may use a session: a session is bound to the origin of the page that made
 * it. Browsers send no `Origin` on same-origin GETs but do on POSTs and WebSockets, so a session
 * made without one is bound to the first origin that shows up (which has passed the allow-list).
 * @internal
 */
export function sameOrigin(s: ServerSession, origin: string): boolean {
  if (!s.origin && origin) s.origin = origin
  return !origin || s.origin == origin
}

/**
 * A client's room positions (`g`): a JSON object of room names to offsets. What is not a whole
 * number is left out, and a malformed one counts as none held (the rooms start where the session
 * joined them, or reset): a client's confusion costs it, never the server. @internal
 */
export function positions(g: string | null): Map<string, number> | undefined {
  if (g == null) return
  const got = new Map<string, number>()
  let x: unknown
  try {
    x = JSON.parse(g)
  } catch (e) {
    return got
  }
  if (x && typeof x == 'object' && !Array.isArray(x))
    for (const [room, n] of Object.entries(x)) if (Number.isSafeInteger(n) && n >= 0) got.set(room, n)
  return got
}
