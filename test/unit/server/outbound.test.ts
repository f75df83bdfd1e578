// What a server session sends (src/server/outbound.ts), with a link in memory and a fake session:
// batching per tick, control frames kept for a link, the sequence marker after a rewind, what an
// acknowledgement frees, `drain`, fire-and-forget and the bounds (PROTOCOL.md §6.1, §6.2).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Frame } from '../../../src/protocol/frames'
import type { Link, SessionHost } from '../../../src/server/link'
import { ServerLiveness } from '../../../src/server/liveness'
import { SERVER_DEFAULTS, type ServerResolved } from '../../../src/server/options'
import { Outbound, type OutboundOwner } from '../../../src/server/outbound'
import { Rooms } from '../../../src/server/rooms'
import { MemLink } from '../../support/memlink'
import { serverClock } from '../../../src/server/clock'

function setup(options: Partial<Record<keyof ServerResolved, number>> = {}, reliable = true) {
  let total = 0
  const events: Array<[string, number?]> = []
  const host: SessionHost = {
    o: { ...SERVER_DEFAULTS, clock: serverClock, ...options } as ServerResolved,
    reserve: (n) => {
      if (n > 0 && total + n > host.o.maxTotalBuffered) return false
      total += n
      return true
    },
    confirm: () => {},
    gone: () => {},
    log: () => {},
    note: () => {},
    rooms: new Rooms(),
  }
  const link = new MemLink()
  const owner: OutboundOwner & { closed: boolean; _links: Partial<Record<Link['name'], Link>> } = {
    closed: false,
    reliable,
    _host: host,
    _links: { websocket: link },
    _active: 'websocket',
    _liveness: new ServerLiveness(),
    _flushNow: () => out.flushing && out.flush(),
    _end: (code) => {
      owner.closed = true
      events.push(['end', code])
    },
    _emitSafely: (type, seq) => events.push([type, seq]),
    emit: (type) => (events.push([type]), true),
  }
  const out = new Outbound(owner)
  return { out, owner, link, events, total: () => total }
}

const tick = () => new Promise((resolve) => setImmediate(resolve))

test('what is queued in one tick goes out in one write, as one batch frame', async () => {
  const { out, link } = setup()
  out.rewind()
  assert.ok(out.queue('a') && out.queue('b') && out.queue('c'))
  assert.deepEqual(link.out, [], 'nothing before the tick ends')
  await tick()
  assert.deepEqual(link.out, ['s1', 'M["a","b","c"]'])
  out.queue('d')
  await tick()
  assert.deepEqual(link.out.slice(2), ['md'], 'no sequence marker without a rewind')
  assert.equal(out.sent, 4)
})

test('control frames wait for a link that can take them and go first when one does', async () => {
  const { out, owner, link } = setup()
  owner._links = {}
  out.control(['p'])
  out.control(['a3'])
  assert.deepEqual(out.later, ['p', 'a3'])
  owner._links = { websocket: link }
  out.rewind()
  out.queue('x')
  await tick()
  assert.deepEqual(link.out, ['p', 'a3', 's1', 'mx'])
  assert.equal(out.later, undefined, 'no list kept once empty')
})

test('a rewind puts every unacknowledged message on the link again, from the oldest', async () => {
  const { out, link } = setup()
  out.rewind()
  for (const m of ['1', '2', '3']) out.queue(m)
  await tick()
  out.acked(1)
  out.rewind()
  out.flush()
  assert.deepEqual(link.out, ['s1', 'M["1","2","3"]', 's2', 'M["2","3"]'])
})

test('an acknowledgement frees bytes and says `delivered`, clamped to what was sent', async () => {
  const { out, events, total } = setup()
  out.rewind()
  out.queue('abc')
  out.queue('')
  await tick()
  assert.equal(total(), 3)
  out.acked(1)
  assert.equal(total(), 0)
  out.acked(99)
  assert.deepEqual(events, [
    ['delivered', 1],
    ['delivered', 2],
  ])
  assert.equal(out.outbox._count, 0, 'the empty message is delivered too')
})

test('drain: once past half of maxBufferedAmount, when it falls to a quarter', async () => {
  const { out, events } = setup({ maxBufferedAmount: 100 })
  out.rewind()
  for (let i = 0; i < 6; i++) out.queue('x'.repeat(10))
  await tick()
  out.acked(2)
  assert.deepEqual(
    events.filter((e) => e[0] == 'drain'),
    [],
    '40 bytes held: not yet',
  )
  out.acked(4)
  assert.deepEqual(
    events.filter((e) => e[0] == 'drain'),
    [['drain']],
  )
})

test('fire-and-forget: what is written is no longer held, and nothing is delivered', async () => {
  const { out, link, events, total } = setup({}, false)
  out.rewind()
  out.queue('abc')
  await tick()
  assert.deepEqual(link.out, ['s1', 'mabc'])
  assert.equal([total(), out.outbox._bytes].join(), '0,0')
  out.acked(1)
  assert.deepEqual(events, [])
})

test('past maxQueueLength or maxTotalBuffered the session ends with 3900; too big a message throws', () => {
  const a = setup({ maxQueueLength: 2 })
  assert.ok(a.out.queue('1') && a.out.queue('2'))
  assert.equal(a.out.queue('3'), false)
  assert.deepEqual(a.events, [['end', 3900]])
  const b = setup({ maxTotalBuffered: 5 })
  assert.equal(b.out.queue('123456'), false)
  assert.deepEqual(b.events, [['end', 3900]])
  const c = setup({ maxMessageSize: 4 })
  assert.throws(() => c.out.queue('12345'), { code: 'LL_ERR_MESSAGE_TOO_BIG' })
})

test('nothing is written on a closed session', async () => {
  const { out, owner, link } = setup()
  owner.closed = true
  out.queue('x')
  await tick()
  const frames: Frame[] = link.out
  assert.deepEqual(frames, [])
})
