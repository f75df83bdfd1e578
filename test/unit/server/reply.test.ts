// onRequest (src/server/reply.ts) on a session over memory: requests are answered, other messages
// reach `message` listeners as they came, `redelivered` included (cluster mode hands a message
// again with it after a takeover, through the same patched hand-off).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { MessageMeta } from '../../../src/server/session-api'
import { onRequest } from '../../../src/server/reply'
import { localSession } from '../../support/host'

test('a message that is not a request reaches the app with its seq and redelivered flag', () => {
  const app = localSession()._session
  const got: Array<[string, MessageMeta]> = []
  app.on('message', (d, binary, meta) => got.push([String(d), meta]))
  onRequest(app, () => 'never')
  app._emitMessage('plain', false, 7, true)
  app._emitMessage('fresh', false, 8)
  assert.deepEqual(got, [
    ['plain', { seq: 7, redelivered: true }],
    ['fresh', { seq: 8, redelivered: false }],
  ])
  app.close()
})
