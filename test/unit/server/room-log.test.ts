// One room's log in one process (src/server/room-log.ts): offsets, frames from an offset, history
// bounded by count and by age on an injected clock.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { RoomLog } from '../../../src/server/room-log'

test('messages take consecutive offsets from the start given; frames from an offset batch the texts', () => {
  const log = new RoomLog(41, 100, 60000)
  assert.equal(log.first, 41, 'empty: first is the next offset')
  assert.equal(log.append('a'), 41)
  assert.equal(log.append(Buffer.from([1])), 42)
  assert.equal(log.append('b'), 43)
  assert.equal(log.append('c'), 44)
  assert.equal(log.next, 45)
  assert.deepEqual(log.frames(41, []), ['ma', Buffer.from([1]), 'M["b","c"]'])
  assert.deepEqual(log.frames(44, ['x']), ['x', 'mc'])
  assert.deepEqual(log.frames(45, []), [], 'nothing past the newest')
})

test('history keeps the last `size` messages', () => {
  const log = new RoomLog(1, 3, 60000)
  for (const m of ['a', 'b', 'c', 'd', 'e']) log.append(m)
  assert.equal(log.first, 3)
  assert.deepEqual(log.frames(3, []), ['M["c","d","e"]'])
})

test('history keeps messages for `age` ms: older ones are gone when read, even with nothing appended', () => {
  let now = 1000
  const log = new RoomLog(1, 100, 500, { now: () => now })
  log.append('a')
  now += 300
  log.append('b')
  now += 300
  assert.equal(log.first, 2, 'a is 600 ms old')
  now += 300
  assert.equal(log.first, 3, 'b too: nothing kept')
  assert.equal(log.next, 3, 'offsets go on')
  assert.deepEqual(log.frames(3, []), [])
})

test('runs: every message, but of latest values only the newest of each key, in runs of consecutive offsets', () => {
  const log = new RoomLog(1, 100, 60000)
  assert.deepEqual(log.runs(1), [])
  for (const m of ['a', 'b']) log.append(m)
  assert.deepEqual(log.runs(1), [{ first: 1, frames: ['M["a","b"]'] }], 'no latest values: one run')
  log.append('EUR 1', 'EUR')
  log.append('GBP 1', 'GBP')
  log.append('EUR 2', 'EUR')
  log.append('room 1', '')
  log.append('c')
  log.append('room 2', '')
  assert.deepEqual(log.runs(2), [
    { first: 2, frames: ['mb'] },
    { first: 4, frames: ['M["GBP 1","EUR 2"]'] },
    { first: 7, frames: ['M["c","room 2"]'] },
  ])
  assert.deepEqual(log.runs(8), [{ first: 8, frames: ['mroom 2'] }])
})
