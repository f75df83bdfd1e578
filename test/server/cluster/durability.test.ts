// What must survive, against real processes: an owner frozen with SIGSTOP writes nothing once
// another node took its session over; Redis killed with -9 (AOF, appendfsync always) loses
// nothing it acknowledged; the subscriber hears hints again after Redis comes back; under weaker
// persistence a restart ends the sessions made before it, never resuming them on rolled-back state.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { startRedis } from '../../support/redis.mjs'
import { freeze, thaw, track, until, exited } from '../../support/processes.mjs'
import { type Hint } from '../../../src/server/cluster/records'
import { isDurable } from '../../../src/server/cluster/redis'
import { INFO, newSid, store, useRedis } from './redis-helpers'

const redis = useRedis()

test('an owner frozen with SIGSTOP past its lease is fenced: after the takeover it writes nothing', async () => {
  const sid = newSid()
  const lines: Array<Record<string, unknown>> = []
  const child = track(
    spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'owner-child.ts'), redis.url, sid, '300'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  )
  let buffered = ''
  child.stdout!.on('data', (d) => {
    buffered += d
    const parts = buffered.split('\n')
    buffered = parts.pop()!
    for (const p of parts) lines.push(JSON.parse(p))
  })
  const written = () => lines.filter((l) => l.status == 'ok').length
  assert.ok(await until(() => written() >= 20, 10000), 'the owner is writing: ' + JSON.stringify(lines.slice(-3)))
  const b = await store(redis.url, 'nodeB')
  freeze(child)
  let thawed = false
  try {
    // Its lease lapses while it is frozen; then another node takes the session over.
    assert.ok(await until(async () => !(await b.lease.alive('frozen-owner')), 5000))
    const claim = await b.claim(sid)
    assert.ok(claim.status == 'ok' && claim.fence == 2, JSON.stringify(claim))
    const atTakeover = +(await b.session(sid))!.sent
    assert.equal((await b.appendOutgoing(sid, 2, ['B1'])).status, 'ok')
    thaw(child)
    thawed = true
    await exited(child)
    // What the frozen owner tried after it ran again was refused; nothing of it is in the log. (A
    // write it had sent before it froze may be answered only now: it was done before the takeover.)
    assert.ok(
      lines.some((l) => l.status == 'fenced'),
      JSON.stringify(lines.slice(-5)),
    )
    assert.ok(
      lines.some((l) => l.renewed === false),
      'its own renewal said its lease had lapsed',
    )
    const okSeqs = lines.filter((l) => l.status == 'ok').map((l) => l.seq as number)
    assert.ok(Math.max(...okSeqs) <= atTakeover, `owner writes at seqs ${okSeqs.slice(-3)}, takeover at ${atTakeover}`)
    const log = await b.readOutgoing(sid, 1, 100000)
    assert.ok(log.status == 'ok')
    assert.deepEqual(log.messages.slice(atTakeover), ['B1'])
    assert.equal(log.messages.length, atTakeover + 1)
  } finally {
    if (!thawed) thaw(child)
  }
})

test('Redis killed with -9 under appendfsync always loses nothing it acknowledged', async () => {
  const owner = await store(redis.url, 'owner', { maxQueueLength: 1000000, maxBufferedAmount: 1 << 30, durable: true })
  const sid = newSid()
  await owner.createSession(sid, INFO)
  const appended: Array<{ first: number; last: number; batch: number }> = []
  let received = 0
  let acked = 0
  let stop = false
  const traffic = (async () => {
    for (let batch = 1; !stop && batch < 100000; batch++) {
      try {
        const messages = Array.from({ length: 5 }, (_, j) => `b${batch}.${j}`)
        const [out, inn] = await Promise.all([
          owner.appendOutgoing(sid, 1, messages),
          owner.recordIncoming(sid, received + 1, ['c' + (received + 1)]),
        ])
        if (out.status == 'ok') appended.push({ ...out, batch })
        if (inn.status == 'ok') received = inn.received
        if (batch % 50 == 0) {
          const ack = await owner.ackOutgoing(sid, appended[appended.length - 1].last - 3)
          if (ack.status == 'ok') acked = ack.ack
        }
      } catch (e) {
        return // Redis went away mid-request: what that request did is unknown, and not counted.
      }
    }
  })()
  assert.ok(await until(() => appended.length >= 300, 20000), 'traffic is flowing')
  await redis.kill()
  stop = true
  await traffic
  await redis.start()
  // The script cache died with the process: the store's EVALSHA falls back to EVAL.
  const again = await store(redis.url, 'reader', { durable: true })
  const last = appended[appended.length - 1]
  const s = (await again.session(sid))!
  assert.ok(+s.sent >= last.last, `sent ${s.sent} >= ${last.last}`)
  assert.ok(+s.acked >= acked && +s.received >= received, JSON.stringify(s))
  const log = await again.readOutgoing(sid, 1, 1000000)
  assert.ok(log.status == 'ok')
  assert.equal(log.first, +s.acked + 1)
  // Every acknowledged message not yet acknowledged by the client is there, at the seq it was given.
  const bySeq = new Map<number, string>()
  for (const a of appended) for (let j = 0; j < 5; j++) bySeq.set(a.first + j, `b${a.batch}.${j}`)
  assert.ok(log.last >= last.last)
  for (let seq = log.first; seq <= last.last; seq++)
    assert.equal(log.messages[seq - log.first], bySeq.get(seq), 'seq ' + seq)
  const inbox = await again.readIncoming(sid, 1, 1, 1000000)
  assert.ok(inbox.status == 'ok')
  assert.deepEqual(
    inbox.messages.slice(0, received),
    Array.from({ length: received }, (_, i) => 'c' + (i + 1)),
  )
})

