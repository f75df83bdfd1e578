// The server session's acknowledgements with a link in memory and node:test's mock timers: when
// the server tells the client what it has (PROTOCOL.md §6.2).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MemLink } from '../../support/memlink'
import { localSession } from '../../support/host'

function session() {
  const s = localSession()
  const link = new MemLink()
  s._attach(link, 0)
  const acks = () => link.out.filter((f) => typeof f == 'string' && f[0] == 'a')
  return { s, link, acks }
}

test('acks: one every 128 messages or 100 ms after the first unacknowledged, never one per message', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] })
  const { s, link, acks } = session()
  s._receive(['s1'], link)
  for (let i = 0; i < 130; i++) s._receive(['m' + i], link)
  assert.deepEqual(acks(), ['a128'])
  t.mock.timers.tick(100)
  assert.deepEqual(acks(), ['a128', 'a130'])
  s._session.close()
})

// after about 1 MB, not after 128 of them (the client keeps them until then)
test('acks come sooner for big messages', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] })
  const { s, link, acks } = session()
  s._receive(['s1'], link)
  for (let i = 0; i < 16; i++) s._receive([new Uint8Array(65536)], link)
  assert.deepEqual(acks(), [], '1 MiB exactly: not yet')
  s._receive([new Uint8Array(1)], link)
  assert.deepEqual(acks(), ['a17'])
  for (let i = 0; i < 17; i++) s._receive([new Uint8Array(65536)], link)
  assert.deepEqual(acks(), ['a17', 'a34'], 'counted afresh after each ack')
  s._session.close()
})

test('a POST reply is an ack too: the bytes it covered do not make the next message acked at once', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] })
  const { s, link, acks } = session()
  const replies: unknown[] = []
  s._receive(['s1', ...Array.from({ length: 17 }, () => new Uint8Array(65536))], 'stream', replies)
  assert.deepEqual(replies, ['a17'])
  s._receive(['s18', 'mx'], link)
  assert.deepEqual(acks(), [], 'one small message: not at once')
  t.mock.timers.tick(100)
  assert.deepEqual(acks(), ['a18'])
  s._session.close()
})
