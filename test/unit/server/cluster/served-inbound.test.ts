// The client frames a served session takes (src/server/cluster/served-inbound.ts), over a fake store
// that keeps client messages as the record script does: a POST answered with its `a`, a connection's
// first upload that shows Redis lost what it acknowledged (3901), an upload that overtook the one
// before it refused after a while, a broken frame ending the session.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ServedInbound, type InboundHost } from '../../../../src/server/cluster/served-inbound'
import type { ClusterStore } from '../../../../src/server/cluster/store'
import type { StoredMessage } from '../../../../src/server/cluster/records'
import type { ServedHost } from '../../../../src/server/cluster/served'
import type { Link } from '../../../../src/server/link'
import { serverClock } from '../../../../src/server/clock'

/** A served session whose inbox in Redis has `received` messages; `links` are its links here. */
function served(received: number, reliable = true, queued?: Promise<unknown>, links: InboundHost['_links'] = {}) {
  const ended: string[] = []
  let rcv = received
  const store = {
    node: 'n1',
    recordIncoming: async (_sid: string, first: number, messages: StoredMessage[]) => {
      if (reliable && messages.length && first > rcv + 1) return { status: 'gap', received: rcv }
      const fresh = messages.length - Math.max(0, Math.min(messages.length, rcv - first + 1))
      rcv += fresh
      return { status: 'ok', received: rcv, fresh, owner: '', delivered: 0 }
    },
    ackOutgoing: async () => ({ status: 'ok', ack: 0 }),
    activate: async () => ({ status: 'standby' }),
  } as unknown as ClusterStore
  const reserved: number[] = []
  const node = {
    store,
    o: { maxMessageSize: 1 << 20, requestTimeout: 500, maxParkedPosts: 2, clock: serverClock },
    received: () => {},
    queued: () => queued,
    reserve: (n: number) => (reserved.push(n), true),
    log: () => {},
  } as unknown as ServedHost
  const host: InboundHost = {
    id: 'sid',
    _host: node,
    _links: links,
    _reliable: reliable,
    _version: 2,
    _lastIn: 0,
    _byClient: false,
    _switched: () => {},
    _bye: () => {},
    _end: (code, reason) => void ended.push(code + ' ' + reason),
    pump: async () => {},
    _oops: (e) => assert.fail(String(e)),
  }
  return { inbound: new ServedInbound(host), ended, reserved }
}

const ask = { ack: 0, t: 'stream' }

test('a POST body is kept and answered with what Redis has received', async () => {
  const { inbound, ended } = served(0)
  assert.deepEqual(await inbound._post(['s1', 'u1', 's1', 'ma', 'mb', 'p7'], ask), ['q7', 'a2'])
  assert.deepEqual(await inbound._post(['s2', 'mb', 'mc'], ask), ['a3'], 'b again: dropped')
  assert.deepEqual(ended, [])
})

// issue 19's order in cluster mode (issue 26): the app's reply, sent from its message handler on
// the owner here, was still on its way to Redis when the POST was answered.
test("a POST is answered once the owner's writes queued here (its replies) are done", async () => {
  let done!: () => void
  const { inbound } = served(0, true, new Promise<void>((ok) => (done = ok)))
  let answered: unknown
  const post = inbound._post(['s1', 'u1', 's1', 'ma'], ask).then((r) => (answered = r))
  for (let i = 0; i < 10; i++) await new Promise((ok) => setImmediate(ok))
  assert.equal(answered, undefined, 'not while the reply is on its way')
  done()
  await post
  assert.deepEqual(answered, ['a1'])
})

// Regression (issue 26): after Redis lost client messages it had acknowledged, the client's uploads
// were refused with 503 again and again (test/server/cluster/served.test.ts has the whole story).
test('a first upload (`u`, then `s<oldest unacknowledged>`) past what Redis has ends the session: 3901', async () => {
  const { inbound, ended } = served(1)
  const replies = await inbound._post(['s4', 'u2', 's4'], ask)
  const lost = '3901 session lost: Redis lost acknowledged messages (it has 1)'
  assert.deepEqual(ended, [lost])
  assert.equal(replies![0], 'c' + lost, 'the POST is answered with the close')
  const fine = served(3)
  assert.deepEqual(
    await fine.inbound._post(['s4', 'u2', 's4'], ask),
    ['a3'],
    'Redis has all before 4: the session goes on',
  )
  const loose = served(1, false)
  assert.deepEqual(await loose.inbound._post(['s4', 'u2', 's4'], ask), ['a1'], 'fire-and-forget: gaps are allowed')
  assert.deepEqual([fine.ended, loose.ended], [[], []])
})

