// A cluster node's upkeep (src/server/cluster/upkeep.ts) against a real redis-server: a session
// with a link here costs Redis nothing per period (its keys live as long as the node holds it, with
// a rare safety renewal in batches); one whose client left ends sessionTtl after, on its owner
// wherever its link was; what its passes read again (only what a hint or a failed read may have
// missed, never every idle session's log).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { until } from '../../support/processes.mjs'
import type { Hint } from '../../../src/server/cluster/records'
import type { ClusterStore, Touched } from '../../../src/server/cluster/store'
import { start, ws, wsSession, type Running } from '../raw'
import { useRedis } from './redis-helpers'

const redis = useRedis()

const SESSION_TTL = 3000
/** An upkeep tick every 100 ms (nodeLease / 3). */
const NODE_LEASE = 300
/** Long enough for the session to outlive its TTL several times over if it were not renewed. */
const WATCH_MS = 2 * SESSION_TTL

/** `text` sent and echoed back: the session is confirmed, its link active and settled. */
async function echoed(c: Awaited<ReturnType<typeof wsSession>>, text: string) {
  c.sock.send('m' + text)
  await c.until((f) => f == 'm' + text)
}

let prefixes = 0
const node = (sessionTtl = SESSION_TTL, prefix = 'upkeep' + ++prefixes + ':') =>
  start({ sessionTtl, cluster: { redis: redis.url, nodeLease: NODE_LEASE, prefix } })

/** The node's parts a test watches: its store (once it joined the cluster), its hint handler. */
const inside = (r: Running) => (r.ll as unknown as { _node: { store: ClusterStore; _hint(h: Hint): void } })._node

/** How many times Redis ran each command (scripts' own calls counted), from INFO commandstats. */
async function commandCounts(store: ClusterStore): Promise<Record<string, number>> {
  const info = String(await store.link.command(['INFO', 'commandstats']))
  const out: Record<string, number> = {}
  for (const [, name, calls] of info.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)) out[name] = Number(calls)
  return out
}

// Regression (issue 27): each session with a link here had its keys and census entry renewed every
// sessionTtl / 3 (a TOUCH and a census script, 4 PEXPIREs and 2 ZADDs a session): at 10,000 idle
// members ~25 µs of Redis CPU a session every 20 s, 10 times socket.io's Redis CPU per room message.
test('an idle session with a link here costs Redis nothing per period: no renewal of its own', async () => {
  const SESSIONS = 10
  const ttl = 600
  const r = await node(ttl)
  const clients = await Promise.all(Array.from({ length: SESSIONS }, () => wsSession(r.port)))
  await Promise.all(clients.map((c) => echoed(c, 'settled')))
  const store = inside(r).store
  // Held on the next tick (a few ticks given).
  await new Promise((res) => setTimeout(res, NODE_LEASE))
  const before = await commandCounts(store)
  await new Promise((res) => setTimeout(res, 5 * ttl))
  const after = await commandCounts(store)
  const ran = (name: string) => (after[name] || 0) - (before[name] || 0)
  // The lease's own renewal is a PEXPIRE a tick (30 in 3 s); the sessions' were 4 each every 200 ms (600).
  const ticks = (5 * ttl) / (NODE_LEASE / 3)
  assert.ok(ran('pexpire') <= ticks + 10, `PEXPIREs in ${5 * ttl} ms: ${ran('pexpire')}`)
  assert.equal(ran('zadd'), 0, 'census renewals')
  // Their keys live the long safety TTL meanwhile.
  for (const c of clients) assert.ok(Number(await store.link.command(['PTTL', store.keys(c.sid)[0]])) > ttl)
  // Five times their sessionTtl later, every session is still there.
  await Promise.all(clients.map((c) => echoed(c, 'still')))
  assert.equal(r.sessions.length, SESSIONS, 'the same sessions, no new one')
  for (const c of clients) c.sock.close()
})

test('held sessions get their safety renewal every holdTtl / 3, those due together in one batch', async () => {
  const r = await node()
  const clients = [await wsSession(r.port), await wsSession(r.port), await wsSession(r.port)]
  await Promise.all(clients.map((c) => echoed(c, 'settled')))
  const store = inside(r).store
  const hold = 2400
  store.o.holdTtl = hold
  const renewed: Record<string, number> = {}
  const batches: number[] = []
  const touch = store.touch.bind(store)
  store.touch = (sids, look) => {
    const renewing = sids.filter((sid) => !look || !look.has(sid))
    if (renewing.length) batches.push(renewing.length)
    for (const sid of renewing) renewed[sid] = (renewed[sid] || 0) + 1
    return touch(sids, look)
  }
  await new Promise((res) => setTimeout(res, 2 * hold))
  for (const c of clients) {
    // Every 800 ms over 4.8 s: 7 at most (a tick late now and then makes it fewer).
    const n = renewed[c.sid] || 0
    assert.ok(n >= 2 && n <= (2 * hold) / (hold / 3) + 1, `renewed ${n} times in ${2 * hold} ms`)
    const left = Number(await store.link.command(['PTTL', store.keys(c.sid)[0]]))
    assert.ok(left > 0 && left <= hold, 'renewed to holdTtl: ' + left)
  }
  assert.ok(
    batches.some((n) => n > 1),
    `sessions due together go in one batch: ${batches}`,
  )
  for (const c of clients) c.sock.close()
})

