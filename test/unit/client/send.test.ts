// The client's send path alone, over a fake session: bounds, hand-overs, how control frames are
// numbered, what an acknowledgement frees.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { LifelineError } from '../../../src/client/index'
import { Sender, type Queued, type SendHost } from '../../../src/client/send'
import { HANDOVER_MESSAGES } from '../../../src/protocol/limits'
import { Outbox } from '../../../src/protocol/outbox'
import { FakeClock, connection, flush, resolved } from './fakes'

/** A Sender over a session that records what reaches it and the app, in one log. */
function sender(opts: { resume?: boolean; maxMessageSize?: number; maxQueueLength?: number } = {}) {
  const clock = new FakeClock()
  const log: string[] = []
  const host: { -readonly [K in keyof SendHost]: SendHost[K] } = {
    _options: resolved(clock, opts),
    _outbox: new Outbox<Queued>(),
    _active: undefined,
    _liveness: { _sent: () => void log.push('sent'), _progress: () => void log.push('progress') },
    _bad: (_c, what) => void log.push('bad ' + what),
  }
  const s = new Sender(host, { _emit: (type, e) => void log.push(type + ' ' + JSON.stringify(e)) })
  const { c, t } = connection(clock)
  /** `c` carries the session; `texts` are sent on it and handed over. */
  const carrying = (...texts: string[]) => {
    host._active = c
    for (const x of texts) s._send(x)
    s._flush()
  }
  return { s, host, log, c, t, clock, carrying }
}

const code = (f: () => void) => {
  try {
    f()
  } catch (e) {
    return (e as LifelineError).code
  }
}

test('a message past maxMessageSize or the server’s max, or past the queue bounds, is refused', () => {
  const { s, host } = sender({ maxMessageSize: 10, maxQueueLength: 2 })
  assert.equal(
    code(() => s._send('x'.repeat(11))),
    'LL_ERR_MESSAGE_TOO_BIG',
  )
  assert.equal(
    code(() => s._send('é'.repeat(6))),
    'LL_ERR_MESSAGE_TOO_BIG',
    'counted in UTF-8 bytes',
  )
  s._serverMax = 4
  assert.equal(
    code(() => s._send(new Uint8Array(5))),
    'LL_ERR_MESSAGE_TOO_BIG',
  )
  s._send('one')
  s._send('two')
  assert.equal(
    code(() => s._send('3')),
    'LL_ERR_BUFFER_FULL',
  )
  assert.equal(host._outbox._count, 2)
})

test('nothing goes out while no connection carries the session', async () => {
  const { s, host, t, log } = sender()
  s._send('one')
  await flush()
  assert.deepEqual(t.sent, [])
  assert.deepEqual(log, [])
  assert.equal(host._outbox._count, 1)
})

test('a task’s first message goes out at once, the rest of the task together after it', async () => {
  const { s, host, c, t, log } = sender()
  host._active = c
  s._send('one')
  assert.deepEqual(t.sent, ['mone'])
  s._send('two')
  s._send('three')
  assert.deepEqual(t.sent, ['mone'])
  await flush()
  assert.deepEqual(t.texts, ['one', 'two', 'three'])
  assert.deepEqual(t.seqs, [1, 2])
  assert.deepEqual(log, ['sent', 'sent'])
  s._send('four')
  assert.equal(t.texts[t.texts.length - 1], 'four', 'a new task: at once again')
})

test('a long queue is handed over in bounded batches', () => {
  const { s, host, c, t } = sender()
  for (let i = 0; i < HANDOVER_MESSAGES + 1; i++) s._send('m')
  host._active = c
  s._flush()
  assert.deepEqual(t.seqs, [1, HANDOVER_MESSAGES + 1])
  assert.equal(t.texts.length, HANDOVER_MESSAGES + 1)
})

test('a Blob keeps its place in the queue while it is read to bytes', async () => {
  const { s, host, c, t } = sender()
  host._active = c
  s._send(new Blob(['ab']))
  s._send('after')
  // Reading a Blob takes the runtime a few turns: wait for the frames, with a deadline.
  for (let i = 0; i < 1000 && t.sent.length < 2; i++) await new Promise((r) => setImmediate(r))
  assert.deepEqual(t.texts, ['<bin>', 'after'])
  assert.deepEqual([...(t.sent[0] as Uint8Array)], [97, 98])
})

test('a control frame names the next new message on the active connection, the oldest kept on another', () => {
  const { s, host, c, t } = sender()
  const spare = connection(new FakeClock())
  host._active = c
  s._send('one')
  s._control(c, 'p')
  s._control(spare.c, 'p')
  assert.deepEqual(t.seqs, [1, 2])
  assert.deepEqual(spare.t.seqs, [1])
  s._control(spare.c, 'c1000 not needed', true)
  assert.ok(spare.t.stopped, 'last: closed once it is out')
})

test('an ack frees what it covers: delivered once the oldest moves on, progress only on the active', () => {
  const { s, c, log, carrying } = sender()
  carrying('', 'two')
  log.length = 0
  s._acked(1, c)
  assert.deepEqual(log, ['delivered {"seq":1}'], 'an empty message frees no bytes and is delivered all the same')
  const other = connection(new FakeClock())
  s._acked(2, other.c)
  assert.deepEqual(log.slice(1), ['delivered {"seq":2}'], 'no progress told for a connection not carrying it')
  assert.ok(!other.c._progressed)
  s._acked(2, c)
  assert.equal(log.length, 2, 'an old ack again: nothing')
  s._acked(5, c)
  assert.deepEqual(log.slice(2), ['bad ack beyond what was sent'])
})

test('an ack that frees bytes on the active connection is progress', () => {
  const { s, host, c, log } = sender()
  host._active = c
  s._send('one')
  log.length = 0
  s._acked(1, c)
  assert.deepEqual(log, ['delivered {"seq":1}', 'progress'])
  assert.ok(c._progressed)
})

test('without resume, what went out is forgotten at once', () => {
  const { s, host, c } = sender({ resume: false })
  host._active = c
  s._send('one')
  assert.equal(host._outbox._count, 0)
})
