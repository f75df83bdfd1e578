// The "data in flight" liveness rule (src/client/liveness.ts, PROTOCOL.md §8.3) through the real
// session, with a fake clock and a fake transport: acknowledgements overdue with nothing heard earn
// a ping, and an unanswered ping drops the connection as `websocket-stalled`. It must stay quiet on
// an idle session and on a slow but live link (issue 15).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { client, flush, made, POLL } from './fakes'
import { POLL_GRACE } from '../../../src/protocol/limits'

/** Pings the client sent after the proof ping that opened the session. */
const pings = (i = 0) => made[i].sent.filter((f) => f == 'p').length - 1

/** A session proven on made[0] after a round trip of `rtt` ms. */
async function proven(rtt = 0) {
  const c = client()
  await flush()
  made[0].hello('S'.repeat(22))
  await c.clock.tick(rtt)
  made[0].recv('q')
  await flush()
  assert.equal(c.of('open').length, 1)
  return c
}

test('idle: no message waiting, nothing extra on the wire until the heartbeat rule', async () => {
  const { clock, of } = await proven()
  // The server's heartbeat every 25 s keeps it alive; without one, 25 s + 20 s of silence ends it.
  for (let t = 0; t < 4; t++) {
    await clock.tick(20000)
    made[0].recv('p')
  }
  assert.equal(pings(), 0, 'no ping in 80 s of an idle session whose heartbeats arrive')
  assert.equal(of('reconnecting').length, 0)
  await clock.tick(44000)
  assert.equal(of('reconnecting').length, 0, 'silence under heartbeat + heartbeatTimeout is fine')
  await clock.tick(2000)
  assert.equal(of('reconnecting')[0]?.cause, 'heartbeat-timeout')
})

test('data in flight and silence: a ping after the patience, the connection left after as long again', async () => {
  const { ll, clock, of } = await proven()
  ll.send('x')
  // Patience: a second (4 round trips of ~0 ms are less), plus 1 byte's time at 50 KB/s.
  await clock.tick(999)
  assert.equal(pings(), 0, 'at least a second of patience')
  await clock.tick(2)
  assert.equal(pings(), 1, 'overdue: ping')
  await clock.tick(997)
  assert.equal(of('reconnecting').length, 0)
  await clock.tick(3)
  assert.equal(of('reconnecting')[0]?.cause, 'websocket-stalled')
})

test('data in flight: an answered ping keeps the connection, and the clock starts again', async () => {
  const { ll, clock, of } = await proven()
  ll.send('x')
  await clock.tick(1001)
  assert.equal(pings(), 1)
  await clock.tick(500)
  made[0].recv('q')
  // Answered: the patience starts again from the pong (a second ping would follow it by 1 s).
  await clock.tick(900)
  assert.equal(pings(), 1)
  assert.equal(of('reconnecting').length, 0, 'the link answered: still in use')
  made[0].recv('a1')
  await clock.tick(10000)
  assert.equal(pings(), 1, 'nothing waiting: no more pings')
  assert.equal(of('reconnecting').length, 0)
})

test('a slow but live link: 300 ms each way, 1 MB in flight acknowledged as it trickles in, no ping', async () => {
  const { ll, clock, of } = await proven(600)
  const KB = 'k'.repeat(1024)
  for (let i = 0; i < 1024; i++) ll.send(KB)
  await flush()
  assert.equal(ll.bufferedAmount, 1024 * 1024)
  // 1 MB at 128 KB/s reaches the server in 8 s; it acknowledges every 128 messages (ACK_MESSAGES),
  // and each acknowledgement takes 300 ms back.
  let acked = 0
  while (acked < 1024) {
    await clock.tick(1000)
    acked += 128
    made[0].recv('a' + acked)
  }
  assert.equal(ll.bufferedAmount, 0, 'all acknowledged')
  assert.equal(pings(), 0, 'no ping on a live link')
  assert.equal(of('reconnecting').length, 0)
})

test('a slow uplink: one 1 MB message acknowledged after 21 s at 50 KB/s earns no ping', async () => {
  const { ll, clock, of } = await proven(600)
  ll.send('b'.repeat(1024 * 1024))
  // The server's heartbeats arrive meanwhile (it hears nothing, but it speaks).
  for (let t = 0; t < 21; t++) {
    await clock.tick(1000)
    if (t % 10 == 9) made[0].recv('p')
  }
  assert.equal(pings(), 0, 'a big message is given its time on the wire')
  made[0].recv('a1')
  await clock.tick(5000)
  assert.equal(pings(), 0)
  assert.equal(of('reconnecting').length, 0)
})

