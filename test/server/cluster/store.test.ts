// The cluster store against a real redis-server (test/support/redis.mjs): numbering, bounds,
// cursors, duplicates and gaps, ownership and fencing, links, closing, expiry, rooms and hints.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { startRedis } from '../../support/redis.mjs'
import { until } from '../../support/processes.mjs'
import type { Hint } from '../../../src/server/cluster/records'
import { ClusterStore, KEY_LAYOUT } from '../../../src/server/cluster/store'
import { INFO, closeStores, keyPrefix, newSid, store } from './redis-helpers'

let redis: Awaited<ReturnType<typeof startRedis>>
let a: ClusterStore
let b: ClusterStore
before(async () => {
  redis = await startRedis()
  a = await store(redis.url, 'nodeA', { maxQueueLength: 10, maxBufferedAmount: 1000 })
  b = await store(redis.url, 'nodeB', { maxQueueLength: 10, maxBufferedAmount: 1000 })
  await a.lease.heartbeat()
  await b.lease.heartbeat()
})
after(async () => {
  await closeStores()
  await redis.remove()
})

async function made(owner = a) {
  const sid = newSid()
  assert.deepEqual(await owner.createSession(sid, INFO), { status: 'ok', fence: 1 })
  return sid
}

test('createSession makes it once, owned by the node that made it', async () => {
  const sid = await made()
  assert.deepEqual(await a.createSession(sid, INFO), { status: 'exists' })
  const s = await a.session(sid)
  assert.equal(s!.owner, 'nodeA')
  assert.equal(s!.origin, INFO.origin)
  assert.deepEqual(await a.claim(sid), { status: 'ok', fence: 1, takenOver: false, received: 0, delivered: 0 })
  assert.equal(await a.session(newSid()), null)
})

test('appendOutgoing numbers messages atomically: concurrent appends get disjoint, gapless ranges', async () => {
  const sid = await made()
  const big = await store(redis.url, 'nodeA', { maxQueueLength: 1000 })
  const results = await Promise.all(
    Array.from({ length: 50 }, (_, i) => big.appendOutgoing(sid, 1, ['x' + i, 'y' + i])),
  )
  const seqs = results.flatMap((r) => (r.status == 'ok' ? [r.first, r.last] : []))
  assert.equal(seqs.length, 100)
  assert.deepEqual(
    [...seqs].sort((x, y) => x - y),
    Array.from({ length: 100 }, (_, i) => i + 1),
  )
  for (const r of results) assert.ok(r.status == 'ok' && r.last == r.first + 1)
  const read = await a.readOutgoing(sid, 1)
  assert.ok(read.status == 'ok')
  // Each append's pair is adjacent in the log, at the seqs it was given.
  for (let i = 0; i < 50; i++) {
    const r = results[i] as { first: number }
    assert.deepEqual(read.messages.slice(r.first - 1, r.first + 1), ['x' + i, 'y' + i])
  }
})

test('text and binary messages come back as they went in', async () => {
  const sid = await made()
  const bytes = Buffer.from([0, 1, 2, 255, 0x74, 0x62])
  await a.appendOutgoing(sid, 1, ['héllo ✓', bytes, ''])
  const r = await b.readOutgoing(sid, 1)
  assert.ok(r.status == 'ok')
  assert.deepEqual(r.messages, ['héllo ✓', bytes, ''])
})

test('maxQueueLength: the 10th message is kept, the 11th refused with nothing written', async () => {
  const sid = await made()
  assert.equal((await a.appendOutgoing(sid, 1, Array(9).fill('m'))).status, 'ok')
  assert.deepEqual(await a.appendOutgoing(sid, 1, ['10']), { status: 'ok', first: 10, last: 10, bufferedAmount: 11 })
  assert.deepEqual(await a.appendOutgoing(sid, 1, ['11']), { status: 'overflow' })
  assert.deepEqual(await a.appendOutgoing(sid, 1, ['11', '12']), { status: 'overflow' })
  assert.equal((await a.session(sid))!.sent, '10')
  // Acknowledged messages free their places.
  await a.ackOutgoing(sid, 3)
  assert.deepEqual(await a.appendOutgoing(sid, 1, ['11', '12', '13']), {
    status: 'ok',
    first: 11,
    last: 13,
    bufferedAmount: 14,
  })
})

