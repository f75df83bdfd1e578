// The session's connections with a fake clock and fake transports: opening, resuming,
// resetting, heartbeats, reconnect policy, closing.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { LifelineCore, LifelineError } from '../../../src/client/index'
import { FakeClock, Lifeline, POLL, client, flush, made, WS } from './fakes'

test('a new session: proven both ways, it activates; open fires once; queued messages go together', async () => {
  const { ll, clock, of } = client()
  ll.send('a')
  ll.send('b')
  await flush()
  assert.equal(made.length, 1)
  assert.match(made[0].url, /^http:\/\/example\.test\/rt\?v=2&t=websocket&ack=0&o=1&hb=25000&why=preferred&g=%7B%7D$/)
  assert.equal(of('open').length, 0)
  made[0].hello('S'.repeat(22))
  await flush()
  assert.deepEqual(
    [of('open').length, made[0].sent],
    [0, ['p']],
    'the hello proves one direction: a ping asks the other',
  )
  made[0].recv('q')
  await flush()
  assert.equal(of('open').length, 1)
  assert.equal(ll.sessionId, 'S'.repeat(22))
  assert.deepEqual(made[0].sent.slice(0, 4), ['p', 'u1', 's1', 'M["a","b"]'])
  ll.send('c')
  await flush()
  assert.equal(made[0].sent.at(-1), 'mc')
  assert.equal(ll.bufferedAmount, 3)
  made[0].recv('a2')
  assert.equal(ll.bufferedAmount, 1, 'acknowledged bytes are released')
  await clock.tick(100)
})

test('the resume URL names only the rooms the session is in: `r0 <room>` drops a position', async () => {
  const { clock } = client()
  await flush()
  made[0].prove('R'.repeat(22))
  for (const f of ['r5 news', 'mn5', 'r9 fx', 'mf9', 'r0 news', 's1', 'mown']) made[0].recv(f)
  made[0].drop()
  await clock.tick(0)
  assert.equal(made.length, 2)
  assert.match(made[1].url, new RegExp('&g=' + encodeURIComponent(JSON.stringify({ fx: 9 })) + '$'))
})

test('an `r0` after a resumed connection’s hello, before it carries the session, drops the position too', async () => {
  const { clock } = client()
  await flush()
  made[0].prove('R'.repeat(22))
  for (const f of ['r5 news', 'mn5', 'r9 fx', 'mf9']) made[0].recv(f)
  made[0].drop()
  await clock.tick(0)
  assert.match(made[1].url, new RegExp('&g=' + encodeURIComponent(JSON.stringify({ news: 5, fx: 9 })) + '$'))
  // The server writes `r0` as soon as the resumed connection carries the session on its side.
  made[1].hello('R'.repeat(22))
  made[1].recv('r0 news')
  made[1].recv('q')
  await flush()
  made[1].drop()
  await clock.tick(1000)
  assert.equal(made.length, 3)
  assert.match(made[2].url, new RegExp('&g=' + encodeURIComponent(JSON.stringify({ fx: 9 })) + '$'))
})

// and only what the server lacks is resent
test('resume: after a drop the same session is asked for with the cursor', async () => {
  const { ll, clock, of } = client()
  await flush()
  made[0].prove('R'.repeat(22))
  made[0].recv('s1')
  made[0].recv('mfrom server 1')
  for (const m of ['1', '2', '3', '4']) ll.send(m)
  await flush()
  made[0].recv('a1')
  made[0].drop()
  assert.equal(ll.state, 'reconnecting')
  assert.equal(ll.readyState, 1, 'OPEN-compatible while reconnecting')
  ll.send('5')
  await clock.tick(0)
  assert.equal(made.length, 2)
  assert.match(made[1].url, /ack=1&sid=RRRRRRRRRRRRRRRRRRRRRR&o=1/)
  made[1].hello('R'.repeat(22), 3)
  made[1].recv('q')
  await flush()
  // The server said it has 1..3: only 4 and 5 go again, numbered from 4.
  assert.deepEqual(made[1].sent.slice(0, 4), ['p', 'u2', 's4', 'M["4","5"]'])
  assert.equal(of('open').length, 1, 'open does not fire again on resume')
  assert.equal(of('close').length, 0)
  assert.equal(of('reset').length, 0)
  assert.equal(ll.state, 'open')
})

