// The rooms one node follows (src/server/cluster/feeds.ts), over a fake store: one subscription per
// room whatever its readers, each published message to every reader of that room only; a room
// with no reader for a whole pass unsubscribed, and subscribed again only after that is done.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { RoomFeeds, type RoomReader } from '../../../../src/server/cluster/feeds'
import type { StoredMessage } from '../../../../src/server/cluster/records'
import type { ClusterStore } from '../../../../src/server/cluster/store'

/** Let the promises queued so far settle. */
const tick = () => new Promise((ok) => setImmediate(ok))

test('a room is subscribed once, for its first reader; its messages reach its readers, not those removed', async () => {
  const subscribed: Record<string, (offset: number, m: StoredMessage) => void> = {}
  const store = {
    rooms: {
      logs: { follow: async (room: string, fn: (o: number, m: StoredMessage) => void) => void (subscribed[room] = fn) },
    },
  } as unknown as ClusterStore
  const feeds = new RoomFeeds({ store, _host: { log: () => {} } })
  const heard: string[] = []
  const reader = (name: string): RoomReader => ({
    _roomMessage: (room, o, m) => void heard.push(`${name} ${room} ${o} ${m}`),
    _pump: async () => {},
  })
  const [a, b] = [reader('a'), reader('b')]
  feeds.add('fx', a)
  await tick()
  const first = subscribed.fx
  feeds.add('fx', b)
  feeds.add('news', a)
  await tick()
  assert.equal(subscribed.fx, first, 'one subscription for the room')
  subscribed.fx(7, 'EUR')
  feeds.remove('fx', a)
  subscribed.fx(8, 'GBP')
  subscribed.news(1, 'hi')
  assert.deepEqual(heard, ['a fx 7 EUR', 'b fx 7 EUR', 'b fx 8 GBP', 'a news 1 hi'])
})

test('reconcile hands over what a room has past the last offset published here, one read per room', async () => {
  const subscribed: Record<string, (offset: number, m: StoredMessage) => void> = {}
  const reads: string[] = []
  const store = {
    rooms: {
      logs: {
        follow: async (room: string, fn: (o: number, m: StoredMessage) => void) => void (subscribed[room] = fn),
        read: async (room: string, from: number) => {
          reads.push(room + ' ' + from)
          return { status: 'ok', next: from + 2, upto: from + 1, runs: [{ first: from, messages: ['lost', 'too'] }] }
        },
      },
    },
  } as unknown as ClusterStore
  const feeds = new RoomFeeds({ store, _host: { log: () => {} } })
  const heard: string[] = []
  const reader = (name: string): RoomReader => ({
    _roomMessage: (room, o, m) => void heard.push(`${name} ${o} ${m}`),
    _pump: async () => {},
  })
  feeds.add('fx', reader('a'))
  feeds.add('fx', reader('b'))
  feeds.add('quiet', reader('c'))
  await tick()
  subscribed.fx(7, 'EUR')
  await feeds.reconcile()
  assert.deepEqual(reads, ['fx 8'], 'a room with nothing published here yet is not read')
  assert.deepEqual(heard, ['a 7 EUR', 'b 7 EUR', 'a 8 lost', 'b 8 lost', 'a 9 too', 'b 9 too'])
})

test('readers that came while the subscription was on its way read the log again once it is on', async () => {
  let subscribe!: () => void
  const store = {
    rooms: { logs: { follow: () => new Promise<void>((ok) => (subscribe = ok)) } },
  } as unknown as ClusterStore
  const feeds = new RoomFeeds({ store, _host: { log: () => {} } })
  const pumped: string[] = []
  const reader = (name: string): RoomReader => ({
    _roomMessage: () => {},
    _pump: async () => void pumped.push(name),
  })
  const [a, b, c] = [reader('a'), reader('b'), reader('c')]
  feeds.add('fx', a)
  feeds.add('fx', b)
  feeds.remove('fx', b)
  await tick()
  assert.deepEqual(pumped, [])
  subscribe()
  await tick()
  assert.deepEqual(pumped, ['a'], 'b left before: not read for')
  feeds.add('fx', c)
  await tick()
  assert.deepEqual(pumped, ['a'], 'a reader after the subscription is on needs no read of its own')
})