test('maxBufferedAmount: 1000 unacknowledged bytes are kept, 1001 refused', async () => {
  const sid = await made()
  assert.equal((await a.appendOutgoing(sid, 1, ['x'.repeat(999)])).status, 'ok')
  assert.deepEqual(await a.appendOutgoing(sid, 1, ['yy']), { status: 'overflow' })
  assert.equal((await a.appendOutgoing(sid, 1, ['y'])).status, 'ok')
  assert.deepEqual(await a.ackOutgoing(sid, 1), { status: 'ok', ack: 1, bufferedAmount: 1 })
})

test('ackOutgoing trims the log and is cumulative; readOutgoing starts at the oldest kept', async () => {
  const sid = await made()
  await a.appendOutgoing(sid, 1, ['1', '2', '3', '4', '5'])
  assert.deepEqual(await b.ackOutgoing(sid, 2), { status: 'ok', ack: 2, bufferedAmount: 3 })
  assert.deepEqual(
    await b.ackOutgoing(sid, 1),
    { status: 'ok', ack: 2, bufferedAmount: 3 },
    'an old ack changes nothing',
  )
  const r = await b.readOutgoing(sid, 1)
  assert.ok(r.status == 'ok')
  assert.deepEqual([r.first, r.last, r.messages], [3, 5, ['3', '4', '5']])
  const tail = await b.readOutgoing(sid, 5, 10)
  assert.ok(tail.status == 'ok' && tail.first == 5)
  assert.deepEqual(tail.messages, ['5'])
  const some = await b.readOutgoing(sid, 3, 2)
  assert.ok(some.status == 'ok')
  assert.deepEqual(some.messages, ['3', '4'])
  const none = await b.readOutgoing(sid, 6)
  assert.ok(none.status == 'ok')
  assert.deepEqual(none.messages, [])
})

test('ackOutgoing beyond what was ever sent says "ahead": the stored state went back in time', async () => {
  const sid = await made()
  await a.appendOutgoing(sid, 1, ['1', '2'])
  assert.deepEqual(await b.ackOutgoing(sid, 3), { status: 'ahead', sent: 2 })
  assert.equal((await a.session(sid))!.acked, '0')
})

test('recordIncoming drops duplicates, refuses a gap, and says how many are new', async () => {
  const sid = await made()
  assert.deepEqual(await b.recordIncoming(sid, 1, ['a', 'b']), {
    status: 'ok',
    received: 2,
    fresh: 2,
    owner: 'nodeA',
    delivered: 0,
  })
  // A repeated POST, and one overlapping what arrived.
  assert.equal((await b.recordIncoming(sid, 1, ['a', 'b'])).status, 'ok')
  const overlap = await a.recordIncoming(sid, 2, ['b', 'c', 'd'])
  assert.ok(overlap.status == 'ok')
  assert.deepEqual([overlap.received, overlap.fresh], [4, 2])
  assert.deepEqual(await b.recordIncoming(sid, 6, ['f']), { status: 'gap', received: 4 })
  const inbox = await a.readIncoming(sid, 1, 1)
  assert.ok(inbox.status == 'ok')
  assert.deepEqual(inbox.messages, ['a', 'b', 'c', 'd'])
})

test('the inbox is bounded by maxBufferedAmount and trimmed by what the app had', async () => {
  const sid = await made()
  assert.equal((await b.recordIncoming(sid, 1, ['x'.repeat(1000)])).status, 'ok')
  assert.deepEqual(await b.recordIncoming(sid, 2, ['y']), { status: 'overflow' })
  assert.deepEqual(await a.deliveredIncoming(sid, 1, 1), { status: 'ok', delivered: 1 })
  assert.equal((await b.recordIncoming(sid, 2, ['y'])).status, 'ok')
  const inbox = await a.readIncoming(sid, 1, 1)
  assert.ok(inbox.status == 'ok')
  assert.deepEqual([inbox.first, inbox.messages], [2, ['y']])
})

