// Messages with a fake clock and fake transports: numbering, acknowledgement, deduplication,
// batching, send bounds, delivery to app handlers.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { LifelineError } from '../../../src/client/index'
import { client, flush, made, POLL, STREAM } from './fakes'

// duplicates are dropped, a gap is a protocol error
test('incoming messages are numbered from the seq marker', async () => {
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
  assert.deepEqual(
    t.controls.filter((f) => f[0] == 'a'),
    ['a128'],
  )
  await clock.tick(99)
  assert.deepEqual(
    t.controls.filter((f) => f[0] == 'a'),
    ['a128'],
  )
  await clock.tick(1)
  assert.deepEqual(
    t.controls.filter((f) => f[0] == 'a'),
    ['a128', 'a130'],
  )
  t.recv('mx')
  ll.send('reply')
  await flush()
  assert.deepEqual(t.sent.slice(-2), ['a130', 'mreply'], 'a reply goes alone: one frame each way for a ping-pong')
  await clock.tick(100)
  assert.equal(t.sent.at(-1), 'a131')
})

// 128 messages still go at once
// issue 19: the next poll goes out before the app's handlers, so a reply finds it at the server
// its cursor counting the batch
test('a batch (a poll answer): counted, then the next request goes, then it is handed to the app', async () => {
  const { ll, of } = client({}, [POLL])
  await flush()
  const t = made[0]
  t.prove()
  await flush()
  const seen: string[] = []
  ll.onmessage = (e) => seen.push(`${e.data} (request then: ${urls.at(-1)!.match(/ack=\d+/)})`)
  const urls: string[] = []
  t.emit('batch', ['s1', 'ma', 'M["b","c"]'], () => urls.push(t._ctx.url(t)))
  assert.deepEqual(seen, ['a (request then: ack=3)', 'b (request then: ack=3)', 'c (request then: ack=3)'])
  // A close after messages in one answer: the app has the messages first, then the close.
  t.emit('batch', ['md', 'c4000 bye'], () => urls.push('second'))
  await flush()
  assert.deepEqual(seen.slice(3), ['d (request then: ack=3)'], 'd is handed over before the close frame is read')
  assert.deepEqual([of('close').length, of('close')[0] && of('close')[0].code], [1, 4000])
  assert.equal(urls.length, 1, 'no next request once the session is over')
})

test('acks over HTTP streaming wait 5 s, not 100 ms (each is a whole POST)', async () => {
  const { ll, clock } = client({}, [STREAM])
  await flush()
  const t = made[0]
  t.prove()
  t.recv('s1')
  t.recv('mone')
  const acks = () => t.controls.filter((f) => f[0] == 'a')
  await clock.tick(4999)
  assert.deepEqual(acks(), [], 'a broadcast a second would otherwise cost a POST a second')
  t.recv('mtwo')
  await clock.tick(1)
  assert.deepEqual(acks(), ['a2'], '5 s after the first unacknowledged one')
  for (let i = 0; i < 128; i++) t.recv('m' + i)
  assert.deepEqual(acks(), ['a2', 'a130'], 'a full window is acknowledged at once, as on a WebSocket')
  t.recv('mlast')
  await clock.tick(5000)
  assert.deepEqual(acks(), ['a2', 'a130', 'a131'])
  // Regression: a POST of the app's own carries the cursor in its URL; no ack POST follows it.
  t.recv('mmore')
  ll.send('reply')
  await flush()
  assert.deepEqual(t.sent.slice(-1), ['mreply'])
  assert.match(t.posts.at(-1)!, /[?&]ack=132(&|$)/)
  // The POST's reply acknowledges it, as the server's does (or the stall watch would step in).
  t.recv('a1')
  await clock.tick(5000)
  assert.deepEqual(acks(), ['a2', 'a130', 'a131'], 'nothing left to acknowledge')
  t.recv('mlater')
  await clock.tick(5000)
  assert.deepEqual(acks(), ['a2', 'a130', 'a131', 'a133'])
})

test('the first message of a task goes out at once, the rest of the task in one batch after it', async () => {
  const { ll } = client()
  await flush()
  const t = made[0]
  t.prove()
  await flush()
  const before = t.sent.length
  ll.send('first')
  assert.deepEqual(t.sent.slice(before), ['mfirst'], 'on the transport before send() returns')
  ll.send('second')
  ll.send('third')
  assert.equal(t.sent.length, before + 1, 'the rest wait for the end of the task')
  await flush()
  assert.deepEqual(t.sent.slice(before), ['mfirst', 'M["second","third"]'])
  ll.send('next task')
  assert.equal(t.sent.at(-1), 'mnext task')
})

// whatever kind of buffer or view it is
test('send() copies binary data: the app may reuse its buffer at once', async () => {
  const { ll } = client()
  const buf = new Uint8Array([1, 2, 3, 4, 5, 6])
  ll.send(buf.buffer)
  ll.send(buf.subarray(1, 3))
  ll.send(new DataView(buf.buffer, 4, 2))
  buf.fill(0)
  await flush()
  made[0].prove()
  await flush()
  const sent = made[0].sent.filter((f) => typeof f != 'string').map((f) => [...(f as Uint8Array)])
  assert.deepEqual(sent, [
    [1, 2, 3, 4, 5, 6],
    [2, 3],
    [5, 6],
  ])
  assert.equal(ll.bufferedAmount, 10)
})

