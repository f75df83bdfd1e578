// The cluster store on a real three-master Redis Cluster (src/server/cluster/redis-cluster.ts): the
// adapter routes each command to its key's master, every script keeps to one hash slot (Redis
// answers CROSSSLOT, or "non local key", otherwise), the fan-out to older clients runs once per
// slot of its members, room messages go out on the room's shard channel, node hints on plain
// pub/sub through the cluster bus.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createClient, createCluster } from 'redis'
import { startRedisCluster } from '../../support/redis.mjs'
import { until } from '../../support/processes.mjs'
import { isNodeRedisCluster, openLink, routingKey } from '../../../src/server/cluster/redis-cluster'
import { FANOUT } from '../../../src/server/cluster/lua'
import type { Hint } from '../../../src/server/cluster/records'
import type { RedisArg, RedisLink, RedisReply } from '../../../src/server/cluster/redis'
import { keySlot } from '../../../src/server/cluster/slot'
import type { ClusterStore } from '../../../src/server/cluster/store'
import { INFO, closeStores, destroyAfterQuit, keyPrefix, newSid, store } from './redis-helpers'

let cluster: Awaited<ReturnType<typeof startRedisCluster>>
/** The port of the master serving each slot. */
const owner: number[] = []
let a: ClusterStore
let b: ClusterStore
before(async () => {
  cluster = await startRedisCluster()
  const link = await openLink({ rootNodes: cluster.rootNodes })
  for (const [from, to, [, port]] of (await link.command(['CLUSTER', 'SLOTS'])) as [number, number, RedisReply[]][])
    for (let s = from; s <= to; s++) owner[s] = port as number
  await link.quit()
  a = await store(cluster, 'nodeA', { maxQueueLength: 10, maxBufferedAmount: 1000 })
  b = await store(cluster, 'nodeB', { maxQueueLength: 10, maxBufferedAmount: 1000 })
  await a.lease.heartbeat()
  await b.lease.heartbeat()
})
after(async () => {
  await closeStores()
  await cluster.remove()
})

/** `n` fresh session ids, their keys on the three masters in turn. */
function spread(n: number): string[] {
  const masters = [...new Set(owner)]
  const sids: string[] = []
  for (let tries = 0; sids.length < n && tries < 100 * n; tries++) {
    const sid = newSid()
    if (owner[keySlot(a.keys(sid)[0])] == masters[sids.length % 3]) sids.push(sid)
  }
  assert.equal(sids.length, n)
  return sids
}

/** Count the scripts `s` runs, by name. */
function counting(s: ClusterStore): Map<string, number> {
  const runs = new Map<string, number>()
  const link = s.link as { command: RedisLink['command'] }
  const command = link.command
  link.command = (args: RedisArg[]) => {
    if (args[0] == 'EVALSHA') runs.set(String(args[1]), (runs.get(String(args[1])) || 0) + 1)
    return command(args)
  }
  return runs
}

test('commands go by their first key (EVALSHA by its first KEYS); CONFIG, INFO and SCRIPT to any master', () => {
  assert.equal(routingKey(['EVALSHA', 'abc', '2', 'k1', 'k2', 'arg']), 'k1')
  assert.equal(routingKey(['EVAL', 'return 1', '0', 'arg']), undefined)
  assert.equal(routingKey(['SADD', 'set', 'x']), 'set')
  assert.equal(routingKey(['CONFIG', 'GET', 'append*']), undefined)
  assert.equal(routingKey(['SCRIPT', 'LOAD', 'return 1']), undefined)
  assert.equal(isNodeRedisCluster(createCluster({ rootNodes: cluster.rootNodes })), true)
  assert.equal(isNodeRedisCluster(createClient({ url: cluster.nodes[0].url })), false)
  assert.equal(a.link.cluster, true)
})

test('keySlot agrees with the cluster’s CLUSTER KEYSLOT for session, room and census keys', async () => {
  const keys = [...spread(100).flatMap((sid) => a.keys(sid)), 'test:r:{lobby}', 'test:rl:{é}', 'test:{census}:a:::1']
  for (const key of keys) assert.equal(keySlot(key), await a.link.command(['CLUSTER', 'KEYSLOT', key]), key)
})

