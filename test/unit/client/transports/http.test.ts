// The HTTP transports (src/client/transports/http.ts), against a scripted fetch: what happens to
// a POST the network loses or a server refuses, and to a poll answer that is empty or cut short.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { encode } from '../../../../src/protocol/envelope'
import { PollingTransport } from '../../../../src/client/transports/polling'
import { StreamTransport } from '../../../../src/client/transports/stream'
import type { TransportContext } from '../../../../src/client/transports/transport'

/** What a transport is given, with a scripted `fetch`; an opening request's URL says `o=1`. */
const context = (fetch: typeof globalThis.fetch) =>
  ({
    url: (_t: unknown, opening?: boolean) => 'http://127.0.0.1:1/rt' + (opening ? '?o=1' : ''),
    fetch,
    maxMessageSize: 1 << 20,
    clock: { now: () => 0 },
  }) as unknown as TransportContext

type Answer = 'lost' | 'ok' | number
type Call = { method: string; body: string }

/** A stream transport whose GET never answers and whose POSTs meet `answers` in turn. */
function stream(answers: Answer[]) {
  const calls: Call[] = []
  const fetch = (async (_url: string, init: RequestInit) => {
    const body = init.body ? Buffer.from(init.body as Uint8Array).toString('latin1') : ''
    calls.push({ method: init.method!, body })
    if (init.method == 'GET') return new Promise(() => {})
    const a = answers.shift() ?? 'ok'
    if (a == 'lost') throw new TypeError('Failed to fetch')
    if (a == 'ok')
      return new Response(encode(['a1']) as BodyInit, { headers: { 'Content-Type': 'application/octet-stream' } })
    return new Response('refused', { status: a, headers: { 'Content-Type': 'text/plain' } })
  }) as unknown as typeof globalThis.fetch
  const t = new StreamTransport(context(fetch))
  const ends: string[] = []
  t.on('close', (why) => ends.push(why))
  t._maxPost = Infinity
  t.open()
  return { t, calls, ends, posts: () => calls.filter((c) => c.method == 'POST') }
}
const settle = () => new Promise((r) => setTimeout(r, 20))

// Issue 25, seed 46 of the randomized network: a proof ping whose POST was lost on its way made the
// client give up a stream whose download worked, and start over.
test('a POST lost on the network goes again, the same body, and the download is kept', async () => {
  const { t, ends, posts } = stream(['lost', 'lost', 'ok'])
  t.send(['mhi'], 1)
  await settle()
  assert.equal(posts().length, 3, 'sent three times')
  assert.equal(new Set(posts().map((p) => p.body)).size, 1, 'the same body each time')
  assert.match(posts()[0].body, /s1/)
  assert.deepEqual(ends, [], 'the stream goes on')
})

test('a POST lost three times in a row ends the transport as upload-failed', async () => {
  const { t, ends, posts } = stream(['lost', 'lost', 'lost', 'ok'])
  t.send(['mhi'], 1)
  await settle()
  assert.equal(posts().length, 3)
  assert.deepEqual(ends, ['upload-failed'])
})

test('a POST refused with a status is not sent again: the status is the end', async () => {
  const { t, ends, posts } = stream([502])
  t.send(['mhi'], 1)
  await settle()
  assert.equal(posts().length, 1)
  assert.deepEqual(ends, ['upload-502'])
})

/** A polling transport whose GETs meet `answers` in turn: [body bytes, Content-Length or none]. */
function polling(answers: [Uint8Array, number | undefined][]) {
  const urls: string[] = []
  const fetch = (async (url: string) => {
    urls.push(url)
    const next = answers.shift()
    if (!next) return new Promise(() => {})
    const [body, length] = next
    const headers: Record<string, string> = { 'Content-Type': 'application/octet-stream' }
    if (length !== undefined) headers['Content-Length'] = String(length)
    return new Response(body as BodyInit, { headers })
  }) as unknown as typeof globalThis.fetch
  const t = new PollingTransport(context(fetch))
  const ends: string[] = []
  const batches: unknown[][] = []
  t.on('close', (why) => ends.push(why))
  t.on('batch', (frames, then) => (batches.push(frames), then()))
  t.open()
  return { t, urls, ends, batches }
}

// Issue 25, a fresh seed of the randomized network: an opening poll cut right after its headers read
// as an empty answer; the next poll's messages came before any hello, each one a protocol error.
test('an opening poll answered with nothing (an empty 200, or cut after its headers) ends as empty', async () => {
  const { ends, urls, batches } = polling([[new Uint8Array(0), undefined]])
  await settle()
  assert.deepEqual(ends, ['empty'])
  assert.deepEqual(batches, [])
  assert.equal(urls.length, 1, 'no poll without o=1 follows')
})

test('a poll answer shorter than its Content-Length is a failure, not an answer', async () => {
  const whole = encode(['o{"v":2}', 's1', 'mhi'])
  // Cut between two records: nothing half-read gives it away, only the length.
  const { ends, batches } = polling([[encode(['o{"v":2}']), whole.length]])
  await settle()
  assert.deepEqual(ends, ['failed'])
  assert.deepEqual(batches, [])
})

test('a poll answer whole at its Content-Length is delivered, and the next poll goes', async () => {
  const whole = encode(['o{"v":2}', 's1', 'mhi'])
  const { ends, batches, urls } = polling([[whole, whole.length]])
  await settle()
  assert.deepEqual(ends, [])
  assert.deepEqual(batches, [['o{"v":2}', 's1', 'mhi']])
  assert.equal(urls.length, 2)
})