test('a room without readers for a whole pass is unsubscribed; following it again waits for that', async () => {
  const calls: string[] = []
  let unsubscribed!: () => void
  const store = {
    rooms: {
      logs: {
        follow: async (room: string) => void calls.push('follow ' + room),
        unfollow: (room: string) => {
          calls.push('unfollow ' + room)
          return new Promise<void>((ok) => (unsubscribed = ok))
        },
      },
    },
  } as unknown as ClusterStore
  const feeds = new RoomFeeds({ store, _host: { log: () => {} } })
  const a: RoomReader = { _roomMessage: () => {}, _pump: async () => {} }
  feeds.add('fx', a)
  await tick()
  feeds.remove('fx', a)
  await feeds.reconcile()
  assert.deepEqual(feeds.rooms, ['fx'], 'one pass without readers: kept (a poll comes back)')
  feeds.add('fx', a)
  feeds.remove('fx', a)
  await feeds.reconcile()
  assert.deepEqual(feeds.rooms, ['fx'], 'a reader came meanwhile: kept')
  await feeds.reconcile()
  assert.deepEqual(feeds.rooms, [])
  assert.deepEqual(calls, ['follow fx', 'unfollow fx'])
  feeds.add('fx', a)
  await tick()
  assert.deepEqual(calls, ['follow fx', 'unfollow fx'], 'not subscribed again before the unsubscribe is done')
  unsubscribed()
  await tick()
  assert.deepEqual(calls, ['follow fx', 'unfollow fx', 'follow fx'])
})

// Regression (issue 27): a message was handed to every reader of its room at once. A room of
// 10,000 over three nodes held each node's loop for up to 2.6 s at a time (several messages read
// from Redis in one chunk), and the nodes lost their leases.
test('a message to thousands goes a thousand per turn of the loop, and every reader gets each in order', async () => {
  let publish: (offset: number, m: StoredMessage) => void = () => {}
  const store = {
    rooms: { logs: { follow: async (_room: string, fn: typeof publish) => void (publish = fn) } },
  } as unknown as ClusterStore
  const feeds = new RoomFeeds({ store, _host: { log: () => {} } })
  const heard: number[][] = []
  for (let i = 0; i < 2500; i++) {
    const got: number[] = (heard[i] = [])
    feeds.add('fx', { _roomMessage: (_room, o) => void got.push(o), _pump: async () => {} })
  }
  await tick()
  // Three messages in one chunk from Redis, as a busy node reads them.
  publish(1, 'a')
  publish(2, 'b')
  publish(3, 'c')
  const now = () => heard.reduce((n, got) => n + got.length, 0)
  assert.equal(now(), 1000, 'a thousand in this turn')
  // Anything else waiting runs before the rest: the loop turns (its timers and I/O) in between.
  let between = -1
  setImmediate(() => (between = now()))
  for (let turns = 0; turns < 100 && now() < 7500; turns++) await tick()
  assert.equal(now(), 7500, 'all handed')
  assert.ok(between >= 1000 && between < 7500, `something else ran between turns: ${between} handed then`)
  for (const got of heard) assert.deepEqual(got, [1, 2, 3])
})

test('a reader that throws costs only its own delivery: the others, and the messages after, are handed', async () => {
  let publish: (offset: number, m: StoredMessage) => void = () => {}
  const store = {
    rooms: { logs: { follow: async (_room: string, fn: typeof publish) => void (publish = fn) } },
  } as unknown as ClusterStore
  const warned: unknown[] = []
  const feeds = new RoomFeeds({ store, _host: { log: (_level, ...a) => void warned.push(a.join(' ')) } })
  const heard: string[] = []
  feeds.add('fx', {
    _roomMessage: () => {
      throw new Error('reader bug')
    },
    _pump: async () => {},
  })
  feeds.add('fx', { _roomMessage: (_room, o) => void heard.push('ok ' + o), _pump: async () => {} })
  await tick()
  publish(1, 'a')
  publish(2, 'b')
  assert.deepEqual(heard, ['ok 1', 'ok 2'])
  assert.equal(warned.length, 2)
  assert.match(String(warned[0]), /handing a room message failed: Error: reader bug/)
})
