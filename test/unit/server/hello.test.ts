// The server's hello (src/server/hello.ts): one builder for one process and cluster mode.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { helloFrame } from '../../../src/server/hello'
import { SERVER_DEFAULTS, type ServerResolved } from '../../../src/server/options'
import { isHello, VERSION } from '../../../src/protocol/frames'

const o = { ...SERVER_DEFAULTS, pollHold: 20000, maxMessageSize: 1234, maxPostBytes: 5678 } as ServerResolved

test('a hello says the version, the session, what was received, the heartbeat and the largest message and POST', () => {
  const f = helloFrame(o, 'S'.repeat(22), 7, 25000, 'websocket')
  assert.equal(f[0], 'o')
  const h = JSON.parse(f.slice(1))
  assert.ok(isHello(h))
  assert.deepEqual(h, { v: VERSION, sid: 'S'.repeat(22), ack: 7, hb: 25000, max: 1234, post: 5678 })
})

test('a poll is never held past pollHold, so its hello asks for no rarer heartbeat', () => {
  const hb = (t: string, asked: number) => JSON.parse(helloFrame(o, 'S'.repeat(22), 0, asked, t).slice(1)).hb
  assert.deepEqual([hb('polling', 25000), hb('polling', 5000), hb('stream', 25000)], [20000, 5000, 25000])
})
