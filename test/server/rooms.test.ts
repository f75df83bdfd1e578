// Rooms: session.join/leave, ll.to(room).send, ll.broadcast; room messages in each member's own
// log, so they resume exactly once and in order like the session's own messages. In one process,
// and the order of room messages on both stores (the last part).
import { test, after, it } from 'node:test'
import assert from 'node:assert/strict'
import { start, stopAll, storeCluster, ws, until } from './raw'
import { eachStore } from './stores'

after(stopAll)

/** A confirmed WebSocket session on `r`; resolves to its raw peer and its server session. */
async function member(r: Awaited<ReturnType<typeof start>>, query?: string) {
  const c = ws(r.port, query)
  await c.hello()
  c.sock.send('u1')
  const before = r.sessions.length
  c.sock.send('p')
  await until(() => r.sessions.length > before)
  return { c, s: r.sessions[r.sessions.length - 1] }
}

/** The text messages in `frames`, one by one (a batch frame `M[...]` carries several). */
const texts = (frames: unknown[]) =>
  frames.flatMap((f) =>
    typeof f != 'string' ? [] : f[0] == 'm' ? [f.slice(1)] : f[0] == 'M' ? JSON.parse(f.slice(1)) : [],
  )
const has = (frames: unknown[], m: string) => texts(frames).includes(m)

test('a room message reaches its members only; leave() and a session ending take a member out', async () => {
  const r = await start({}, false)
  const [a, b, c] = [await member(r), await member(r), await member(r)]
  a.s.join('room:1')
  b.s.join('room:1')
  b.s.join('room:2')
  assert.deepEqual(b.s.rooms, ['room:1', 'room:2'])
  assert.equal(await r.ll.to('room:1').send('one'), 2)
  await a.c.until((f) => f === 'mone')
  await b.c.until((f) => f === 'mone')
  b.s.leave('room:1')
  b.s.leave('never joined')
  assert.equal(await r.ll.to('room:1').send('two'), 1)
  await a.c.until((f) => f === 'mtwo')
  a.s.close()
  assert.deepEqual(a.s.rooms, [], 'an ended session is in no room')
  assert.equal(await r.ll.to('room:1').send('three'), 0)
  assert.equal(await r.ll.to('room:2').send('four'), 1)
  await b.c.until((f) => f === 'mfour')
  assert.deepEqual(texts(b.c.frames), ['one', 'four'])
  assert.deepEqual(texts(c.c.frames), [], 'not a member: nothing')
  assert.equal(r.ll.broadcast('all'), 2, 'broadcast: every confirmed session still open')
  await c.c.until((f) => f === 'mall')
  await r.stop()
})

test('room messages and the session’s own interleave in one sequence and resume once, in order', async () => {
  const r = await start({}, false)
  const { c, s } = await member(r)
  s.join('news')
  const want: string[] = []
  for (let i = 0; i < 20; i++) {
    const m = 'm' + i
    want.push(m)
    if (i % 2) r.ll.to('news').send(m)
    else s.send(m)
  }
  await until(() => has(c.frames, 'm19'))
  // The client had the first 7 and drops the connection without acknowledging the rest.
  c.sock.terminate()
  await until(() => s.transport == null)
  for (let i = 20; i < 25; i++) {
    want.push('m' + i)
    r.ll.to('news').send('m' + i)
  }
  const back = ws(r.port, `v=2&t=websocket&ack=7&o=1&sid=${s.id}`)
  await until(() => has(back.frames, 'm24'))
  const seq = back.frames.find((f) => typeof f == 'string' && f[0] == 's')
  assert.equal(seq, 's8', 'resent from the first unacknowledged')
  assert.deepEqual(texts(back.frames), want.slice(7))
  await r.stop()
})

test('rooms refuse bad names and bad data with stable codes; a closed session cannot join', async () => {
  const r = await start({}, false)
  const { s } = await member(r)
  assert.throws(() => s.join(''), { code: 'LL_ERR_INVALID_OPTION' })
  assert.throws(() => s.join(42 as unknown as string), { code: 'LL_ERR_INVALID_OPTION' })
  assert.throws(() => r.ll.to(undefined as unknown as string), { code: 'LL_ERR_INVALID_OPTION' })
  assert.throws(() => r.ll.to('x').send({} as unknown as string), { code: 'LL_ERR_INVALID_DATA' })
  assert.throws(() => r.ll.broadcast(null as unknown as string), { code: 'LL_ERR_INVALID_DATA' })
  assert.equal(await r.ll.to('nobody here').send('x'), 0)
  s.close()
  assert.throws(() => s.join('late'), { code: 'LL_ERR_INVALID_STATE' })
  await r.stop()
})