test('a slow uplink that then goes silent is still left: a big message gets its time, not forever', async () => {
  const { ll, clock, of } = await proven(600)
  ll.send('b'.repeat(256 * 1024))
  // Patience: 4 round trips (2.4 s) plus 256 KiB at 50 KB/s (5.2 s); then as long again, well
  // before the heartbeat rule's 45 s.
  await clock.tick(7500)
  assert.equal(pings(), 0)
  await clock.tick(200)
  assert.equal(pings(), 1)
  await clock.tick(7500)
  assert.equal(of('reconnecting').length, 0)
  await clock.tick(200)
  assert.equal(of('reconnecting')[0]?.cause, 'websocket-stalled')
})

/** A polling session proven on made[0]. */
async function provenPolling(hb = 25000) {
  const c = client({}, [POLL])
  await flush()
  made[0].prove('S'.repeat(22), 0, hb)
  await flush()
  assert.equal(c.of('open').length, 1)
  return c
}

// Issue 25, seed 13 of the randomized network: an upload stalled in a relay while polls went on
// being answered; each answer cleared the stall probe, and the session waited for ever.
test('data in flight: answers to other requests are no pong; the stalled upload is left', async () => {
  const { ll, clock, of } = await provenPolling()
  ll.send('x')
  for (let t = 0; t < 30 && !of('reconnecting').length; t++) {
    await clock.tick(100)
    made[0].recv('s1')
    made[0].recv('mfrom a poll ' + t)
  }
  assert.equal(pings(), 1, 'overdue: ping')
  assert.equal(of('reconnecting')[0]?.cause, 'polling-stalled', 'left about 2 s after the send')
})

// Issue 25, seed 3: a poll's answer was lost; uploads answered meanwhile hid it for 45 s.
test('a poll not answered within the heartbeat plus POLL_GRACE is taken as lost', async () => {
  const { clock, of } = await provenPolling(25000)
  await clock.tick(25000 + POLL_GRACE - 10)
  assert.equal(of('reconnecting').length, 0)
  await clock.tick(20)
  assert.equal(of('reconnecting')[0]?.cause, 'heartbeat-timeout')
})

// Issue 25, seed 3 again: a poll's answer stalled in a relay while uploads were answered; only the
// heartbeat rule (25 s + POLL_GRACE) noticed. An upload's answer now says what the server wrote.
test('download owed: a `w` past what arrived, then silence on the download, drops it within seconds', async () => {
  const { ll, clock, of } = await provenPolling()
  assert.match(made[0].url, /[?&]w=1(&|$)/, 'the client asks for `w` frames')
  made[0].recv('s1')
  made[0].recv('mone')
  ll.send('x')
  made[0].answer('a1')
  made[0].answer('w3')
  await clock.tick(900)
  assert.equal(of('reconnecting').length, 0, 'not within a second: the answer may be on its way')
  await clock.tick(200)
  assert.equal(of('reconnecting')[0]?.cause, 'polling-stalled')
  assert.equal(pings(), 0, 'no ping: its answer would come on an upload, proving nothing of the download')
})

test('download owed: bytes arriving keep it, what was owed arriving ends the watch', async () => {
  const { ll, clock, of } = await provenPolling()
  made[0].recv('s1')
  ll.send('x')
  made[0].answer('a1')
  made[0].answer('w20')
  // A slow download: a message every 800 ms is progress, even while it owes more.
  for (let i = 1; i <= 20; i++) {
    await clock.tick(800)
    made[0].recv('m' + i)
  }
  assert.equal(of('message').length, 20)
  // All that was owed arrived: silence now is the idle rule's business, not this one's.
  await clock.tick(10000)
  assert.equal(of('reconnecting').length, 0)
})

test('download owed: a `w` at or below what arrived, or on a fire-and-forget session, owes nothing', async () => {
  const { ll, clock, of } = await provenPolling()
  made[0].recv('s1')
  made[0].recv('mone')
  ll.send('x')
  made[0].answer('a1')
  made[0].answer('w1')
  made[0].answer('w0')
  await clock.tick(10000)
  assert.equal(of('reconnecting').length, 0)
  made.length = 0
  const ff = client({ resume: false }, [POLL])
  await flush()
  assert.match(made[0].url, /[?&]r=0(&|$)/)
  assert.doesNotMatch(made[0].url, /[?&]w=1(&|$)/, 'fire-and-forget does not ask for `w`')
  ff.ll.close()
})
