// What a server does the same on both stores (stores.ts): in one process and on a one-node cluster
// over a real redis-server. Each test was a difference between the two (issue 26's first table);
// raw protocol peers, so that each frame is the one meant.
import { after, it } from 'node:test'
import assert from 'node:assert/strict'
import type { Frame } from '../../src/protocol/frames'
import { ServerSession } from '../../src/server/index'
import { closeOf, hello, pollSession, req, start, stopAll, until, ws, wsSession } from './raw'
import { eachStore } from './stores'

after(() => stopAll())

const acks = (frames: Frame[]) => frames.filter((f) => typeof f == 'string' && f[0] == 'a')

/** A new WebSocket session on `r` sends `close` once confirmed: the code and reason it ends with. */
async function clientCloses(r: Awaited<ReturnType<typeof start>>, close: string): Promise<[number, string]> {
  const n = r.sessions.length + 1
  const c = await wsSession(r.port)
  await until(() => r.sessions.length == n, 5000, 'confirmed')
  const closed = new Promise<[number, string]>((ok) => r.sessions[n - 1].on('close', (...a) => ok(a)))
  c.sock.send(close)
  return closed
}

eachStore(() => {
  it('a fresh session whose client sent u1, s1 and nothing else is acknowledged nothing (no a1)', async () => {
    const r = await start()
    const c = await wsSession(r.port)
    await until(() => r.sessions.length == 1, 5000, 'confirmed')
    // The server's acknowledgement of a first frame came 100 ms after it (ACK_DELAY): wait past that.
    await new Promise((ok) => setTimeout(ok, 400))
    assert.deepEqual(acks(c.frames), [], 'no acknowledgement of a message never sent: ' + JSON.stringify(c.frames))
    c.sock.send('mone')
    await c.until((f) => f == 'a1')
    assert.deepEqual(r.received.get(r.sessions[0]), ['one'])
    c.sock.close()
  })

  it("a POST's answer: pongs in the order of the pings, the acknowledgement last", async () => {
    const r = await start()
    const sid = hello((await req(r.port, 'GET', 'v=2&t=polling&ack=0&o=1')).frames).sid
    const post = await req(r.port, 'POST', `v=2&t=polling&sid=${sid}&ack=0`, ['s1', 'u1', 'p1', 'mx', 'p2'])
    assert.deepEqual(post.frames, ['q1', 'q2', 'a1'])
  })

  it('a POST that breaks the protocol or maxMessageSize: 400, and the session ends with 1002 or 1009', async () => {
    const r = await start({ maxMessageSize: 10 })
    for (const [bad, code] of [
      ['M{', 'c1002 '],
      ['m' + 'x'.repeat(11), 'c1009 '],
    ]) {
      const sid = await pollSession(r.port)
      const q = `v=2&t=polling&sid=${sid}&ack=0`
      assert.equal((await req(r.port, 'POST', q, ['s1', bad])).status, 400, bad)
      assert.ok(closeOf((await req(r.port, 'GET', q + '&o=1')).frames)!.startsWith(code), bad)
    }
  })

  // Issue 25: answered at once, an upload that overtook another freed the client's slot for the
  // next, and behind one slow request they piled up until the session was closed with 1002.
  it('an early POST is answered once the one before it is in; one that waits in vain gets 503', async () => {
    const r = await start({ requestTimeout: 1500 })
    const sid = await pollSession(r.port)
    const q = `v=2&t=polling&sid=${sid}&ack=0`
    let answered = false
    const late = req(r.port, 'POST', q, ['s3', 'mc']).then((a) => ((answered = true), a))
    await new Promise((ok) => setTimeout(ok, 100))
    assert.equal(answered, false, 'held while the one before it is missing')
    assert.equal((await req(r.port, 'POST', q, ['s1', 'ma', 'mb'])).status, 200)
    const a = await late
    assert.deepEqual([a.status, acks(a.frames).at(-1)], [200, 'a3'])
    await until(() => r.sessions.length == 1 && r.received.get(r.sessions[0])!.length == 3, 5000, 'all three')
    assert.deepEqual(r.received.get(r.sessions[0]), ['a', 'b', 'c'])
    // The one before it never comes: refused, and the session goes on (the client sends both again).
    assert.equal((await req(r.port, 'POST', q, ['s5', 'me'])).status, 503)
    assert.equal(r.sessions[0].closed, false)
    assert.equal((await req(r.port, 'POST', q, ['s4', 'md', 'me'])).status, 200)
    await until(() => r.received.get(r.sessions[0])!.length == 5, 5000, 'all five')
    assert.deepEqual(r.received.get(r.sessions[0]), ['a', 'b', 'c', 'd', 'e'])
  })

  it('a POST for an unknown session: 200 and the close frame in the body (PROTOCOL.md §4.2)', async () => {
    const r = await start()
    const post = await req(r.port, 'POST', `v=2&t=polling&sid=${'A'.repeat(22)}&ack=0`, ['s1', 'mx'])
    assert.equal(post.status, 200)
    assert.match(closeOf(post.frames) || '', /^c3901 /)
  })

  it("a client's close code is checked: 3900-3999 are Lifeline's own (1002)", async () => {
    const r = await start()
    const [code, reason] = await clientCloses(r, 'c3900 not yours')
    assert.equal(code, 1002)
    assert.match(reason, /bad close code/)
    // A code a client may give reaches the app as it was given.
    assert.deepEqual(await clientCloses(r, 'c4000 bye'), [4000, 'bye'])
  })

  // PROTOCOL.md §2: numbers are decimal digits, nothing else. `c1e3` was taken for 1000 (`+'1e3'`).
  it("a client's close code that is not decimal digits is a protocol error (1002), not a close", async () => {
    const r = await start()
    assert.deepEqual(await clientCloses(r, 'c1e3 not a code'), [1002, 'protocol error: bad close code "1e3"'])
  })

  // In one process the sessions end (1001); in cluster mode the node lets them go for another to
  // take over. Either way the app hears `close` 1001 for each before close() settles.
  it('close() returns one promise, settled once the app has heard every session close with 1001', async () => {
    const r = await start()
    await wsSession(r.port)
    await until(() => r.sessions.length == 1, 5000, 'confirmed')
    const heard: number[] = []
    r.sessions[0].on('close', (code) => heard.push(code))
    const closing = r.ll.close()
    assert.equal(r.ll.close(), closing, 'the same promise again')
    await closing
    assert.deepEqual(heard, [1001])
    assert.equal(r.ll.sessions.size, 0)
  })

  it('maxSessions: the place of a session the app closed is free for the next one at once', async () => {
    const r = await start({ maxSessions: 1 })
    await wsSession(r.port)
    await until(() => r.sessions.length == 1, 5000, 'confirmed')
    assert.match(String(await ws(r.port).until((f) => typeof f == 'string')), /^c1013 /, 'full')
    r.sessions[0].close()
    assert.equal((await ws(r.port).until((f) => typeof f == 'string'))[0], 'o', 'a new session in its place')
  })

  it('broadcast() returns how many confirmed sessions it sends to', async () => {
    const r = await start({}, false)
    const a = await wsSession(r.port)
    const sid = await pollSession(r.port)
    await until(() => r.sessions.length == 2, 5000, 'two confirmed')
    ws(r.port) // a hello only: not confirmed, not counted
    assert.equal(r.ll.broadcast('to all'), 2)
    await a.until((f) => f == 'mto all')
    const poll = await req(r.port, 'GET', `v=2&t=polling&sid=${sid}&ack=0`)
    assert.ok(poll.frames.includes('mto all'), JSON.stringify(poll.frames))
  })

  it('session.sent, bufferedAmount, delivered, drain and transport as documented', async () => {
    const r = await start({ maxBufferedAmount: 1000 }, false)
    const c = await wsSession(r.port)
    await until(() => r.sessions.length == 1, 5000, 'confirmed')
    const s = r.sessions[0]
    await until(() => s.transport == 'websocket', 5000, 'transport websocket, was ' + s.transport)
    const delivered: number[] = []
    let drained = 0
    s.on('delivered', (n) => delivered.push(n))
    s.on('drain', () => drained++)
    assert.equal(s.sent, 0)
    for (let i = 1; i <= 6; i++) s.send(String(i).repeat(100))
    assert.equal(s.sent, 6, 'numbered as sent')
    assert.equal(s.bufferedAmount, 600)
    await c.until((f) => typeof f == 'string' && f.includes('6'.repeat(100)))
    assert.equal(s.bufferedAmount, 600, 'written, not acknowledged')
    c.sock.send('a4')
    await until(() => delivered.at(-1) == 4, 5000, 'delivered 4, got ' + delivered)
    assert.equal(s.bufferedAmount, 200)
    assert.equal(drained, 1, 'past half, then below a quarter')
    c.sock.send('a6')
    await until(() => delivered.at(-1) == 6, 5000, 'delivered 6')
    assert.deepEqual([delivered, s.bufferedAmount, drained], [[4, 6], 0, 1])
    c.sock.close()
    await until(() => s.transport == null, 5000, 'no transport once the WebSocket is gone')
  })

  // Regression (issue 26): the server ended the link at heartbeat + heartbeatTimeout because it
  // heard nothing, though it was sending all along; a ping now makes the client speak.
  it('a fire-and-forget client that only receives keeps its WebSocket while the server sends', async () => {
    const r = await start({ heartbeatTimeout: 1000, sweepInterval: 100 }, false)
    const c = ws(r.port, 'v=2&t=websocket&ack=0&o=1&r=0&hb=1000')
    await c.hello()
    c.sock.send('u1')
    // The client answers pings, as the real client does, and says nothing else.
    c.sock.on('message', (d) => String(d)[0] == 'p' && c.sock.send('q' + String(d).slice(1)))
    await until(() => r.sessions.length == 1, 5000, 'confirmed')
    const s = r.sessions[0]
    let n = 0
    const t0 = Date.now()
    // Past heartbeat + heartbeatTimeout (2 s) twice over.
    while (Date.now() - t0 < 4500) {
      s.send('tick ' + ++n)
      await new Promise((ok) => setTimeout(ok, 50))
    }
    await c.until((f) => f == 'mtick ' + n)
    assert.equal(c.sock.readyState, c.sock.OPEN, 'the link is still up')
    assert.ok(
      c.frames.some((f) => typeof f == 'string' && f[0] == 'p'),
      'the server pinged',
    )
    const got = c.frames.flatMap((f) =>
      typeof f != 'string' ? [] : f[0] == 'm' ? [f.slice(1)] : f[0] == 'M' ? (JSON.parse(f.slice(1)) as string[]) : [],
    )
    assert.deepEqual(
      got,
      Array.from({ length: n }, (_, i) => 'tick ' + (i + 1)),
      'every one, on the one link',
    )
    // What was written is forgotten: never acknowledged, it would be held for good (in Redis, ~110 B each).
    await until(() => s.bufferedAmount == 0, 5000, 'nothing held, was ' + s.bufferedAmount)
    c.sock.close()
  })

  // Issue 26: cluster mode handed the app a session class of its own, which only looked like one.
  it('the app gets a ServerSession, the same class, with its members', async () => {
    const r = await start()
    const c = await wsSession(r.port)
    await until(() => r.sessions.length == 1, 5000, 'confirmed')
    const s = r.sessions[0]
    assert.ok(s instanceof ServerSession, s.constructor.name)
    assert.equal(r.ll.sessions.get(s.id), s)
    assert.deepEqual([s.takenOver, s.reliable, s.closed, s.transport], [false, true, false, 'websocket'])
    c.sock.close()
  })
})
