// LifelineServer in cluster mode, in this process: two nodes on one real redis-server, each
// request going to the other node in turn (what round robin without stickiness does), raw peers.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { startRedis } from '../../support/redis.mjs'
import { LifelineServer } from '../../../src/server/index'
import { start, stopAll, ws, req, hello, until, pollSession, closeOf, throwingHandlers, type Running } from '../raw'
import { store, closeStores, newSid } from './redis-helpers'
import { KEY_LAYOUT } from '../../../src/server/cluster/store'

let redis: Awaited<ReturnType<typeof startRedis>>
before(async () => {
  redis = await startRedis()
})
after(async () => {
  await stopAll()
  await closeStores()
  await redis.remove()
})

const cluster = (o = {}) => ({
  cluster: { redis: redis.url, prefix: 't' + Math.random().toString(36).slice(2, 8) + ':', nodeLease: 600, ...o },
})

/** Two echo nodes sharing one prefix. */
async function two(echo = true): Promise<[Running, Running]> {
  const c = cluster()
  return [await start(c, echo), await start(c, echo)]
}

/** The text messages in `frames`, one by one (a batch frame `M[...]` carries several). */
const texts = (frames: unknown[]): string[] =>
  frames.flatMap((f) =>
    typeof f != 'string' ? [] : f[0] == 'm' ? [f.slice(1)] : f[0] == 'M' ? JSON.parse(f.slice(1)) : [],
  )

test('the cluster option is checked: bad values throw LL_ERR_INVALID_OPTION', () => {
  const bad = [
    null,
    'redis://x',
    {},
    { redis: 'http://x' },
    { redis: 5 },
    { redis: 'redis://h', nodeLease: 10 },
    { redis: 'redis://h', nodeLease: 1.5 },
    { redis: 'redis://h', prefix: 'a b' },
    { redis: 'redis://h', fanoutChunk: 0 },
    { redis: 'redis://h', maxPublishQueue: 0 },
    { redis: 'redis://h', maxPublishQueue: 2.5 },
    { redis: 'redis://h', durable: 'yes' },
    { redis: { rootNodes: [] } },
    { redis: { rootNodes: 'redis://h:7000' } },
  ]
  for (const c of bad)
    assert.throws(
      () => new LifelineServer({ cluster: c as never }),
      { code: 'LL_ERR_INVALID_OPTION' },
      JSON.stringify(c),
    )
  assert.throws(() => new LifelineServer({ cluster: { redis: 'redis://h' }, upstream: 'ws://127.0.0.1:1/' }), {
    code: 'LL_ERR_INVALID_OPTION',
  })
})

test('polling across two nodes, each request to the other: numbered messages both ways, once, in order', async () => {
  const [a, b] = await two()
  const nodes = [a, b]
  let turn = 0
  const next = () => nodes[turn++ % 2].port
  const first = await req(next(), 'GET', 'v=2&t=polling&ack=0&o=1')
  const sid = hello(first.frames).sid
  const N = 200
  const got: string[] = []
  let sent = 0
  let ack = 0
  while (got.length < N) {
    if (sent < N) {
      const batch = ['s' + (sent + 1)]
      if (sent == 0) batch.push('u1')
      for (let i = 0; i < 10 && sent < N; i++) batch.push('m' + ++sent)
      const post = await req(next(), 'POST', `v=2&t=polling&sid=${sid}&ack=${ack}`, batch)
      assert.equal(post.status, 200, post.text)
      assert.ok(post.frames.includes('a' + sent), JSON.stringify(post.frames))
    }
    const poll = await req(next(), 'GET', `v=2&t=polling&sid=${sid}&ack=${ack}`)
    const seq = poll.frames.find((f) => typeof f == 'string' && f[0] == 's') as string | undefined
    if (seq) {
      const from = +seq.slice(1)
      const ms = texts(poll.frames)
      // What the client has is dropped, as a client does (a resend after a lost response).
      for (let i = 0; i < ms.length; i++) if (from + i == got.length + 1) got.push(ms[i])
      ack = got.length
    }
  }
  assert.deepEqual(
    got,
    Array.from({ length: N }, (_, i) => String(i + 1)),
  )
  const owner = [a, b].find((r) => r.sessions.length)!
  assert.deepEqual(owner.received.get(owner.sessions[0])!, got, 'the app had each once, in order, on one node')
  assert.equal(a.sessions.length + b.sessions.length, 1, 'one owner runs the handlers')
})

