// The rooms one node follows (src/server/cluster/feeds.ts), over a fake store: one subscription per
// room whatever its readers, each published message to every reader of that room only.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { RoomFeeds, type RoomReader } from '../../../../src/server/cluster/feeds'
import type { StoredMessage } from '../../../../src/server/cluster/records'
import type { ClusterStore } from '../../../../src/server/cluster/store'

test('a room is subscribed once, for its first reader; its messages reach its readers, not those removed', () => {
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
  })
  const [a, b] = [reader('a'), reader('b')]
  feeds.add('fx', a)
  const first = subscribed.fx
  feeds.add('fx', b)
  feeds.add('news', a)
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
  const reader = (name: string): RoomReader => ({ _roomMessage: (room, o, m) => void heard.push(`${name} ${o} ${m}`) })
  feeds.add('fx', reader('a'))
  feeds.add('fx', reader('b'))
  feeds.add('quiet', reader('c'))
  subscribed.fx(7, 'EUR')
  await feeds.reconcile()
  assert.deepEqual(reads, ['fx 8'], 'a room with nothing published here yet is not read')
  assert.deepEqual(heard, ['a 7 EUR', 'b 7 EUR', 'a 8 lost', 'b 8 lost', 'a 9 too', 'b 9 too'])
})
