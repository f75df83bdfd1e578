// The members of one room in the room benches (bench/cluster-room.ts, bench/rooms-vs-socketio.ts):
// raw WebSocket peers in the bench's process, spread round robin over node processes, speaking the
// protocol as the real client does, with nothing in between that would time the client instead of
// the server:
// - `lifeline`: PROTOCOL.md §3 and §6, pongs to pings, the session's numbering checked (gaps,
//   duplicates) as the client checks it; with `positions`, the room positions `g` (§6.5);
// - `socketio`: engine.io 4 over WebSocket (`EIO=4`), the namespace connect `40`, pongs `3` to
//   pings `2`, events `42["m", text]`, as socket.io-client does.
// Each room message is `b<k>:…` (bench/room-nodes.ts `roomText`): the peers count, per message and
// per node, who had it and when the last one did, and check that each member gets them in order.
import WebSocket from 'ws'

export type Kind = 'lifeline' | 'socketio'

/** Peers connecting at once: enough to be quick, few enough not to time out a handshake. */
const CONNECTING = 50

export interface Peer {
  sock: WebSocket
  node: number
  /** Lifeline: the number the next message on this connection takes, and the highest delivered. */
  next: number
  received: number
  /** The last room message it got (`k`), -1 before the first. */
  last: number
}

/** What went wrong, if anything, as the peers saw it. */
export interface Trouble {
  /** Lifeline's numbering (PROTOCOL.md §6.1): a message number skipped, or one seen twice. */
  gaps: number
  duplicates: number
  /** Room messages out of order at a member: a later one first (`skipped`), or an earlier or the same again. */
  skipped: number
  backwards: number
  closeFrames: number
  closed: number
  firstClose: string
}

const now = () => process.hrtime.bigint()

export class RoomPeers {
  readonly peers: Peer[] = []
  /** Per room message `k`: how many members had it, per node, and when the last of them did. */
  readonly arrived: number[] = []
  readonly byNode: number[][] = []
  readonly lastArrival: bigint[] = []
  readonly trouble: Trouble = {
    gaps: 0,
    duplicates: 0,
    skipped: 0,
    backwards: 0,
    closeFrames: 0,
    closed: 0,
    firstClose: '',
  }
  private _wake = () => {}

  constructor(
    readonly kind: Kind,
    readonly ports: number[],
    readonly positions = false,
  ) {}

  /** Open `count` peers, round robin over the nodes `nodes` (indices into `ports`), 50 at a time. */
  async connect(count: number, nodes: number[]): Promise<void> {
    for (let i = 0; i < count; i += CONNECTING) {
      const batch = []
      for (let j = i; j < Math.min(count, i + CONNECTING); j++) batch.push(this._open(nodes[j % nodes.length]))
      await Promise.all(batch)
    }
  }

  /** Members on `node`. */
  on(node: number): number {
    return this.peers.filter((p) => p.node == node).length
  }

  /** Resolves true once every member had message `k`, false after `ms`. */
  allArrived(k: number, ms: number): Promise<boolean> {
    return this.until(() => this.arrived[k] == this.peers.length, ms)
  }

  /** Resolves true once `done()` holds, checked each time a message has reached every member, false after `ms`. */
  until(done: () => boolean, ms: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      if (done()) return resolve(true)
      const t = setTimeout(() => ((this._wake = () => {}), resolve(false)), ms)
      this._wake = () => done() && (clearTimeout(t), (this._wake = () => {}), resolve(true))
    })
  }

  /** Members that did not have message `k`, per node. */
  missing(k: number): number[] {
    return this.ports.map((_, n) => this.on(n) - ((this.byNode[k] || [])[n] || 0))
  }

  /** What went wrong since `before` (a copy of `trouble` taken then). */
  since(before: Trouble): Trouble {
    const t = { ...this.trouble }
    for (const key of ['gaps', 'duplicates', 'skipped', 'backwards', 'closeFrames', 'closed'] as const)
      t[key] -= before[key]
    return t
  }

  close(): void {
    for (const p of this.peers) p.sock.terminate()
  }

  private _take(p: Peer, text: string): void {
    const k = +text.slice(1, text.indexOf(':'))
    if (p.last >= 0 && k <= p.last) return void this.trouble.backwards++
    if (p.last >= 0 && k > p.last + 1) this.trouble.skipped++
    p.last = k
    this.arrived[k] = (this.arrived[k] || 0) + 1
    const byNode = (this.byNode[k] ||= this.ports.map(() => 0))
    byNode[p.node]++
    this.lastArrival[k] = now()
    // Waiters are woken only when a message has reached every member: 100,000 arrivals a second
    // would otherwise each run the check.
    if (this.arrived[k] == this.peers.length) this._wake()
  }

  /** A Lifeline message: numbered on its connection (§6.1) before it is counted as a room message. */
  private _lifeline(p: Peer, text: string): void {
    const seq = p.next++
    if (seq <= p.received) return void this.trouble.duplicates++
    // A room's first message comes at the offset the member joined at, not 1.
    if (seq > p.received + 1 && !(this.positions && !p.received)) this.trouble.gaps++
    p.received = seq
    this._take(p, text)
  }

  private _closeFrame(f: string): void {
    this.trouble.closeFrames++
    this.trouble.firstClose ||= f
  }

  private _url(port: number): string {
    if (this.kind == 'socketio') return `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`
    const g = this.positions ? '&g=%7B%7D' : ''
    return `ws://127.0.0.1:${port}/rt?v=2&t=websocket&ack=0&o=1${g}`
  }

  private _open(node: number): Promise<void> {
    return new Promise<void>((resolve) => {
      // The peers' own cost is the bench's, on the same cores as the nodes: no UTF-8 check of what
      // the servers send (both send ASCII here).
      const sock = new WebSocket(this._url(this.ports[node]), { skipUTF8Validation: true })
      const p: Peer = { sock, node, next: 1, received: 0, last: -1 }
      const joined = () => {
        this.peers.push(p)
        resolve()
      }
      if (this.kind == 'lifeline') {
        sock.on('message', (d) => {
          const f = String(d)
          if (f[0] == 'm') this._lifeline(p, f.slice(1))
          else if (f[0] == 'M') for (const t of JSON.parse(f.slice(1)) as string[]) this._lifeline(p, t)
          else if (f[0] == 's' || f[0] == 'r') p.next = +f.slice(1).split(' ')[0]
          else if (f[0] == 'p') sock.send('q' + f.slice(1))
          else if (f[0] == 'c' || f[0] == 'e') this._closeFrame(f)
        })
        sock.on('open', () => {
          sock.send('u1')
          sock.send('s1')
          joined()
        })
      } else {
        sock.on('message', (d) => {
          const f = String(d)
          if (f.startsWith('42')) this._take(p, (JSON.parse(f.slice(2)) as [string, string])[1])
          else if (f == '2') sock.send('3')
          else if (f[0] == '0') sock.send('40')
          else if (f.startsWith('40')) joined()
          else if (f.startsWith('41') || f.startsWith('44') || f[0] == '1') this._closeFrame(f)
        })
      }
      sock.on('close', () => this.trouble.closed++)
      // A peer that cannot connect (descriptors, ports) is left out: the room is what connected.
      sock.on('error', () => resolve())
    })
  }
}
