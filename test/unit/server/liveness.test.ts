// The server's liveness rules (src/server/liveness.ts), on plain numbers: when a client counts as
// gone (one rule for the sweep, a cluster node's watch and `transport`), when an idle or quiet
// link gets a ping, and the data-in-flight verdicts of PROTOCOL.md §8.3.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ServerLiveness, silent, Verdict } from '../../../src/server/liveness'
import { MIN_PATIENCE, STREAM_ACK_DELAY } from '../../../src/protocol/limits'

const HB = 25000
const TIMEOUT = 20000
/** A clock's reading well past 0 (0 means "not yet" to the watch). */
const T0 = 1000000

test('silent: past heartbeat plus heartbeatTimeout, not at it', () => {
  assert.equal(silent(HB + TIMEOUT, 0, HB, TIMEOUT), false)
  assert.equal(silent(HB + TIMEOUT + 1, 0, HB, TIMEOUT), true)
})

test('pingDue: a heartbeat after the last write; a quiet client once per silence, however much is written', () => {
  const l = new ServerLiveness()
  assert.equal(l.pingDue(HB - 1, 0, 0, HB), false)
  assert.equal(l.pingDue(HB, HB, 0, HB), true, 'nothing written for a heartbeat')
  // Written all along (lastOut = now), the client silent since 0.
  assert.equal(l.pingDue(HB - 1, 0, HB - 1, HB), false)
  assert.equal(l.pingDue(HB, 0, HB, HB), true, 'quiet for a heartbeat')
  assert.equal(l.pingDue(HB + 100, 0, HB + 100, HB), false, 'once per silence')
  assert.equal(l.pingDue(2 * HB + 200, HB + 150, 2 * HB + 200, HB), true, 'it answered; quiet again since')
})

test('check: a probe once acknowledgements wait past patience with nothing heard, then dead', () => {
  const l = new ServerLiveness()
  assert.equal(l.check(T0 + 10000, true, 0), Verdict.Fine, 'nothing in flight')
  l.sent(3, T0)
  assert.equal(l.check(T0 + MIN_PATIENCE - 1, true, 0), Verdict.Fine)
  assert.equal(l.check(T0 + MIN_PATIENCE, true, 0), Verdict.Probe)
  assert.equal(l.check(T0 + 2 * MIN_PATIENCE - 1, true, 0), Verdict.Fine, 'the ping waits its patience')
  assert.equal(l.check(T0 + 2 * MIN_PATIENCE, true, 0), Verdict.Dead)
})

test('check: anything heard after the probe, or an acknowledgement, is progress; a stream waits its ack delay', () => {
  const l = new ServerLiveness()
  l.sent(1, T0)
  assert.equal(l.check(T0 + MIN_PATIENCE, true, 0), Verdict.Probe)
  l.heard(T0 + MIN_PATIENCE + 10)
  assert.equal(l.check(T0 + 2 * MIN_PATIENCE, true, 0), Verdict.Fine, 'heard after the probe')
  l.progress(0, T0 + 2 * MIN_PATIENCE)
  assert.equal(l.check(T0 + 10 * MIN_PATIENCE, true, 0), Verdict.Fine, 'nothing waits any more')
  const stream = new ServerLiveness()
  stream.sent(1, T0)
  assert.equal(stream.check(T0 + MIN_PATIENCE + STREAM_ACK_DELAY - 1, false, 0), Verdict.Fine)
  assert.equal(stream.check(T0 + MIN_PATIENCE + STREAM_ACK_DELAY, false, 0), Verdict.Probe)
})
