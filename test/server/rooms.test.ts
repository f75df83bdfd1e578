// Rooms: session.join/leave, ll.to(room).send, ll.broadcast; room messages in each member's own
// log, so they resume exactly once and in order like the session's own messages. In one process,
// and the order of room messages on both stores (the last part).
import { test, after, it } from 'node:test'
import assert from 'node:assert/strict'
import { hello, linkOf, req, start, stopAll, storeCluster, ws, until } from './raw'
import { eachStore } from './stores'
import { nodeClient } from './client'

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

// Rooms as logs (issue 27, PROTOCOL.md §6.5): a client that sends its positions (`g`) gets each
// room's messages by offset, outside its own sequence, and each room resumes after its position.
const G = (got: object) => 'v=2&t=websocket&ack=0&o=1&g=' + encodeURIComponent(JSON.stringify(got))
const got = (g: object) => '&g=' + encodeURIComponent(JSON.stringify(g))

/** A confirmed polling session on `r` whose client holds positions; `poll(g)` is its next poll, with `g`. */
async function pollMember(r: Awaited<ReturnType<typeof start>>) {
  const first = await req(r.port, 'GET', 'v=2&t=polling&ack=0&o=1' + got({}))
  const sid: string = hello(first.frames).sid
  await req(r.port, 'POST', `v=2&t=polling&sid=${sid}&ack=0`, ['s1', 'u1', 'p'])
  return { sid, poll: (g: object) => req(r.port, 'GET', `v=2&t=polling&sid=${sid}&ack=0` + got(g)) }
}
/** The room messages of `frames`, as `room:offset:text`, and the session's own as `s:seq:text`. */
function tagged(frames: unknown[]) {
  const out: string[] = []
  let stream = 's'
  let n = 0
  for (const f of frames) {
    if (typeof f != 'string') continue
    if (f[0] == 's') ((stream = 's'), (n = +f.slice(1)))
    else if (f[0] == 'r') ((n = +f.slice(1, f.indexOf(' '))), (stream = f.slice(f.indexOf(' ') + 1)))
    else if (f[0] == 'x') out.push('reset:' + f.slice(f.indexOf(' ') + 1) + ':' + f.slice(1, f.indexOf(' ')))
    else for (const m of texts([f])) out.push(stream + ':' + n++ + ':' + m)
  }
  return out
}

/** `tagged` without the offsets: `room:text`, `s:text`. */
const inRooms = (frames: unknown[]) => tagged(frames).map((t) => t.replace(/:\d+:/, ':'))

test('with positions, room messages go by offset outside the session’s sequence; rooms resume after them', async () => {
  const r = await start({}, false)
  const { c, s } = await member(r, G({}))
  const old = await member(r)
  s.join('news')
  s.join('fx')
  old.s.join('news')
  for (let i = 1; i <= 4; i++) {
    assert.equal(await r.ll.to('news').send('n' + i), 2)
    s.send('own' + i)
  }
  r.ll.to('fx').send('f1')
  await until(() => tagged(c.frames).includes('fx:1:f1'))
  assert.deepEqual(tagged(c.frames), [
    'news:1:n1',
    's:1:own1',
    'news:2:n2',
    's:2:own2',
    'news:3:n3',
    's:3:own3',
    'news:4:n4',
    's:4:own4',
    'fx:1:f1',
  ])
  assert.equal(s.sent, 4, 'room messages are not in the session’s sequence')
  assert.deepEqual(texts(old.c.frames), ['n1', 'n2', 'n3', 'n4'], 'a client without positions: as before')
  // Away having had news up to 2 and no fx, own messages up to 1.
  c.sock.terminate()
  await until(() => s.transport == null)
  r.ll.to('news').send('n5')
  r.ll.to('fx').send('f2')
  const back = ws(r.port, G({ news: 2 }).replace('ack=0', 'ack=1') + '&sid=' + s.id)
  await until(() => tagged(back.frames).includes('fx:2:f2'))
  assert.deepEqual(tagged(back.frames), [
    's:2:own2',
    's:3:own3',
    's:4:own4',
    'news:3:n3',
    'news:4:n4',
    'news:5:n5',
    'fx:1:f1',
    'fx:2:f2',
  ])
  await r.stop()
})

