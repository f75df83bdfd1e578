// How a cluster node answers requests (docs/cluster-design.md §6): a stream's GET, a poll, an
// upload and a WebSocket upgrade, for whatever session they name, from what `ClusterNode.open`
// found or made of it in Redis. The links are the in-memory server's own (they carry a `Served`).
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { WebSocket, WebSocketServer } from 'ws'
import { encode } from '../../protocol/envelope'
import { FrameType, closeFrame, type Frame } from '../../protocol/frames'
import { BODY, type Ask } from '../access'
import { helloFrame } from '../hello'
import type { ServerResolved } from '../options'
import { PollLink } from '../transports/polling'
import { StreamLink } from '../transports/stream'
import { WebSocketLink } from '../transports/websocket'
import { refuse, takePost } from '../upload'
import type { NodeHost } from './node'
import type { SessionFields } from './records'
import type { Served } from './served'
import type { ClusterStore } from './store'

/** What requests need of their node: the session they name, and its hello (or the frames to answer with). */
export interface Opener {
  open(req: IncomingMessage, ask: Ask, post?: boolean): Promise<{ s: Served; hello: Frame } | Frame[]>
}

/** A WebSocket upgrade as `handleUpgrade` got it. */
export interface Upgrade {
  req: IncomingMessage
  socket: Duplex
  head: Buffer
  ask: Ask
  done: () => void
}

/** An ended session's last words: its unacknowledged messages (if kept) and its close. */
export async function lastWords(
  store: ClusterStore,
  sid: string,
  info: SessionFields,
  ask: Ask,
  o: ServerResolved,
): Promise<Frame[]> {
  const bye = closeFrame(...splitEnd(info.ended), ask.version)
  const r = await store.readOutgoing(sid, ask.ack + 1)
  if (r.status != 'ok' || !r.messages.length) return [bye]
  return [helloFrame(o, sid, +info.received, ask.hb, ask.t), FrameType.Seq + r.first, ...r.messages.map(asFrame), bye]
}

/** A stream's GET or a poll. */
export function serveGet(node: Opener, host: NodeHost, req: IncomingMessage, res: ServerResponse, ask: Ask): void {
  const o = host.o
  node
    .open(req, ask)
    .then((got) => {
      if (res.writableEnded || req.destroyed) return
      if (Array.isArray(got)) return refuse(res, 200, '', got, ask.head)
      const { s, hello } = got
      if (ask.t == 'stream') {
        res.writeHead(200, { ...ask.head, ...BODY }).flushHeaders()
        if (ask.opening) res.write(encode([hello]))
        s._attach(new StreamLink(res, s, o.streamMaxBytes), ask.ack, ask.got)
      } else {
        const link = new PollLink(res, s, Math.min(o.pollHold, s._hb), ask.opening ? [hello] : [], ask.head)
        s._attach(link, ask.ack, ask.got)
        // The first poll is answered at once: with what there is to resend, or the hello alone.
        if (ask.opening) s._settled.then(() => link.write([]))
      }
    })
    .catch((e) => {
      host.oops(e)
      res.destroy()
    })
}

/** An upload: its frames go to what this node holds of the session. */
export function servePost(node: Opener, host: NodeHost, req: IncomingMessage, res: ServerResponse, ask: Ask): void {
  node
    .open(req, ask, true)
    .then((got) => {
      if (res.writableEnded) return
      // 200, as in one process: the refusal is the protocol's, in the body (PROTOCOL.md §4.2).
      if (Array.isArray(got)) return refuse(res, 200, '', got, ask.head)
      takePost(req, res, got.s, ask, host, host.tell)
    })
    .catch((e) => {
      host.oops(e)
      refuse(res, 503, 'server busy: try again', undefined, ask.head)
    })
}

/** A WebSocket upgrade; `done` once ws has the socket (it takes over its error listener). */
export function serveUpgrade(node: Opener, host: NodeHost, wss: WebSocketServer, u: Upgrade): void {
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
        ws.send(got.hello)
        new WebSocketLink(ws, got.s, ask.ack, ask.got)
      })
    })
    .catch((e) => {
      host.oops(e)
      socket.destroy()
    })
}

export function splitEnd(end: string): [number, string] {
  const i = end.indexOf(' ')
  return i < 0 ? [+end, ''] : [+end.slice(0, i), end.slice(i + 1)]
}

const asFrame = (m: string | Buffer): Frame => (typeof m == 'string' ? FrameType.Message + m : m)
