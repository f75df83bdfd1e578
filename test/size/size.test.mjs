// Size budgets, deterministic: gzip -9 bytes of the builds as a user's bundler would make them.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { report, BUDGETS, GOALS } from '../../scripts/size.mjs'

const rows = await report()

for (const [name, budget] of Object.entries(BUDGETS)) {
  test(`${name}: within its budget of ${budget} bytes gzip (goal ${GOALS[name]})`, () => {
    assert.ok(rows[name].gzip <= budget, `${rows[name].gzip} bytes gzip`)
  })
}

test('transports not used are left out of an ESM bundle (tree-shaking)', () => {
  const ws = rows['ESM: WebSocket only'].gzip
  assert.ok(rows['ESM: WebSocket + polling'].gzip > ws + 500, 'polling adds its code')
  assert.ok(rows['ESM: Lifeline (all transports)'].gzip > rows['ESM: WebSocket + polling'].gzip, 'all adds more')
})
