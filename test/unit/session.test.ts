// The session logic with a fake clock and fake transports: numbering, acknowledgement,
// resending, deduplication, reset, heartbeats, reconnect policy, send bounds.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { LifelineCore, LifelineError } from '../../src/client/index'
import { FakeClock, client, flush, made, WS, POLL } from './fakes'

test('a new session: hello activates the transport, open fires once, queued messages go out in one batch', async () => {
  const { ll, clock, of } = client()
  ll.send('a')
  ll.send('b')
  await flush()
  assert.equal(made.length, 1)
  assert.match(made[0].url, /^http:\/\/example\.test\/rt\?v=1&t=websocket&ack=0&o=1&hb=25000$/)
  assert.equal(of('open').length, 0)
  made[0].hello('S'.repeat(22))
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

test('incoming messages are numbered from the seq marker; duplicates are dropped, a gap is a protocol error', async () => {
  const { ll, of } = client()
  await flush()
  const t = made[0]
  t.prove()
  t.recv('s1')
  t.recv('mone')
  t.recv('M["two","three"]')
  t.recv('s2')
  t.recv('mtwo')
  t.recv('mthree')
  t.recv('mfour')
  assert.deepEqual(
    of('message').map((e) => e.data),
    ['one', 'two', 'three', 'four'],
  )
  t.recv('s9')
  t.recv('mnine')
  assert.equal(of('error').length, 1)
  assert.equal((of('error')[0].error as LifelineError).code, 'LL_ERR_PROTOCOL')
  assert.equal(of('message').length, 4, 'nothing out of order is delivered')
  assert.ok(t.stopped, 'the broken connection is dropped')
  assert.equal(ll.state, 'reconnecting')
})

test('acks: one every 128 messages or 100 ms after the first unacknowledged, never one per message', async () => {
  const { ll, clock } = client()
  await flush()
  const t = made[0]
  t.prove()
  t.recv('s1')
  for (let i = 0; i < 130; i++) t.recv('m' + i)
  assert.deepEqual(t.controls.filter((f) => f[0] == 'a'), ['a128'])
  await clock.tick(99)
  assert.deepEqual(t.controls.filter((f) => f[0] == 'a'), ['a128'])
  await clock.tick(1)
  assert.deepEqual(t.controls.filter((f) => f[0] == 'a'), ['a128', 'a130'])
  t.recv('mx')
  ll.send('reply')
  await flush()
  assert.deepEqual(t.sent.slice(-2), ['a130', 'mreply'], 'a reply goes alone: one frame each way for a ping-pong')
  await clock.tick(100)
  assert.equal(t.sent.at(-1), 'a131')
})

test('resume: after a drop the same session is asked for with the cursor, and only what the server lacks is resent', async () => {
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
  await flush()
  // The server said it has 1..3: only 4 and 5 go again, numbered from 4.
  assert.deepEqual(made[1].sent.slice(0, 4), ['p', 'u2', 's4', 'M["4","5"]'])
  assert.equal(of('open').length, 1, 'open does not fire again on resume')
  assert.equal(of('close').length, 0)
  assert.equal(of('reset').length, 0)
  assert.equal(ll.state, 'open')
})

test('reset: a server that lost the session hands back what may have reached it, and keeps what never left', async () => {
  const { ll, clock, of } = client()
  await flush()
  made[0].prove('A'.repeat(22))
  ll.send('sent-unacked')
  await flush()
  made[0].drop()
  ll.send('never-sent')
  await clock.tick(0)
  made[1].recv('c4001 session unknown or expired')
  await clock.tick(0)
  assert.equal(made.length, 3)
  assert.doesNotMatch(made[2].url, /sid=/, 'a new session is asked for')
  made[2].hello('B'.repeat(22))
  await flush()
  const reset = of('reset')
  assert.equal(reset.length, 1)
  assert.deepEqual(reset[0].unacked, ['sent-unacked'])
  assert.deepEqual(of('open').map((e) => e.reset), [false, true], 'open fires for the new session, flagged as a reset')
  assert.deepEqual(made[2].texts, ['never-sent'])
  assert.equal(ll.sessionId, 'B'.repeat(22))
})

test('close from the server with an app code ends for good; a restartable code starts a new session', async () => {
  const a = client()
  await flush()
  made[0].prove()
  made[0].recv('c4100 kicked')
  await flush()
  assert.deepEqual(a.of('close').map((e) => [e.code, e.reason, e.wasClean]), [[4100, 'kicked', true]])
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

test('heartbeat: silence past interval + timeout drops the connection; a late timer (throttled tab) gets one ping of grace', async () => {
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

test('reconnect policy: first retry at once, then exponential backoff with full jitter, attempts reset after minUptime', async () => {
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
  made[0].drop('refused')
  await clock.tick(10000)
  made[1].drop('refused')
  await clock.tick(10000)
  made[2].drop('refused')
  await clock.tick(10000)
  const c = of('close')
  assert.equal(c.length, 1)
  assert.equal(c[0].code, 1006)
  assert.equal(c[0].reason, 'websocket-refused')
  assert.deepEqual(c[0].unacked, ['x'])
  assert.equal(ll.readyState, 3)
})

test('send bounds: queue bytes, queue length, message size each throw a LifelineError with a stable code', async () => {
  const { ll } = client({ maxBufferedAmount: 10, maxQueueLength: 3, maxMessageSize: 6 })
  const code = (fn: () => void) => {
    try {
      fn()
    } catch (e) {
      return (e as LifelineError).code
    }
    return 'no error'
  }
  assert.equal(code(() => ll.send('1234567')), 'LL_ERR_MESSAGE_TOO_BIG')
  assert.equal(code(() => ll.send('123456')), 'no error', 'exactly maxMessageSize is allowed')
  assert.equal(code(() => ll.send('1234')), 'no error', 'exactly maxBufferedAmount is allowed')
  assert.equal(code(() => ll.send('1')), 'LL_ERR_BUFFER_FULL')
  assert.equal(ll.bufferedAmount, 10)
  const b = client({ maxQueueLength: 2 })
  b.ll.send('a')
  b.ll.send('b')
  assert.equal(code(() => b.ll.send('c')), 'LL_ERR_BUFFER_FULL')
  assert.equal(code(() => b.ll.send(42 as never)), 'LL_ERR_INVALID_DATA')
  assert.equal(code(() => b.ll.close(1001)), 'LL_ERR_INVALID_OPTION')
  assert.equal(code(() => b.ll.close(1000, 'x'.repeat(124))), 'LL_ERR_INVALID_OPTION')
})

test("the server's maxMessageSize from its hello applies too", async () => {
  const { ll } = client()
  await flush()
  made[0].hello(undefined, 0, 25000, 4)
  assert.throws(() => ll.send('12345'), (e: LifelineError) => e.code == 'LL_ERR_MESSAGE_TOO_BIG')
})

test('fire-and-forget (resume: false): nothing kept after it is written, no acks, gaps accepted', async () => {
  const { ll, of } = client({ resume: false })
  ll.send('a')
  await flush()
  assert.match(made[0].url, /&r=0$/)
  made[0].prove()
  await flush()
  assert.equal(ll.bufferedAmount, 0)
  made[0].recv('s5')
  made[0].recv('mfive')
  made[0].recv('s9')
  made[0].recv('mnine')
  assert.deepEqual(of('message').map((e) => e.data), ['five', 'nine'])
  assert.equal(made[0].controls.filter((f) => f[0] == 'a').length, 0)
})

test('close(): flushes queued messages, says goodbye with code and reason, then fires close asynchronously', async () => {
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
  assert.deepEqual(of('close').map((e) => [e.code, e.reason, e.wasClean]), [[4000, 'done', true]])
  ll.close()
  await flush()
  assert.equal(of('close').length, 1, 'close fires once')
})

test('a throwing app handler neither breaks delivery nor escapes synchronously: it is rethrown in a fresh task', async () => {
  const { ll, of } = client()
  await flush()
  made[0].prove()
  made[0].recv('s1')
  const rethrown: Array<() => void> = []
  const realSetTimeout = globalThis.setTimeout
  globalThis.setTimeout = ((fn: () => void) => rethrown.push(fn)) as never
  try {
    ll.onmessage = () => {
      throw new Error('app bug')
    }
    made[0].recv('mone')
    made[0].recv('mtwo')
  } finally {
    globalThis.setTimeout = realSetTimeout
  }
  assert.deepEqual(of('message').map((e) => e.data), ['one', 'two'])
  assert.equal(rethrown.length, 2)
  assert.throws(rethrown[0], /app bug/)
})

test('polling never sends ack frames: its cursor in each request is the ack', async () => {
  const { ll, clock } = client({}, [POLL])
  await flush()
  made[0].prove()
  made[0].recv('s1')
  made[0].recv('mhello')
  await clock.tick(200)
  assert.equal(made[0].controls.filter((f) => f[0] == 'a').length, 0)
  assert.match(made[0]._ctx.url(made[0]), /ack=1/)
  ll.close()
})

test('invalid URL and unknown transport names are errors with codes', () => {
  assert.throws(() => client({ transports: ['carrier-pigeon' as never] }), (e: LifelineError) => e.code == 'LL_ERR_INVALID_OPTION')
  for (const url of ['ftp://example.test/rt', 'not a url', '/relative-without-a-page'])
    assert.throws(() => new LifelineCore(url, { storage: null }, [WS]), (e: LifelineError) => e.code == 'LL_ERR_INVALID_URL', url)
  assert.equal(new LifelineCore('wss://example.test/rt?x=1#frag', { storage: null, clock: new FakeClock() }, [WS]).url, 'https://example.test/rt?x=1')
})

test('laptop sleep: a long clock jump is checked with a ping; a dead connection is replaced and the session resumes within the TTL', async () => {
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
  made[1].recv('c4001 session unknown or expired')
  await clock.tick(0)
  made[2].prove('N'.repeat(22))
  assert.equal(of('reset').length, 1)
  assert.deepEqual(of('reset')[0].unacked, ['sent before the sleep'])
  assert.deepEqual(of('open').map((e) => e.reset), [false, true])
  assert.equal(ll.sessionId, 'N'.repeat(22))
})
