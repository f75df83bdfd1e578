// The owner's session in cluster mode (src/server/cluster/owned.ts), over a fake store that numbers
// appends and counts what the client has not acknowledged as the append script does: send() says
// false at maxBufferedAmount and maxQueueLength by the owner's own count, as in one process.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { OwnedSession, type OwnerHost } from '../../../../src/server/cluster/owned'
import { ServerSession } from '../../../../src/server/session'
import type { ClusterStore } from '../../../../src/server/cluster/store'
import type { StoredMessage } from '../../../../src/server/cluster/records'
import { Counters } from '../../../../src/server/stats'
import { serverClock } from '../../../../src/server/clock'

const BOUND = 1000
const QUEUE = 5

/** An owned session over a fake store; `closes` are what reached Redis, `appended` each append's size. */
function owned() {
  let out = 0
  let bytes = 0
  const appended: number[] = []
  const closes: string[] = []
  const store = {
    appendOutgoing: async (_sid: string, _fence: number, batch: StoredMessage[]) => {
      appended.push(batch.length)
      const first = out + 1
      out += batch.length
      for (const m of batch) bytes += m.length
      return { status: 'ok', first, last: out, bufferedAmount: bytes }
    },
    close: async (_sid: string, _fence: number, code: number) => void closes.push(String(code)),
    release: async () => {},
  } as unknown as ClusterStore
  const o = {
    maxMessageSize: 4096,
    maxBufferedAmount: BOUND,
    maxQueueLength: QUEUE,
    sessionTtl: 1000,
    clock: serverClock,
  }
  const host = {
    store,
    o,
    log: () => {},
    stats: new Counters(10),
    confirm: () => {},
    gone: () => {},
    held: () => true,
    track: () => {},
    ending: () => {},
    follow: () => undefined,
    appended: () => {},
  } as unknown as OwnerHost
  let kept!: OwnedSession
  const s = new ServerSession('sid', '127.0.0.1', {}, '', true, (app) => (kept = new OwnedSession(app, 1, 0, 0, host)))
  /** The client acknowledged up to `n`, leaving `left` bytes (the `d` hint). */
  const ack = (n: number, left: number) => ((bytes = left), kept._acked(n, left))
  return { s, appended, closes, ack }
}

const settled = () => new Promise((r) => setImmediate(r))

test('send() is false past maxBufferedAmount, counted before Redis has them; the session ends with 3900', async () => {
  const { s, closes } = owned()
  const codes: number[] = []
  s.on('close', (code) => codes.push(code))
  assert.ok(s.send('x'.repeat(600)))
  assert.ok(s.send('x'.repeat(400)), 'exactly at the bound, in the same tick')
  assert.equal(s.bufferedAmount, BOUND)
  assert.equal(s.send('x'), false, 'one byte more')
  assert.deepEqual([s.closed, codes], [true, [3900]])
  await settled()
  assert.deepEqual(closes, ['3900'], 'the end is written to Redis')
})

test("acknowledgements the owner hears of free the bound; appends' answers carry Redis's count", async () => {
  const { s, appended, ack } = owned()
  for (let i = 0; i < 4; i++) assert.ok(s.send('x'.repeat(200)))
  await settled()
  assert.deepEqual([appended, s.bufferedAmount], [[4], 800])
  ack(4, 0)
  assert.equal(s.bufferedAmount, 0)
  assert.ok(s.send('y'.repeat(BOUND)), 'the whole bound again')
  assert.equal(s.closed, false)
})

test('send() is false past maxQueueLength unacknowledged messages, empty ones too', async () => {
  const { s, ack } = owned()
  for (let i = 0; i < QUEUE; i++) assert.ok(s.send(''))
  await settled()
  ack(2, 0)
  assert.ok(s.send(''), 'two acknowledged: room for two')
  assert.ok(s.send(''))
  assert.equal(s.send(''), false)
  assert.equal(s.closed, true)
})
