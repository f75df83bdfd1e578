// Ended sessions' last words (src/server/tombs.ts): at most `max`, oldest first out, gone after
// `ttl`, and their bytes accounted in and out exactly.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Tombs } from '../../../src/server/tombs'
import { FakeClock } from '../../support/fake-clock'

test('at most max are kept, the oldest forgotten first; bytes are accounted in and given back', () => {
  let total = 0
  const tombs = new Tombs(2, 60000, (n) => (total += n), new FakeClock())
  tombs.bury('a', ['c1000 a'], 10)
  tombs.bury('b', ['c1000 b'], 20)
  assert.equal(total, 30)
  tombs.bury('c', ['c1000 c'], 5)
  assert.equal(tombs.get('a'), undefined)
  assert.deepEqual([tombs.get('b'), tombs.get('c')], [['c1000 b'], ['c1000 c']])
  assert.equal(total, 25)
})

test('sweep forgets those older than ttl and keeps the rest', () => {
  let total = 0
  const clock = new FakeClock()
  const tombs = new Tombs(10, 1000, (n) => (total += n), clock)
  tombs.bury('a', ['c4001 x'], 7)
  const t = clock.now()
  tombs.sweep(t + 1000)
  assert.deepEqual(tombs.get('a'), ['c4001 x'])
  assert.equal(total, 7)
  tombs.sweep(t + 1001)
  assert.equal(tombs.get('a'), undefined)
  assert.equal(total, 0)
})
