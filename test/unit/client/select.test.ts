// Choosing a transport: racing, proof in both directions, remembering what worked, upgrading
// back, demoting a transport that keeps dying, learning a proxy's idle timeout.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { LifelineRacing } from '../../../src/client/index'
import { diagnose } from '../../../src/client/diagnose'
import { client, flush, made, MemoryStorage, WS, STREAM, POLL, FakeClock } from './fakes'

const SID = 'L'.repeat(22)

test('a hung WebSocket: the next transport starts after raceDelay, wins, and the loser is closed', async () => {
  const { ll, clock, of } = client({ raceDelay: 400 }, [WS, STREAM, POLL])
  await flush()
  assert.equal(made.length, 1)
  await clock.tick(399)
  assert.equal(made.length, 1)
  await clock.tick(1)
  assert.equal(made.length, 2)
  assert.equal(made[1].name, 'stream')
  made[1].prove(SID)
  assert.equal(ll.transport, 'stream')
  assert.deepEqual(
    of('transport').map((e) => [e.name, e.reason]),
    [['stream', 'websocket-hung']],
  )
  assert.ok(made[0].stopped, 'the hung WebSocket attempt is abandoned')
  await clock.tick(400)
  assert.equal(made.length, 2, 'no further race once one has won')
  await clock.tick(2600)
  assert.equal(made.length, 3, 'WebSocket is re-tested in the background after upgradeDelay')
  assert.equal(made[2].name, 'websocket')
  assert.match(made[2].url, new RegExp('sid=' + SID))
})

// Regression (issue 15): a path that drops client→server bytes passed the hello, and the session
// was carried on the WebSocket at once: the app's sends vanished for 25 s.
test('a WebSocket that opens but never answers the proof ping carries nothing and loses to a fallback', async () => {
  const { ll, clock, of } = client({ raceDelay: 400 }, [WS, STREAM, POLL])
  ll.send('hi')
  await flush()
  made[0].hello(SID)
  assert.equal(ll.transport, null, 'server→client alone does not carry the session')
  assert.deepEqual(made[0].texts, [], 'nothing is sent where it may vanish')
  assert.equal(of('open').length, 0, 'not open until both directions are proven')
  await clock.tick(400)
  assert.match(made[1].url, new RegExp('sid=' + SID), 'the fallback joins the same session')
  made[1].prove(SID)
  assert.equal(ll.transport, 'stream')
  assert.equal(of('transport').at(-1)!.reason, 'websocket-silent')
  assert.deepEqual(made[1].sent.slice(0, 4), ['p', 'u1', 's1', 'mhi'], 'the message goes once, on the winner')
  assert.ok(made[0].stopped, 'the silent WebSocket is let go')
  assert.equal(of('open').length, 1)
})

// Issue 25, seed 41 of the randomized network: a poll that opened the session stalled in a relay, and
// with polling alone the session waited connectTimeout (15 s) before it tried again, twice.
test('the last candidate gets one twin after a third of connectTimeout; the first to prove wins', async () => {
  const { ll, clock, of } = client({ connectTimeout: 15000 }, [POLL])
  await flush()
  await clock.tick(4999)
  assert.equal(made.length, 1)
  await clock.tick(1)
  assert.equal(made.length, 2, 'a twin of the hung poll')
  assert.equal(made[1].name, 'polling')
  made[1].prove(SID)
  assert.equal(ll.transport, 'polling')
  assert.ok(made[0].stopped, 'the hung one goes')
  assert.equal(of('reconnecting').length, 0)
  await clock.tick(20000)
  assert.equal(made.length, 2, 'no more twins once one won')
})

// Chromium opens one WebSocket at a time per host (RFC 6455 §4.1): a twin beside a hung handshake
// waited for its connectTimeout (seed 113).
test('a WebSocket still opening is given up for its twin, which would wait behind it', async () => {
  const { ll, clock } = client({ connectTimeout: 15000 }, [WS])
  await flush()
  await clock.tick(5000)
  assert.equal(made.length, 2)
  assert.ok(made[0].stopped, 'the hung handshake is given up')
  assert.match(made[1].url, /why=websocket-hung/)
  made[1].prove(SID)
  assert.equal(ll.transport, 'websocket')
})