// and keeps what never left
test('reset: a server that lost the session hands back what may have reached it', async () => {
  const { ll, clock, of } = client()
  await flush()
  made[0].prove('A'.repeat(22))
  ll.send('sent-unacked')
  await flush()
  made[0].drop()
  ll.send('never-sent')
  await clock.tick(0)
  made[1].recv('c3901 session unknown or expired')
  await clock.tick(0)
  assert.equal(made.length, 3)
  assert.doesNotMatch(made[2].url, /sid=/, 'a new session is asked for')
  made[2].prove('B'.repeat(22))
  await flush()
  const reset = of('reset')
  assert.equal(reset.length, 1)
  assert.deepEqual(reset[0].unacked, ['sent-unacked'])
  assert.equal(reset[0].reason, 'session-closed-3901', 'says why the old session ended')
  assert.deepEqual(
    of('open').map((e) => e.reset),
    [false, true],
    'open fires for the new session, flagged as a reset',
  )
  assert.deepEqual(made[2].texts, ['never-sent'])
  assert.equal(ll.sessionId, 'B'.repeat(22))
})

test('close from the server with an app code ends for good; a restartable code starts a new session', async () => {
  const a = client()
  await flush()
  made[0].prove()
  made[0].recv('c4100 kicked')
  await flush()
  assert.deepEqual(
    a.of('close').map((e) => [e.code, e.reason, e.wasClean]),
    [[4100, 'kicked', true]],
  )
  assert.equal(a.ll.state, 'closed')
  const b = client()
  await flush()
  made[0].prove()
  made[0].recv('c1012 restarting')
  await b.clock.tick(0)
  assert.equal(b.of('close').length, 0)
  assert.equal(b.ll.state, 'reconnecting')
  assert.equal(made.length, 2)
})

// a late timer (throttled tab) gets one ping of grace
test('heartbeat: silence past interval + timeout drops the connection', async () => {
  const { ll, clock, of } = client({ heartbeatTimeout: 5000 })
  await flush()
  const t = made[0]
  t.prove(undefined, 0, 10000)
  await clock.tick(14999)
  assert.equal(ll.state, 'open')
  await clock.tick(1)
  assert.equal(ll.state, 'reconnecting')
  assert.equal(of('reconnecting')[0].cause, 'heartbeat-timeout')

  const b = client({ heartbeatTimeout: 5000 })
  await flush()
  made[0].prove(undefined, 0, 10000)
  // The page was frozen: the wall clock moved a minute, no timer ran.
  b.clock.jump(60000)
  await b.clock.tick(0)
  await b.clock.tick(1)
  assert.equal(b.ll.state, 'open', 'a late check does not condemn at once')
  assert.equal(made[0].sent.at(-1), 'p', 'it pings instead')
  made[0].recv('q')
  await b.clock.tick(5000)
  assert.equal(b.ll.state, 'open', 'the answer keeps it alive')
})

// attempts reset after minUptime
test('reconnect policy: first retry at once, then exponential backoff with full jitter', async () => {
  const { ll, clock, of } = client({ minDelay: 100, maxDelay: 1000, factor: 2, jitter: false, minUptime: 5000 })
  await flush()
  made[0].prove()
  await clock.tick(6000)
  made[0].drop()
  for (let i = 1; i < 6; i++) {
    await clock.tick(1000)
    made[i].drop('refused')
  }
  assert.deepEqual(
    of('reconnecting').map((e) => e.delay),
    [0, 100, 200, 400, 800, 1000],
  )
  await clock.tick(1000)
  made.at(-1)!.prove()
  await clock.tick(6000)
  made.at(-1)!.drop()
  assert.equal(of('reconnecting').at(-1)!.delay, 0, 'a connection that stayed up resets the count')
  assert.equal(ll.state, 'reconnecting')
})

test('maxRetries: gives up with 1006 and the cause, handing back what never got acknowledged', async () => {
  const { ll, clock, of } = client({ maxRetries: 2 })
  ll.send('x')
  await flush()
  // Each within the backoff (at most 1 s here), before a hung one would get a twin.
  made[0].drop('refused')
  await clock.tick(2000)
  made[1].drop('refused')
  await clock.tick(2000)
  made[2].drop('refused')
  await clock.tick(2000)
  const c = of('close')
  assert.equal(c.length, 1)
  assert.equal(c[0].code, 1006)
  assert.equal(c[0].reason, 'websocket-refused')
  assert.deepEqual(c[0].unacked, ['x'])
  assert.equal(ll.readyState, 3)
})

// then fires close asynchronously
test('close(): flushes queued messages, says goodbye with code and reason', async () => {
  const { ll, of } = client()
  await flush()
  made[0].prove()
  ll.send('last words')
  ll.close(4000, 'done')
  assert.equal(ll.readyState, 2)
  assert.deepEqual(made[0].sent.slice(-2), ['mlast words', 'c4000 done'])
  assert.ok(made[0].stopped)
  assert.equal(of('close').length, 0, 'not synchronously')
  await flush()
  assert.deepEqual(
    of('close').map((e) => [e.code, e.reason, e.wasClean]),
    [[4000, 'done', true]],
  )
  ll.close()
  await flush()
  assert.equal(of('close').length, 1, 'close fires once')
})

