// Size budgets, deterministic: gzip -9 bytes of the builds as a user's bundler would make them.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { bundle, report, BUDGETS, GOALS } from '../../scripts/size.mjs'

const rows = await report()
const NAME = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).name

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

// The ESM ships with its internals already renamed (rollup.config.mjs): a bundler must still drop
// what the app does not import.
test('the shipped ESM still tree-shakes: Lifeline alone carries no plain mode and no diagnose', async () => {
  const code = await bundle(`import { Lifeline } from '${NAME}'\nwindow.x = new Lifeline('/rt')`)
  assert.ok(!code.includes('"plain"'), 'no PlainTransport')
  assert.ok(!code.includes('unsupported'), 'no diagnose')
  const plain = await bundle(`import { LifelinePlain } from '${NAME}'\nwindow.x = new LifelinePlain('ws://h/')`)
  assert.ok(plain.includes('"plain"'), 'and the check would see it')
})

test('the script-tag add-ons are small and take their bases from the main build', () => {
  assert.ok(rows['script tag: diagnose (lifeline.diagnose.min.js)'].gzip < 700)
  const plain = readFileSync(new URL('../../dist/lifeline.plain.min.js', import.meta.url), 'utf8')
  assert.ok(plain.includes('.WebSocketTransport') && plain.includes('.LifelineCore'), 'takes its bases from the global')
  assert.ok(Buffer.byteLength(plain) < 2000)
})

// Typed messages are for the compiler only (README "Types"): an app typed with `Json<T>` and
// `Lifeline<In, Out>` bundles to as many bytes as the same app untyped (the minifier may pick other
// one-letter names, so the count is compared, not the text).
test('typed JSON messages add 0 bytes: a typed app bundles to as many bytes as the untyped one', async () => {
  const app = (typed) => `
import { Lifeline${typed ? ', type Json' : ''} } from '${NAME}'
${typed ? "interface Chat { toClient: { kind: 'said'; text: string }; toServer: { kind: 'say'; text: string } }" : ''}
const ll = new Lifeline${typed ? "<Json<Chat['toClient']>, Json<Chat['toServer']>>" : ''}('/rt')
ll.addEventListener('message', (e) => console.log(JSON.parse(e.data).text))
ll.send(JSON.stringify({ kind: 'say', text: 'hi' })${typed ? " as Json<Chat['toServer']>" : ''})
`
  const [typed, plain] = [await bundle(app(true), 'ts'), await bundle(app(false), 'ts')]
  assert.ok(typed.includes('JSON.parse') && typed.length > 5000, 'the app and Lifeline are in it')
  assert.equal(typed.length, plain.length)
})
