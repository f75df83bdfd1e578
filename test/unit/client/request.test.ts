// lifeline-rt/request and the `delivered` event, with the fake clock and fake transports: replies
// matched to requests and kept from `message` listeners, timeouts, resets and closes as coded
// errors; acknowledgements reported by number.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { LifelineError } from '../../../src/client/index'
import { request, REQUEST_TIMEOUT } from '../../../src/client/request'
import { client, flush, made, resetSession } from './fakes'

/** A proven session with `n` server messages numbered so far. */
async function up() {
  const c = client()
  await flush()
  made[0].prove('R'.repeat(22))
  made[0].recv('s1')
  await flush()
  return c
}

/** The request frames the client sent, as `[id, data]`. */
const requests = () =>
  made
    .flatMap((t) => t.texts)
    .filter((m) => m[0] == '\u0001')
    .map((m) => /^\u0001q(\d+) (.*)$/s.exec(m)!.slice(1))

const code = (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: LifelineError) => (assert.ok(e instanceof LifelineError, String(e)), e.code),
  )

test('request: the reply resolves its request, matched by number; replies never reach message listeners', async () => {
  const { ll, of } = await up()
  const a = request(ll, 'price AAPL')
  const b = request(ll, 'price MSFT', { timeout: 1000 })
  ll.send('plain')
  await flush()
  assert.deepEqual(requests(), [
    ['1', 'price AAPL'],
    ['2', 'price MSFT'],
  ])
  made[0].recv('m\u0001r2 310')
  made[0].recv('mhello')
  made[0].recv('m\u0001r1 190 with spaces')
  made[0].recv('m\u0001r9 nobody asked')
  assert.deepEqual(await Promise.all([a, b]), ['190 with spaces', '310'])
  assert.deepEqual(
    of('message').map((e) => e.data),
    ['hello'],
    'only app messages reach listeners',
  )
})

test('request: no reply within timeout rejects LL_ERR_TIMEOUT, at the timeout and not before', async () => {
  const { ll, clock } = await up()
  const p = code(request(ll, 'slow', { timeout: 500 }))
  const d = code(request(ll, 'default'))
  let settled = false
  p.then(() => (settled = true))
  await clock.tick(499)
  assert.equal(settled, false)
  await clock.tick(1)
  assert.equal(await p, 'LL_ERR_TIMEOUT')
  await clock.tick(REQUEST_TIMEOUT - 501)
  made[0].recv('m\u0001r1 too late')
  await clock.tick(1)
  assert.equal(await d, 'LL_ERR_TIMEOUT')
})

test('request: a reset rejects what waits with LL_ERR_RESET, a close with LL_ERR_INVALID_STATE', async () => {
  const { ll, clock } = await up()
  const p = code(request(ll, 'before reset'))
  await flush()
  await resetSession(clock, 'N'.repeat(22))
  assert.equal(await p, 'LL_ERR_RESET')
  const q = code(request(ll, 'before close'))
  ll.close()
  assert.equal(await q, 'LL_ERR_INVALID_STATE')
  assert.equal(await code(request(ll, 'after close')), 'LL_ERR_INVALID_STATE', 'as send() throws')
})

// and bad arguments are refused
test("request: the server handler's failure rejects LL_ERR_SERVER with its message", async () => {
  const { ll } = await up()
  const p = request(ll, 'fail me')
  made[0].recv('m\u0001e1 no such symbol')
  await assert.rejects(p, { code: 'LL_ERR_SERVER', message: /no such symbol/ })
  assert.equal(await code(request(ll, new Uint8Array(1) as never)), 'LL_ERR_INVALID_DATA')
  for (const timeout of [0, -1, NaN]) assert.equal(await code(request(ll, 'x', { timeout })), 'LL_ERR_INVALID_OPTION')
})

test('delivered: each acknowledgement that frees messages reports the highest number, empty messages too', async () => {
  const { ll } = await up()
  const seqs: number[] = []
  ll.on('delivered', (e) => seqs.push(e.seq))
  assert.equal(ll.sent, 0)
  ll.send('')
  ll.send('')
  ll.send('abc')
  assert.equal(ll.sent, 3)
  await flush()
  made[0].recv('a2')
  made[0].recv('a2')
  assert.deepEqual(seqs, [2], 'two empty messages: no bytes freed, still delivered; a repeated ack says nothing')
  made[0].recv('a3')
  assert.deepEqual(seqs, [2, 3])
  assert.equal(ll.sent, 3)
  assert.equal(ll.bufferedAmount, 0)
})

test('delivered: not with resume: false, which has no acknowledgements', async () => {
  const { ll } = client({ resume: false })
  await flush()
  made[0].prove('R'.repeat(22))
  const seqs: number[] = []
  ll.on('delivered', (e) => seqs.push(e.seq))
  ll.send('x')
  await flush()
  made[0].recv('a1')
  assert.deepEqual(seqs, [])
})
