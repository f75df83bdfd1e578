// Raw-protocol peers for the multi-node tests (test/server/cluster/nodes.test.ts, chaos.test.ts):
// each speaks PROTOCOL.md to an echoing server behind a balancer as a client does, retrying what
// failed (a node died or froze under it) with the same sequence numbers and cursor, and keeps what
// came back once, in seq order (the protocol's own dedupe). Each sends the numbers 1..n as texts.
//
//   const p = peers(lb.port)
//   const [a, b, c] = await Promise.all([p.polling(3000), p.streaming(3000), p.websocket(3000)])
import http from 'node:http'
import WebSocket from 'ws'
import { req, hello } from '../server/raw'
import { Parser } from '../../src/protocol/envelope'
import type { Frame } from '../../src/protocol/frames'

/** The text messages in `frames`, one by one (a batch frame `M[...]` carries several). */
export const texts = (frames: unknown[]): string[] =>
  frames.flatMap((f) =>
    typeof f != 'string' ? [] : f[0] == 'm' ? [f.slice(1)] : f[0] == 'M' ? JSON.parse(f.slice(1)) : [],
  )

/** What a client keeps of what it received: messages in seq order, each once (a resend is dropped). */
export class Received {
  list: string[] = []
  /** The session's id, once a hello gave it. */
  sid = ''
  /** Messages that came again with a seq already received (the protocol drops them: a resend). */
  resent = 0
  /** The close frame, if the server ended the session. */
  closed = ''
  /** The last few things its connections did, with times (ms since its start), for a failure's message. */
  events: string[] = []
  private _t0 = Date.now()
  note(what: string): void {
    this.events.push(`+${Date.now() - this._t0} ${what}`)
    if (this.events.length > 40) this.events.shift()
  }
  /** Seq of the next message on the current connection (0: none yet, before its `s`). */
  private _next = 0
  /** A new connection (a poll response, a stream): it starts with `s<n>` before any message. */
  fresh(): this {
    this._next = 0
    return this
  }
  take(frames: Frame[]): void {
    for (const f of frames) {
      if (typeof f != 'string') continue
      if (f[0] == 's') this._next = +f.slice(1)
      else if (f[0] == 'c') {
        this.closed = f
        this.note('closed: ' + f)
      } else
        for (const m of texts([f])) {
          if (this._next == this.list.length + 1) this.list.push(m)
          else if (this._next <= this.list.length) this.resent++
          this._next++
        }
    }
  }
}

export interface PeerOptions {
  /** How long a request may go unanswered before it is sent again, ms (not polls: held up to 25 s). */
  answerMs?: number
  /** How far uploads may go for now (a test holds them back until a fault has happened). */
  gate?: () => number
  /** Flows give up at this time (ms since the epoch) and return what they have. */
  stopAt?: () => number
}

/**
 * A gate (`PeerOptions.gate`) that lets uploads go at `perSecond` messages a second from `t0`, as an
 * app sends: a flow lasts through its faults, and nothing waits for them (a peer catches up after a stall).
 */
export const paced =
  (perSecond: number, t0 = Date.now()) =>
  () =>
    Math.floor(((Date.now() - t0) * perSecond) / 1000)

/** An upload body of messages `from + 1` .. `from + count` (the first also chooses its connection, `u1`). */
const numbered = (from: number, count: number): Frame[] => [
  's' + (from + 1),
  ...(from ? [] : ['u1']),
  ...Array.from({ length: count }, (_, i) => 'm' + (from + i + 1)),
]

