import { test } from 'node:test'
import assert from 'node:assert/strict'
import { backoff } from '../../../src/client/backoff'

const p = { minDelay: 500, maxDelay: 30000, factor: 2, jitter: false }

test('grows by factor from minDelay and stops at maxDelay', () => {
  assert.deepEqual(
    [0, 1, 2, 3, 6, 7, 20].map((a) => backoff(a, p)),
    [500, 1000, 2000, 4000, 30000, 30000, 30000],
  )
})

test('full jitter picks uniformly in [0, cap]', () => {
  const q = { ...p, jitter: true }
  assert.equal(
    backoff(3, q, () => 0),
    0,
  )
  assert.equal(
    backoff(3, q, () => 0.5),
    2000,
  )
  assert.equal(
    backoff(3, q, () => 0.999999),
    4000,
  )
})