// At most two on their way at once: a hung WebSocket is given up for polling's twin, and when one
// of two fails the other gets a twin in turn, a third of connectTimeout after it started (issue 25,
// a fresh seed: the twin came that long after the failure, and a hung poll held the session 10 s).
test('a hung WebSocket goes for the polling twin; when one of two fails, the other gets a twin in turn', async () => {
  const { ll, clock, of } = client({ connectTimeout: 15000 }, [WS, POLL])
  await flush()
  await clock.tick(5399)
  assert.deepEqual(
    made.map((t) => t.name),
    ['websocket', 'polling'],
    'the hung WebSocket and polling (started at 400 ms): two on their way',
  )
  await clock.tick(1)
  assert.equal(made[2].name, 'polling', 'a twin of polling, 5 s after it started')
  assert.ok(made[0].stopped, 'the WebSocket still opening goes: two on their way')
  made[2].drop('refused')
  await clock.tick(499)
  assert.equal(made.length, 3, 'not at once after a failure: minDelay')
  await clock.tick(1)
  assert.equal(made[3].name, 'polling', 'the twin failed: the first polling, on its way 5 s already, gets another')
  made[3].prove(SID)
  assert.equal(ll.transport, 'polling')
  assert.ok(made[1].stopped, 'the hung one goes')
  assert.equal(of('reconnecting').length, 0, 'one attempt all along')
})

// Issue 25, seed 46 of the randomized network: after the first twin, two opening requests that both
// stalled held the session until connectTimeout (15 s) again and again; no open in 60 s. And two
// twins at most per attempt: a stream a proxy buffers for good must still fail (diagnose waited).
test('twins roll on while none proves itself, two per attempt: each costs a third of connectTimeout', async () => {
  const { ll, clock, of } = client({ connectTimeout: 15000 }, [POLL])
  await flush()
  for (let n = 2; n <= 3; n++) {
    await clock.tick(4999)
    assert.equal(made.length, n - 1)
    await clock.tick(1)
    assert.equal(made.length, n, `twin ${n - 1} at ${(n - 1) * 5} s`)
    assert.equal(made.filter((t) => !t.stopped).length, 2, 'the oldest goes for the next: two on their way')
  }
  assert.match(made[2].url, /why=polling-hung/)
  await clock.tick(14999)
  assert.equal(made.length, 3, 'no third twin')
  assert.equal(of('reconnecting').length, 0)
  await clock.tick(1)
  assert.equal(of('reconnecting').length, 1, 'the last twin, 15 s on its way: the attempt failed, and says so')
  await flush()
  assert.equal(made.length, 4, 'the next attempt')
  made[3].prove(SID)
  assert.equal(ll.transport, 'polling')
  assert.equal(of('open').length, 1)
})

test('a refused WebSocket moves on at once, without waiting for the race delay', async () => {
  const { ll, clock, of } = client({}, [WS, POLL])
  await flush()
  made[0].drop('refused')
  await flush()
  assert.equal(made.length, 2)
  assert.equal(made[1].name, 'polling')
  made[1].prove(SID)
  assert.equal(of('transport')[0].reason, 'websocket-refused')
  assert.equal(ll.state, 'open')
  await clock.tick(0)
})

test('a candidate that made a session nobody wants is told goodbye', async () => {
  const { ll, clock } = client({ raceDelay: 100 }, [WS, STREAM])
  await flush()
  await clock.tick(100)
  made[1].prove(SID)
  // The hung WebSocket completes after all, with a session of its own: gone already, but had it
  // been kept it would be told to close; a fresh sessionless candidate shows the rule:
  made[0].hello('X'.repeat(22))
  assert.ok(made[0].stopped)
  assert.equal(ll.sessionId, SID)
})

