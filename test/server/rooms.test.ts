// Rooms in one process: session.join/leave, ll.to(room).send, ll.broadcast; room messages in each
// member's own log, so they resume exactly once and in order like the session's own messages.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { start, stopAll, ws, until } from './raw'

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