test('a reply commits the delivery cursor with it: both kept in one step', async () => {
  const sid = await made()
  await b.recordIncoming(sid, 1, ['q1', 'q2'])
  assert.deepEqual(await a.appendOutgoing(sid, 1, ['r1'], 1), { status: 'ok', first: 1, last: 1, bufferedAmount: 2 })
  const s = await a.session(sid)
  assert.deepEqual([s!.delivered, s!.sent], ['1', '1'])
  // Never past what was received.
  await a.appendOutgoing(sid, 1, [], 9)
  assert.equal((await a.session(sid))!.delivered, '2')
})

test('claim: a live owner keeps its session; a lapsed one is taken over with a new fencing token', async () => {
  const sid = await made()
  await b.recordIncoming(sid, 1, ['m1', 'm2'])
  await a.deliveredIncoming(sid, 1, 1)
  assert.deepEqual(await b.claim(sid), { status: 'owned', owner: 'nodeA' })
  // A's lease lapses: what a frozen or cut-off node looks like from outside.
  const gone = await store(redis.url, 'nodeA-lapsed', { nodeLease: 50 })
  const sid2 = await made(gone)
  await gone.lease.heartbeat()
  assert.ok(await until(async () => !(await b.lease.alive('nodeA-lapsed')), 2000))
  assert.deepEqual(await b.claim(sid2), { status: 'ok', fence: 2, takenOver: false, received: 0, delivered: 0 })
  // The session A had confirmed: takenOver, with what the app may have been handed to redeliver.
  const before = await a.session(sid)
  await b.link.command(['DEL', keyPrefix + 'node:nodeA'])
  const taken = await b.claim(sid)
  assert.deepEqual(taken, { status: 'ok', fence: 2, takenOver: true, received: 2, delivered: 1 })
  await a.lease.heartbeat()
  // Every owner write of the old owner is refused, and changes nothing.
  assert.deepEqual(await a.appendOutgoing(sid, 1, ['late']), { status: 'fenced' })
  assert.deepEqual(await a.deliveredIncoming(sid, 1, 2), { status: 'fenced' })
  assert.deepEqual(await a.readIncoming(sid, 1, 1), { status: 'fenced' })
  assert.deepEqual(await a.rooms.join(sid, 1, 'room'), { status: 'fenced' })
  assert.deepEqual(await a.close(sid, 1, 1000, 'bye', false), { status: 'fenced' })
  assert.deepEqual(await a.release(sid, 1), { status: 'fenced' })
  const after = await a.session(sid)
  assert.deepEqual({ ...after, fence: before!.fence, owner: before!.owner }, before)
  assert.equal((await b.appendOutgoing(sid, 2, ['new owner'])).status, 'ok')
})

test('release lets another node claim at once, as a takeover', async () => {
  const sid = await made()
  await b.recordIncoming(sid, 1, ['hi'])
  assert.deepEqual(await a.release(sid, 1), { status: 'ok' })
  const c = await b.claim(sid)
  assert.ok(c.status == 'ok' && c.fence == 2 && c.takenOver)
})

// Another kind stands by until u<k>; a newer link of the same kind replaces the old.
test('activate: the first link is active', async () => {
  const sid = await made()
  assert.deepEqual(await a.activate(sid, 'stream'), { status: 'active', previous: '', holder: 'nodeA' })
  assert.deepEqual(await b.activate(sid, 'websocket'), { status: 'standby', previous: 'stream nodeA' })
  assert.deepEqual(await b.activate(sid, 'websocket', 1), {
    status: 'active',
    previous: 'stream nodeA',
    holder: 'nodeB',
  })
  assert.deepEqual(await a.activate(sid, 'stream', 1), { status: 'stale', previous: 'websocket nodeB' })
  assert.deepEqual(await a.activate(sid, 'websocket'), {
    status: 'active',
    previous: 'websocket nodeB',
    holder: 'nodeA',
  })
  // The active link's node died: the caller that found its lease lapsed may replace it.
  assert.deepEqual(await b.activate(sid, 'polling'), { status: 'standby', previous: 'websocket nodeA' })
  assert.deepEqual(await b.activate(sid, 'polling', 0, 'websocket nodeA'), {
    status: 'active',
    previous: 'websocket nodeA',
    holder: 'nodeB',
  })
  assert.equal(await a.detach(sid, 'polling'), false, 'not the active one here')
  assert.equal(await b.detach(sid, 'polling'), true)
  assert.deepEqual(await a.activate(sid, 'stream'), { status: 'active', previous: '', holder: 'nodeA' })
})

