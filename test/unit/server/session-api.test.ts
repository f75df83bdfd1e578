// What both kinds of server session check of what the app hands them (src/server/session-api.ts):
// close codes and reasons, data to send (copied: the app may reuse its buffer), and an app's
// handler that throws inside frame handling.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { carrying, checkClose, emitSafely, payload } from '../../../src/server/session-api'

test('close: standard and app codes pass; Lifeline’s own, 1004-1006 and a reason over 123 bytes throw', () => {
  for (const code of [1000, 1003, 1007, 1014, 3000, 3899, 4000, 4999]) checkClose(code, 'why')
  for (const code of [999, 1004, 1005, 1006, 1015, 3900, 3999, 5000])
    assert.throws(() => checkClose(code, ''), { code: 'LL_ERR_INVALID_OPTION' }, String(code))
  checkClose(1000, 'é'.repeat(61))
  assert.throws(() => checkClose(1000, 'é'.repeat(62)), { code: 'LL_ERR_INVALID_OPTION' })
})

test('data: a string as it is; bytes copied, whatever their view; anything else throws LL_ERR_INVALID_DATA', () => {
  assert.equal(payload('hi'), 'hi')
  const bytes = new Uint8Array([1, 2, 3, 4])
  const fromView = payload(bytes.subarray(1, 3))
  const fromBuffer = payload(bytes.buffer)
  bytes[1] = 9
  assert.deepEqual([...(fromView as Buffer)], [2, 3], 'the view’s bytes only, copied')
  assert.deepEqual([...(fromBuffer as Buffer)], [1, 2, 3, 4])
  for (const bad of [7, null, { a: 1 }, [1, 2]])
    assert.throws(() => payload(bad as never), { code: 'LL_ERR_INVALID_DATA' }, JSON.stringify(bad))
})

test('an app handler that throws is logged at warn, never thrown into the frame handling that emitted', () => {
  const logged: unknown[][] = []
  const s = new EventEmitter()
  s.on('delivered', () => {
    throw new Error('app bug')
  })
  assert.doesNotThrow(() => emitSafely(s, (...args) => void logged.push(args), 'delivered', [5]))
  assert.equal(logged.length, 1)
  assert.deepEqual(logged[0].slice(0, 2), ['warn', 'delivered handler threw:'])
})

test('transport: the active kind while linked; polling between polls until silent past heartbeat + timeout', () => {
  let now = 1000
  const o = { clock: { now: () => now } as never, heartbeatTimeout: 20 }
  assert.equal(carrying(undefined, false, 1000, 25, o), null)
  assert.equal(carrying('websocket', true, 0, 25, o), 'websocket', 'a link there counts, whatever the silence')
  assert.equal(carrying('websocket', false, 1000, 25, o), null, 'a WebSocket gone is gone')
  assert.equal(carrying('stream', false, 1000, 25, o), null)
  now = 1045
  assert.equal(carrying('polling', false, 1000, 25, o), 'polling', 'silent exactly heartbeat + timeout')
  now = 1046
  assert.equal(carrying('polling', false, 1000, 25, o), null)
})
