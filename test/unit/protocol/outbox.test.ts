// The sender's log, alone: numbering, hand-overs within bounds, acknowledgement, taking back.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Outbox } from '../../../src/protocol/outbox'

type Item = string | Uint8Array | { pending: true }

test('messages are numbered from 1, taken once, and kept until acknowledged', () => {
  const out = new Outbox<Item>()
  out._push('a', 1)
  out._push('b', 1)
  assert.deepEqual(out._take(), { frames: ['M["a","b"]'], from: 1 })
  assert.equal(out._take(), null, 'nothing is taken twice')
  out._push('c', 1)
  assert.deepEqual(out._take(), { frames: ['mc'], from: 3 })
  assert.deepEqual([out._count, out._bytes, out._inFlight, out._next], [3, 3, 3, 4])
  assert.equal(out._acknowledge(2), 2, 'bytes freed')
  assert.deepEqual([out._base, out._count, out._bytes, out._inFlight], [3, 1, 1, 1])
  assert.equal(out._acknowledge(1), 0, 'an old acknowledgement frees nothing')
  assert.equal(out._acknowledge(4), -1, 'acknowledging what was never kept is an error')
  assert.deepEqual([out._base, out._count], [3, 1], 'and changes nothing')
})

test('a hand-over stops at its byte and message bounds and at a message not ready yet', () => {
  const out = new Outbox<Item>()
  for (let i = 0; i < 5; i++) out._push('m' + i, 100)
  assert.deepEqual(out._take(150), { frames: ['M["m0","m1"]'], from: 1 }, 'up to just past the byte bound')
  assert.deepEqual(out._take(Infinity, 2), { frames: ['M["m2","m3"]'], from: 3 })
  const blob = { pending: true as const }
  out._push(blob, 10)
  out._push('after', 5)
  assert.deepEqual(out._take(), { frames: ['mm4'], from: 5 }, 'nothing passes a message not ready')
  assert.equal(out._take(), null)
  out._replace(blob, new Uint8Array([7]))
  const got = out._take()!
  assert.deepEqual([got.from, got.frames.length, got.frames[1]], [6, 2, 'mafter'])
})

test('rewind puts everything kept on the connection again, from the oldest', () => {
  const out = new Outbox<Item>()
  out._push('a', 1)
  out._push('b', 1)
  out._take()
  out._acknowledge(1)
  out._rewind()
  assert.equal(out._inFlight, 0)
  assert.deepEqual(out._take(), { frames: ['mb'], from: 2 })
  assert.deepEqual(out._all(), ['mb'])
})

test('takeBack hands back what may have arrived, keeps what never left, and numbers afresh', () => {
  const out = new Outbox<Item>()
  out._push('sent', 4)
  out._take()
  out._push('unsent', 6)
  assert.deepEqual(out._takeBack(true), ['sent'])
  assert.deepEqual([out._base, out._count, out._bytes, out._next], [1, 1, 6, 1])
  assert.deepEqual(out._take(), { frames: ['munsent'], from: 1 })
  assert.deepEqual(out._takeBack(), ['unsent'])
  assert.deepEqual([out._count, out._bytes], [0, 0])
})

test('fire-and-forget: forgetSent drops what is on the connection, and oldestSize follows the queue', () => {
  const out = new Outbox<Item>()
  out._push('a', 3)
  out._push('bb', 7)
  assert.equal(out._oldestSize, 3)
  out._take(1)
  assert.equal(out._forgetSent(), 3)
  assert.deepEqual([out._base, out._count, out._oldestSize], [2, 1, 7])
  out._takeBack()
  assert.equal(out._oldestSize, 0)
})
