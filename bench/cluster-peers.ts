// Raw protocol peers for bench/cluster-server.ts (PROTOCOL.md §3, §4): one per transport, each with
// `echo(i)`, one message sent and its echo awaited. No client logic in between, so what is timed is
// the server (in memory or over Redis) and loopback, not a client's batching or ack timers.
import http from 'node:http'
import WebSocket from 'ws'
import { LifelineServer, type ServerOptions } from '../src/server/index'
import { encode, Parser } from '../src/protocol/envelope'
import { messageFrames } from '../src/protocol/frames'

export type Transport = 'websocket' | 'stream' | 'polling'
export const TRANSPORTS: Transport[] = ['websocket', 'stream', 'polling']

export interface Node {
  ll: LifelineServer
  server: http.Server
  port: number
  stop(): void
}

/** An echo server on a free loopback port: the reply is sent from the message handler. */
export async function listen(opts: ServerOptions): Promise<Node> {
  const server = http.createServer()
  const ll = new LifelineServer({ server, path: '/rt', origins: '*', ...opts })
  ll.on('connection', (s) => s.on('message', (m) => s.send(m)))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const stop = () => {
    ll.close()
    server.closeAllConnections()
    server.close()
  }
  return { ll, server, port: (server.address() as { port: number }).port, stop }
}

const since = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6

export interface Percentiles {
  p50: number
  p99: number
}

/** p50 and p99 of samples, in the samples' unit. */
export function percentiles(samples: number[]): Percentiles {
  const s = [...samples].sort((a, b) => a - b)
  return { p50: s[Math.floor(s.length / 2)], p99: s[Math.floor(s.length * 0.99)] }
}

/**
 * What a peer has read: how many messages (its cursor, for `ack`), the texts not yet waited for,
 * and a wait for one text to have arrived.
 */
class Inbox {
  texts = new Set<string>()
  count = 0
  private _wake = () => {}

  take(frame: string | Uint8Array): void {
    if (typeof frame != 'string') return
    const texts = frame[0] == 'm' ? [frame.slice(1)] : frame[0] == 'M' ? (JSON.parse(frame.slice(1)) as string[]) : []
    for (const t of texts) this.texts.add(t)
    this.count += texts.length
    if (texts.length) this._wake()
  }

  async until(text: string): Promise<void> {
    while (!this.texts.has(text)) await new Promise<void>((r) => (this._wake = r))
    this.texts.delete(text)
  }
}

export interface Peer {
  inbox: Inbox
  /** Send message `i` (the text `String(i)`); resolves to the ms until its echo arrived. */
  echo(i: number): Promise<number>
  close(): void
}

/** A confirmed WebSocket session: hello, `u1`, `s1`, then one frame per message. */
export async function wsPeer(port: number): Promise<Peer & { sock: WebSocket }> {
  const sock = new WebSocket(`ws://127.0.0.1:${port}/rt?v=2&t=websocket&ack=0&o=1`)
  const inbox = new Inbox()
  sock.on('message', (d) => inbox.take(String(d)))
  await new Promise((r) => sock.on('open', r))
  sock.send('u1')
  sock.send('s1')
  return {
    sock,
    inbox,
    async echo(i) {
      const start = process.hrtime.bigint()
      sock.send('m' + i)
      await inbox.until(String(i))
      const ms = since(start)
      // Acknowledged every 128 messages, as the client does (PROTOCOL.md §6.2), outside the timing.
      if (inbox.count % 128 == 0) sock.send('a' + inbox.count)
      return ms
    },
    close: () => sock.close(),
  }
}

/**
 * A peer over HTTP: a stream (one long GET) or polling (a GET held until there is something, the
 * next sent as soon as one is read), uploads by POST, with keep-alive connections as a browser's.
 */
export async function httpPeer(port: number, t: 'stream' | 'polling'): Promise<Peer> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 })
  const inbox = new Inbox()
  let sid = ''
  let closed = false
  let onHello = () => {}
  const hello = new Promise<void>((r) => (onHello = r))
  // A GET's frames are taken as they arrive: a stream's response stays open.
  const get = (query: string, done: () => void) => {
    const r = http.get({ agent, host: '127.0.0.1', port, path: '/rt?' + query }, (res) => {
      const p = new Parser((f) => {
        // Set here, not after an await: the first poll's answer may end before that resumes.
        if (typeof f == 'string' && f[0] == 'o') {
          sid = JSON.parse(f.slice(1)).sid
          onHello()
        }
        inbox.take(f)
      }, 1 << 24)
      res.on('data', (c) => p.push(c))
      res.on('end', done)
      res.on('error', () => {})
    })
    r.on('error', () => {})
  }
  const poll = () => !closed && get(`v=2&t=polling&sid=${sid}&ack=${inbox.count}`, poll)
  get(`v=2&t=${t}&ack=0&o=1`, () => t == 'polling' && poll())
  await hello
  const post = (frames: string[]) =>
    new Promise<void>((resolve, reject) => {
      const path = `/rt?v=2&t=${t}&sid=${sid}&ack=${inbox.count}`
      const r = http.request({ agent, host: '127.0.0.1', port, method: 'POST', path }, (res) => {
        res.resume()
        res.on('end', resolve)
      })
      r.on('error', reject)
      r.end(encode(frames))
    })
  // The proof ping confirms the session; the first message is then number 1.
  await post(['s1', 'u1', 'p'])
  return {
    inbox,
    async echo(i) {
      // The echo is timed to its arrival on the GET; the POST's answer is awaited too, so that the
      // next message goes in the next POST, as a client with one POST in flight sends it.
      const start = process.hrtime.bigint()
      const [ms] = await Promise.all([inbox.until(String(i)).then(() => since(start)), post(['s' + (i + 1), 'm' + i])])
      return ms
    },
    close() {
      closed = true
      agent.destroy()
    },
  }
}

export const peer = (port: number, t: Transport): Promise<Peer> => (t == 'websocket' ? wsPeer(port) : httpPeer(port, t))

/** Echo round trips, one message at a time, ms. */
export async function rtt(port: number, t: Transport, count: number): Promise<Percentiles> {
  const p = await peer(port, t)
  const times: number[] = []
  for (let i = 0; i < count; i++) times.push(await p.echo(i))
  p.close()
  return percentiles(times)
}

/**
 * Messages per second through one node: `count` messages of `size` bytes sent by one WebSocket
 * client in one loop, each echoed; timed from the first send to the last echo. `batched`: in `M`
 * frames of about 16 KiB, as the client's outbox writes what was sent in one task (PROTOCOL.md
 * §2); otherwise one frame per message. The client acks every 1,000 so the server's log of
 * unacknowledged messages stays small, as a client's would.
 */
export async function throughput(port: number, count: number, size: number, batched: boolean): Promise<number> {
  const p = await wsPeer(port)
  let acked = 0
  const done = new Promise<void>((resolve) =>
    p.sock.on('message', () => {
      if (p.inbox.count - acked >= 1000 || p.inbox.count == count) p.sock.send('a' + (acked = p.inbox.count))
      if (p.inbox.count == count) resolve()
    }),
  )
  const pad = 'x'.repeat(size)
  const texts = Array.from({ length: count }, (_, i) => (i + pad).slice(0, size))
  const frames = batched ? messageFrames(texts, 0, count, []) : texts.map((t) => 'm' + t)
  const start = process.hrtime.bigint()
  for (const f of frames) p.sock.send(f)
  await done
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  p.close()
  return count / seconds
}