test('activate: u<k> in a POST to one node makes the stream held by another node active, and tells it', async () => {
  const hints: Hint[] = []
  const holder = await store(redis.url, 'nodeStream')
  await holder.listen((h) => hints.push(h))
  const sid = await made()
  assert.equal((await a.activate(sid, 'websocket')).status, 'active')
  assert.equal((await holder.activate(sid, 'stream')).status, 'standby')
  // The POST with t=stream and u2 came to node B.
  assert.deepEqual(await b.activate(sid, 'stream', 2), {
    status: 'active',
    previous: 'websocket nodeA',
    holder: 'nodeStream',
  })
  assert.ok(
    await until(() => hints.some((h) => h.kind == 'a' && h.sid == sid && h.active == 'stream nodeStream'), 2000),
  )
  assert.equal((await a.session(sid))!.active, 'stream nodeStream')
})

// New messages wake the active link's node, client messages the owner; a switch tells the old node.
test('hints: each change wakes the node that acts on it', async () => {
  const hintsA: Hint[] = []
  const hintsB: Hint[] = []
  await a.listen((h) => hintsA.push(h))
  await b.listen((h) => hintsB.push(h))
  const sid = await made()
  await b.activate(sid, 'websocket')
  await a.appendOutgoing(sid, 1, ['1', '2'])
  assert.ok(await until(() => hintsB.some((h) => h.kind == 'w' && h.sid == sid && h.seq == 2), 2000))
  await b.recordIncoming(sid, 1, ['from client'])
  assert.ok(await until(() => hintsA.some((h) => h.kind == 'i' && h.sid == sid && h.seq == 1), 2000))
  await a.activate(sid, 'stream', 1)
  assert.ok(await until(() => hintsB.some((h) => h.kind == 'a' && h.sid == sid && h.active == 'stream nodeA'), 2000))
  // The owner's own record wakes nobody: it hands the messages over itself. (Hints arrive in order,
  // so once the one for seq 3 is here, one for seq 2 would have been too.)
  await a.recordIncoming(sid, 2, ['here'])
  await b.recordIncoming(sid, 3, ['there'])
  assert.ok(await until(() => hintsA.some((h) => h.kind == 'i' && h.sid == sid && h.seq == 3), 2000))
  assert.ok(!hintsA.some((h) => h.kind == 'i' && h.sid == sid && h.seq == 2))
  // The client's cursor, moved on any node, tells the owner (its `delivered`, `drain`, `bufferedAmount`).
  await b.ackOutgoing(sid, 1)
  assert.ok(await until(() => hintsA.some((h) => h.kind == 'd' && h.sid == sid && h.seq == 1 && h.bytes == 1), 2000))
})

test('close keeps unacknowledged messages as last words, leaves rooms, and refuses everything after', async () => {
  const sid = await made()
  await a.rooms.join(sid, 1, 'lobby')
  await a.appendOutgoing(sid, 1, ['last', 'words'])
  await b.ackOutgoing(sid, 1)
  assert.deepEqual(await a.close(sid, 1, 4321, 'done', true), { status: 'ok', rooms: ['lobby'] })
  assert.deepEqual(await a.rooms.members('lobby'), [])
  const r = await b.readOutgoing(sid, 0)
  assert.ok(r.status == 'ok')
  assert.deepEqual([r.end, r.messages], ['4321 done', ['words']])
  assert.deepEqual(await a.appendOutgoing(sid, 1, ['x']), { status: 'ended', end: '4321 done' })
  assert.deepEqual(await b.recordIncoming(sid, 1, ['x']), { status: 'ended', end: '4321 done' })
  assert.deepEqual(await a.close(sid, 1, 1000, ''), { status: 'ended', end: '4321 done' })
})

