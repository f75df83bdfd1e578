// The client's receive path alone, over a fake session: where each frame goes, messages delivered
// once and in order, a batch counted before its next poll, when acknowledgements go out.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Receiver, type ReceiveHost } from '../../../src/client/receive'
import type { Frame } from '../../../src/protocol/frames'
import { ACK_DELAY, STREAM_ACK_DELAY } from '../../../src/protocol/limits'
import { FakeClock, POLL, STREAM, WS, connection, resolved } from './fakes'

const SID = 'S'.repeat(22)
const HELLO = 'o' + JSON.stringify({ v: 2, sid: SID, ack: 0, hb: 25000, max: 4194304 })

/** A Receiver over a session that records what reaches it, in one log with what reaches the app. */
function receiver(opts: { resume?: boolean } = {}, C = WS) {
  const clock = new FakeClock()
  const log: string[] = []
  const host: { -readonly [K in keyof ReceiveHost]: ReceiveHost[K] } = {
    _options: resolved(clock, opts),
    _sessionId: SID,
    _active: undefined,
    _sender: {
      _acked: (n) => void log.push('acked ' + n),
      _control: (c, frame) => c._transport.send([frame], 0),
    },
    _bad: (_c, what) => void log.push('bad ' + what),
    _hello: (c, h) => {
      c._hello = h
      log.push('hello ' + h.sid)
    },
    _pong: () => void log.push('pong'),
    _serverClose: (_c, code, reason) => void log.push('close ' + code + ' ' + reason),
    _error: (code, message) => void log.push(code + ' ' + message),
    _timer: clock.setTimeout,
    _clear: clock.clearTimeout,
  }
  const r = new Receiver(host, {
    _deliver: (d) => void log.push('deliver ' + d),
    _emit: (type, e) => void log.push(type + ' ' + e.room),
  })
  const { c, t } = connection(clock, C, SID)
  /** `c` said hello and now carries the session. */
  const carry = () => {
    r._frame(c, HELLO)
    host._active = c
    log.length = 0
  }
  const feed = (...frames: Frame[]) => {
    for (const f of frames) r._frame(c, f)
  }
  return { r, host, log, c, t, clock, carry, feed }
}

test('each frame goes where it belongs; a ping is answered with its body', () => {
  const { log, c, t, feed } = receiver()
  feed(HELLO, 'a3', 'q', 'p42', 'e4000 nope', 'c3901 session unknown', 'c')
  assert.deepEqual(log, [
    'hello ' + SID,
    'acked 3',
    'pong',
    'LL_ERR_SERVER 4000: nope',
    'close 3901 session unknown',
    'close 1005 ',
  ])
  assert.deepEqual(t.sent, ['q42'])
})

test('a malformed frame, or a message before the hello, is reported as bad', () => {
  const { log, feed } = receiver()
  feed('mearly', 'ax', 'M[1,2]', 'o{"v":2', 'z')
  assert.deepEqual(log, [
    'bad message before hello',
    'bad bad frame ax',
    'bad bad frame M[1,2]',
    'bad bad frame o{"v":2',
    'bad bad frame z',
  ])
})

test('messages are delivered once and in order, from the number the s frame gives; a gap is bad', () => {
  const { log, c, carry, feed } = receiver()
  carry()
  feed('s1', 'mone', 'M["two","three"]', 's2', 'mtwo', 'mthree', new Uint8Array([4]), 's9', 'mnine')
  assert.deepEqual(log, ['deliver one', 'deliver two', 'deliver three', 'deliver 4', 'bad gap after 4'])
  assert.ok(c._progressed, 'delivering moved the session on')
})

test('before a connection carries the session, messages are held on it, not counted', () => {
  const { r, host, log, c, feed } = receiver()
  feed(HELLO, 's1', 'mwelcome')
  assert.deepEqual(log, ['hello ' + SID])
  assert.deepEqual(c._held, [[1, 'welcome', '']])
  assert.equal(r._inbox._received, 0)
  host._active = c
  for (const [seq, d] of c._held!) r._accept(c, seq, d)
  assert.deepEqual(log.slice(1), ['deliver welcome'])
  assert.equal(r._inbox._received, 1)
})

test('room runs: each room’s messages by offset, duplicates dropped, positions kept, never acknowledged', async () => {
  const { r, log, c, t, clock, carry, feed } = receiver()
  carry()
  feed('s1', 'mown', 'r41 ticker', 'mEUR 1', 'M["EUR 2","EUR 3"]', 'r7 two words', new Uint8Array([7]))
  feed('r42 ticker', 'mEUR 2', 'mEUR 3', 'mEUR 4', 's2', 'mown2', 'r40 ticker', 'mstale')
  assert.deepEqual(log, [
    'deliver own',
    'deliver EUR 1',
    'deliver EUR 2',
    'deliver EUR 3',
    'deliver 7',
    'deliver EUR 4',
    'deliver own2',
  ])
  assert.deepEqual(
    [...r._rooms],
    [
      ['ticker', 44],
      ['two words', 7],
    ],
  )
  assert.equal(r._inbox._received, 2, 'room messages are outside the session’s sequence')
  assert.equal(c._room, 'ticker')
  await clock.tick(ACK_DELAY)
  assert.deepEqual(t.controls, ['a2'], 'only the session’s own are acknowledged')
})

