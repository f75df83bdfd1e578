// The one rule both kinds of server session bound what they hold for a client by
// (src/server/backlog.ts): a message's size, what fits, and when the app hears `drain`. Each bound
// at its edge; the sessions' own tests (outbound.test.ts, test/server/limits.test.ts on every
// store) check that they ask it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Backlog } from '../../../src/server/backlog'

const o = { maxMessageSize: 10, maxBufferedAmount: 100, maxQueueLength: 3 }

test('size: bytes, not characters; one byte past maxMessageSize throws LL_ERR_MESSAGE_TOO_BIG', () => {
  const b = new Backlog(o)
  assert.equal(b.size('é'.repeat(5)), 10)
  assert.equal(b.size(Buffer.alloc(10)), 10)
  assert.throws(() => b.size('x'.repeat(11)), {
    code: 'LL_ERR_MESSAGE_TOO_BIG',
    message: /11 bytes.*maxMessageSize 10/,
  })
  assert.throws(() => b.size(Buffer.alloc(11)), { code: 'LL_ERR_MESSAGE_TOO_BIG' })
})

test('fits: up to maxBufferedAmount bytes and maxQueueLength messages, not one past either', () => {
  const b = new Backlog(o)
  assert.equal(b.fits(90, 0, 10), true)
  assert.equal(b.fits(91, 0, 10), false)
  assert.equal(b.fits(0, 2, 0), true)
  // Empty messages cost no bytes and are still counted.
  assert.equal(b.fits(0, 3, 0), false)
})

test('drain: wanted past half of maxBufferedAmount, told once at a quarter, and not without passing half', () => {
  const b = new Backlog(o)
  b.grew(50)
  assert.equal(b.shrank(10), false, 'half itself is not past it')
  b.grew(51)
  assert.equal(b.shrank(26), false, 'above a quarter')
  assert.equal(b.shrank(25), true)
  assert.equal(b.shrank(0), false, 'once')
})
