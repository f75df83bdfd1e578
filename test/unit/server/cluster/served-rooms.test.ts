// A served session's room runs (src/server/cluster/served-rooms.ts) over a fake store and feeds:
// where each room starts from the client's positions, `r` frames only where the run changes, a gap
// in what is published read from the log, `x` when the log no longer reaches back.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ServedRooms, type RoomRunsHost } from '../../../../src/server/cluster/served-rooms'
import { RoomFeeds } from '../../../../src/server/cluster/feeds'
import type { RoomRead } from '../../../../src/server/cluster/room-log'
import type { ClusterStore } from '../../../../src/server/cluster/store'
import type { Frame } from '../../../../src/protocol/frames'
import type { Link } from '../../../../src/server/link'
import { serverClock } from '../../../../src/server/clock'
import { SharedFrame } from '../../../../src/server/shared-frame'

/** A few turns of the event loop: subscriptions on, the reads they start done. */
const settled = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r))
}

/** Rooms as logs of `<room><offset>` from `first`: what a read of the store answers. */
function fake(joined: Record<string, number>, logs: Record<string, { first: number; next: number }>) {
  const reads: string[] = []
  const written: Frame[] = []
  const link = { name: 'stream', ready: () => true, write: (f: Frame[]) => void written.push(...f) } as unknown as Link
  const read = async (room: string, from: number): Promise<RoomRead> => {
    reads.push(room + ' ' + from)
    const log = logs[room]
    if (from < log.first) return { status: 'reset', next: log.next }
    const messages = Array.from({ length: Math.max(0, log.next - from) }, (_, i) => room + (from + i))
    return {
      status: 'ok',
      next: log.next,
      upto: log.next - 1,
      runs: messages.length ? [{ first: from, messages }] : [],
    }
  }
  const store = {
    rooms: { joined: async () => new Map(Object.entries(joined)), logs: { follow: async () => {}, read } },
  } as unknown as ClusterStore
  const feeds = new RoomFeeds({ store, _host: { log: () => {} } })
  const host: RoomRunsHost = {
    id: 'sid',
    closed: false,
    _host: { o: { clock: serverClock }, store, feeds, log: () => {} },
    _ready: () => link,
    _lastOut: 0,
  }
  return { rooms: new ServedRooms(host), reads, written, host }
}

test('each room goes on after the client’s position, or from its join; `r` again only when the run turns', async () => {
  const { rooms, reads, written } = fake({ a: 3, b: 100 }, { a: { first: 1, next: 6 }, b: { first: 1, next: 101 } })
  rooms._arrived('stream', new Map([['a', 4]]))
  await rooms._carried('stream')
  await rooms._pump()
  assert.deepEqual(reads.slice(0, 2), ['a 5', 'b 100'], 'a after the position 4; b from its join (no position)')
  // Once each room's subscription is on, the log is read again past what was written (what was
  // published before it reached nobody here: feeds.ts).
  await settled()
  assert.deepEqual([...new Set(reads.slice(2))], ['a 6', 'b 101'])
  assert.deepEqual(written, ['r5 a', 'ma5', 'r100 b', 'mb100'])
  written.length = 0
  rooms._roomMessage('b', 101, 'b101')
  rooms._roomMessage('b', 100, 'old')
  assert.deepEqual(written, ['mb101'], 'the run of b goes on: no header; an offset already written is dropped')
  rooms._own()
  rooms._roomMessage('b', 102, 'b102')
  assert.deepEqual(written, ['mb101', 'r102 b', 'mb102'], "after the session's own messages, a header again")
})

test('a message whose run goes on is written as the frame all members share; a turn writes `r` first', async () => {
  const { rooms, written } = fake({ b: 100 }, { b: { first: 1, next: 100 } })
  rooms._arrived('stream', new Map())
  await rooms._carried('stream')
  await rooms._pump()
  await settled()
  rooms._roomMessage('b', 100, 'b100', SharedFrame.message('b100'))
  assert.deepEqual(written, ['r100 b', 'mb100'], 'the first of the run has its header, so it is written on its own')
  const shared = SharedFrame.message('b101')
  rooms._roomMessage('b', 101, 'b101', shared)
  assert.equal(written[2], shared.frame, 'the shared frame itself, on a link without writeShared')
  rooms._own()
  rooms._roomMessage('b', 102, 'b102', SharedFrame.message('b102'))
  assert.deepEqual(written.slice(3), ['r102 b', 'mb102'])
})

test('positions are used once per link; a published offset past the next is read from the log', async () => {
  const logs = { a: { first: 1, next: 3 } }
  const { rooms, reads, written } = fake({ a: 1 }, logs)
  rooms._arrived('stream', new Map([['a', 1]]))
  await rooms._carried('stream')
  await rooms._carried('stream')
  await rooms._pump()
  await settled()
  assert.deepEqual(written, ['r2 a', 'ma2'])
  reads.length = 0
  logs.a.next = 5
  rooms._roomMessage('a', 4, 'a4')
  await new Promise((r) => setImmediate(r))
  assert.deepEqual(reads, ['a 3'])
  assert.deepEqual(written, ['r2 a', 'ma2', 'M["a3","a4"]'])
})