// issue 19: no copy when the app says it will not write to the buffer again
test('send(data, { transfer: true }) keeps the bytes handed over, not a copy; strings ignore it', async () => {
  const { ll } = client()
  const buf = new Uint8Array([1, 2, 3, 4])
  ll.send(buf.buffer, { transfer: true })
  ll.send(buf.subarray(2), { transfer: true })
  ll.send('text', { transfer: true })
  ll.send(buf.subarray(0, 2), { transfer: false })
  buf.fill(9)
  await flush()
  made[0].prove()
  await flush()
  const sent = made[0].sent.filter((f) => typeof f != 'string').map((f) => [...(f as Uint8Array)])
  assert.deepEqual(
    sent,
    [
      [9, 9, 9, 9],
      [9, 9],
      [1, 2],
    ],
    'what the app wrote after send() shows only where it handed over',
  )
  assert.deepEqual(made[0].texts, ['<bin>', '<bin>', 'text', '<bin>'])
  assert.equal(ll.bufferedAmount, 12)
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
  assert.equal(
    code(() => ll.send('1234567')),
    'LL_ERR_MESSAGE_TOO_BIG',
  )
  assert.equal(
    code(() => ll.send('123456')),
    'no error',
    'exactly maxMessageSize is allowed',
  )
  assert.equal(
    code(() => ll.send('1234')),
    'no error',
    'exactly maxBufferedAmount is allowed',
  )
  assert.equal(
    code(() => ll.send('1')),
    'LL_ERR_BUFFER_FULL',
  )
  assert.equal(ll.bufferedAmount, 10)
  const b = client({ maxQueueLength: 2 })
  b.ll.send('a')
  b.ll.send('b')
  assert.equal(
    code(() => b.ll.send('c')),
    'LL_ERR_BUFFER_FULL',
  )
  assert.equal(
    code(() => b.ll.send(42 as never)),
    'LL_ERR_INVALID_DATA',
  )
  assert.equal(
    code(() => b.ll.close(1001)),
    'LL_ERR_INVALID_OPTION',
  )
  assert.equal(
    code(() => b.ll.close(1000, 'x'.repeat(124))),
    'LL_ERR_INVALID_OPTION',
  )
})

test("the server's maxMessageSize from its hello applies too", async () => {
  const { ll } = client()
  await flush()
  made[0].hello(undefined, 0, 25000, 4)
  assert.throws(
    () => ll.send('12345'),
    (e: LifelineError) => e.code == 'LL_ERR_MESSAGE_TOO_BIG',
  )
})

test('fire-and-forget (resume: false): nothing kept after it is written, no acks, gaps accepted', async () => {
  const { ll, of } = client({ resume: false })
  ll.send('a')
  await flush()
  assert.match(made[0].url, /&r=0&g=%7B%7D$/)
  made[0].prove()
  await flush()
  assert.equal(ll.bufferedAmount, 0)
  made[0].recv('s5')
  made[0].recv('mfive')
  made[0].recv('s9')
  made[0].recv('mnine')
  assert.deepEqual(
    of('message').map((e) => e.data),
    ['five', 'nine'],
  )
  assert.equal(made[0].controls.filter((f) => f[0] == 'a').length, 0)
})

// it is rethrown in a fresh task
test('a throwing app handler neither breaks delivery nor escapes synchronously', async () => {
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
  assert.deepEqual(
    of('message').map((e) => e.data),
    ['one', 'two'],
  )
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

// as an ack sent alone does
test('regression: a request URL that carries the cursor restarts the byte count', async () => {
  const { ll } = client({}, [STREAM])
  await flush()
  const t = made[0]
  t.prove()
  t.recv('s1')
  for (let i = 0; i < 10; i++) t.recv(new Uint8Array(65536))
  ll.send('reply')
  await flush()
  assert.match(t.posts.at(-1)!, /[?&]ack=10(&|$)/)
  // 640 KiB since that POST: not the 1 MiB that asks for an ack at once (it was 1.28 MiB counted).
  for (let i = 0; i < 10; i++) t.recv(new Uint8Array(65536))
  assert.deepEqual(
    t.controls.filter((f) => f[0] == 'a'),
    [],
  )
})

test('acks come sooner for big messages: after about 1 MB, not after 128 of them', async () => {
  const { clock } = client()
  await flush()
  const t = made[0]
  t.prove()
  t.recv('s1')
  for (let i = 0; i < 16; i++) t.recv(new Uint8Array(65536))
  assert.deepEqual(
    t.controls.filter((f) => f[0] == 'a'),
    [],
    '1 MiB exactly: not yet',
  )
  t.recv(new Uint8Array(1))
  assert.deepEqual(
    t.controls.filter((f) => f[0] == 'a'),
    ['a17'],
  )
  await clock.tick(100)
  assert.deepEqual(
    t.controls.filter((f) => f[0] == 'a'),
    ['a17'],
    'nothing more to acknowledge',
  )
})