test('a position older than the room’s history gets `x` with the next offset, then only new messages', async () => {
  const r = await start({ roomHistorySize: 3 }, false)
  const { c, s } = await member(r, G({}))
  s.join('news')
  r.ll.to('news').send('n1')
  await c.until((f) => f === 'mn1')
  c.sock.terminate()
  await until(() => s.transport == null)
  for (let i = 2; i <= 6; i++) r.ll.to('news').send('n' + i)
  const back = ws(r.port, G({ news: 1 }) + '&sid=' + s.id)
  await back.until((f) => f === 'x7 news')
  r.ll.to('news').send('n7')
  await back.until((f) => f === 'mn7')
  assert.deepEqual(tagged(back.frames), ['reset:news:7', 'news:7:n7'])
  // Still within the history: no reset.
  back.sock.terminate()
  await until(() => s.transport == null)
  r.ll.to('news').send('n8')
  const again = ws(r.port, G({ news: 6 }) + '&sid=' + s.id)
  await until(() => tagged(again.frames).includes('news:8:n8'))
  assert.deepEqual(tagged(again.frames), ['news:7:n7', 'news:8:n8'])
  await r.stop()
})

test('a room made afresh starts above every offset given out; one rejoining starts where it joined', async () => {
  const r = await start({}, false)
  const a = await member(r, G({}))
  a.s.join('news')
  for (let i = 1; i <= 3; i++) r.ll.to('news').send('n' + i)
  await until(() => tagged(a.c.frames).length == 3)
  a.s.leave('news')
  assert.equal(await r.ll.to('news').send('not a member'), 0, 'no members: no room, no offset')
  a.s.join('news')
  r.ll.to('news').send('n4')
  await a.c.until((f) => f === 'mn4')
  // The room ends with its last member and is made again: its offsets go on above 4.
  a.s.leave('news')
  a.s.join('news')
  r.ll.to('news').send('again')
  await a.c.until((f) => f === 'magain')
  assert.deepEqual(tagged(a.c.frames), ['news:1:n1', 'news:2:n2', 'news:3:n3', 'news:4:n4', 'news:5:again'])
  await r.stop()
})

test('every poll carries the positions: a poll answer lost on its way is written again', async () => {
  const r = await start({}, false)
  const { sid, poll } = await pollMember(r)
  const s = r.ll.sessions.get(sid)!
  s.join('news')
  r.ll.to('news').send('n1')
  r.ll.to('news').send('n2')
  const lost = await poll({})
  assert.deepEqual(tagged(lost.frames), ['news:1:n1', 'news:2:n2'])
  const again = await poll({ news: 1 })
  assert.deepEqual(tagged(again.frames), ['news:2:n2'])
  await r.stop()
})

// The real client: every room message once and in order through dropped connections, on each
// transport; a room reset when it was away past the history. On both stores: in cluster mode
// from the room's log in Redis.
eachStore((store) => {
  for (const t of ['websocket', 'stream', 'polling'] as const) {
    it(`${t}: the real client gets every room message once, in order, through drops; then a roomreset`, async () => {
      const r = await start({ roomHistorySize: 50 }, false)
      r.ll.on('connection', (s) => s.join('ticker'))
      const ll = nodeClient(`http://127.0.0.1:${r.port}/rt`, t)
      const heard: string[] = []
      const resets: string[] = []
      ll.on('message', (e) => heard.push(String(e.data)))
      ll.on('roomreset', (e) => resets.push(e.room))
      await until(() => r.sessions.length == 1 && r.sessions[0].rooms.length == 1)
      const sid = r.sessions[0].id
      let n = 0
      for (let round = 0; round < 5; round++) {
        // Some go out on the link, the rest while the client has none: within the history, all arrive.
        for (let i = 0; i < 10; i++) r.ll.to('ticker').send('t' + n++)
        await until(() => heard.length > n - 10, 5000, 'the first of round ' + round)
        // (A poll may be between requests: no link to drop.)
        linkOf(r, sid, t)?.end(true)
        for (let i = 0; i < 30; i++) r.ll.to('ticker').send('t' + n++)
        await until(() => heard.length == n, 5000, n + ' messages')
      }
      assert.deepEqual(
        heard,
        [...Array(n).keys()].map((i) => 't' + i),
      )
      assert.deepEqual(resets, [])
      // Away while 60 go out: the 50 the room keeps do not reach back to the client's position. (In one
      // process the 60 are kept before the client can come back; in cluster mode raw peers test it below.)
      if (store == 'memory') {
        linkOf(r, sid, t)!.end(true)
        for (let i = 0; i < 60; i++) r.ll.to('ticker').send('gone' + i)
        await until(() => resets.length == 1, 5000, 'the reset')
        r.ll.to('ticker').send('new')
        await until(() => heard.length == n + 1)
        assert.deepEqual([resets, heard.slice(n)], [['ticker'], ['new']])
      }
      assert.equal(r.sessions.length, 1, 'one session throughout')
      ll.close()
      await r.stop()
    })
  }
})