// Issue 25: answered 200 with the ack, the client took its slot back for the next body (a gap
// too) and never sent the refused messages again: the session stalled.
test('a POST that overtook the one before it, which never comes, is refused 503; sent again, it is taken', async () => {
  const [a, b] = await two()
  const sid = await pollSession(a.port)
  const q = `v=2&t=polling&sid=${sid}&ack=0`
  const early = await req(b.port, 'POST', q, ['s3', 'mc'])
  assert.equal(early.status, 503, early.text)
  // Its predecessor, then the refused body again, as the client sends them after a reconnect.
  assert.equal((await req(a.port, 'POST', q, ['s1', 'ma', 'mb'])).status, 200)
  const again = await req(b.port, 'POST', q, ['s3', 'mc'])
  assert.deepEqual([again.status, again.frames.includes('a3')], [200, true])
  const owner = [a, b].find((r) => r.sessions.length)!
  await until(() => owner.received.get(owner.sessions[0])!.length == 3)
  assert.deepEqual(owner.received.get(owner.sessions[0]), ['a', 'b', 'c'])
  assert.equal(owner.sessions[0].closed, false)
})

test('stream on one node, uploads to the other: the echo of every message arrives once, in order', async () => {
  const [a, b] = await two()
  const frames: unknown[] = []
  const stream = req(a.port, 'GET', 'v=2&t=stream&ack=0&o=1', undefined, {}, (fs) => frames.push(...fs))
  stream.catch(() => {})
  await until(() => frames.length > 0)
  const sid = hello(frames as never).sid
  const N = 300
  for (let sent = 0; sent < N;) {
    const batch = ['s' + (sent + 1)]
    if (sent == 0) batch.push('u1')
    for (let i = 0; i < 25; i++) batch.push('m' + ++sent)
    const post = await req(b.port, 'POST', `v=2&t=stream&sid=${sid}&ack=0`, batch)
    assert.equal(post.status, 200)
  }
  await until(() => texts(frames).length >= N, 10000, 'all echoes on the stream')
  assert.deepEqual(
    texts(frames),
    Array.from({ length: N }, (_, i) => String(i + 1)),
  )
  assert.equal(a.sessions.length, 1, 'the node that made the session owns it')
  assert.equal(b.sessions.length, 0)
})

test('WebSocket resumes on the other node a session made by polling; the owner stays where it was', async () => {
  const [a, b] = await two()
  const first = await req(a.port, 'GET', 'v=2&t=polling&ack=0&o=1')
  const sid = hello(first.frames).sid
  await req(a.port, 'POST', `v=2&t=polling&sid=${sid}&ack=0`, ['s1', 'u1', 'mone', 'mtwo'])
  const c = ws(b.port, `v=2&t=websocket&ack=0&o=1&sid=${sid}`)
  const h = await c.hello()
  assert.equal(h.ack, 2, 'the hello says what Redis has')
  c.sock.send('u2')
  c.sock.send('s3')
  c.sock.send('mthree')
  await until(() => texts(c.frames).length >= 3)
  assert.deepEqual(texts(c.frames), ['one', 'two', 'three'])
  await c.until((f) => f === 'a3', 2000)
  assert.deepEqual(a.received.get(a.sessions[0]), ['one', 'two', 'three'])
  c.sock.send('c4000 bye')
  await until(() => a.sessions[0].closed)
  const late = await req(b.port, 'GET', `v=2&t=polling&sid=${sid}&ack=3&o=1`)
  assert.deepEqual(late.frames, ['c4000 bye'], 'an ended session answers its close on any node')
})

