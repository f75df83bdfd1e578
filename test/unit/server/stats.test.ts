// The server's counters (src/server/stats.ts), which one process and a cluster node both count
// with: reconnects split into resumes and resets, reasons capped at statsMaxReasons, the snapshot.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Counters } from '../../../src/server/stats'

test('a reconnect is a resume when the session was there, a reset when not', () => {
  const c = new Counters(10)
  c.reconnect(true)
  c.reconnect(true)
  c.reconnect(false)
  assert.deepEqual([c.reconnects, c.resumes, c.resets], [3, 2, 1])
})

test('reasons: past statsMaxReasons distinct ones, and anything malformed, count as other', () => {
  const c = new Counters(2)
  for (const why of ['preferred', 'remembered', 'websocket-hung', 'Bad Reason!', null, 'preferred'])
    c.reason('stream', why)
  c.reason('carrier-pigeon', 'preferred')
  assert.deepEqual(c.reasons.stream, { preferred: 2, remembered: 1, other: 3 })
  assert.deepEqual(c.reasons.websocket, {})
})

test('the snapshot counts sessions by the transport carrying each, none between connections', () => {
  const c = new Counters(10)
  c.in(5)
  c.out(3)
  c.out(4)
  const s = c.snapshot([{ transport: 'websocket' }, { transport: null }, { transport: 'polling' }], 42)
  assert.deepEqual(s.sessions, { total: 3, websocket: 1, stream: 0, polling: 1, none: 1 })
  assert.deepEqual([s.messagesIn, s.bytesIn, s.messagesOut, s.bytesOut, s.bufferedBytes], [1, 5, 2, 7, 42])
})