test('invalid URL and unknown transport names are errors with codes', () => {
  assert.throws(
    () => client({ transports: ['carrier-pigeon' as never] }),
    (e: LifelineError) => e.code == 'LL_ERR_INVALID_OPTION',
  )
  for (const url of ['ftp://example.test/rt', 'not a url', '/relative-without-a-page'])
    assert.throws(
      () => new LifelineCore(url, { storage: null }, [WS]),
      (e: LifelineError) => e.code == 'LL_ERR_INVALID_URL',
      url,
    )
  assert.equal(
    new LifelineCore('wss://example.test/rt?x=1#frag', { storage: null, clock: new FakeClock() }, [WS]).url,
    'https://example.test/rt?x=1',
  )
})

// a dead connection is replaced and the session resumes within the TTL
test('laptop sleep: a long clock jump is checked with a ping', async () => {
  const { ll, clock, of } = client({ heartbeatTimeout: 5000 })
  await flush()
  made[0].prove('Z'.repeat(22), 0, 10000)
  clock.jump(10 * 60000)
  await clock.tick(0)
  assert.equal(made[0].sent.at(-1), 'p', 'woken late: it asks before it condemns')
  await clock.tick(5000)
  assert.equal(of('reconnecting')[0].cause, 'heartbeat-timeout', 'no answer: the connection died in the sleep')
  await clock.tick(0)
  assert.match(made[1].url, /sid=Z{22}/)
  made[1].prove('Z'.repeat(22))
  assert.equal(ll.state, 'open')
  assert.deepEqual([of('reset').length, of('open').length], [0, 1], 'resumed: no reset, no second open')
})

test('laptop sleep past the TTL: the server has forgotten the session; the reset is visible', async () => {
  const { ll, clock, of } = client({ heartbeatTimeout: 5000 })
  await flush()
  made[0].prove('Z'.repeat(22), 0, 10000)
  ll.send('sent before the sleep')
  await flush()
  clock.jump(10 * 60000)
  await clock.tick(5000)
  await clock.tick(0)
  made[1].recv('c3901 session unknown or expired')
  await clock.tick(0)
  made[2].prove('N'.repeat(22))
  assert.equal(of('reset').length, 1)
  assert.deepEqual(of('reset')[0].unacked, ['sent before the sleep'])
  assert.deepEqual(
    of('open').map((e) => e.reset),
    [false, true],
  )
  assert.equal(ll.sessionId, 'N'.repeat(22))
})

// Regression (CI, origins through nginx-host on stream): the server's welcome, sent from its
// `connection` handler, came in after the hello and before the proof pong, and reached the app
// before `open`, with `transport` still null.
test('messages that come before the proof pong are delivered after open, with the transport set', async () => {
  const { ll, clock, of } = client()
  const seen: unknown[] = []
  ll.on('open', () => seen.push(['open', ll.transport]))
  ll.on('message', (e: { data: unknown }) => seen.push([e.data, ll.transport, ll.state]))
  await flush()
  made[0].hello('W'.repeat(22))
  made[0].recv('s1')
  made[0].recv('mwelcome')
  made[0].recv('mtwo')
  await flush()
  assert.deepEqual(seen, [], 'nothing before the connection is proven both ways')
  made[0].recv('q')
  await flush()
  assert.deepEqual(seen, [
    ['open', 'websocket'],
    ['welcome', 'websocket', 'open'],
    ['two', 'websocket', 'open'],
  ])
  // The server rewinds on `u` and sends them again: the duplicates are dropped, the next is new.
  made[0].recv('s1')
  made[0].recv('mwelcome')
  made[0].recv('mtwo')
  made[0].recv('mthree')
  await flush()
  assert.deepEqual(
    seen.slice(3).map((m) => (m as unknown[])[0]),
    ['three'],
  )
  await clock.tick(100)
  assert.equal(of('close').length, 0)
})

// and the server still has them, so nothing is lost
test('messages held on a connection dropped before its proof are not counted as received', async () => {
  const { ll, clock } = client()
  const got: unknown[] = []
  ll.on('message', (e: { data: unknown }) => got.push(e.data))
  await flush()
  made[0].hello('H'.repeat(22))
  made[0].recv('s1')
  made[0].recv('mone')
  made[0].drop()
  await clock.tick(5000)
  const next = made.at(-1)!
  assert.match(next.url, /ack=0&sid=HHHHHHHHHHHHHHHHHHHHHH/, 'the cursor says nothing arrived')
  next.hello('H'.repeat(22))
  next.recv('q')
  next.recv('s1')
  next.recv('mone')
  await flush()
  assert.deepEqual(got, ['one'])
})

