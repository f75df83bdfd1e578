// The cluster-wide session counts against a real redis-server: admission at both limits' edges,
// leaving on close, renewal while a node holds the session, and entries of sessions nobody holds
// (their client left, their node was killed with -9) falling out when the session's keys expire.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { until } from '../../support/processes.mjs'
import { INFO, newSid, store, useRedis } from './redis-helpers'
import { KEY_LAYOUT } from '../../../src/server/cluster/store'

const redis = useRedis()

/** Two stores ("nodes") of one app, on a prefix of their own so tests do not count each other. */
async function nodes(prefix: string, sessionTtl = 60000) {
  const a = await store(redis.url, 'nodeA', { prefix, sessionTtl })
  const b = await store(redis.url, 'nodeB', { prefix, sessionTtl })
  return [a, b]
}

test('maxSessions holds across nodes: the last one in is refused on whichever node it asks', async () => {
  const [a, b] = await nodes('census1:')
  assert.equal(await a.census.admit(newSid(), '10.0.0.1', 3, 10), 'ok')
  assert.equal(await b.census.admit(newSid(), '10.0.0.2', 3, 10), 'ok')
  assert.equal(await a.census.admit(newSid(), '10.0.0.3', 3, 10), 'ok')
  assert.equal(await b.census.admit(newSid(), '10.0.0.4', 3, 10), 'full')
  assert.equal(await a.census.admit(newSid(), '10.0.0.4', 3, 10), 'full')
  assert.equal(await a.census.count(), 3)
  // Infinity (no limit) goes through.
  assert.equal(await b.census.admit(newSid(), '10.0.0.4', Infinity, Infinity), 'ok')
})

test('maxSessionsPerAddress holds across nodes, per address', async () => {
  const [a, b] = await nodes('census2:')
  assert.equal(await a.census.admit(newSid(), '::1', 100, 2), 'ok')
  assert.equal(await b.census.admit(newSid(), '::1', 100, 2), 'ok')
  assert.equal(await a.census.admit(newSid(), '::1', 100, 2), 'address')
  assert.equal(await b.census.admit(newSid(), '::2', 100, 2), 'ok')
  assert.equal(await a.census.count('::1'), 2)
  assert.equal(await a.census.count('::2'), 1)
  assert.equal(await a.census.count(), 3)
})

test('a session closed on another node leaves both counts, and its place is free again', async () => {
  const [a, b] = await nodes('census3:')
  const sid = newSid()
  assert.equal(await a.census.admit(sid, INFO.address, 1, 1), 'ok')
  await a.createSession(sid, INFO)
  assert.equal(await b.census.admit(newSid(), INFO.address, 1, 1), 'full')
  // The client's close frame came to node b (no fence): the address comes from the session.
  assert.equal((await b.close(sid, null, 1000, 'bye', false)).status, 'ok')
  assert.equal(await a.census.count(), 0)
  assert.equal(await a.census.count(INFO.address), 0)
  assert.equal(await b.census.admit(newSid(), INFO.address, 1, 1), 'ok')
})

test('held sessions stay counted; others (their node died, their client left) fall out with their keys', async () => {
  const [a, b] = await nodes('census4:', 1000)
  const kept = newSid()
  const dead = newSid()
  for (const sid of [kept, dead]) {
    assert.equal(await a.census.admit(sid, INFO.address, 2, 2), 'ok')
    await a.createSession(sid, INFO)
  }
  assert.equal(await b.census.admit(newSid(), INFO.address, 2, 2), 'full')
  // Node b holds a link of `kept`; nobody holds `dead` (its node was killed before it held it).
  await b.holds.sync([kept])
  await new Promise((r) => setTimeout(r, 2500))
  assert.equal(await a.session(dead), null)
  assert.notEqual(await a.session(kept), null)
  assert.equal(await a.census.count(), 1)
  assert.equal(await a.census.count(INFO.address), 1)
  assert.equal(await b.census.admit(newSid(), INFO.address, 2, 2), 'ok')
  assert.equal(await b.census.admit(newSid(), INFO.address, 2, 2), 'full')
  // Once b lets go of `kept` too, it counts as long as its keys live, then no more (the address's
  // set itself expires with its longest entry: up to holdTtl after a held session was renewed).
  await b.holds.letGo('nodeB', [[kept, 500]])
  assert.ok(await until(async () => (await a.census.count()) == 0, 5000))
  assert.equal(await a.session(kept), null)
})

test('renewals of many sessions at once go out in batches, and every one is renewed', async () => {
  const [a] = await nodes('census5:')
  const sids = Array.from({ length: 1200 }, () => newSid())
  const address = (i: number) => '10.0.1.' + (i % 7)
  for (const [i, sid] of sids.entries()) assert.equal(await a.census.admit(sid, address(i), 5000, 5000), 'ok')
  const before = Number(await a.link.command(['ZSCORE', 'census5:' + KEY_LAYOUT + ':{census}', sids[0]]))
  await new Promise((r) => setTimeout(r, 20))
  await Promise.all(sids.map((sid, i) => a.census.renew(sid, address(i), i % 2 ? 60000 : 120000)))
  for (const sid of [sids[0], sids[499], sids[500], sids[1199]]) {
    const score = Number(await a.link.command(['ZSCORE', 'census5:' + KEY_LAYOUT + ':{census}', sid]))
    assert.ok(score > before, sid + ': ' + score + ' <= ' + before)
  }
  assert.equal(await a.census.count(), 1200)
})