test('a later upload (no `u`) waits for the one before it; refused (503) if that never comes', async () => {
  const { inbound, ended } = served(1)
  const t0 = Date.now()
  await assert.rejects(inbound._post(['s4', 'md'], ask), /upload before the one it follows/)
  assert.ok(Date.now() - t0 >= 500, 'tried again until requestTimeout')
  const late = served(1)
  const waiting = late.inbound._post(['s3', 'mc'], ask)
  assert.deepEqual(await late.inbound._post(['s2', 'mb'], ask), ['a2'])
  assert.deepEqual(await waiting, ['a3'], 'taken once the one before it came')
  assert.deepEqual([ended, late.ended], [[], []])
})

// As in one process (issue 26): it was tried again for 0.5 s, then 503, however many waited.
test('at most maxParkedPosts wait, counted in maxTotalBuffered; they go on once the gap is filled', async () => {
  const { inbound, reserved } = served(1)
  let taken = 0
  const later = ['s3', 'mc']
  const last = ['s4', 'md']
  const waiting = [inbound._post(later, ask), inbound._post(last, ask)].map((p) => p.then((r) => (taken++, r)))
  await new Promise((ok) => setTimeout(ok, 50))
  await assert.rejects(inbound._post(['s5', 'me'], ask), /more than maxParkedPosts 2/)
  assert.deepEqual([taken, reserved], [0, [4, 4]], 'waiting, unanswered; each counted once')
  assert.deepEqual(await inbound._post(['s2', 'mb'], ask), ['a2'])
  assert.deepEqual(await Promise.all(waiting), [['a3'], ['a4']])
  assert.deepEqual(reserved, [4, 4, -4, -4], 'given back')
})

test('a frame that breaks the protocol ends the session (1002) and the POST gets no answer frames (400)', async () => {
  const { inbound, ended } = served(0)
  assert.equal(await inbound._post(['s1', 'zzz'], ask), null)
  assert.deepEqual(ended, ['1002 protocol error: unknown frame "zzz"'])
})

// Drift from one process (issue 26): a WebSocket's messages were acknowledged after 128 or 100 ms,
// never sooner for big ones, so a client sending 64 KiB messages kept up to 8 MiB it could have freed.
test('on a WebSocket, an `a` goes at once past 128 messages or about 1 MiB, as in one process', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] })
  const out: string[] = []
  const ws = { name: 'websocket', inSeq: 0, ready: () => true, write: (f: unknown[]) => out.push(...(f as string[])) }
  const { inbound } = served(0, true, undefined, { websocket: ws as unknown as Link })
  const big = 'm' + 'x'.repeat(65536)
  const settle = async () => {
    for (let i = 0; i < 10; i++) await new Promise((ok) => setImmediate(ok))
  }
  inbound._receive(['s1', ...Array.from({ length: 16 }, () => big)], ws as unknown as Link)
  await settle()
  assert.deepEqual(out, [], '1 MiB exactly: not yet')
  inbound._receive(['mx'], ws as unknown as Link)
  await settle()
  assert.deepEqual(out, ['a17'])
  inbound._receive(
    Array.from({ length: 128 }, () => 'my'),
    ws as unknown as Link,
  )
  await settle()
  assert.deepEqual(out, ['a17', 'a145'], '128 small ones')
  inbound._receive(['mz'], ws as unknown as Link)
  await settle()
  assert.deepEqual(out, ['a17', 'a145'])
  t.mock.timers.tick(100)
  assert.deepEqual(out, ['a17', 'a145', 'a146'], 'the rest after 100 ms')
  inbound._stop()
})