test("a client's close (no fence) ends it on any node and tells the owner", async () => {
  const hints: Hint[] = []
  const owner = await store(redis.url, 'nodeOwner')
  await owner.listen((h) => hints.push(h))
  const sid = await made(owner)
  assert.equal((await b.close(sid, null, 1000, 'bye', false)).status, 'ok')
  assert.ok(await until(() => hints.some((h) => h.kind == 'e' && h.sid == sid), 2000))
  const r = await b.readOutgoing(sid, 0)
  assert.ok(r.status == 'ok' && r.end == '1000 bye' && !r.messages.length)
})

test("every key and channel starts with the app's prefix, then the key layout's version", async () => {
  const sid = await made()
  await a.appendOutgoing(sid, 1, ['x'])
  await a.rooms.join(sid, 1, 'layout-room')
  const keys = ((await a.link.command(['KEYS', '*'])) as Buffer[]).map(String)
  const ours = keys.filter((k) => k.includes(sid) || k.includes('layout-room') || k.includes('nodeA'))
  assert.ok(ours.length >= 4, 'the session, its log, the room and the lease: ' + ours.join(' '))
  for (const key of ours) assert.ok(key.startsWith(keyPrefix), key)
  assert.ok(a.keys(sid).every((key) => key.startsWith(keyPrefix)))
  // Another layout on the same Redis shares nothing: a session of this one is unknown there.
  const next = await store(redis.url, 'nodeNext', { prefix: 'test:' + KEY_LAYOUT + 'x:' })
  assert.equal(await next.session(sid), null)
})

test('sessions no node holds expire sessionTtl after they were made, every key with them', async () => {
  const short = await store(redis.url, 'nodeTtl', { sessionTtl: 300 })
  const sid = newSid()
  await short.createSession(sid, INFO)
  await short.appendOutgoing(sid, 1, ['x'])
  await short.recordIncoming(sid, 1, ['y'])
  await short.rooms.join(sid, 1, 'ttl-room')
  for (const key of short.keys(sid)) {
    const left = (await short.link.command(['PTTL', key])) as number
    assert.ok(left > 0 && left <= 300, key + ' ' + left)
  }
  const [t] = await short.touch([sid])
  assert.ok(t && t.sent == 1 && t.received == 1 && !t.held && !t.renewed, 'what Redis has of it: ' + JSON.stringify(t))
  assert.ok(await until(async () => (await short.session(sid)) === null, 3000))
  for (const key of short.keys(sid)) assert.equal(await short.link.command(['EXISTS', key]), 0, key)
  assert.deepEqual(await short.touch([sid]), [undefined])
  assert.deepEqual(await short.appendOutgoing(sid, 1, ['x']), { status: 'gone' })
  assert.deepEqual(await b.recordIncoming(sid, 1, ['x']), { status: 'gone' })
})

test('touch renews held sessions in batches, or looks: what Redis has of each, nothing once ended', async () => {
  const short = await store(redis.url, 'nodeTouch', { sessionTtl: 2000, holdTtl: 5000 })
  // More than one script's worth (TOUCH_BATCH, 200): the second batch answers in its place.
  const sids = Array.from({ length: 203 }, newSid)
  for (const sid of sids) await short.createSession(sid, INFO)
  await short.appendOutgoing(sids[1], 1, ['o1', 'o2'])
  await short.recordIncoming(sids[201], 1, ['i1'])
  await short.holds.sync(sids.slice(0, 202))
  await short.close(sids[202], null, 1000, 'bye', false)
  const gone = newSid()
  await new Promise((r) => setTimeout(r, 500))
  // sids[2] is only looked at (owned here): not renewed.
  const touched = await short.touch([...sids, gone], new Set([sids[2]]))
  assert.equal(touched.length, sids.length + 1)
  const seqs = (t: (typeof touched)[0]) => t && { sent: t.sent, received: t.received }
  assert.deepEqual(seqs(touched[0]), { sent: 0, received: 0 })
  assert.deepEqual(seqs(touched[2]), { sent: 0, received: 0 }, 'looked at')
  assert.deepEqual(seqs(touched[1]), { sent: 2, received: 0 }, 'its outgoing log')
  assert.deepEqual(seqs(touched[201]), { sent: 0, received: 1 }, 'its inbox, in the second batch')
  assert.deepEqual(touched.slice(202), [undefined, undefined], 'ended; never made')
  for (const i of [0, 200]) {
    assert.ok(touched[i]!.renewed && touched[i]!.held)
    const left = (await short.link.command(['PTTL', short.keys(sids[i])[0]])) as number
    assert.ok(left > 4700, `renewed to the full holdTtl: ${left} ms left`)
  }
  assert.ok(!touched[2]!.renewed && touched[2]!.held)
  const looked = (await short.link.command(['PTTL', short.keys(sids[2])[0]])) as number
  assert.ok(looked < 4600, `a session only looked at is not renewed: ${looked} ms left`)
})