test('every session script runs on the cluster, for sessions on each master; hints reach the node named', async () => {
  const hints: Hint[] = []
  await b.listen((h) => hints.push(h))
  for (const sid of spread(12)) {
    assert.deepEqual(await a.createSession(sid, { ...INFO, origin: '' }), { status: 'ok', fence: 1 })
    assert.equal(await a.bindOrigin(sid, INFO.origin), INFO.origin)
    assert.equal((await a.claim(sid)).status, 'ok')
    assert.equal((await b.activate(sid, 'websocket')).status, 'active')
    assert.equal((await a.appendOutgoing(sid, 1, ['1', '2'])).status, 'ok')
    assert.equal((await b.recordIncoming(sid, 1, ['in'])).status, 'ok')
    assert.deepEqual(await a.readIncoming(sid, 1, 1), { status: 'ok', first: 1, received: 1, messages: ['in'] })
    assert.equal((await a.appendOutgoing(sid, 1, ['3'], 1)).status, 'ok')
    assert.deepEqual(await a.deliveredIncoming(sid, 1, 1), { status: 'ok', delivered: 1 })
    assert.deepEqual(await b.ackOutgoing(sid, 2), { status: 'ok', ack: 2, bufferedAmount: 1 })
    const read = await b.readOutgoing(sid, 1)
    assert.ok(read.status == 'ok' && read.first == 3 && read.messages[0] == '3')
    await b.holds.sync([sid])
    const [t] = await b.touch([sid])
    assert.ok(t && t.sent == 3 && t.received == 1 && t.held && t.renewed, JSON.stringify(t))
    await b.holds.release()
    const [u] = await b.touch([sid])
    assert.ok(u && !u.held && !u.renewed && u.left <= 60000, JSON.stringify(u))
    assert.equal(await b.detach(sid, 'websocket'), true)
    assert.deepEqual(await a.release(sid, 1), { status: 'ok' })
    assert.equal((await b.claim(sid)).status, 'ok')
    assert.equal((await b.close(sid, null, 1000, 'bye', false)).status, 'ok')
    assert.equal((await b.session(sid))!.ended, '1000 bye')
    await until(() => hints.some((h) => h.kind == 'w' && h.sid == sid && h.seq == 3), 2000)
    assert.ok(
      hints.some((h) => h.kind == 'w' && h.sid == sid && h.seq == 3),
      'the append woke node B: ' + sid,
    )
  }
})

test('older clients’ rooms: the fan-out by slot reaches members on every master once; leavers skipped', async () => {
  const big = await store(cluster, 'nodeA', { maxQueueLength: 100 })
  const sids = spread(60)
  for (const sid of sids) {
    await big.createSession(sid, INFO)
    await big.rooms.join(sid, 1, 'lobby')
  }
  await big.close(sids[0], 1, 1000, '', false)
  // The room's set still names sids[0] (as if its close had not reached it): the fan-out drops it.
  await big.link.command(['SADD', keyPrefix + 'r:{lobby}', sids[0]])
  await big.appendOutgoing(sids[1], 1, Array(100).fill('full'))
  const members = big.rooms.members.bind(big.rooms)
  big.rooms.members = async (room) => {
    const list = await members(room)
    // Leaves after the members were read, before the fan-out: skipped.
    await big.rooms.leave(sids[2], 1, 'lobby')
    return list
  }
  const runs = counting(big)
  const r = await big.rooms.publish('lobby', ['hello'], 1000)
  big.rooms.members = members
  assert.deepEqual(r, { delivered: 57, overflowed: [sids[1]] })
  const slots = new Set(sids.map((sid) => keySlot(big.keys(sid)[0])))
  assert.equal(runs.get(FANOUT.sha), slots.size, 'one script per slot of members')
  assert.deepEqual((await big.rooms.members('lobby')).sort(), sids.slice(3).sort())
  for (const sid of sids.slice(3)) {
    const read = await big.readOutgoing(sid, 1)
    assert.ok(read.status == 'ok')
    assert.deepEqual(read.messages, ['hello'], sid)
  }
  assert.deepEqual(((await big.readOutgoing(sids[2], 1)) as { messages: string[] }).messages, [])
  assert.equal((await big.session(sids[1]))!.ended, '3900 buffer overflow: client is not reading')
})