test('a position the log no longer reaches: a room reset (`x`), then the room from there', async () => {
  const logs = { a: { first: 10, next: 12 } }
  const { rooms, written } = fake({ a: 1 }, logs)
  rooms._arrived('stream', new Map([['a', 3]]))
  await rooms._carried('stream')
  await rooms._pump()
  assert.deepEqual(written, ['x12 a'])
  rooms._roomMessage('a', 12, 'a12')
  assert.deepEqual(written, ['x12 a', 'r12 a', 'ma12'])
})

test('unfollowed: no room is written, and the feeds no longer hand it messages', async () => {
  const { rooms, written, host } = fake({ a: 1 }, { a: { first: 1, next: 1 } })
  rooms._arrived('stream', new Map())
  await rooms._carried('stream')
  rooms._unfollow()
  rooms._roomMessage('a', 1, 'a1')
  await rooms._pump()
  ;(host._host.feeds as unknown as { _hand(r: string, o: number, m: string): void })._hand('a', 1, 'a1')
  assert.deepEqual(written, [])
})

test('a room left, or named by the client and not joined: `r0 <room>` once, before the rooms’ runs', async () => {
  const joined: Record<string, number> = { a: 1, b: 1 }
  const { rooms, written } = fake(joined, { a: { first: 1, next: 2 }, b: { first: 1, next: 1 } })
  rooms._arrived('stream', new Map([['old', 4]]))
  await rooms._carried('stream')
  await rooms._pump()
  assert.deepEqual(written, ['r0 old', 'r1 a', 'ma1'])
  written.length = 0
  delete joined.a
  await rooms._changed()
  await settled()
  assert.deepEqual(written, ['r0 a'], 'left: once')
  rooms._roomMessage('b', 1, 'b1')
  assert.deepEqual(written, ['r0 a', 'r1 b', 'mb1'], 'after `r0` a run needs its header')
})

test('a pass asked for while one is on resolves when that one has written what there is', async () => {
  const logs = { a: { first: 1, next: 2 } }
  const { rooms, written } = fake({ a: 1 }, logs)
  rooms._arrived('stream', new Map())
  await rooms._carried('stream')
  const first = rooms._pump()
  logs.a.next = 3
  await rooms._pump()
  assert.deepEqual(written, ['r1 a', 'ma1', 'ma2'])
  await first
})

// Regression (issue 27): a poll's write answers it, and its link going may end the runs here;
// `_write` then recorded what it wrote into runs that were gone, and threw in the room's fan-out
// (which, handed a turn at a time, then stopped handing that room anything: rooms.test.ts, polling).
test('a write that ends the runs here (a poll answered, its link gone) throws nothing', async () => {
  const { rooms, host } = fake({ a: 1 }, { a: { first: 1, next: 1 } })
  rooms._arrived('stream', new Map([['a', 0]]))
  await rooms._carried('stream')
  await rooms._pump()
  await settled()
  const written: Frame[] = []
  host._ready = () =>
    ({
      name: 'polling',
      ready: () => true,
      write: (f: Frame[]) => (written.push(...f), rooms._unfollow()),
    }) as unknown as Link
  assert.doesNotThrow(() => rooms._roomMessage('a', 1, 'a1'))
  assert.deepEqual(written, ['r1 a', 'ma1'])
})

test('runs ended while a room is read (unfollowed): the read is let go, no failure is logged', async () => {
  const { rooms, host } = fake({ a: 1 }, { a: { first: 1, next: 3 } })
  const warned: unknown[] = []
  host._host.log = (...a: unknown[]) => void warned.push(a)
  rooms._arrived('stream', new Map([['a', 0]]))
  await rooms._carried('stream')
  const pass = rooms._pump()
  rooms._unfollow()
  await pass
  assert.deepEqual(warned, [])
  assert.equal(rooms._unread, false, 'nothing for the upkeep to read again')
})

test('a join hint whose read fails (Redis away) throws nothing, is logged, and is read again later', async () => {
  const joined: Record<string, number> = { a: 1 }
  const { rooms, written, host } = fake(joined, { a: { first: 1, next: 2 }, b: { first: 1, next: 2 } })
  rooms._arrived('stream', new Map())
  await rooms._carried('stream')
  await rooms._pump()
  written.length = 0
  const logged: unknown[] = []
  host._host.log = (...args: unknown[]) => void logged.push(args[1])
  const store = host._host.store as unknown as { rooms: { joined(): Promise<Map<string, number>> } }
  const answer = store.rooms.joined
  store.rooms.joined = () => Promise.reject(new Error('Socket closed unexpectedly'))
  joined.b = 1
  await rooms._changed()
  assert.equal(rooms._unchanged, true, 'to read again')
  assert.deepEqual(logged, ['cluster: reading the rooms joined failed:'])
  store.rooms.joined = answer
  await rooms._changed()
  await settled()
  assert.equal(rooms._unchanged, false)
  assert.deepEqual(written, ['r1 b', 'mb1'], 'the room joined meanwhile')
})
