// The sessions a node holds a link of (src/server/cluster/holds.ts) against a real redis-server:
// held keys live the long safety TTL and need no renewal of their own; once the last node holding
// a session lets go (its link went, or a sweep for a node that died) they expire as the client
// left, the owner is told, and the census counts it out with them.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { until } from '../../support/processes.mjs'
import type { Hint } from '../../../src/server/cluster/records'
import { KEY_LAYOUT, type ClusterStore } from '../../../src/server/cluster/store'
import { INFO, newSid, store, useRedis } from './redis-helpers'

const redis = useRedis()

const SESSION_TTL = 1000
const HOLD_TTL = 60000

/** Stores ("nodes") of one app on a prefix of its own, each with its lease. */
async function nodes(prefix: string, names: string[], nodeLease = 5000) {
  const out: ClusterStore[] = []
  for (const name of names) {
    const s = await store(redis.url, name, { prefix, sessionTtl: SESSION_TTL, holdTtl: HOLD_TTL, nodeLease })
    assert.ok(await s.lease.heartbeat())
    out.push(s)
  }
  return out
}

/** A session made (and counted) by `s`, owned there. */
async function made(s: ClusterStore) {
  const sid = newSid()
  assert.equal(await s.census.admit(sid, INFO.address, 100, 100), 'ok')
  await s.createSession(sid, INFO)
  return sid
}

const pttl = async (s: ClusterStore, key: string) => Number(await s.link.command(['PTTL', key]))
const holding = async (s: ClusterStore, node: string) =>
  ((await s.link.command(['SMEMBERS', s.o.prefix + 'holds:' + node])) as Buffer[]).map(String)

test('a held session lives the safety TTL, every key and its census entry, and is in its node’s set', async () => {
  const [a] = await nodes('holds1:', ['nodeA'])
  const sid = await made(a)
  await a.rooms.join(sid, 1, 'r1')
  await a.appendOutgoing(sid, 1, ['x'])
  await a.recordIncoming(sid, 1, ['y'])
  await a.holds.sync([sid])
  assert.ok(a.holds.has(sid))
  for (const key of a.keys(sid)) {
    const left = await pttl(a, key)
    assert.ok(left > HOLD_TTL - 1000 && left <= HOLD_TTL, key + ': ' + left)
  }
  assert.deepEqual(await holding(a, 'nodeA'), [sid])
  // Past sessionTtl with no renewal: still there, still counted.
  await new Promise((r) => setTimeout(r, SESSION_TTL + 300))
  assert.notEqual(await a.session(sid), null)
  assert.equal(await a.census.count(), 1)
  // A sync with the same link holds it once: nothing more is asked of Redis.
  await a.holds.sync([sid])
  assert.equal((await a.session(sid))!.holders, '1')
})

test('held on two nodes, it expires only once both let go: as the client left, and its owner hears', async () => {
  const [a, b] = await nodes('holds2:', ['nodeA', 'nodeB'])
  const hints: Hint[] = []
  await a.listen((h) => hints.push(h))
  const sid = await made(a)
  await a.holds.sync([sid])
  await b.holds.sync([sid])
  assert.equal((await a.session(sid))!.holders, '2')
  // b's link went, long ago: a still holds the session.
  await b.holds.letGo('nodeB', [[sid, 300]])
  assert.ok((await pttl(a, a.keys(sid)[0])) > SESSION_TTL, 'still held by a')
  assert.deepEqual(await holding(b, 'nodeB'), [])
  assert.equal(hints.filter((h) => h.kind == 'x').length, 0)
  // a's link went 400 ms ago (a grace period here): the keys have what sessionTtl leaves.
  const at = Date.now()
  a.holds.left(sid, at - 400)
  await a.holds.sync([], at)
  assert.ok(!a.holds.has(sid))
  const left = await pttl(a, a.keys(sid)[0])
  assert.ok(left > 400 && left <= SESSION_TTL - 400, 'expires sessionTtl after the link went: ' + left)
  assert.ok(await until(() => hints.some((h) => h.kind == 'x' && h.sid == sid), 2000), 'the owner hears')
  assert.ok(await until(async () => (await a.session(sid)) === null, 3000), 'expired')
  assert.equal(await a.census.count(), 0, 'counted out with its keys')
})

test('a link that went less than the grace period ago keeps the session held; one that came back too', async () => {
  const [a] = await nodes('holds3:', ['nodeA'])
  const sid = await made(a)
  await a.holds.sync([sid])
  a.holds.left(sid)
  await a.holds.sync([])
  assert.ok(a.holds.has(sid), 'within the grace period (a poll follows another)')
  // The link came back: its leaving is forgotten.
  await a.holds.sync([sid])
  await a.holds.sync([], Date.now() + SESSION_TTL)
  assert.ok(a.holds.has(sid), 'left just now, as far as the holds know')
  assert.ok((await pttl(a, a.keys(sid)[0])) > SESSION_TTL)
})