/** The server's acknowledgement in a POST response. */
const ackOf = (frames: Frame[]) => {
  const a = frames.find((f) => typeof f == 'string' && f[0] == 'a') as string | undefined
  return a ? +a.slice(1) : -1
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
/** How long an upload waits on the gate at a time before it goes on regardless. */
const HOLD_MS = 30000
/**
 * The heartbeat interval the peers ask for (`hb`, ms; the server's least): a live connection is
 * never silent much longer, so silence past it plus `answerMs` means a dead or frozen node.
 */
const HB = 1000
/** Messages a WebSocket peer keeps unacknowledged at most. */
const WINDOW = 200

/** Peers through the balancer on 127.0.0.1:`port`. */
export function peers(
  port: number,
  { answerMs = 3000, gate = () => Infinity, stopAt = () => Infinity }: PeerOptions = {},
) {
  /** Every peer's receiver: a test faults nodes as the slowest of them gets along. */
  const receivers = new Set<Received>()
  const fresh = () => {
    const r = new Received()
    receivers.add(r)
    return r
  }
  const over = () => Date.now() > stopAt()

  /** One request through the balancer, again until it is answered 200 (a node may die under it), within `ms`. */
  async function retried(method: string, query: string, body?: Frame[], ms = 20000, quit = () => false) {
    const end = Date.now() + ms
    for (;;) {
      try {
        // A frozen node answers nothing: given up on after a while, as a client's liveness does.
        const late = new Promise<undefined>((r) => setTimeout(r, answerMs, undefined))
        const r = await Promise.race([req(port, method, query, body), late])
        if (r && r.status == 200) return r
      } catch (e) {
        // A connection reset: the node died. Retried as a client does.
      }
      if (quit() || over()) throw new Error('stopped')
      if (Date.now() > end) throw new Error(`${method} ${query} not answered within ${ms} ms`)
      await sleep(50)
    }
  }

  /** Send 1..n in bodies of 20, each again until acknowledged (the server keeps what it acks). */
  async function upload(t: string, got: Received, n: number): Promise<void> {
    for (let sent = 0; sent < n && !over();) {
      const held = Date.now() + HOLD_MS
      while (sent >= gate() && Date.now() < held && !over()) await sleep(20)
      const count = Math.min(20, n - sent)
      const body = numbered(sent, count)
      for (;;) {
        const r = await retried('POST', `v=2&t=${t}&sid=${got.sid}&ack=${got.list.length}`, body)
        got.take(r.frames.filter((f) => typeof f == 'string' && f[0] == 'c'))
        if (ackOf(r.frames) >= sent + count) break
        // Answered without the ack (the session ended, or the body was not kept): again, not in a spin.
        if (got.closed || over()) return
        await sleep(50)
      }
      sent += count
    }
  }

  /** A polling client: sends 1..n in bodies of 20, polls for the echoes; resolves with what came back. */
  async function polling(n: number, got = fresh()): Promise<string[]> {
    got.sid = hello((await retried('GET', 'v=2&t=polling&ack=0&o=1')).frames).sid
    const up = upload('polling', got, n).catch(() => {})
    while (got.list.length < n && !got.closed && !over()) {
      const r = await retried('GET', `v=2&t=polling&sid=${got.sid}&ack=${got.list.length}`, undefined, 30000).catch(
        () => undefined,
      )
      if (r) got.fresh().take(r.frames)
    }
    await up
    return got.list
  }

  /**
   * A streaming client: one stream, reopened with its cursor when it ends, is cut, or stays silent
   * for `HB + answerMs` (its node may be frozen: a live one pings when idle); uploads of 20 through
   * the balancer.
   */
  async function streaming(n: number, got = fresh()): Promise<string[]> {
    let current: http.ClientRequest | undefined
    let heard = Date.now()
    const reopen = () => {
      if (got.list.length >= n || got.closed || over()) return
      const q = `v=2&t=stream&ack=${got.list.length}&o=1&hb=${HB}` + (got.sid ? `&sid=${got.sid}` : '')
      let ended = false
      const again = () => {
        if (ended) return
        ended = true
        setTimeout(reopen, 50)
      }
      got.fresh()
      heard = Date.now()
      const r = http.get({ host: '127.0.0.1', port, path: '/rt?' + q }, (res) => {
        // Not a stream (HAProxy's own 503 page while no node passes its health check): try again,
        // as the client does.
        if (res.statusCode != 200) {
          res.resume()
          res.on('end', again)
          res.on('error', again)
          return
        }
        const parser = new Parser((f) => {
          if (!got.sid && typeof f == 'string' && f[0] == 'o') got.sid = JSON.parse(f.slice(1)).sid
          got.take([f])
        }, 1 << 26)
        res.on('data', (c: Buffer) => {
          heard = Date.now()
          parser.push(c)
        })
        res.on('end', again)
        res.on('error', again)
        res.on('close', again)
      })
      r.on('error', again)
      current = r
    }
    const watchdog = setInterval(() => {
      if (current && Date.now() - heard > HB + answerMs) current.destroy()
    }, 200)
    reopen()
    while (!got.sid && !over()) await sleep(10)
    await upload('stream', got, n).catch(() => {})
    while (got.list.length < n && !got.closed && !over()) await sleep(20)
    clearInterval(watchdog)
    if (current) current.destroy()
    return got.list
  }

  /**
   * A WebSocket client: sends 1..n in batches of up to 20 with at most `WINDOW` unacknowledged,
   * acknowledges what it got every 100 ms, answers pings; on a drop, or a stall (below), it opens
   * another with its cursor, says `u<k>` and resends what the server had not acknowledged from `s<oldest>`.
   */
  async function websocket(n: number, got = fresh()): Promise<string[]> {
    let k = 0
    let sent = 0
    let acked = 0
    let ackSent = 0
    let heard = Date.now()
    let pinged = false
    let sock: WebSocket | undefined
    let live: WebSocket | undefined
    const batch = (from: number, to: number) =>
      'M' + JSON.stringify(Array.from({ length: to - from }, (_, i) => String(from + i + 1)))
    const finished = () => got.list.length >= n || !!got.closed || over()
    const open = () => {
      if (finished()) return
      const q = `v=2&t=websocket&ack=${got.list.length}&o=1&hb=${HB}` + (got.sid ? `&sid=${got.sid}` : '')
      const s = new WebSocket(`ws://127.0.0.1:${port}/rt?${q}`)
      got.note(`open ack=${got.list.length} sent=${sent} acked=${acked}`)
      sock = s
      heard = Date.now()
      pinged = false
      got.fresh()
      s.on('message', (d, binary) => {
        heard = Date.now()
        pinged = false
        if (binary) return
        const f = d.toString()
        if (f[0] == 'o') {
          got.sid = JSON.parse(f.slice(1)).sid
          got.note(`hello ${f.slice(1)}; u${k + 1} s${acked + 1}, resending ${sent - acked}`)
          s.send('u' + ++k)
          s.send('s' + (acked + 1))
          for (let i = acked; i < sent; i += 20) s.send(batch(i, Math.min(i + 20, sent)))
          live = s
        } else if (f[0] == 'a') acked = Math.max(acked, +f.slice(1))
        else if (f[0] == 'p') s.send('q' + f.slice(1))
        else got.take([f])
      })
      s.on('error', () => {})
      s.on('close', (code, reason) => {
        got.note(`close ${code} ${reason}`)
        if (sock != s) return
        sock = live = undefined
        setTimeout(open, 50)
      })
    }
    const pump = setInterval(() => {
      if (live && live.readyState == WebSocket.OPEN) {
        const to = Math.min(sent + 20, n, acked + WINDOW, Math.floor(gate()))
        if (to > sent) {
          live.send(batch(sent, to))
          sent = to
        }
        if (got.list.length > ackSent) live.send('a' + (ackSent = got.list.length))
      }
      // PROTOCOL.md §8.3 as the client judges it: messages unacknowledged and nothing heard for
      // `answerMs`: a ping; nothing for as long again: the connection is given up. Idle: §8.1's heartbeat.
      const silent = Date.now() - heard
      if (live && sent > acked && silent > answerMs && !pinged) {
        pinged = true
        live.send('p')
      }
      if (sock && ((pinged && silent > 2 * answerMs) || silent > HB + 2 * answerMs)) {
        got.note(`silent ${silent} ms: terminated`)
        sock.terminate()
      }
    }, 100)
    open()
    while (!finished()) await sleep(20)
    clearInterval(pump)
    const last = sock
    sock = undefined
    last?.terminate()
    return got.list
  }

  return {
    receivers,
    /** The fewest messages any peer has back so far. */
    slowest: () => Math.min(...[...receivers].map((r) => r.list.length)),
    retried,
    polling,
    streaming,
    websocket,
  }
}