test('rooms across nodes: members on both nodes get every room message once, in order; broadcast too', async () => {
  const [a, b] = await two(false)
  const cs = [ws(a.port), ws(b.port), ws(a.port), ws(b.port)]
  await Promise.all(cs.map((c) => c.hello()))
  for (const c of cs) (c.sock.send('u1'), c.sock.send('p'))
  await until(() => a.sessions.length == 2 && b.sessions.length == 2)
  for (const s of [...a.sessions, ...b.sessions].slice(0, 3)) s.join('room')
  // A node's room message comes after that node's joins; one node's joins and another's message race
  // as in any cluster: a message from each node first puts both nodes' joins in Redis.
  await Promise.all([a, b].map((r) => r.ll.to('nobody').send('')))
  const N = 50
  for (let i = 1; i <= N; i++) {
    const from = i % 2 ? a : b
    assert.equal(await from.ll.to('room').send('r' + i), 3)
  }
  const members = cs.filter((c, i) => [0, 2, 1].includes(i))
  await until(() => members.every((c) => texts(c.frames).length >= N), 10000, 'room messages everywhere')
  for (const c of members)
    assert.deepEqual(
      texts(c.frames),
      Array.from({ length: N }, (_, i) => 'r' + (i + 1)),
    )
  assert.deepEqual(texts(cs[3].frames), [], 'not a member')
  a.ll.broadcast('all')
  await until(() => cs.every((c) => texts(c.frames).includes('all')), 5000, 'broadcast everywhere')
})

/** Room messages in `frames` as `offset:text` (PROTOCOL.md §6.5: `r<n> <room>` starts a run). */
function roomRun(frames: unknown[]): string[] {
  const out: string[] = []
  let n = 0
  for (const f of frames) {
    if (typeof f != 'string') continue
    if (f[0] == 'r') n = +f.slice(1, f.indexOf(' '))
    else if (f[0] == 'm' || f[0] == 'M') for (const m of texts([f])) out.push(n++ + ':' + m)
  }
  return out
}

test('rooms as logs across nodes: one order for every member, once; a member resumes on the other node', async () => {
  const [a, b] = await two(false)
  const G = 'v=2&t=websocket&ack=0&o=1&g=%7B%7D'
  const cs = [ws(a.port, G), ws(b.port, G), ws(a.port, G)]
  await Promise.all(cs.map((c) => c.hello()))
  for (const c of cs) (c.sock.send('u1'), c.sock.send('p'))
  await until(() => a.sessions.length == 2 && b.sessions.length == 1)
  for (const s of [...a.sessions, ...b.sessions]) s.join('fx')
  await Promise.all([a, b].map((r) => r.ll.to('nobody').send('')))
  const N = 60
  const sends: Promise<number>[] = []
  for (let i = 1; i <= N; i++) sends.push((i % 2 ? a : b).ll.to('fx').send('m' + i))
  assert.deepEqual(new Set(await Promise.all(sends)), new Set([3]))
  await until(() => cs.every((c) => roomRun(c.frames).length == N), 10000, 'every room message everywhere')
  const order = roomRun(cs[0].frames)
  const first = +order[0].split(':')[0]
  assert.deepEqual(
    order.map((x) => +x.split(':')[0]),
    Array.from({ length: N }, (_, i) => first + i),
    'consecutive offsets',
  )
  for (const c of cs.slice(1)) assert.deepEqual(roomRun(c.frames), order, 'the same order at every member')
  for (const node of ['a', 'b']) {
    const mine = order.map((x) => +x.split(':m')[1]).filter((k) => k % 2 == (node == 'a' ? 1 : 0))
    assert.deepEqual(
      mine,
      [...mine].sort((p, q) => p - q),
      "each node's in its send() order",
    )
  }
  // The member on a moves to b, having had the first 20; 5 more go out meanwhile.
  const sid = hello(cs[0].frames).sid
  cs[0].sock.terminate()
  await until(() => a.sessions[0].transport == null)
  for (let i = N + 1; i <= N + 5; i++) await a.ll.to('fx').send('m' + i)
  const g = encodeURIComponent(JSON.stringify({ fx: first + 19 }))
  const moved = ws(b.port, `v=2&t=websocket&ack=0&o=1&sid=${sid}&g=${g}`)
  await until(() => roomRun(moved.frames).length == N + 5 - 20, 10000, 'the rest on the other node')
  assert.deepEqual(
    roomRun(moved.frames).map((x) => x.split(':')[1]),
    [...order.slice(20).map((x) => x.split(':')[1]), 'm61', 'm62', 'm63', 'm64', 'm65'],
  )
})

test('maxSessionsPerAddress holds per node in cluster mode: one more is refused with 3929', async () => {
  const r = await start({ ...cluster(), maxSessionsPerAddress: 2 })
  for (let i = 0; i < 2; i++) hello((await req(r.port, 'GET', 'v=2&t=polling&ack=0&o=1')).frames)
  const third = await req(r.port, 'GET', 'v=2&t=polling&ack=0&o=1')
  assert.deepEqual(third.frames, ['c3929 too many sessions from this address'])
})

