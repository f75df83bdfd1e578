// The server's frame handling (`ServerSession._receive`) fed generated garbage, as WebSocket
// frames one by one and as POST bodies, next to a well-behaved session on the same host:
// nothing throws, a bad frame closes only the session that sent it and with a defined code, and
// what the session holds stays within its bounds. No sockets; the real-socket version is
// test/server/fuzz.test.ts.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import type { Frame } from '../../../src/protocol/frames'
import type { SessionHost } from '../../../src/server/session'
import type { LocalSession } from '../../../src/server/local-session'
import { localSession } from '../../support/host'
import { MemLink } from '../../support/memlink'
import { SERVER_DEFAULTS, type ServerResolved } from '../../../src/server/options'
import { serverClock } from '../../../src/server/clock'
import { anyFrame, frameRun, CORPUS } from '../../support/garbage'
import { Rooms } from '../../../src/server/rooms'

const runs = {
  numRuns: Number(process.env.PROPERTY_RUNS || 300),
  seed: process.env.PROPERTY_SEED ? +process.env.PROPERTY_SEED : undefined,
}

/** A host with two echoing sessions: `bad` gets the garbage, `good` plain messages. */
function setup() {
  let total = 0
  const o = {
    ...SERVER_DEFAULTS,
    clock: serverClock,
    maxMessageSize: 1000,
    maxBufferedAmount: 20000,
    maxPostBytes: 1 << 20,
  } as ServerResolved
  const closes = new Map<LocalSession, number>()
  const got = new Map<LocalSession, unknown[]>()
  const host: SessionHost<LocalSession> = {
    o,
    reserve: (n) => (n > 0 && total + n > o.maxTotalBuffered ? false : ((total += n), true)),
    confirm: (s) => {
      const app = s._session
      got.set(s, [])
      app.on('message', (m) => (got.get(s)!.push(m), s.closed || app.send(m)))
      app.on('close', (code) => closes.set(s, code))
      app.on('error', () => {})
    },
    gone: () => {},
    log: () => {},
    note: () => {},
    rooms: new Rooms(),
  }
  const make = (id: string) => {
    const s = localSession(host, true, id.padEnd(22, '0'))
    const link = new MemLink()
    s._attach(link, 0)
    return { s, link }
  }
  const good = make('good')
  let n = 0
  const goodSays = () => {
    good.s._receive([n ? 'm' + n : 's1'], good.link)
    if (!n++) good.s._receive(['m0'], good.link)
  }
  return { o, closes, got, bad: make('bad'), good, goodSays, total: () => total, sent: () => n }
}

/** Codes a session may end with: protocol error, too big, overflow, or what a `c` frame asked for. */
function allowed(frames: Frame[]): number[] {
  const asked = frames
    .filter((f): f is string => typeof f == 'string' && f[0] == 'c')
    .map((f) => +(f.slice(1).split(' ')[0] || 1005))
  return [1002, 1009, 4000, ...asked]
}

function check(h: ReturnType<typeof setup>, frames: Frame[]) {
  const { s } = h.bad
  if (s.closed) assert.ok(allowed(frames).includes(h.closes.get(s)!), 'closed with ' + h.closes.get(s))
  assert.ok(s.bufferedAmount <= h.o.maxBufferedAmount)
  assert.ok((s._inbound._parked ? s._inbound._parked.size : 0) <= h.o.maxParkedPosts)
  const later = s._later ? s._later.length : 0
  assert.ok(later <= 2, 'control frames pile up: ' + later)
  assert.equal(h.good.s.closed, false, 'the well-behaved session is untouched')
  assert.deepEqual(
    h.got.get(h.good.s),
    Array.from({ length: h.sent() }, (_, i) => String(i)),
  )
}

// and stays within bounds
test('WebSocket frames: garbage never throws, closes only its own session with a defined code', () => {
  fc.assert(
    fc.property(frameRun, (frames) => {
      const h = setup()
      for (const f of frames) {
        h.goodSays()
        const ok = h.bad.s._receive([f], h.bad.link)
        if (!ok) assert.ok(h.bad.s.closed, 'a refused frame ends the session')
        check(h, frames)
      }
    }),
    runs,
  )
})

// and stays within bounds
test('POST bodies: garbage never throws, closes only its own session with a defined code', () => {
  const body = fc
    .tuple(fc.option(fc.nat({ max: 20 }).map((n) => 's' + n)), fc.array(anyFrame, { maxLength: 8 }))
    .map(([s, fs]) => (s ? [s, ...fs] : fs))
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat({ max: 30 }), body), { minLength: 1, maxLength: 10 }), (posts) => {
      const h = setup()
      for (const [ack, frames] of posts) {
        h.goodSays()
        const answer = h.bad.s._post(frames, { ack, t: 'polling' })
        // A parked body's answer comes later, or a refusal (503) past maxParkedPosts.
        if (answer instanceof Promise) answer.catch(() => {})
        else if (!answer) assert.ok(h.bad.s.closed)
        check(
          h,
          posts.flatMap((p) => p[1]),
        )
      }
    }),
    runs,
  )
})

// a close code a client may not send, too
test('corpus: each malformed frame after a proper start closes the session with 1002', () => {
  // Lone surrogates cannot cross the wire (UTF-8 decoding refuses them) but are strings here.
  const harmless = new Set<Frame>([
    'm',
    'p',
    'q',
    'c',
    'c1000',
    'm\udc00',
    'M["\\ud800"]',
    ...CORPUS.filter((f) => typeof f != 'string'),
  ])
  for (const f of CORPUS) {
    const h = setup()
    h.bad.s._receive(['u1', 's1', 'mfirst'], h.bad.link)
    h.bad.s._receive([f], h.bad.link)
    const code = h.closes.get(h.bad.s)
    if (harmless.has(f))
      assert.ok(code === undefined || code == (f == 'c' ? 1005 : 1000), JSON.stringify(f) + ' closed ' + code)
    else assert.equal(code, 1002, JSON.stringify(f))
  }
})