// The real client forgets its position in a room its session left (`r0`), live and across a drop,
// so the `g` of its requests names only the rooms it is in (issue 27).
eachStore(() => {
  for (const t of ['websocket', 'stream', 'polling'] as const) {
    it(`${t}: the real client forgets the rooms its session left, on the link and across a drop`, async () => {
      const r = await start({}, false)
      r.ll.on('connection', (s) => {
        s.join('a')
        s.join('b')
      })
      const ll = nodeClient(`http://127.0.0.1:${r.port}/rt`, t)
      const heard: string[] = []
      ll.on('message', (e) => heard.push(String(e.data)))
      await until(() => r.sessions.length == 1 && r.sessions[0].rooms.length == 2)
      const s = r.sessions[0]
      await r.ll.to('a').send('a1')
      await r.ll.to('b').send('b1')
      await until(() => heard.length == 2)
      const positions = () => [...ll._session._receiver._rooms.keys()].sort()
      assert.deepEqual(positions(), ['a', 'b'])
      s.leave('a')
      await until(() => positions().length == 1, 5000, 'a forgotten')
      // (A poll may be between requests: no link to drop.)
      linkOf(r, s.id, t)?.end(true)
      s.leave('b')
      await until(() => positions().length == 0, 5000, 'b forgotten')
      await r.ll.to('b').send('not a member')
      s.send('own')
      await until(() => heard.length == 3)
      assert.deepEqual(heard, ['a1', 'b1', 'own'])
      assert.equal(r.sessions.length, 1, 'one session throughout')
      ll.close()
      await r.stop()
    })
  }
})

