// The server's timing rules on a fake clock (src/server/clock.ts, `o.clock`): one process's server
// with its own sweep interval, driven by hand. Heartbeats and the liveness timeout, a receive-only
// client, the poll hold, `requestTimeout` (a silent new session, `authenticate`, a slow body, a
// parked upload), `sessionTtl` and the last words kept after it. No sockets, no sleeping.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { encode } from '../../../src/protocol/envelope'
import { closeFrame, FrameType, type Frame } from '../../../src/protocol/frames'
import type { Ask } from '../../../src/server/access'
import { serverClock } from '../../../src/server/clock'
import type { Link } from '../../../src/server/link'
import type { LocalSessions } from '../../../src/server/local'
import type { ServerOptions } from '../../../src/server/options'
import { LifelineServer } from '../../../src/server/server'
import type { LocalSession } from '../../../src/server/local-session'
import { askFor } from '../../support/ask'
import { fakeResponse as response } from '../../support/fake-response'
import { FakeClock } from '../../support/fake-clock'

/** The server's defaults this file leans on, ms. */
const HB = 25000
const HB_TIMEOUT = 20000
const SWEEP = 1000
const REQUEST_TIMEOUT = 10000
const SESSION_TTL = 60000
/** A client's round trip. */
const RTT = 50

/** A server in one process on a fake clock; `options` on top of the defaults. */
function server(options: ServerOptions = {}) {
  const clock = new FakeClock()
  const ll = new LifelineServer({ logger: null, ...options, clock } as ServerOptions)
  const local = (ll as unknown as { _node: LocalSessions })._node
  const closes: Array<[number, string, number]> = []
  ll.on('connection', (s) => s.on('close', (code, reason) => closes.push([code, reason, clock.now()])))
  return { ll, local, clock, closes }
}

/** A request as `LocalSessions` reads one; `body`: already read, as a framework's parser leaves it. */
function request(body?: Frame[]) {
  return Object.assign(new EventEmitter(), {
    headers: {},
    socket: { remoteAddress: '10.0.0.1' },
    readableEnded: !!body,
    body: body && Buffer.from(encode(body)),
    destroyed: false,
    destroy() {
      this.destroyed = true
    },
  }) as unknown as IncomingMessage & { destroyed: boolean }
}

/** A new session, as a connection-opening request makes it. */
async function open(local: LocalSessions, over: Partial<Ask> = {}): Promise<LocalSession> {
  const got = await local.find(request(), askFor(over))
  assert.ok(!Array.isArray(got), 'refused: ' + got)
  return got
}

/** A client's WebSocket as its session sees it: answers each ping a round trip later, unless `mute`. */
class Peer implements Link {
  readonly name = 'websocket'
  inSeq = 0
  out: Frame[] = []
  /** Each `end`, and whether it was for a dead peer. */
  ended: boolean[] = []
  mute = false

  constructor(
    private readonly _s: LocalSession,
    private readonly _clock: FakeClock,
  ) {
    this.write([_s._hello('websocket')])
    _s._attach(this, 0)
    // The client's proof ping: it speaks, the session is confirmed.
    _s._receive([FrameType.Ping], this)
  }

  ready(): boolean {
    return !this.ended.length
  }
  write(frames: Frame[]): void {
    this.out.push(...frames)
    if (frames.includes(FrameType.Ping))
      this._clock.setTimeout(() => !this.mute && this.ready() && this._s._receive([FrameType.Pong], this), RTT)
  }
  end(dead?: boolean): void {
    this.ended.push(!!dead)
    this._s._detach(this)
  }
  /** Pings the server wrote. */
  get pings(): number {
    return this.out.filter((f) => f == FrameType.Ping).length
  }
  /** Messages the server wrote. */
  get messages(): number {
    return this.out.filter((f) => typeof f == 'string' && f[0] == FrameType.Message).length
  }
}