// Regression (issue 27): every nodeLease the upkeep read the log and the inbox of every session
// served or owned here, whether or not anything was missed: at 3,000 members 1,200 scripts a
// second, most of Redis's work for a room at 10 messages a second (bench/README.md).
test('the upkeep reads no idle session’s log or inbox: only what a failed read or a lost hint left', async () => {
  const r = await node()
  const clients = [await wsSession(r.port), await wsSession(r.port)]
  await Promise.all(clients.map((c) => echoed(c, 'settled')))
  const store = inside(r).store
  let reads = 0
  for (const name of ['readOutgoing', 'readIncoming'] as const) {
    const read = store[name].bind(store) as (...a: unknown[]) => Promise<never>
    ;(store as unknown as Record<string, unknown>)[name] = (...a: unknown[]) => (reads++, read(...a))
  }
  // Six passes (one every nodeLease); every one of them read both sessions' log and inbox before.
  await new Promise((res) => setTimeout(res, 6 * NODE_LEASE))
  assert.equal(reads, 0, 'reads of idle sessions on the upkeep’s passes')
  await echoed(clients[0], 'still')
  for (const c of clients) c.sock.close()
})

/** A session on node `r` whose `w` hints this node no longer hears, as if its subscriber missed them. */
async function deaf(r: Running) {
  const c = await wsSession(r.port)
  await echoed(c, 'settled')
  const n = inside(r)
  const hint = n._hint.bind(n)
  n._hint = (h) => (h.kind == 'w' && h.sid == c.sid ? undefined : hint(h))
  /** Append as another writer would (a node that took the session over): the hint is the only news. */
  const append = async (text: string) => {
    const fence = Number((await n.store.session(c.sid))!.fence)
    const r = await n.store.appendOutgoing(c.sid, fence, [text])
    assert.equal(r.status, 'ok')
    return (r as { first: number }).first
  }
  return { c, store: n.store, hear: () => (n._hint = hint), append }
}

test('a read of the log that failed (Redis away) is made again on the next pass', async () => {
  const r = await node()
  const { c, store, hear, append } = await deaf(r)
  hear()
  const read = store.readOutgoing.bind(store)
  let reads = 0
  store.readOutgoing = (...a) => (reads++ ? read(...a) : Promise.reject(new Error('Redis away (test)')))
  // The hint comes; the read it starts fails; the upkeep's next pass reads again.
  await append('later')
  await c.until((f) => f == 'mlater', 3 * NODE_LEASE + 1000)
  assert.ok(reads >= 2, 'read again after the failure')
  assert.ok(r.logged.some((l) => l.includes('reading the log failed')))
  c.sock.close()
})

test('a message whose hint was lost reaches the link when its keys are next renewed (holdTtl / 3)', async () => {
  const r = await node()
  const { c, store, append } = await deaf(r)
  const hold = 1500
  store.o.holdTtl = hold
  const seen: Array<Touched | undefined> = []
  const touch = store.touch.bind(store)
  store.touch = async (sids, look) => {
    const found = await touch(sids, look)
    seen.push(...found)
    return found
  }
  const seq = await append('unheard')
  await c.until((f) => f == 'munheard', hold / 3 + 1000)
  assert.ok(
    seen.some((t) => t && t.sent == seq),
    `found by the renewal: Redis has seq ${seq}, the link had not written it`,
  )
  c.sock.close()
})

// Found when the passes stopped reading every session: the owner of a session whose client left
// heard of its expiry from those reads only, and kept it (and its listeners) for good.
test('a session owned here whose links are gone ends on its owner once its keys expire', async () => {
  const ttl = 600
  const r = await node(ttl)
  const c = await wsSession(r.port)
  await echoed(c, 'bye')
  const ended = new Promise<number>((res) => r.sessions[0].on('close', (code) => res(code)))
  c.sock.terminate()
  assert.ok(await until(() => r.ll.sessions.size == 0, ttl + 3000), 'ended on its owner')
  assert.equal(await ended, 3901, 'as expired')
})

test('a session whose client left ends sessionTtl after its link went, not before', async () => {
  const ttl = 1500
  const r = await node(ttl)
  const c = await wsSession(r.port)
  await echoed(c, 'hello')
  // Twice its sessionTtl with its link: still there.
  await new Promise((res) => setTimeout(res, 2 * ttl))
  await echoed(c, 'still')
  let endedAt = 0
  r.sessions[0].on('close', () => (endedAt = Date.now()))
  const leftAt = Date.now()
  c.sock.terminate()
  assert.ok(await until(() => endedAt > 0, ttl + 3000), 'ended on its owner')
  const after = endedAt - leftAt
  assert.ok(after >= ttl - 100 && after <= ttl + 1500, `ended ${after} ms after its link went (sessionTtl ${ttl})`)
})

test('owned on one node, its link on another: it ends on its owner sessionTtl after the link went', async () => {
  const ttl = 1000
  const prefix = 'upkeep' + ++prefixes + ':'
  const a = await node(ttl, prefix)
  const b = await node(ttl, prefix)
  const made = await wsSession(a.port)
  await echoed(made, 'on a')
  const owned = a.sessions[0]
  made.sock.terminate()
  const c = ws(b.port, `v=2&t=websocket&ack=0&o=1&sid=${made.sid}`)
  await c.hello()
  c.sock.send('u2')
  c.sock.send('s2')
  c.sock.send('mon b')
  await c.until((f) => f == 'mon b')
  // Held by b for several sessionTtl: its owner on a keeps it.
  await new Promise((res) => setTimeout(res, 3 * ttl))
  assert.ok(!owned.closed, 'still open on its owner')
  let endedAt = 0
  owned.on('close', () => (endedAt = Date.now()))
  const leftAt = Date.now()
  c.sock.terminate()
  assert.ok(await until(() => endedAt > 0, ttl + 3000), 'ended on its owner')
  const after = endedAt - leftAt
  assert.ok(after >= ttl - 100 && after <= ttl + 1500, `ended ${after} ms after its link went (sessionTtl ${ttl})`)
})