test('rooms: a publish reaches every member once, in the same order, interleaved with their own messages', async () => {
  const big = await store(redis.url, 'nodeA', { maxQueueLength: 1000 })
  const sids = [await made(), await made(), await made(b)]
  for (const sid of sids) await (sid == sids[2] ? b : a).rooms.join(sid, 1, 'chat')
  assert.deepEqual((await a.rooms.members('chat')).sort(), [...sids].sort())
  await big.appendOutgoing(sids[0], 1, ['own'])
  await Promise.all([big.rooms.publish('chat', ['r1']), big.rooms.publish('chat', ['r2', 'r3'])])
  await a.rooms.leave(sids[1], 1, 'chat')
  assert.deepEqual(await big.rooms.publish('chat', ['r4']), { delivered: 2, overflowed: [] })
  const logs = await Promise.all(
    sids.map(async (sid) => ((await a.readOutgoing(sid, 1)) as { messages: string[] }).messages),
  )
  const order = logs[2].slice(0, 3)
  assert.deepEqual([...order].sort(), ['r1', 'r2', 'r3'])
  assert.deepEqual(logs[0], ['own', ...order, 'r4'])
  assert.deepEqual(logs[1], order)
  assert.deepEqual(logs[2], [...order, 'r4'])
})

test('rooms: an ended member is dropped, one past its bounds is ended with 3900, the rest still get it', async () => {
  const sids = [await made(), await made(), await made()]
  for (const sid of sids) await a.rooms.join(sid, 1, 'busy')
  await a.appendOutgoing(sids[1], 1, Array(10).fill('full'))
  await b.close(sids[2], null, 1000, '', false)
  assert.deepEqual(await a.rooms.publish('busy', ['news']), { delivered: 1, overflowed: [sids[1]] })
  assert.deepEqual(await a.rooms.members('busy'), [sids[0]])
  assert.deepEqual(await a.appendOutgoing(sids[1], 1, ['x']), {
    status: 'ended',
    end: '3900 buffer overflow: client is not reading',
  })
})

test('rooms: a publish in chunks reaches each of 2,500 members exactly once; one that left is skipped', async () => {
  const big = await store(redis.url, 'nodeA', { maxQueueLength: 1000 })
  const sids: string[] = []
  for (let i = 0; i < 2500; i++) sids.push(newSid())
  await Promise.all(sids.map((sid) => big.createSession(sid, INFO)))
  await Promise.all(sids.map((sid) => big.rooms.join(sid, 1, 'many')))
  // Leaves after the publisher read the members, before its chunk runs: not delivered.
  const members = big.rooms.members.bind(big.rooms)
  big.rooms.members = async (room) => {
    const list = await members(room)
    await big.rooms.leave(sids[2499], 1, 'many')
    return list
  }
  const r = await big.rooms.publish('many', ['one', 'two'], 1000)
  big.rooms.members = members
  assert.deepEqual(r, { delivered: 2499, overflowed: [] })
  const logs = await Promise.all(
    sids.map(async (sid) => ((await big.readOutgoing(sid, 1)) as { messages: string[] }).messages),
  )
  for (let i = 0; i < 2499; i++) assert.deepEqual(logs[i], ['one', 'two'], sids[i])
  assert.deepEqual(logs[2499], [])
})

