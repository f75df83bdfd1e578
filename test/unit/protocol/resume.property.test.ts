// Property: whatever the network does — cut connections with frames in flight, repeat uploads,
// reorder them, lose replies — once it heals, each side has received exactly what the other sent,
// once each and in order. The real client session and the real server session, wired by an
// in-memory network that a generated schedule drives; time is node:test's mock clock.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { LifelineCore } from '../../../src/client/index'
import { Transport, type TransportName } from '../../../src/client/transports/transport'
import type { Frame } from '../../../src/protocol/frames'
import type { Link, SessionHost } from '../../../src/server/session'
import type { LocalSession } from '../../../src/server/local-session'
import { localSession } from '../../support/host'
import { SERVER_DEFAULTS, type ServerResolved } from '../../../src/server/options'
import { Rooms } from '../../../src/server/rooms'
import { serverClock } from '../../../src/server/clock'

interface Wire {
  t: MemTransport
  link: MemLink
  s: LocalSession
  alive: boolean
  down: Frame[]
  up: Body[]
  delivered: Body[]
}

/** An upload: WebSocket frames, or a POST body with the ack cursor its URL carried. */
interface Body {
  ack: number
  frames: Frame[]
}

class MemLink implements Link {
  inSeq = 0
  constructor(
    readonly name: Link['name'],
    private w: Wire,
  ) {}
  ready() {
    return this.w.alive
  }
  write(frames: Frame[]) {
    if (this.w.alive) this.w.down.push(...frames)
  }
  end() {
    net.drop(this.w)
  }
}

/** The in-memory network and a minimal server around real ServerSessions. */
class Net {
  wires: Wire[] = []
  sessions = new Map<string, LocalSession>()
  got: string[] = []
  ids = 0
  host: SessionHost<LocalSession> = {
    o: { ...SERVER_DEFAULTS, clock: serverClock, maxPostBytes: 1 << 22 } as ServerResolved,
    reserve: () => true,
    confirm: (s) => s._session.on('message', (m) => this.got.push(String(m))),
    gone: (s) => this.sessions.delete(s.id),
    log: () => {},
    rooms: new Rooms(),
  }
  /** While set, WebSocket handshakes fail (a proxy that refuses upgrades, on and off). */
  refuseWs = false
  connect(t: MemTransport): void {
    const q = new URLSearchParams(t._ctx.url(t, true).split('?')[1])
    if (this.refuseWs && t.kind == 'websocket') return void Promise.resolve().then(() => t._end('dropped'))
    let s = q.get('sid') ? this.sessions.get(q.get('sid')!) : undefined
    const w = { t, alive: true, down: [] as Frame[], up: [] as Body[], delivered: [] as Body[] } as Wire
    this.wires.push(w)
    if (q.get('sid') && !s) return void w.down.push('c3901 session unknown or expired')
    if (!s) {
      s = localSession(this.host, true, String(++this.ids).padStart(22, '0'))
      this.sessions.set(s.id, s)
    }
    w.s = s
    w.down.push('o' + JSON.stringify({ v: 2, sid: s.id, ack: s._received, hb: 25000, max: 1 << 22 }))
    w.link = new MemLink(t.kind == 'websocket' ? 'websocket' : 'polling', w)
    s._attach(w.link, +q.get('ack')!)
  }
  drop(w: Wire): void {
    if (!w.alive) return
    w.alive = false
    w.down = []
    w.up = []
    w.t._end('dropped')
    if (w.s) w.s._detach(w.link)
  }
  /** Deliver up to `n` frames toward the client on wire `w`. */
  down(w: Wire, n: number): void {
    while (n-- > 0 && w.alive && w.down.length) w.t._frame(w.down.shift()!)
  }
  /** Deliver one upload: WebSocket in order; HTTP any pending POST, maybe repeating an old one. */
  up(w: Wire, pick: number, repeat: boolean): void {
    if (!w.alive || !w.s) return
    // WebSocket frames arrive in order. Over HTTP one POST is in flight at a time (as the client
    // sends them), but a proxy may repeat an old one at any time, and a reply may be lost, which
    // the client sees as a failed request.
    const old = repeat && w.t.kind == 'http' && w.delivered.length > 0
    const body = old ? w.delivered[pick % w.delivered.length] : w.up.shift()
    if (!body) return
    if (!old) w.delivered.push(body)
    if (w.t.kind == 'websocket') for (const f of body.frames) w.s._receive([f], w.link)
    else {
      const replies = w.s._post(body.frames, { ack: body.ack, t: 'polling' })
      // A body that overtook the one before it is answered later (or refused): as if lost.
      if (replies instanceof Promise) replies.catch(() => {})
      if (old || !Array.isArray(replies)) return
      if (pick % 4 == 0) return this.drop(w)
      for (const f of replies) w.t._frame(f)
    }
  }
}

let net: Net