test('an idle WebSocket gets a ping a heartbeat after the last write, not before', async () => {
  const { ll, local, clock } = server()
  const peer = new Peer(await open(local, { t: 'websocket' }), clock)
  await clock.tick(HB - SWEEP)
  assert.equal(peer.pings, 0)
  await clock.tick(SWEEP)
  assert.equal(peer.pings, 1)
  await clock.tick(HB - SWEEP)
  assert.equal(peer.pings, 1, 'its pong is not a write: the next ping is a heartbeat after this one')
  await clock.tick(SWEEP)
  assert.equal(peer.pings, 2)
  assert.deepEqual(peer.ended, [], 'answered: kept')
  ll.close()
})

test('a silent client loses its link past hb + heartbeatTimeout; the session waits sessionTtl, then 3901', async () => {
  const { ll, local, clock, closes } = server()
  const s = await open(local, { t: 'websocket' })
  const peer = new Peer(s, clock)
  peer.mute = true
  const t0 = clock.now()
  await clock.tick(HB + HB_TIMEOUT)
  assert.deepEqual(peer.ended, [], 'silent for exactly the limit: kept')
  await clock.tick(SWEEP)
  assert.deepEqual(peer.ended, [true], 'ended as dead on the next sweep')
  assert.equal(s.closed, false, 'the session waits for its client to resume')
  const detached = clock.now()
  await clock.tick(SESSION_TTL)
  assert.deepEqual(closes, [])
  await clock.tick(SWEEP)
  assert.deepEqual(closes, [[3901, 'session expired', detached + SESSION_TTL + SWEEP]])
  assert.equal(clock.now() - t0, HB + HB_TIMEOUT + SWEEP + SESSION_TTL + SWEEP)
  ll.close()
})

// Regression (issue 26): a fire-and-forget client that only receives was dropped at heartbeat +
// heartbeatTimeout though the server wrote to it all along: nothing made it speak.
test('a receive-only client the server writes to is pinged once per heartbeat, and kept while it answers', async () => {
  const { ll, local, clock } = server()
  const s = await open(local, { t: 'websocket', resume: false })
  const peer = new Peer(s, clock)
  const ticker = clock.setInterval(() => s._session.send('tick'), 100)
  const span = 3 * (HB + HB_TIMEOUT)
  await clock.tick(span)
  assert.deepEqual(peer.ended, [], 'not dropped for silence')
  // Once per heartbeat of silence from its last pong, on the sweep after: 5 in this span.
  const pings = peer.pings
  assert.ok(pings >= Math.floor(span / (HB + SWEEP + RTT)) && pings <= span / HB, pings + ' pings')
  assert.equal(peer.messages, span / 100)
  // The same client gone mute is dead all the same, though the server still writes.
  peer.mute = true
  await clock.tick(HB + HB_TIMEOUT + 2 * SWEEP)
  assert.deepEqual(peer.ended, [true])
  clock.clearInterval(ticker)
  ll.close()
})

test('a poll is held for the heartbeat the client asked for (below pollHold), then answered empty', async () => {
  const { ll, local, clock } = server()
  const hb = 10000
  const opening = response()
  local.get(request(), opening as unknown as ServerResponse, askFor({ hb }))
  await clock.tick(0)
  assert.match(String(opening.frames[0]), /^o/, 'an opening poll is answered at once, with the hello')
  const sid = JSON.parse(String(opening.frames[0]).slice(1)).sid
  const poll = response()
  local.get(request(), poll as unknown as ServerResponse, askFor({ sid, opening: false }))
  await clock.tick(hb - 1)
  assert.equal(poll.writableEnded, false, 'held')
  await clock.tick(1)
  assert.deepEqual([poll.status, poll.frames], [200, []])
  ll.close()
})

