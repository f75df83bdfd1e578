// The HTTP transports' uploads (src/client/transports/http.ts), against a scripted fetch: what
// happens to a POST the network loses, and to one the server or a proxy refuses.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { encode } from '../../../../src/protocol/envelope'
import { StreamTransport } from '../../../../src/client/transports/stream'
import type { TransportContext } from '../../../../src/client/transports/transport'

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
  const ctx = {
    url: () => 'http://127.0.0.1:1/rt',
    fetch,
    maxMessageSize: 1 << 20,
    clock: { now: () => 0 },
  } as unknown as TransportContext
  const t = new StreamTransport(ctx)
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