test('a room reset moves the position and tells the app; a malformed room frame is bad', () => {
  const { r, log, carry, feed } = receiver()
  carry()
  feed('r5 news', 'mfive', 'x90 news', 'r89 news', 'mold', 'r90 news', 'mnew', 'r news', 'r5', 'x1x a')
  assert.deepEqual(log, [
    'deliver five',
    'roomreset news',
    'deliver new',
    'bad bad frame r news',
    'bad bad frame r5',
    'bad bad frame x1x a',
  ])
  assert.equal(r._rooms.get('news'), 90)
})

test('`r0 <room>` drops the position, from the connection carrying the session only', () => {
  const { r, log, clock, carry, feed } = receiver()
  carry()
  feed('r5 news', 'mfive', 'r3 fx', 'mthree', 'r0 news', 's1', 'mown')
  assert.deepEqual(log, ['deliver five', 'deliver three', 'deliver own'])
  assert.deepEqual([...r._rooms], [['fx', 3]])
  // Late on a connection given up: the session may have joined fx again since, on the one carrying it.
  const other = connection(clock, WS, SID).c
  r._frame(other, HELLO)
  r._frame(other, 'r0 fx')
  assert.deepEqual([...r._rooms], [['fx', 3]])
  feed('r0 fx', 'mstray')
  assert.equal(r._rooms.size, 0)
  assert.deepEqual(
    log.slice(4),
    ['bad message before hello'],
    'a message right after `r0` is bad: `s` or `r` comes first',
  )
})

test('room messages and `r0` held before a connection carries the session keep their room and order', () => {
  const { r, host, log, c, feed } = receiver()
  r._rooms.set('fx', 7)
  feed(HELLO, 'r3 news', 'mthree', 'r0 fx')
  assert.deepEqual(c._held, [
    [3, 'three', 'news'],
    [0, '', 'fx'],
  ])
  assert.equal(r._rooms.get('fx'), 7, 'held: not yet')
  host._active = c
  for (const [seq, d, room] of c._held!) r._accept(c, seq, d, room)
  assert.deepEqual(log.slice(1), ['deliver three'])
  assert.deepEqual([...r._rooms], [['news', 3]])
})

test('messages for another session than the current one are dropped', () => {
  const { host, log, c, carry, feed } = receiver()
  carry()
  host._sessionId = 'T'.repeat(22)
  feed('s1', 'mstale')
  assert.deepEqual(log, [])
  assert.equal(c._nextSeq, 2, 'still counted on the connection')
})

test('a batch is counted before then() and handed to the app after it; a control frame hands over first', () => {
  const { r, log, c, carry } = receiver()
  carry()
  r._batch(c, ['s1', 'mone', 'e4000 boom', 'mtwo', 'M["three"]'], () => {
    log.push('then, received ' + r._inbox._received)
  })
  assert.deepEqual(log, ['deliver one', 'LL_ERR_SERVER 4000: boom', 'then, received 3', 'deliver two', 'deliver three'])
})

test('a batch stops at a frame that ends its connection, and then() is not called', () => {
  const { r, host, log, c, carry } = receiver()
  // As the session does: a bad frame drops the connection.
  host._bad = (x, what) => {
    log.push('bad ' + what)
    x._transport._end('protocol')
  }
  carry()
  r._batch(c, ['s1', 'mone', 'ax', 'mtwo'], () => log.push('then'))
  assert.deepEqual(log, ['deliver one', 'bad bad frame ax'])
  assert.equal(r._inbox._received, 1, 'nothing after the bad frame is counted')
  r._batch(c, ['mthree'], () => log.push('then'))
  assert.equal(log.length, 2, 'nothing comes from a connection that ended')
})

test('an ack goes at once after 128 messages, else ACK_DELAY later on a socket', async () => {
  const { r, c, t, clock, carry } = receiver()
  carry()
  r._frame(c, 's1')
  for (let i = 1; i <= 130; i++) r._frame(c, 'm' + i)
  assert.deepEqual(t.controls, ['a128'])
  await clock.tick(ACK_DELAY - 1)
  assert.deepEqual(t.controls, ['a128'])
  await clock.tick(1)
  assert.deepEqual(t.controls, ['a128', 'a130'])
  await clock.tick(ACK_DELAY * 10)
  assert.deepEqual(t.controls, ['a128', 'a130'], 'nothing new: no ack')
})

test('on a stream the ack waits STREAM_ACK_DELAY; over polling and without resume none is sent', async () => {
  for (const [C, resume, expected] of [
    [STREAM, true, ['a1']],
    [POLL, true, []],
    [WS, false, []],
  ] as const) {
    const { t, clock, carry, feed } = receiver({ resume }, C)
    carry()
    feed('s1', 'mone')
    await clock.tick(STREAM_ACK_DELAY - 1)
    assert.deepEqual(t.controls, [], C.transportName)
    await clock.tick(1)
    assert.deepEqual(t.controls, expected, C.transportName + ' resume ' + resume)
  }
})

test('once stopped, no ack is due any more', async () => {
  const { r, t, clock, carry, feed } = receiver()
  carry()
  feed('s1', 'mone')
  r._stop()
  await clock.tick(ACK_DELAY * 2)
  assert.deepEqual(t.controls, [])
})
