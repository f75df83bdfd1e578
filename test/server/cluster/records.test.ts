// How the cluster store keeps a message in Redis and reads its answers (no Redis needed).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { int, pack, refusal, status, unpack, unpackAll } from '../../../src/server/cluster/records'

test('a message packs to one type byte and its bytes, and unpacks to what it was', () => {
  assert.equal(pack('héllo'), 'théllo')
  const bin = Buffer.from([0, 1, 0x74, 255])
  const packed = pack(bin) as Buffer
  assert.deepEqual([...packed], [0x62, 0, 1, 0x74, 255])
  assert.equal(unpack(Buffer.from(pack('héllo') as string)), 'héllo')
  assert.equal(unpack('t'), '')
  assert.deepEqual([...(unpack(packed) as Buffer)], [0, 1, 0x74, 255])
  assert.deepEqual(unpackAll([Buffer.from('ta'), packed]), ['a', Buffer.from([0, 1, 0x74, 255])])
  assert.deepEqual(unpackAll(null), [])
})

test('a stored message of an unknown type is an LL_ERR_SERVER error, not a wrong message', () => {
  assert.throws(() => unpack(Buffer.from('xabc')), { code: 'LL_ERR_SERVER', message: /unknown type 120/ })
})

test('answers: status and numbers as Redis sends them, refusals by name, anything else an error', () => {
  assert.equal(status(['ok', 1]), 'ok')
  assert.equal(int(Buffer.from('42')), 42)
  assert.equal(int(7), 7)
  assert.deepEqual(refusal(['gone']), { status: 'gone' })
  assert.deepEqual(refusal(['fenced']), { status: 'fenced' })
  assert.deepEqual(refusal(['ended', '1000 bye']), { status: 'ended', end: '1000 bye' })
  assert.throws(() => refusal(['weird']), { code: 'LL_ERR_SERVER', message: /unexpected reply "weird"/ })
})