class MemTransport extends Transport {
  static transportName: TransportName = 'websocket'
  name: TransportName = 'websocket'
  kind: 'websocket' | 'http' = 'websocket'
  static isSupported() {
    return true
  }
  // Capabilities as the real transport of this name has them.
  override get isSocket() {
    return this.kind == 'websocket'
  }
  override get pollsCursor() {
    return this.kind == 'http'
  }
  open() {
    net.connect(this)
  }
  send(frames: Frame[], seq: number) {
    const w = net.wires.find((x) => x.t == this)
    if (!w || !w.alive) return
    const ack = +new URLSearchParams(this._ctx.url(this).split('?')[1]).get('ack')!
    // Over HTTP, frames sent while a POST is waiting join the next one, as HttpTransport does.
    const last = w.up[w.up.length - 1]
    if (this.kind == 'http' && w.up.length > 1) last.frames.push(...frames)
    else w.up.push({ ack, frames: this.kind == 'websocket' ? frames : ['s' + seq, ...frames] })
  }
  protected _stop() {
    const w = net.wires.find((x) => x.t == this)
    if (w) net.drop(w)
  }
}
class MemHttp extends MemTransport {
  static transportName: TransportName = 'polling'
  name: TransportName = 'polling'
  kind = 'http' as const
}

const step = fc.oneof(
  fc.record({ k: fc.constant('csend' as const), n: fc.integer({ min: 1, max: 20 }) }),
  fc.record({ k: fc.constant('ssend' as const), n: fc.integer({ min: 1, max: 20 }) }),
  fc.record({ k: fc.constant('down' as const), w: fc.nat(), n: fc.integer({ min: 1, max: 30 }) }),
  fc.record({ k: fc.constant('up' as const), w: fc.nat(), pick: fc.nat(), repeat: fc.boolean() }),
  fc.record({ k: fc.constant('drop' as const), w: fc.nat() }),
  fc.record({ k: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 700 }) }),
  fc.record({ k: fc.constant('flaky' as const), on: fc.boolean() }),
)

const KINDS = { websocket: [MemTransport], http: [MemHttp], 'switching between both': [MemTransport, MemHttp] }

for (const [kind, transports] of Object.entries(KINDS)) {
  test(`exactly once, in order, both ways, whatever the network does (${kind})`, async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 })
    const clock = {
      setTimeout: (f: () => void, ms: number) => setTimeout(f, ms),
      clearTimeout: (id: unknown) => clearTimeout(id as never),
      now: () => Date.now(),
    }
    const settle = async () => {
      for (let i = 0; i < 5; i++) await Promise.resolve()
    }
    let switches = 0
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 5, maxLength: 60 }), async (steps) => {
        net = new Net()
        const ll = new LifelineCore(
          'http://mem.test/rt',
          { transports, clock, storage: null, jitter: false, minDelay: 10, maxDelay: 100, upgradeDelay: 1000 },
          [],
        )
        const clientGot: string[] = []
        let resets = 0
        ll.on('message', (e) => clientGot.push(e.data as string))
        ll.on('reset', () => resets++)
        let cs = 0
        let ss = 0
        await settle()
        for (const s of steps) {
          const live = net.wires.filter((w) => w.alive)
          const w = live.length ? live[('w' in s ? s.w : 0) % live.length] : undefined
          if (s.k == 'csend') for (let i = 0; i < s.n; i++) ll.send('c' + cs++)
          else if (s.k == 'ssend') {
            const sess = [...net.sessions.values()][0]
            if (sess && sess._heard) for (let i = 0; i < s.n; i++) sess._session.send('s' + ss++)
          } else if (s.k == 'down' && w) net.down(w, s.n)
          else if (s.k == 'up' && w) net.up(w, s.pick, s.repeat)
          else if (s.k == 'drop' && w) net.drop(w)
          else if (s.k == 'tick') t.mock.timers.tick(s.ms)
          else if (s.k == 'flaky') net.refuseWs = s.on
          await settle()
        }
        // Heal: deliver everything, let timers run, until both sides have everything.
        net.refuseWs = false
        for (let round = 0; round < 400 && (net.got.length < cs || clientGot.length < ss); round++) {
          for (const w of net.wires.filter((x) => x.alive)) {
            while (w.alive && (w.up.length || w.down.length)) {
              net.down(w, 1000)
              net.up(w, 1, false)
              await settle()
            }
          }
          t.mock.timers.tick(50)
          await settle()
        }
        switches += new Set(net.wires.map((w) => w.t.kind)).size - 1
        if (process.env.PROPERTY_SEED)
          console.log(
            'DEBUG',
            resets,
            JSON.stringify(net.got),
            JSON.stringify(clientGot),
            cs,
            ss,
            ll.state,
            net.wires.length,
          )
        assert.equal(resets, 0, 'the session was never lost, so never reset')
        assert.deepEqual(
          net.got,
          Array.from({ length: cs }, (_, i) => 'c' + i),
          'server got every client message once, in order',
        )
        assert.deepEqual(
          clientGot,
          Array.from({ length: ss }, (_, i) => 's' + i),
          'client got every server message once, in order',
        )
        ll.close()
        t.mock.timers.tick(30000)
        await settle()
      }),
      {
        numRuns: Number(process.env.PROPERTY_RUNS || 200),
        seed: process.env.PROPERTY_SEED ? +process.env.PROPERTY_SEED : undefined,
        path: process.env.PROPERTY_PATH,
        verbose: !!process.env.PROPERTY_SEED,
      },
    )
    // The mixed schedules must really have moved sessions between transports.
    if (transports.length > 1) assert.ok(switches > 20, 'schedules that switched transports: ' + switches)
  })
}
