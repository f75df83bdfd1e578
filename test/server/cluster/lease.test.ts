// A node's lease and the sets of sessions each node owns (src/server/cluster/lease.ts) against a
// real redis-server: renewal compares the token in Redis, a lapsed lease stays lapsed, a node
// joins again under a new id, and the sessions of a dead node are found for the sweep.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { until } from '../../support/processes.mjs'
import { keyPrefix, newSid, store, useRedis } from './redis-helpers'

const redis = useRedis()

test("heartbeat says when this node's own lease had lapsed; leaseHeld judges by the local clock", async () => {
  const n = await store(redis.url, 'nodeShort', { nodeLease: 50 })
  assert.equal(await n.lease.heartbeat(), true)
  assert.ok(n.lease.leaseHeld())
  assert.ok(!n.lease.leaseHeld(Date.now() + 60))
  assert.ok(await until(async () => !(await n.lease.alive('nodeShort')), 2000))
  assert.equal(await n.lease.heartbeat(), false, 'the lease had lapsed: its sessions may have been taken over')
  // Regression (issue 26): the renewal set the lapsed lease again, so the node looked alive to the
  // others while it had dropped its sessions, and nothing took them over.
  assert.equal(await n.lease.alive('nodeShort'), false, 'a lapsed lease is not renewed by its old holder')
  assert.equal(await n.lease.heartbeat(), false, 'nor on the next try')
  // It joins again as a new node; its old id stays dead.
  await n.lease.rejoin(() => n.listen(() => {}))
  assert.equal(n.node, 'nodeShort.1')
  assert.ok(n.lease.leaseHeld() && (await n.lease.alive('nodeShort.1')) && !(await n.lease.alive('nodeShort')))
})

test('a lease whose key holds another token (taken) is not renewed: renewal compares it in Redis', async () => {
  const n = await store(redis.url, 'nodeTaken', { nodeLease: 5000 })
  assert.equal(await n.lease.heartbeat(), true)
  assert.equal(await n.lease.heartbeat(), true, 'renewed')
  await n.link.command(['SET', keyPrefix + 'node:nodeTaken', 'someone else', 'PX', '5000'])
  assert.equal(await n.lease.heartbeat(), false)
  assert.equal(String(await n.link.command(['GET', keyPrefix + 'node:nodeTaken'])), 'someone else', 'left as it was')
})

test("orphans: the sessions of a node whose lease lapsed, until they are disowned; a live node's are not", async () => {
  const dead = await store(redis.url, 'nodeDead', { nodeLease: 100 })
  const live = await store(redis.url, 'nodeLive', { nodeLease: 5000 })
  assert.ok((await dead.lease.heartbeat()) && (await live.lease.heartbeat()))
  const [x, y, z] = [newSid(), newSid(), newSid()]
  await dead.lease.owns(x)
  await dead.lease.owns(y)
  await live.lease.owns(z)
  assert.ok(await until(async () => !(await live.lease.alive('nodeDead')), 2000))
  const found = (await live.lease.orphans(10)).owned.filter(([node]) => node == 'nodeDead' || node == 'nodeLive')
  assert.deepEqual(
    found.sort(),
    [
      ['nodeDead', x],
      ['nodeDead', y],
    ].sort(),
  )
  assert.equal((await live.lease.orphans(1)).owned.length, 1, 'at most max')
  await live.lease.disowned('nodeDead', x)
  await live.lease.disowned('nodeDead', y)
  assert.deepEqual(
    (await live.lease.orphans(10)).owned.filter(([node]) => node == 'nodeDead'),
    [],
  )
  // A dead node that owns nothing is forgotten.
  const nodes = (await live.link.command(['SMEMBERS', keyPrefix + 'nodes'])) as Buffer[]
  assert.ok(!nodes.map(String).includes('nodeDead') && nodes.map(String).includes('nodeLive'))
})