test('after Redis restarts the subscriber is back: hints arrive again and onReady says so', async () => {
  const listener = await store(redis.url, 'listener', { durable: true })
  const writer = await store(redis.url, 'writer', { durable: true })
  const hints: Hint[] = []
  let readies = 0
  listener.link.onReady(() => readies++)
  await listener.listen((h) => hints.push(h))
  const sid = newSid()
  await writer.createSession(sid, INFO)
  await listener.activate(sid, 'websocket')
  await writer.appendOutgoing(sid, 1, ['before'])
  assert.ok(await until(() => hints.some((h) => h.seq == 1), 2000))
  await redis.kill()
  await redis.start()
  assert.ok(await until(() => readies >= 1, 15000), 'the subscriber reconnected')
  // Commands queued while Redis was away, or sent now, go through; the resubscribed channel hears.
  assert.ok(
    await until(async () => {
      await writer.appendOutgoing(sid, 1, ['after']).catch(() => null)
      return hints.some((h) => h.seq! >= 2)
    }, 10000),
    JSON.stringify(hints),
  )
})

test('not durable: after a Redis restart, older sessions are gone (their clients reset), new ones work', async () => {
  const weak = await startRedis({ fsync: 'everysec' })
  try {
    const link = (await store(weak.url, 'probe')).link
    assert.equal(await isDurable(link), false, 'appendfsync everysec')
    assert.equal(await isDurable((await store(redis.url, 'probe2')).link), true, 'appendfsync always')
    const weakStore = await store(weak.url, 'weak1')
    const durableStore = await store(weak.url, 'weak2', { durable: true })
    const sid = newSid()
    const kept = newSid()
    await weakStore.createSession(sid, INFO)
    await durableStore.createSession(kept, INFO)
    assert.equal((await weakStore.appendOutgoing(sid, 1, ['a', 'b'])).status, 'ok')
    assert.ok((await weakStore.touch([sid]))[0])
    // Even a clean restart: what it kept cannot be told from what a crash under everysec rolled back.
    await weak.stop()
    await weak.start()
    const after = await store(weak.url, 'weak3')
    assert.equal(await after.session(sid), null)
    assert.deepEqual(await after.claim(sid), { status: 'gone' })
    assert.deepEqual(await after.appendOutgoing(sid, 1, ['c']), { status: 'gone' })
    assert.deepEqual(await after.recordIncoming(sid, 1, ['x']), { status: 'gone' })
    assert.deepEqual(await after.readOutgoing(sid, 1), { status: 'gone' })
    assert.deepEqual(await after.ackOutgoing(sid, 1), { status: 'gone' })
    assert.deepEqual(await after.touch([sid]), [undefined])
    // The keys are still there (they expire with their TTL): only the run_id says they are not to be trusted.
    assert.equal(await after.link.command(['EXISTS', after.keys(sid)[0]]), 1)
    // Made by a store told Redis is durable: kept.
    assert.equal((await after.session(kept))!.runId, '')
    // Its owner holds no lease (the test's stores do not renew one): taken over, not gone.
    assert.equal((await after.claim(kept)).status, 'ok')
    const fresh = newSid()
    await after.createSession(fresh, INFO)
    assert.deepEqual(await after.appendOutgoing(fresh, 1, ['c']), {
      status: 'ok',
      first: 1,
      last: 1,
      bufferedAmount: 1,
    })
  } finally {
    await weak.remove()
  }
})
