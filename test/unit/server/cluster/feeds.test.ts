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