eachStore(() => {
  it('raw peers: a room resumes after the position sent; past the history a reset, then only new ones', async () => {
    const r = await start({ roomHistorySize: 3 }, false)
    const { c, s } = await member(r, G({}))
    s.join('news')
    await r.ll.to('news').send('n1')
    await until(() => tagged(c.frames).length == 1)
    const at = (k: number) => +tagged(c.frames)[0].split(':')[1] + k - 1
    c.sock.terminate()
    await until(() => s.transport == null)
    for (let i = 2; i <= 6; i++) await r.ll.to('news').send('n' + i)
    const back = ws(r.port, G({ news: at(1) }) + '&sid=' + s.id)
    await back.until((f) => f === 'x' + at(7) + ' news')
    await r.ll.to('news').send('n7')
    await until(() => tagged(back.frames).length == 2)
    assert.deepEqual(tagged(back.frames), ['reset:news:' + at(7), 'news:' + at(7) + ':n7'])
    back.sock.terminate()
    await until(() => s.transport == null)
    await r.ll.to('news').send('n8')
    const again = ws(r.port, G({ news: at(6) }) + '&sid=' + s.id)
    await until(() => tagged(again.frames).length == 2)
    assert.deepEqual(tagged(again.frames), ['news:' + at(7) + ':n7', 'news:' + at(8) + ':n8'], 'within the history')
    await r.stop()
  })

  it('a room the session left gets `r0 <room>`, live and on a connection whose positions still name it', async () => {
    const r = await start({}, false)
    const { c, s } = await member(r, G({}))
    s.join('news')
    s.join('fx')
    await r.ll.to('news').send('n1')
    await until(() => tagged(c.frames).length == 1)
    s.leave('news')
    s.send('own1')
    await c.until((f) => f === 'r0 news')
    await c.until((f) => f === 'mown1')
    // `r0` ends the room run: the session's own message after it has its `s` again.
    assert.deepEqual(inRooms(c.frames), ['news:n1', 's:own1'])
    // Back with positions in the room it left and in one it never joined: both go; fx, where it is, stays.
    c.sock.terminate()
    await until(() => s.transport == null)
    const back = ws(r.port, G({ news: 1, never: 7 }).replace('ack=0', 'ack=1') + '&sid=' + s.id)
    await back.until((f) => f === 'r0 never')
    await r.ll.to('fx').send('f1')
    await until(() => tagged(back.frames).length == 1)
    const left = back.frames.filter((f) => typeof f == 'string' && f.startsWith('r0 '))
    assert.deepEqual(left.sort(), ['r0 never', 'r0 news'])
    assert.deepEqual(inRooms(back.frames), ['fx:f1'])
  })

  it('a poll answer carries the room messages ready with the session’s own, as in one process', async () => {
    const r = await start({}, false)
    const { poll } = await pollMember(r)
    await until(() => r.sessions.length == 1)
    const s = r.sessions[0]
    s.join('news')
    // The owner keeps the call order: the session's own message is in its log before the room's.
    s.send('own1')
    await r.ll.to('news').send('n1')
    // Cluster mode answered with the session's own and left the room's for the next poll.
    assert.deepEqual(inRooms((await poll({})).frames), ['s:own1', 'news:n1'])
  })

  it('latest values: a member coming back gets the newest of each key it missed, and every other message', async () => {
    const r = await start({}, false)
    const { c, s } = await member(r, G({}))
    s.join('ticker')
    await r.ll.to('ticker').send('EUR 0', { latest: 'EUR' })
    await until(() => tagged(c.frames).length == 1)
    const at = (k: number) => +tagged(c.frames)[0].split(':')[1] + k
    c.sock.terminate()
    await until(() => s.transport == null)
    const sent: Array<[string, string | true | undefined]> = [
      ['EUR 1', 'EUR'],
      ['GBP 1', 'GBP'],
      ['note', undefined],
      ['EUR 2', 'EUR'],
      ['rate 1', true],
      ['rate 2', true],
    ]
    for (const [m, latest] of sent) await r.ll.to('ticker').send(m, { latest })
    const back = ws(r.port, G({ ticker: at(0) }) + '&sid=' + s.id)
    await until(() => tagged(back.frames).some((x) => x.endsWith('rate 2')))
    assert.deepEqual(tagged(back.frames), [
      'ticker:' + at(2) + ':GBP 1',
      'ticker:' + at(3) + ':note',
      'ticker:' + at(4) + ':EUR 2',
      'ticker:' + at(6) + ':rate 2',
    ])
    assert.throws(() => r.ll.to('ticker').send('x', { latest: 5 as never }), { code: 'LL_ERR_INVALID_OPTION' })
    await r.stop()
  })
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
      // In a batch (`M`) with the room messages before it, when they were read from the log together.
      await until(() => texts(c.frames).includes('end'), 5000, 'end')
      for (const p of ['a', 'b']) {
        const mine = texts(c.frames).filter((m) => m[0] == p)
        const first = mine.length ? +mine[0].slice(1) : 0
        assert.deepEqual(mine, run(p, first, mine.length), 'a run, in order')
      }
    }
  })

  it('three nodes with positions: every room message once, in offset order; resumed on another node', async () => {
    const all = await nodes(3)
    const members = []
    for (let i = 0; i < 9; i++) members.push(await member(all[i % 3], G({})))
    for (const m of members) m.s.join('fx')
    // Each node's message comes after its own joins: once all three are in, every member is.
    for (const n of all) await n.ll.to('fx').send('w')
    const N = 15
    const sends: Promise<number>[] = []
    for (let i = 0; i < N; i++) all.forEach((n, k) => sends.push(n.ll.to('fx').send(k + ':' + i)))
    assert.ok(
      (await Promise.all(sends)).every((n) => n == 9),
      'every send counts the nine',
    )
    /** `fx`'s messages after the joins, as [offset, text]. */
    const got = (frames: unknown[]) =>
      tagged(frames)
        .map((t) => t.split(':'))
        .filter(([room, , m]) => room == 'fx' && m != 'w')
        .map(([, offset, ...m]) => [+offset, m.join(':')] as [number, string])
    for (const { c } of members)
      await until(() => got(c.frames).length >= 3 * N, 10000, 'every message at every member')
    const order = got(members[0].c.frames)
    for (const { c } of members) assert.deepEqual(got(c.frames), order, 'the same offsets and messages everywhere')
    assert.deepEqual(
      order.map(([offset]) => offset - order[0][0]),
      [...Array(3 * N).keys()],
      'consecutive offsets',
    )
    for (let k = 0; k < 3; k++) {
      const mine = order.map(([, m]) => m).filter((m) => m.startsWith(k + ':'))
      assert.deepEqual(mine, run(k + ':', 0, N), "node's send() order")
    }
    // Away with its position at the 10th, back on another node while more go out: the rest once, in order.
    const { c, s } = members[0]
    c.sock.terminate()
    await until(() => s.transport == null)
    for (let i = N; i < N + 5; i++) for (const n of all) await n.ll.to('fx').send('late' + i)
    const back = ws(all[1].port, G({ fx: order[9][0] }) + '&sid=' + s.id)
    await until(() => got(back.frames).length == 3 * N - 10 + 15, 10000, 'the rest')
    assert.deepEqual(got(back.frames).slice(0, 3 * N - 10), order.slice(10))
    assert.deepEqual(
      got(back.frames)
        .slice(3 * N - 10)
        .map(([, m]) => m),
      [...Array(15).keys()].map((j) => 'late' + (N + Math.floor(j / 3))),
    )
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