test('one call may carry thousands of messages (pushed in chunks past Lua unpack() limits)', async () => {
  const big = await store(redis.url, 'nodeA', { maxQueueLength: 100000, maxBufferedAmount: 1 << 24 })
  const sid = await made()
  const many = Array.from({ length: 9000 }, (_, i) => String(i))
  assert.deepEqual(await big.appendOutgoing(sid, 1, many), {
    status: 'ok',
    first: 1,
    last: 9000,
    bufferedAmount: 34890,
  })
  assert.equal((await big.recordIncoming(sid, 1, many)).status, 'ok')
  await big.rooms.join(sid, 1, 'bulk')
  assert.deepEqual(await big.rooms.publish('bulk', many), { delivered: 1, overflowed: [] })
  const out = await big.readOutgoing(sid, 1, 20000)
  assert.ok(out.status == 'ok')
  assert.deepEqual(out.messages, [...many, ...many])
  const inbox = await big.readIncoming(sid, 1, 1, 20000)
  assert.ok(inbox.status == 'ok')
  assert.deepEqual(inbox.messages, many)
})

test('claim afresh: a node that forgot what it owned (its lease lapsed) owns it again under a new token', async () => {
  const sid = newSid()
  await a.createSession(sid, INFO)
  await a.recordIncoming(sid, 1, ['hi'])
  const again = await a.claim(sid, true)
  assert.ok(again.status == 'ok' && again.fence == 2 && again.takenOver, JSON.stringify(again))
  assert.equal((await a.appendOutgoing(sid, 1, ['stale'])).status, 'fenced', 'what it forgot cannot land')
  assert.equal((await a.appendOutgoing(sid, 2, ['fresh'])).status, 'ok')
  const plain = await a.claim(sid)
  assert.ok(plain.status == 'ok' && plain.fence == 2 && !plain.takenOver, 'an owner asking again keeps its token')
})

// Regression: after a kill -9 of Redis the owner tried again an append whose answer was lost,
// though Redis had made it: the app's replies were in the log twice (nodes.test.ts saw echoes twice).
test('an append tried again with the same id is answered as before and made once', async () => {
  const sid = await made()
  const once = { status: 'ok', first: 1, last: 2, bufferedAmount: 2 }
  assert.deepEqual(await a.appendOutgoing(sid, 1, ['x', 'y'], undefined, '1:1'), once)
  // The bytes are not known again: -1, the owner counts them itself.
  assert.deepEqual(await a.appendOutgoing(sid, 1, ['x', 'y'], undefined, '1:1'), { ...once, bufferedAmount: -1 })
  assert.deepEqual(await a.appendOutgoing(sid, 1, ['z'], undefined, '1:2'), {
    status: 'ok',
    first: 3,
    last: 3,
    bufferedAmount: 3,
  })
  // Without an id nothing is remembered: each call appends.
  assert.deepEqual(await a.appendOutgoing(sid, 1, ['z']), { status: 'ok', first: 4, last: 4, bufferedAmount: 4 })
  const r = await a.readOutgoing(sid, 1)
  assert.ok(r.status == 'ok')
  assert.deepEqual(r.messages, ['x', 'y', 'z', 'z'])
  // Only the last write's id is kept: an older one is a new write (the owner never sends one).
  assert.deepEqual(await a.appendOutgoing(sid, 1, ['w'], undefined, '1:2'), {
    status: 'ok',
    first: 5,
    last: 5,
    bufferedAmount: 5,
  })
})

test('a node that joined again as a new one hears hints on its new channel only', async () => {
  const n = await store(redis.url, 'nodeRejoin')
  await n.lease.heartbeat()
  const heard: string[] = []
  const listen = () => n.listen((h) => heard.push(h.sid))
  await listen()
  const old = n.channel
  await n.lease.rejoin(listen)
  assert.notEqual(n.channel, old)
  // Published in this order on one connection: the old one's would arrive first.
  await n.link.command(['PUBLISH', old, 'e to-the-old-id'])
  await n.link.command(['PUBLISH', n.channel, 'e to-the-new-id'])
  assert.ok(await until(() => heard.length > 0, 2000))
  assert.deepEqual(heard, ['to-the-new-id'])
})