test('maxSessions (1013) and maxSessionsPerAddress (3929) count the whole cluster, not each node', async () => {
  for (const [opt, code] of [
    ['maxSessions', 'c1013'],
    ['maxSessionsPerAddress', 'c3929'],
  ] as const) {
    const c = { ...cluster(), [opt]: 2 }
    const a = await start(c, false)
    const b = await start(c, false)
    // One session on each node: per node there is room for one more, in the cluster none.
    const first = await pollSession(a.port)
    await pollSession(b.port, 'stream')
    for (const node of [a, b]) {
      for (const t of ['polling', 'stream'])
        assert.match(closeOf((await req(node.port, 'GET', `v=2&t=${t}&ack=0&o=1`)).frames)!, new RegExp('^' + code))
      assert.match((await ws(node.port).until((f) => typeof f == 'string')) as string, new RegExp('^' + code))
    }
    // The client ends the first session with a POST to the other node: its place is free again.
    const bye = await req(b.port, 'POST', `v=2&t=polling&sid=${first}&ack=0`, ['c1000 bye'])
    assert.equal(bye.status, 200, bye.text)
    await ws(a.port).hello()
    assert.match((await ws(b.port).until((f) => typeof f == 'string')) as string, new RegExp('^' + code))
    // Told at warn by each node's logger, as in one process.
    for (const node of [a, b])
      assert.deepEqual(node.logged, [
        `warn [lifeline] new session refused with ${code.slice(1)}: ${opt} 2 reached (logged at most once a minute)`,
      ])
    await a.stop()
    await b.stop()
  }
})

test("cluster mode logs as one process does: the app's handlers that threw, at warn", async () => {
  const r = await start(cluster())
  const sid = await throwingHandlers(r)
  await until(() => r.logged.length >= 2)
  assert.deepEqual(
    r.logged.map((l) => l.split('\n')[0]),
    [
      'warn [lifeline] connection handler threw: Error: app bug in connection',
      'warn [lifeline] message handler threw: Error: app bug in message',
    ],
  )
  assert.ok(
    r.logged.every((l) => !l.includes(sid)),
    'no session id below debug',
  )
})

// Regression (issue 26, the randomized fault test: 20 echoes lost on a polling session after a Redis
// restart). A node that joined again under a new id after its lease lapsed took the sessions of its
// old id over twice at once (two requests, or a request and its sweep): the second claim found it its own
// already and was given the same fencing token, so two owners ran side by side, their append ids
// alike, and one's append of the app's replies was answered as a retry of the other's, not made.
test('requests that take one orphaned session over at once make one owner: one connection, replies once', async () => {
  const c = cluster()
  const sid = newSid()
  // Its owner is a node whose lease is gone; the app there never had the three messages its client sent.
  const gone = await store(redis.url, 'gone', { prefix: c.cluster.prefix })
  await gone.createSession(sid, { origin: '', address: '127.0.0.1', reliable: true })
  await gone.recordIncoming(sid, 1, ['a', 'b', 'c'])
  const b = await start(c)
  const polls = Array.from({ length: 4 }, () => req(b.port, 'GET', `v=2&t=polling&ack=0&o=1&sid=${sid}`))
  for (const p of await Promise.all(polls)) assert.equal(hello(p.frames).sid, sid)
  await until(async () => ((await gone.readOutgoing(sid, 1)) as { last: number }).last >= 3)
  await req(b.port, 'POST', `v=2&t=polling&sid=${sid}&ack=0`, ['s4', 'md'])
  await until(async () => ((await gone.readOutgoing(sid, 1)) as { last: number }).last >= 4)
  const log = await gone.readOutgoing(sid, 1)
  assert.deepEqual(log.status == 'ok' && log.messages, ['a', 'b', 'c', 'd'], 'every reply once, in order')
  assert.equal(b.sessions.length, 1, 'one connection event')
  assert.deepEqual(b.received.get(b.sessions[0]), ['a', 'b', 'c', 'd'])
})