// the next start uses it, then re-tests WebSocket and upgrades without loss
test('what worked is remembered per endpoint', async () => {
  const storage = new MemoryStorage()
  const clock = new FakeClock()
  const a = client({ storage, clock }, [WS, POLL])
  await flush()
  made[0].drop('refused')
  await flush()
  made[1].prove(SID)
  a.ll.close()
  await clock.tick(0)
  assert.match(storage.getItem('lifeline:http://example.test/rt')!, /"t":"polling"/)

  const b = client({ storage, clock, upgradeDelay: 3000 }, [WS, POLL])
  b.ll.send('one')
  await flush()
  assert.equal(made[0].name, 'polling', 'starts on what worked')
  made[0].prove(SID)
  made[0].recv('a1')
  assert.equal(b.of('transport')[0].reason, 'remembered')
  made[0].recv('s1')
  made[0].recv('mfrom server')
  await clock.tick(2999)
  assert.equal(made.length, 1)
  await clock.tick(1)
  assert.equal(made[1].name, 'websocket', 'WebSocket is re-tested in the background')
  assert.match(made[1].url, /sid=L+&o=1/)
  b.ll.send('two')
  await flush()
  made[1].prove(SID, 0)
  assert.equal(b.ll.transport, 'websocket')
  assert.equal(b.of('transport').at(-1)!.reason, 'upgrade')
  assert.ok(made[0].stopped, 'the old transport is closed')
  assert.deepEqual(made[1].sent.slice(1, 4), ['u2', 's2', 'mtwo'], 'what the server lacks goes on the new one')
  // The server resends what the client lacks; duplicates by sequence number are dropped.
  made[1].recv('s1')
  made[1].recv('mfrom server')
  made[1].recv('mnew')
  assert.deepEqual(
    b.of('message').map((e) => e.data),
    ['from server', 'new'],
  )
  assert.match(storage.getItem('lifeline:http://example.test/rt')!, /"t":"websocket"/)
})

test('a failed upgrade test backs off and the session stays where it is', async () => {
  const { ll, clock } = client({ upgradeDelay: 1000 }, [WS, POLL])
  await flush()
  made[0].drop('refused')
  await flush()
  made[1].prove(SID)
  await clock.tick(1000)
  assert.equal(made.length, 3)
  made[2].drop('refused')
  assert.equal(ll.transport, 'polling')
  await clock.tick(1999)
  assert.equal(made.length, 3)
  await clock.tick(1)
  assert.equal(made.length, 4, 'next test after twice the delay')
})

test('a transport that dies early twice is demoted for this endpoint', async () => {
  const storage = new MemoryStorage()
  const { clock } = client({ storage, minUptime: 5000 }, [WS, STREAM])
  await flush()
  made[0].prove(SID)
  await clock.tick(3000)
  made[0].drop()
  await clock.tick(0)
  made[1].prove(SID)
  await clock.tick(3000)
  made[1].drop()
  await clock.tick(1000)
  assert.match(storage.getItem('lifeline:http://example.test/rt')!, /"d":\{"websocket":\d+\}/)
  const c = client({ storage, clock }, [WS, STREAM])
  await flush()
  assert.equal(made[0].name, 'stream', 'the fallback goes first next time')
  c.ll.close()
})

test('a proxy idle timeout is learned: heartbeats are asked for twice as often and remembered', async () => {
  const storage = new MemoryStorage()
  const { clock } = client({ storage }, [WS])
  await flush()
  made[0].prove(SID)
  await clock.tick(10000)
  made[0].drop()
  await clock.tick(0)
  assert.match(made[1].url, /hb=5000/)
  assert.match(storage.getItem('lifeline:http://example.test/rt')!, /"hb":5000/)
})

test('network back or page visible: a pending reconnect happens now, not after the backoff', async () => {
  const { ll, clock } = client({ minDelay: 10000, jitter: false }, [WS])
  await flush()
  made[0].prove(SID)
  made[0].drop()
  await clock.tick(0)
  made[1].drop('refused')
  await clock.tick(0)
  assert.equal(made.length, 2, 'waiting out a 10 s backoff')
  ll._wake()
  await flush()
  assert.equal(made.length, 3)
})