test('a dead node’s held sessions: found by the sweep, let go of for it, then the node forgotten', async () => {
  const [dead, live] = await nodes('holds4:', ['nodeDead', 'nodeLive'])
  await dead.link.command(['PEXPIRE', 'holds4:' + KEY_LAYOUT + ':node:nodeDead', '50'])
  const [x, y] = [await made(live), await made(live)]
  await dead.holds.sync([x, y])
  await live.holds.sync([y])
  assert.ok(await until(async () => !(await live.lease.alive('nodeDead')), 2000))
  const { owned, held } = await live.lease.orphans(10)
  assert.deepEqual(owned, [])
  assert.deepEqual(
    held.sort(),
    [
      ['nodeDead', x],
      ['nodeDead', y],
    ].sort(),
  )
  await live.holds.letGo('nodeDead', [
    [x, SESSION_TTL],
    [y, SESSION_TTL],
  ])
  const left = await pttl(live, live.keys(x)[0])
  assert.ok(left > 0 && left <= SESSION_TTL, 'x expires as its client left: ' + left)
  assert.ok((await pttl(live, live.keys(y)[0])) > SESSION_TTL, 'y is still held by the live node')
  assert.deepEqual(await live.lease.orphans(10), { owned: [], held: [] })
  const nodes_ = ((await live.link.command(['SMEMBERS', 'holds4:' + KEY_LAYOUT + ':nodes'])) as Buffer[]).map(String)
  assert.ok(!nodes_.includes('nodeDead'), 'a dead node that holds and owns nothing is forgotten')
  // Another sweep letting go for it again changes nothing.
  await live.holds.letGo('nodeDead', [[y, 10]])
  assert.ok((await pttl(live, live.keys(y)[0])) > SESSION_TTL)
})

test('an ended session is let go of without a new expiry: its last words keep theirs', async () => {
  const [a] = await nodes('holds5:', ['nodeA'])
  const sid = await made(a)
  await a.holds.sync([sid])
  await a.close(sid, 1, 1000, 'bye', true)
  await a.holds.letGo('nodeA', [[sid, 50]])
  const left = await pttl(a, a.keys(sid)[0])
  assert.ok(left > 500, 'the end’s own sessionTtl: ' + left)
  assert.deepEqual(await holding(a, 'nodeA'), [])
})

test('a gone session is not held, and not left in the node’s set', async () => {
  const [a] = await nodes('holds6:', ['nodeA'])
  const sid = newSid()
  await a.holds.sync([sid])
  assert.ok(!a.holds.has(sid))
  assert.deepEqual(await holding(a, 'nodeA'), [])
  assert.equal(await a.link.command(['EXISTS', a.keys(sid)[0]]), 0, 'no key made')
})

test('renewal: due every holdTtl / 3, only for what this node holds; a release lets go of everything', async () => {
  const a = await store(redis.url, 'nodeA', { prefix: 'holds7:', sessionTtl: SESSION_TTL, holdTtl: 3000 })
  assert.ok(await a.lease.heartbeat())
  const [held, other] = [await made(a), await made(a)]
  await a.holds.sync([held])
  assert.deepEqual(a.holds.due(), [], 'just held')
  assert.deepEqual(a.holds.due(Date.now() + 1000), [held])
  assert.deepEqual(a.holds.due(Date.now() + 1000), [], 'marked renewed')
  const [t, u] = await a.touch([held, other])
  assert.ok(t && t.renewed && t.held && t.left > 2900, JSON.stringify(t))
  assert.ok(u && !u.renewed && !u.held && u.left <= SESSION_TTL, 'not held here: not renewed ' + JSON.stringify(u))
  await a.holds.release()
  assert.ok(!a.holds.has(held))
  assert.ok((await pttl(a, a.keys(held)[0])) <= SESSION_TTL)
  assert.deepEqual(await holding(a, 'nodeA'), [])
})

// A poll that came and went between two ticks left the session on the countdown it was made with:
// a client polling in short requests could see its session expire while it was polling.
test('a link that came and went between two syncs holds the session till the grace period ends', async () => {
  const [a] = await nodes('holds8:', ['nodeA'])
  const sid = await made(a)
  const at = Date.now()
  a.holds.left(sid, at)
  await a.holds.sync([], at)
  assert.ok(a.holds.has(sid), 'held')
  assert.ok((await pttl(a, a.keys(sid)[0])) > SESSION_TTL, 'its keys live the safety TTL')
  await a.holds.sync([], at + SESSION_TTL / 2)
  assert.ok(!a.holds.has(sid), 'let go after the grace period')
  const left = await pttl(a, a.keys(sid)[0])
  assert.ok(left > 0 && left <= SESSION_TTL / 2, 'what sessionTtl leaves since the poll went: ' + left)
})