test('a room member past its buffer bound ends with 3900; the others get the message', async () => {
  const r = await start({ maxQueueLength: 3 }, false)
  const [a, b] = [await member(r), await member(r)]
  a.s.join('r')
  b.s.join('r')
  // b's client never acknowledges; a's acknowledges everything.
  for (let i = 1; i <= 4; i++) {
    a.c.sock.send('a' + (i - 1))
    assert.equal(await r.ll.to('r').send('x' + i), i < 4 ? 2 : 1, 'message ' + i)
    await a.c.until((f) => f === 'mx' + i)
    a.c.sock.send('a' + i)
    await until(() => a.s.bufferedAmount == 0)
  }
  assert.equal(b.s.closed, true)
  await b.c.until((f) => typeof f == 'string' && f.startsWith('c3900'))
  assert.deepEqual(a.s.rooms, ['r'])
  assert.deepEqual(b.s.rooms, [])
  await r.stop()
})

// Issue 27: room messages arrived out of order in cluster mode, none lost or doubled. A fan-out
// takes several scripts (`fanoutChunk` members each) over the members as each `send()` read them;
// overlapping ones from one node ran side by side, and a member that an earlier script of the
// later one reached (the set's order had changed: members left) had m2 before m1.
eachStore(() => {
  /** `p` + `from`, `p` + (`from` + 1)…, `n` of them. */
  const run = (p: string, from: number, n: number) => [...Array(n).keys()].map((i) => p + (from + i))

  /** `n` nodes on one store (on memory, the one server `n` times); a fan-out runs one script per member. */
  async function nodes(n: number) {
    const cluster = storeCluster({ fanoutChunk: 1 })
    const first = await start({ cluster }, false)
    const all = [first]
    while (all.length < n) all.push(cluster ? await start({ cluster }, false) : first)
    return all
  }

  it("each node's room messages reach every member in its send() order, with members coming and going", async () => {
    const [a, b] = await nodes(2)
    const members = []
    for (let i = 0; i < 64; i++) members.push(await member(i % 2 ? b : a))
    // 60 members at first, 30 on each node; 12 leave and 4 join midway.
    const [leaving, joining, staying] = [members.slice(0, 12), members.slice(60), members.slice(12, 60)]
    for (const m of members.slice(0, 60)) m.s.join('order')
    // Each node's message comes after its own joins: once both are in, every member is.
    await a.ll.to('order').send('w')
    assert.equal(await b.ll.to('order').send('w'), 60)
    const N = 30
    const sends: Promise<number>[] = []
    for (let i = 0; i < N; i++) {
      sends.push(a.ll.to('order').send('a' + i), b.ll.to('order').send('b' + i))
      // Back to back, and some a tick apart, never waiting for the ones before.
      if (i % 7 == 3) await new Promise((ok) => setImmediate(ok))
      if (i == 10) for (const m of leaving) m.s.leave('order')
      if (i == 12) for (const m of joining) m.s.join('order')
    }
    assert.ok(
      (await Promise.all(sends)).every((n) => n >= 48),
      'the members staying took every message',
    )
    for (const { c } of staying) {
      const sent = () => texts(c.frames).filter((m) => m != 'w')
      await until(() => sent().length >= 2 * N, 10000, 'every room message at every member')
      for (const p of ['a', 'b']) {
        const mine = texts(c.frames).filter((m) => m[0] == p)
        assert.deepEqual(mine, run(p, 0, N), 'once, in order')
      }
    }
    // Those that came or went have a run of each node's: no gaps, no repeats, in order.
    for (const { c, s } of [...leaving, ...joining]) {
      s.send('end')
      await c.until((f) => f === 'mend')
      for (const p of ['a', 'b']) {
        const mine = texts(c.frames).filter((m) => m[0] == p)
        const first = mine.length ? +mine[0].slice(1) : 0
        assert.deepEqual(mine, run(p, first, mine.length), 'a run, in order')
      }
    }
  })

  it("one node's messages to a session and to its rooms reach the session in the order it sent them", async () => {
    const [a] = await nodes(1)
    const members = []
    for (let i = 0; i < 8; i++) members.push(await member(a))
    for (const m of members) m.s.join('mixed')
    const want: string[] = []
    for (let i = 0; i < 30; i++) {
      for (const m of members) m.s.send('d' + i)
      void a.ll.to('mixed').send('r' + i)
      want.push('d' + i, 'r' + i)
      if (i % 7 == 3) await new Promise((ok) => setImmediate(ok))
    }
    for (const { c } of members) {
      await until(() => texts(c.frames).length >= want.length, 10000, 'every message at every member')
      assert.deepEqual(texts(c.frames), want)
    }
  })
})
