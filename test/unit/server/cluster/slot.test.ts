// Redis Cluster's hash slot of a key (src/server/cluster/slot.ts), against the cluster spec's own
// examples; test/server/cluster/redis-cluster.test.ts checks it against a real cluster's CLUSTER KEYSLOT.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { keySlot } from '../../../../src/server/cluster/slot'

test('CRC16 (XMODEM) modulo 16384, as the spec: "123456789" is 0x31C3', () => {
  assert.equal(keySlot('123456789'), 0x31c3)
  assert.equal(keySlot(''), 0)
  assert.equal(keySlot('foo'), 12182)
  assert.equal(keySlot('bar'), 5061)
})

test('the hash tag: the first {...} with something in it; otherwise the whole key', () => {
  assert.equal(keySlot('{user1000}.following'), keySlot('{user1000}.followers'))
  assert.equal(keySlot('{user1000}.following'), keySlot('user1000'))
  // The spec's examples: `foo{}{bar}` hashes whole, `foo{{bar}}zap` hashes `{bar`, `foo{bar}{zap}` hashes `bar`.
  // (The numbers are what redis-server 7.0's CLUSTER KEYSLOT answers.)
  assert.equal(keySlot('foo{}{bar}'), 8363)
  assert.equal(keySlot('foo{{bar}}zap'), 4015)
  assert.equal(keySlot('{bar'), 4015)
  assert.equal(keySlot('foo{bar}{zap}'), keySlot('bar'))
  assert.equal(keySlot('ll:s:{abc}'), 7638)
  assert.equal(keySlot('ll:s:{abc}'), keySlot('ll:s:{abc}:o'))
})

test('non-ASCII keys hash by their UTF-8 bytes', () => {
  assert.equal(keySlot('é'), 10180)
  assert.equal(keySlot('{é}'), keySlot('é'))
  assert.notEqual(keySlot('é'), keySlot('e'))
})