test('token: a function is called before each connection and its value sent', async () => {
  let n = 0
  const { clock } = client({ token: () => 'tok' + ++n }, [WS])
  await flush()
  assert.match(made[0].url, /token=tok1/)
  made[0].drop('refused')
  await clock.tick(0)
  assert.match(made[1].url, /token=tok2/)
})

test('diagnose tries each transport on its own and says why one failed', async () => {
  const clock = new FakeClock()
  const p = diagnose(LifelineRacing, 'http://example.test/rt', { transports: [WS, POLL], clock, storage: null })
  await flush()
  made.at(-1)!.drop('refused')
  await flush()
  made.at(-1)!.prove(SID)
  await clock.tick(0)
  const report = await p
  assert.equal(report.best, 'polling')
  assert.deepEqual(
    report.results.map((r) => [r.transport, r.ok, r.reason]),
    [
      ['websocket', false, 'websocket-refused'],
      ['polling', true, 'ok'],
    ],
  )
})

// the session goes on
test('an upgrade test turned away by the server (3901: another process) drops only the spare', async () => {
  const { ll, clock, of } = client({ upgradeDelay: 1000 }, [WS, POLL])
  await flush()
  made[0].drop('refused')
  await flush()
  made[1].prove(SID)
  await clock.tick(1000)
  assert.equal(made[2].name, 'websocket')
  made[2].recv('c3901 session unknown or expired')
  await clock.tick(0)
  assert.equal(ll.transport, 'polling')
  assert.equal(ll.sessionId, SID)
  assert.deepEqual([of('reset').length, of('reconnecting').length], [0, 0])
})

test('upgrades move up one step at a time when the best stays blocked: polling to a working stream', async () => {
  const { ll, clock } = client({ upgradeDelay: 1000 }, [WS, STREAM, POLL])
  await flush()
  made[0].drop('refused')
  await flush()
  made[1].drop('refused')
  await flush()
  made[2].prove(SID)
  assert.equal(ll.transport, 'polling')
  await clock.tick(1000)
  assert.equal(made[3].name, 'websocket')
  made[3].drop('refused')
  await clock.tick(2000)
  assert.equal(made[4].name, 'stream', 'then the next better one')
  made[4].prove(SID)
  assert.equal(ll.transport, 'stream')
})

test('a demoted transport that then stays up is no longer demoted', async () => {
  const storage = new MemoryStorage()
  const { clock } = client({ storage, minUptime: 5000 }, [WS, STREAM])
  await flush()
  for (let i = 0; i < 2; i++) {
    made[i].prove(SID)
    await clock.tick(3000)
    made[i].drop()
    await clock.tick(0)
  }
  assert.match(storage.getItem('lifeline:http://example.test/rt')!, /"d":\{"websocket":[1-9]/)
  await clock.tick(1000)
  // Demoted, WebSocket now goes after the stream, which wins; WebSocket, still racing, proves
  // itself later, takes the session over, and then stays up past two minUptimes.
  assert.deepEqual(
    made.slice(2).map((t) => t.name),
    ['stream', 'websocket'],
  )
  made[2].prove(SID)
  assert.equal(made[2].stopped, false)
  made[3].prove(SID)
  await clock.tick(10000)
  assert.match(storage.getItem('lifeline:http://example.test/rt')!, /"d":\{"websocket":0\}/)
})

test('the one left when its twin failed gets the next twin a third of connectTimeout after it started', async () => {
  const { ll, clock } = client({ connectTimeout: 15000 }, [POLL])
  await flush()
  await clock.tick(5000)
  assert.equal(made.length, 2)
  await clock.tick(1000)
  made[1].drop('refused')
  await clock.tick(499)
  assert.equal(made.length, 2, 'the first, on its way 6 s, is past a third: its twin after minDelay')
  await clock.tick(1)
  assert.equal(made.length, 3)
  made[2].prove(SID)
  assert.equal(ll.transport, 'polling')
})