// Issue 25: a server that ended sessions for what a relay did to uploads made every later send()
// throw. A protocol error on an established session is a reset; only a run of them is final.
test('a server 1002 on an established session is a reset; the maxProtocolErrors-th in a minute closes', async () => {
  const { ll, clock, of } = client()
  await flush()
  made[0].prove('A'.repeat(22))
  ll.send('kept')
  await flush()
  made[0].recv('c1002 protocol error: too many out-of-order uploads')
  await clock.tick(0)
  assert.equal(ll.state, 'reconnecting')
  assert.equal(of('close').length, 0)
  made.at(-1)!.prove('B'.repeat(22))
  await flush()
  assert.deepEqual(
    of('reset').map((e) => [e.reason, e.unacked]),
    [['session-closed-1002', ['kept']]],
  )
  ll.send('still works')
  // The second within the minute waits for a backoff before the new session.
  made.at(-1)!.recv('c1002 protocol error')
  await clock.tick(0)
  const delays = of('reconnecting').map((e) => e.delay)
  assert.ok(delays.at(-1)! > 0, 'backoff before the second reset: ' + delays)
  await clock.tick(delays.at(-1)!)
  made.at(-1)!.prove('C'.repeat(22))
  await flush()
  assert.equal(of('reset').length, 2)
  // The third within the minute: closed with the server's code and reason.
  made.at(-1)!.recv('c1002 protocol error: again')
  await flush()
  assert.deepEqual(
    of('close').map((e) => [e.code, e.reason]),
    [[1002, 'protocol error: again']],
  )
  assert.equal(ll.state, 'closed')
})

test('server 1002s more than a minute apart never add up to a close', async () => {
  // connectTimeout past the 30 s waits: no attempt here hangs, nor gets a twin.
  const { ll, clock, of } = client({ maxProtocolErrors: 2, connectTimeout: 100000 })
  await flush()
  made[0].prove('A'.repeat(22))
  for (const sid of ['B', 'C', 'D']) {
    made.at(-1)!.recv('c1002 protocol error')
    await clock.tick(0)
    await clock.tick(30000)
    made.at(-1)!.prove(sid.repeat(22))
    await flush()
    await clock.tick(31000)
  }
  assert.equal(of('reset').length, 3)
  assert.equal(of('close').length, 0)
  assert.equal(ll.state, 'open')
})

test('a 1002 before any session (refused at the first hello) closes at once', async () => {
  const { ll, of } = client()
  await flush()
  made[0].recv('c1002 protocol error: unsupported version')
  await flush()
  assert.deepEqual(
    of('close').map((e) => e.code),
    [1002],
  )
  assert.equal(ll.state, 'closed')
})

// Issue 25, seed 7 of the randomized network: the hello came, the proof ping was lost, the server
// let the unconfirmed session go (3901), and the app got a `reset` for a session it never had.
test('a session that never opened is no reset: its 3901 starts the first session afresh', async () => {
  const { ll, clock, of } = client()
  ll.send('queued')
  await flush()
  made[0].hello('A'.repeat(22))
  made[0].drop()
  await clock.tick(0)
  made.at(-1)!.recv('c3901 session unknown or expired')
  await clock.tick(0)
  made.at(-1)!.prove('B'.repeat(22))
  await flush()
  assert.equal(of('reset').length, 0)
  assert.deepEqual(
    of('open').map((e) => e.reset),
    [false],
  )
  assert.deepEqual(made.at(-1)!.texts, ['queued'], 'what the app queued goes on the first session it gets')
  assert.equal(ll.sessionId, 'B'.repeat(22))
})

// Issue 25, a fresh seed of the randomized network: a poll's batch of 2,340 messages on a
// connection without a hello was 2,340 protocol errors and 2,340 reconnect attempts in one task,
// and the backoff that followed held the session 40 s.
test('a batch of messages before any hello is one protocol error and one reconnect, not one per message', async () => {
  const { ll, of } = client({}, [POLL])
  await flush()
  made[0].emit('open')
  made[0].emit('batch', ['s5', 'M["a","b","c","d"]'], () => {})
  assert.equal(of('error').length, 1)
  assert.equal(of('reconnecting').length, 1)
  assert.ok(made[0].stopped)
  assert.equal(ll.readyState, Lifeline.CONNECTING)
})