test('maxPublishQueue: a room message past it is refused, so is broadcast (LL_ERR_BUFFER_FULL)', async () => {
  const r = await start(cluster({ maxPublishQueue: 3 }), false)
  const c = ws(r.port, 'v=2&t=websocket&ack=0&o=1&g=' + encodeURIComponent('{}'))
  await c.hello()
  c.sock.send('u1')
  c.sock.send('p')
  await until(() => r.sessions.length == 1)
  r.sessions[0].join('q')
  // Sent in one turn: none is in Redis before the fourth.
  const sent = ['q1', 'q2', 'q3'].map((m) => r.ll.to('q').send(m))
  await assert.rejects(r.ll.to('q').send('q4'), { code: 'LL_ERR_BUFFER_FULL' })
  assert.throws(() => r.ll.broadcast('everyone'), { code: 'LL_ERR_BUFFER_FULL' })
  assert.deepEqual(await Promise.all(sent), [1, 1, 1])
  assert.equal(await r.ll.to('q').send('q5'), 1, 'room again once they are in Redis')
  await until(() => texts(c.frames).includes('q5'), 5000, 'q5 arrived')
  assert.deepEqual(texts(c.frames), ['q1', 'q2', 'q3', 'q5'])
})

test('a room’s channel is dropped a pass after the node serves no member of it; taken again for one back', async () => {
  const prefix = 't' + Math.random().toString(36).slice(2, 8) + ':'
  const r = await start({ cluster: { redis: redis.url, prefix, nodeLease: 600 } }, false)
  const c = ws(r.port, 'v=2&t=websocket&ack=0&o=1&g=' + encodeURIComponent('{}'))
  await c.hello()
  c.sock.send('u1')
  c.sock.send('p')
  await until(() => r.sessions.length == 1)
  const s = r.sessions[0]
  const probe = await store(redis.url, 'probe')
  const channel = prefix + KEY_LAYOUT + ':rc:{fx}'
  const subscribers = async () => ((await probe.link.command(['PUBSUB', 'NUMSUB', channel])) as number[])[1]
  s.join('fx')
  await until(async () => (await subscribers()) == 1, 5000, 'subscribed')
  await r.ll.to('fx').send('one')
  await c.until((f) => f === 'mone')
  s.leave('fx')
  // Unsubscribed after a whole reconcile pass (every nodeLease) with no member here.
  await until(async () => (await subscribers()) == 0, 5000, 'unsubscribed')
  s.join('fx')
  await until(async () => (await subscribers()) == 1, 5000, 'subscribed again')
  await r.ll.to('fx').send('two')
  await c.until((f) => f === 'mtwo')
})

test('a node stopping while Redis is gone stops within nodeLease: its Redis connections are dropped', async () => {
  const gone = await startRedis()
  const r = await start({ cluster: { redis: gone.url, nodeLease: 600 } }, false)
  const c = ws(r.port, 'v=2&t=websocket&ack=0&o=1')
  await c.hello()
  c.sock.send('u1')
  c.sock.send('p')
  await until(() => r.sessions.length == 1)
  // Held and owned here: stopping lets go of it and releases it, writes a Redis killed now never answers.
  await new Promise((ok) => setTimeout(ok, 400))
  await gone.kill()
  r.ll.close()
  const dropped = /Redis did not answer while this node stopped/
  await until(() => r.logged.some((l) => dropped.test(l)), 5000, 'connections dropped after nodeLease')
  await gone.remove()
})

test('close() resolves once the node has let go of its sessions and closed its Redis connections', async () => {
  const c = cluster()
  const keys = c.cluster.prefix + KEY_LAYOUT + ':holds:*'
  const r = await start(c, false)
  const probe = await store(redis.url, 'probe')
  const held = async () => ((await probe.link.command(['KEYS', keys])) as Buffer[]).length
  const connections = async () =>
    String(await probe.link.command(['CLIENT', 'LIST']))
      .trim()
      .split('\n').length
  const s = ws(r.port, 'v=2&t=websocket&ack=0&o=1')
  await s.hello()
  s.sock.send('u1')
  s.sock.send('p')
  await until(async () => (await held()) == 1, 5000, 'held')
  const before = await connections()
  const closing = r.ll.close()
  assert.equal(r.ll.close(), closing, 'the same promise again')
  await closing
  assert.equal(await held(), 0, 'let go first')
  assert.equal(before - (await connections()), 2, 'its command connection and its subscriber are closed')
})
