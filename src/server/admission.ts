import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { Code, closeFrame, type Frame } from '../protocol/frames'
import { corsHeaders, NO_STORE, REFUSED_ORIGIN, type Ask } from './access'
import type { SessionHost } from './link'
import type { ServerResolved } from './options'
import type { OriginGate } from './origin'
import { refuse } from './upload'

/**
 * Let an HTTP request to the endpoint in, or answer it here: a refused origin gets 403 (with the
 * 1008 close frame its page can read, PROTOCOL.md §4.2), a CORS preflight its 204, and a request
 * that is not a well-formed stream or poll 400. Returns `ask` (its `head` with CORS for an allowed
 * origin) when the request goes on to its session; undefined when it was answered.
 * @internal
 */
export function admitRequest(
  req: IncomingMessage,
  res: ServerResponse,
  ask: Ask | undefined,
  o: ServerResolved,
  origins: OriginGate,
): Ask | undefined {
  const origin = (req.headers.origin as string) || ''
  let head = NO_STORE
  if (origin) {
    const refused = origins.refusal(req, origin)
    if (refused) {
      if (req.method == 'OPTIONS') refuse(res, 403, 'origin not allowed')
      else
        refuse(
          res,
          403,
          '',
          [closeFrame(Code.POLICY_VIOLATION, refused, ask ? ask.version : undefined)],
          REFUSED_ORIGIN,
        )
      return
    }
    head = corsHeaders(o, origin)
    if (ask) ask.head = head
  }
  if (req.method == 'OPTIONS') {
    res.writeHead(204, {
      ...head,
      'Access-Control-Allow-Methods': 'GET, POST',
      'Access-Control-Allow-Headers': 'Content-Type',
      'Access-Control-Max-Age': '86400',
    })
    res.end()
    return
  }
  if (ask && (ask.t == 'stream' || ask.t == 'polling')) return ask
  refuse(res, 400, 'bad request', undefined, head)
}

/**
 * Let a WebSocket upgrade to the endpoint in, or end its socket with 400 (not a well-formed
 * WebSocket request) or 403 (a refused origin: RFC 6455 §4.2.2 / §10.2; the browser does not show
 * the page why, the server's log does). Returns `ask` when the upgrade goes on to its session.
 * @internal
 */
export function admitUpgrade(
  req: IncomingMessage,
  socket: Duplex,
  ask: Ask | undefined,
  origins: OriginGate,
): Ask | undefined {
  if (ask && ask.t == 'websocket' && !origins.refusal(req, ask.origin)) return ask
  answerUpgrade(socket, ask && ask.t == 'websocket' ? '403 Forbidden' : '400 Bad Request')
}

/** Answer an upgrade request with an HTTP `status` (code and text) and end its connection. @internal */
export function answerUpgrade(socket: Duplex, status: string): void {
  socket.end('HTTP/1.1 ' + status + '\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
}

/**
 * A new session refused by `maxSessions` (1013) or `maxSessionsPerAddress` (3929): the close frame
 * that tells the client, and a line at `warn` that tells the operator (at most once a minute each).
 * @internal
 */
export function refuseSession(host: Pick<SessionHost, 'o' | 'note'>, code: number, version?: number): Frame[] {
  const full = code == Code.TRY_AGAIN_LATER
  const limit = full ? 'maxSessions ' + host.o.maxSessions : 'maxSessionsPerAddress ' + host.o.maxSessionsPerAddress
  host.note('session-' + code, 'new session refused with ' + code + ':', limit, 'reached')
  return [closeFrame(code, full ? 'server full, try again later' : 'too many sessions from this address', version)]
}