test('room logs: joins in the room’s slot, appends out on its shard channel; unfollow stops them', async () => {
  const [sid] = spread(3)
  await a.createSession(sid, { ...INFO, positions: true })
  assert.deepEqual(await a.rooms.join(sid, 1, 'fx', true), { status: 'ok' })
  const from = (await a.rooms.joined(sid)).get('fx')!
  assert.equal(await a.rooms.loggedCount('fx'), 1)
  const heard: string[] = []
  const logs = b.rooms.logs
  await logs.follow('fx', (offset, m) => heard.push(offset + ' ' + m))
  assert.equal(await a.rooms.logs.head('fx'), from)
  const { first } = await a.rooms.logs.append('fx', ['EUR 1', 'GBP 1'], ['EUR', 'GBP'])
  assert.equal(first, from)
  await until(() => heard.length == 2, 2000)
  assert.deepEqual(heard, [from + ' EUR 1', from + 1 + ' GBP 1'])
  const read = await logs.read('fx', from)
  assert.ok(read.status == 'ok' && read.runs[0].messages.length == 2)
  await logs.unfollow('fx')
  await a.rooms.logs.append('fx', ['EUR 2'])
  // A sentinel published after it on a channel still followed, on the same master (so the same
  // connection): once it is here, the other would be too.
  const shard = (room: string) => owner[keySlot(logs.channel(room))]
  const sentinel = Array.from({ length: 50 }, (_, i) => 'sentinel' + i).find((r) => shard(r) == shard('fx'))!
  await logs.follow(sentinel, (offset, m) => heard.push(String(m)))
  await a.rooms.logs.append(sentinel, ['done'])
  await until(() => heard.includes('done'), 2000)
  assert.deepEqual(heard, [from + ' EUR 1', from + 1 + ' GBP 1', 'done'], 'nothing after unfollow')
  assert.deepEqual(await a.rooms.leave(sid, 1, 'fx', true), { status: 'ok' })
  assert.equal(await a.rooms.loggedCount('fx'), 0)
})

test('census and leases on the cluster: counts in one slot, a dead node’s sessions found by the sweep', async () => {
  const sids = spread(6)
  for (const sid of sids) assert.equal(await a.census.admit(sid, '10.0.0.' + (sid.length % 3), 6, 10), 'ok')
  assert.equal(await a.census.admit(newSid(), '10.0.0.9', 6, 10), 'full')
  await a.census.renew(sids[0], '10.0.0.' + (sids[0].length % 3))
  await a.census.leave(sids[0], '10.0.0.' + (sids[0].length % 3))
  assert.equal(await a.census.count(), 5)
  const dead = await store(cluster, 'nodeDead', { nodeLease: 300 })
  assert.equal(await dead.lease.heartbeat(), true)
  assert.equal(await dead.lease.heartbeat(), true, 'renewed')
  await dead.lease.owns(sids[1])
  await dead.lease.holds([sids[2]])
  await until(async () => !(await a.lease.alive('nodeDead')), 2000)
  assert.deepEqual(await a.lease.orphans(10), { owned: [['nodeDead', sids[1]]], held: [['nodeDead', sids[2]]] })
  await a.lease.disowned('nodeDead', sids[1])
  await a.holds.letGo('nodeDead', [[sids[2], 1000]])
  assert.deepEqual(await a.lease.orphans(10), { owned: [], held: [] })
})

// As with one Redis (redis.test.ts): the cluster client's graceful close forgets its connections
// while they drain, so destroy() used to find none and a stop that gave up on Redis left them open.
test('destroy() after a quit() that waits on a frozen cluster ends every connection and the quit', async () => {
  const own = await openLink({ rootNodes: cluster.rootNodes })
  await own.subscribe('plain', () => {})
  await own.subscribe('shard', () => {}, true)
  for (const n of cluster.nodes) await n.pause()
  try {
    await destroyAfterQuit(own, ['GET', 'k'])
  } finally {
    for (const n of cluster.nodes) await n.resume()
  }
})
