// How a request becomes a link, on either store: a stream's GET, a poll, an upload and a WebSocket
// upgrade, for whatever session they name, from what an `Opener` found or made of it (this
// process's sessions, local.ts, or a cluster node from Redis, cluster/node.ts).
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { WebSocket, WebSocketServer } from 'ws'
import { encode } from '../protocol/envelope'
import type { Frame } from '../protocol/frames'
import { BODY, type Ask } from './access'
import type { LinkOwner, SessionHost } from './link'
import { PollLink } from './transports/polling'
import { StreamLink } from './transports/stream'
import { WebSocketLink } from './transports/websocket'
import { refuse, takePost, type PostTarget } from './upload'

/** What holds a session's links on this process: `LocalSession`, or a cluster node's `Served`. @internal */
export interface LinkHolder extends LinkOwner, PostTarget {
  /** The heartbeat its client asked for, ms: a poll is held no longer. */
  readonly _hb: number
  /** Settles once the last link attached has written what there was (cluster mode: Redis answered). */
  readonly _settled?: Promise<unknown>
}

/** A session a request found or made: what holds its links here, and its hello for a new connection. @internal */
export interface Opened {
  s: LinkHolder
  /** The hello for this request's connection (PROTOCOL.md §5.1), made when it is sent. */
  hello(): Frame
}

/** What requests need of the sessions' side: the session they name, or the frames to answer with. @internal */
export interface Opener {
  /** `post`: an upload, to a session that exists (no authentication, nothing made). */
  open(req: IncomingMessage, ask: Ask, post?: boolean): Promise<Opened | Frame[]>
}

/** What serving requests needs of the server. @internal */
export interface ServeHost extends Pick<SessionHost, 'o' | 'reserve' | 'note'> {
  /** Something that should not happen did: logged, emitted as `error`. */
  oops(e: unknown): void
  /** A misconfiguration, told once per `key`. */
  tell(key: string, message: string): void
}

/** A stream's GET or a poll. @internal */
export function serveGet(node: Opener, host: ServeHost, req: IncomingMessage, res: ServerResponse, ask: Ask): void {
  const o = host.o
  node
    .open(req, ask)
    .then((got) => {
      if (res.writableEnded || req.destroyed) return
      if (Array.isArray(got)) return refuse(res, 200, '', got, ask.head)
      const s = got.s
      const hello = ask.opening ? [got.hello()] : []
      if (ask.t == 'stream') {
        res.writeHead(200, { ...ask.head, ...BODY }).flushHeaders()
        if (hello.length) res.write(encode(hello))
        s._attach(new StreamLink(res, s, o.streamMaxBytes), ask.ack, ask.got)
      } else {
        const link = new PollLink(res, s, Math.min(o.pollHold, s._hb), hello, ask.head)
        s._attach(link, ask.ack, ask.got)
        // The first poll is answered at once: with what there is to resend, or the hello alone.
        if (hello.length) Promise.resolve(s._settled).then(() => link.write([]))
      }
    })
    .catch((e) => {
      host.oops(e)
      res.destroy()
    })
}

/** An upload: its frames go to what holds the session's links here. @internal */
export function servePost(node: Opener, host: ServeHost, req: IncomingMessage, res: ServerResponse, ask: Ask): void {
  node
    .open(req, ask, true)
    .then((got) => {
      if (res.writableEnded) return
      // 200, as for a GET: the refusal is the protocol's, in the body (PROTOCOL.md §4.2), and a
      // proxy that replaces error bodies with its own page would lose it.
      if (Array.isArray(got)) return refuse(res, 200, '', got, ask.head)
      takePost(req, res, got.s, ask, host, host.tell)
    })
    .catch((e) => {
      host.oops(e)
      refuse(res, 503, 'server busy: try again', undefined, ask.head)
    })
}

/** A WebSocket upgrade as the server got it; `done` once ws has the socket (it takes over its error listener). */
export interface Upgrade {
  req: IncomingMessage
  socket: Duplex
  head: Buffer
  ask: Ask
  done: () => void
}

/** A WebSocket upgrade whose origin was let in. @internal */
export function serveUpgrade(node: Opener, host: ServeHost, wss: WebSocketServer, u: Upgrade): void {
  const { req, socket, head, ask, done } = u
  node
    .open(req, ask)
    .then((got) => {
      if (socket.destroyed) return
      wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
        done()
        if (Array.isArray(got)) {
          for (const f of got) ws.send(f)
          return ws.close(1000)
        }
        ws.send(got.hello())
        new WebSocketLink(ws, got.s, ask.ack, ask.got)
      })
    })
    .catch((e) => {
      host.oops(e)
      socket.destroy()
    })
}