test('a session whose client never spoke and has no connection left ends past requestTimeout', async () => {
  const { ll, local, clock } = server()
  const opening = response()
  local.get(request(), opening as unknown as ServerResponse, askFor())
  await clock.tick(0)
  const sid = JSON.parse(String(opening.frames[0]).slice(1)).sid
  const s = ll.sessions.get(sid)!
  await clock.tick(REQUEST_TIMEOUT)
  assert.equal(s.closed, false)
  await clock.tick(SWEEP)
  assert.equal(s.closed, true)
  const late = await local.find(request(), askFor({ sid }))
  assert.deepEqual(late, [closeFrame(3901, 'session unknown or expired')])
})

test('authenticate not done within requestTimeout answers 1013', async () => {
  const { ll, local, clock } = server({ authenticate: () => new Promise(() => {}) })
  let got: unknown
  void local.find(request(), askFor()).then((r) => (got = r))
  await clock.tick(REQUEST_TIMEOUT - 1)
  assert.equal(got, undefined)
  await clock.tick(1)
  assert.deepEqual(got, [closeFrame(1013, 'authentication timed out')])
  ll.close()
})

test('a POST body not complete within requestTimeout gets 408 and its request is cut', async () => {
  const { ll, local, clock } = server()
  const s = await open(local)
  const req = request()
  const res = response()
  local.post(req, res as unknown as ServerResponse, askFor({ sid: s.id, opening: false }))
  await clock.tick(REQUEST_TIMEOUT - 1)
  assert.equal(res.status, 0)
  await clock.tick(1)
  assert.equal(res.status, 408)
  assert.equal(req.destroyed, true)
  ll.close()
})

test('a POST that overtook the one before waits requestTimeout for it, then 503; in time both are taken', async () => {
  const { ll, local, clock } = server()
  const s = await open(local)
  const got: unknown[] = []
  s._session.on('message', (m) => got.push(m))
  const post = (frames: Frame[]) => {
    const res = response()
    local.post(request(frames), res as unknown as ServerResponse, askFor({ sid: s.id, opening: false }))
    return res
  }
  const second = post(['s2', 'mb'])
  await clock.tick(REQUEST_TIMEOUT - 1)
  assert.equal(second.writableEnded, false, 'parked, unanswered')
  await clock.tick(1)
  assert.equal(second.status, 503, 'the one before it never came: the client sends both again')
  const again = post(['s2', 'mb'])
  await clock.tick(REQUEST_TIMEOUT - 1)
  const first = post(['s1', 'ma'])
  await clock.tick(0)
  assert.deepEqual(got, ['a', 'b'])
  assert.deepEqual([first.status, again.status], [200, 200])
  await clock.tick(REQUEST_TIMEOUT)
  assert.equal(again.status, 200, 'its timer gone with it')
  ll.close()
})

test("an ended session's last words answer late requests for sessionTtl, then it is forgotten", async () => {
  const { ll, local, clock } = server()
  const s = await open(local)
  s._session.close(4000, 'bye')
  await clock.tick(SESSION_TTL)
  assert.deepEqual(await local.find(request(), askFor({ sid: s.id })), [closeFrame(4000, 'bye')])
  await clock.tick(SWEEP)
  assert.deepEqual(await local.find(request(), askFor({ sid: s.id })), [closeFrame(3901, 'session unknown or expired')])
  ll.close()
})

test("the real clock: Node's timers, an interval that does not keep the process alive, Date.now()", async () => {
  const before = Date.now()
  const now = serverClock.now()
  assert.ok(now >= before && now <= Date.now())
  let fired = 0
  // A timeout keeps the process alive; the interval, unref'd, would not on its own.
  const alive = serverClock.setTimeout(() => assert.fail('the interval did not fire within 5 s'), 5000)
  await new Promise<void>((done) => {
    const every = serverClock.setInterval(() => {
      if (++fired < 2) return
      serverClock.clearInterval(every)
      done()
    }, 1)
    serverClock.unref(every)
    // A cleared timeout never fires (the test fails on `fired` below if it did).
    serverClock.clearTimeout(serverClock.setTimeout(() => (fired += 100), 0))
  })
  serverClock.clearTimeout(alive)
  assert.equal(fired, 2)
})
