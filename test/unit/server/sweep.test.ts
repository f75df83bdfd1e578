// The housekeeping sweep over one process's sessions (src/server/sweep.ts), its clock passed in:
// expiry of sessions without a connection, heartbeat timeouts, and pings on an idle link.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Frame } from '../../../src/protocol/frames'
import type { Link, SessionHost } from '../../../src/server/link'
import { SERVER_DEFAULTS, type ServerResolved } from '../../../src/server/options'
import { Rooms } from '../../../src/server/rooms'
import { sweep } from '../../../src/server/sweep'
import { FakeClock } from '../../support/fake-clock'
import { localSession } from '../../support/host'
import { MemLink } from '../../support/memlink'

const clock = new FakeClock()
const o = { ...SERVER_DEFAULTS, clock } as ServerResolved
const host: SessionHost = {
  o,
  reserve: () => true,
  confirm: () => {},
  gone: () => {},
  log: () => {},
  note: () => {},
  rooms: new Rooms(),
}

/** A link that says how it was ended. */
class EndedLink extends MemLink {
  ended: Array<boolean | undefined> = []
  override end(dead?: boolean) {
    this.ended.push(dead)
  }
}

function session(heard: boolean) {
  const s = localSession(host, true)
  const closes: Array<[number, string]> = []
  s._session.on('close', (code, reason) => closes.push([code, reason]))
  if (heard) s._heard = true
  return { s, closes, t0: clock.now() }
}

test('a session its client never spoke on, with no connection left, ends after requestTimeout', () => {
  const { s, closes, t0 } = session(false)
  sweep([s], t0 + o.requestTimeout - 100, host)
  assert.deepEqual(closes, [])
  sweep([s], t0 + o.requestTimeout + 100, host)
  assert.deepEqual(closes, [[3901, 'session unknown or expired']])
})

test('a confirmed session without a connection is kept for sessionTtl, then expires', () => {
  const { s, closes, t0 } = session(true)
  sweep([s], t0 + o.requestTimeout + 100, host)
  sweep([s], t0 + o.sessionTtl - 100, host)
  assert.deepEqual(closes, [])
  sweep([s], t0 + o.sessionTtl + 100, host)
  assert.deepEqual(closes, [[3901, 'session expired']])
})

test('a connection silent past its heartbeat and heartbeatTimeout is ended as dead; the session stays', () => {
  const { s, closes, t0 } = session(true)
  const link = new EndedLink()
  s._attach(link, 0)
  sweep([s], t0 + s._hb + o.heartbeatTimeout + 100, host)
  assert.deepEqual(link.ended, [true])
  assert.deepEqual(closes, [])
  s._session.close()
})

test('an idle WebSocket gets a ping once a heartbeat has passed without a write; a held poll does not', () => {
  const { s, t0 } = session(true)
  const link = new MemLink()
  s._attach(link, 0)
  sweep([s], t0 + s._hb - 100, host)
  assert.deepEqual(link.out, [])
  sweep([s], t0 + s._hb + 100, host)
  assert.deepEqual(link.out, ['p'])
  s._session.close()
  const polled = session(true)
  const out: Frame[] = []
  const poll: Link = { name: 'polling', inSeq: 0, ready: () => true, write: (f) => out.push(...f), end: () => {} }
  polled.s._attach(poll, 0)
  sweep([polled.s], polled.t0 + polled.s._hb + 100, host)
  assert.deepEqual(out, [])
  polled.s._session.close()
})

// Regression (issue 26): a fire-and-forget client that only receives was dropped at heartbeat +
// heartbeatTimeout though the server wrote to it all along: nothing made it speak.
test('a client silent for a heartbeat gets a ping though the server writes all along; its pong keeps it', () => {
  const s = localSession(host, false)
  s._heard = true
  const link = new EndedLink()
  s._attach(link, 0)
  const t0 = clock.now()
  s._lastIn = t0
  // The server writes every 100 ms; the client says nothing until pinged.
  for (let now = t0; now <= t0 + 2 * s._hb + o.heartbeatTimeout; now += 100) {
    s._outbound.lastOut = now
    sweep([s], now, host)
    if (link.out.at(-1) == 'p') {
      link.out.push('(answered)')
      s._lastIn = now + 50 // the client's pong, as `_receive` notes it
    }
  }
  assert.equal(link.out.filter((f) => f == 'p').length, 2, 'pinged once per heartbeat of silence')
  assert.deepEqual(link.ended, [], 'not ended: it answered')
  s._session.close()
})
