// The link side of cluster mode (src/server/cluster/served.ts) against a real redis-server, with
// the node in this process: what a WebSocket's frames and uploads do when Redis fails under them.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { start, ws, until } from '../raw'
import { createClient } from 'redis'
import { texts } from '../../support/peers'
import { nodeClient } from '../client'
import { KEY_LAYOUT } from '../../../src/server/cluster/store'
import { useRedis } from './redis-helpers'

const redis = useRedis()

// Regression (issue 26), found by the randomized fault test (chaos.test.ts, where every Redis
// restart ended a WebSocket session or two with `1002 protocol error: gap after N`): the write in
// flight failed, the frames queued behind it on the dead link were kept once Redis was back at the
// seq that link had numbered them, a gap, and the session ended; a link attached meanwhile was told
// nothing, and the session fell silent. Now a dead link's queued frames are dropped, as the client
// sends them again.
test('Redis killed under a WebSocket write: the session resumes, the unacknowledged kept once, in order', async () => {
  const node = await start({ cluster: { redis: redis.url, nodeLease: 5000, prefix: 'served:' } })
  const a = ws(node.port)
  const { sid } = await a.hello()
  for (const f of ['p', 'u1', 's1', 'm1']) a.sock.send(f)
  await a.until((f) => texts([f]).includes('1'), 10000)
  // Redis stops answering: the write keeping 2 goes out and hangs; 3 waits behind it on the node.
  redis.pause()
  a.sock.send('m2')
  a.sock.send('m3')
  await new Promise((r) => setTimeout(r, 300))
  // kill -9: the write in flight fails (nothing acknowledged it); Redis comes back with its AOF.
  await redis.kill()
  await redis.start()
  await a.closed
  // The client resumes, as it does after any drop, and sends again what was not acknowledged.
  const b = ws(node.port, `v=2&t=websocket&ack=1&o=1&sid=${sid}`)
  const first = (await b.until((f) => typeof f == 'string' && (f[0] == 'o' || f[0] == 'c'), 10000)) as string
  assert.equal(first[0], 'o', 'the session resumes, not ended: ' + first)
  for (const f of ['p', 'u2', 's2', 'm2', 'm3']) b.sock.send(f)
  await b.until((f) => texts([f]).includes('3'), 10000)
  assert.deepEqual(texts(b.frames), ['2', '3'], 'each echo once, in order')
  b.sock.close()
})

// Redis that lost writes it had acknowledged (a replica promoted while it lagged, `appendfsync`
// turned off at run time): the client and Redis no longer agree on what was sent, and the session
// cannot go on without losing or doubling messages. It ends with 3901 (the client starts a new
// session, with a `reset`), never with 1002 or in silence (issue 26; docs/scaling.md).
for (const lost of ['incoming', 'outgoing'] as const)
  test(`Redis lost ${lost} messages it had acknowledged: the WebSocket session ends with 3901, not 1002`, async () => {
    const prefix = 'lost' + lost + ':'
    const node = await start({ cluster: { redis: redis.url, nodeLease: 5000, prefix } })
    const a = ws(node.port)
    const { sid } = await a.hello()
    for (const f of ['p', 'u1', 's1', 'm1', 'm2', 'm3']) a.sock.send(f)
    await a.until((f) => f === 'a3', 10000)
    await a.until((f) => texts([f]).includes('3'), 10000)
    const client = createClient({ url: redis.url })
    client.on('error', () => {})
    await client.connect()
    const h = prefix + KEY_LAYOUT + ':s:{' + sid + '}'
    // What a lagging replica would hold: the session as it was after its first message.
    if (lost == 'incoming') {
      await client.hSet(h, { received: '1', delivered: '1', inboxBytes: '0' })
      await client.del(h + ':i')
      a.sock.send('m4')
    } else {
      await client.hSet(h, { sent: '1', acked: '0', sentBytes: '1' })
      await client.lTrim(h + ':o', 0, 0)
      a.sock.send('a3')
    }
    await client.quit()
    const bye = (await a.until((f) => typeof f == 'string' && f[0] == 'c', 10000)) as string
    assert.match(bye, /^c3901 session lost: Redis lost acknowledged messages/)
  })

/** What a lagging replica would hold of session `sid`: its hash as it was after the first client message. */
async function loseIncoming(prefix: string, sid: string): Promise<string> {
  const client = createClient({ url: redis.url })
  client.on('error', () => {})
  await client.connect()
  const h = prefix + KEY_LAYOUT + ':s:{' + sid + '}'
  await client.hSet(h, { received: '1', delivered: '1', inboxBytes: '0' })
  await client.del(h + ':i')
  await client.quit()
  return h
}

/** The `end` field of a session's hash (`code reason`), read straight from Redis. */
async function endOf(h: string): Promise<string> {
  const client = createClient({ url: redis.url })
  client.on('error', () => {})
  await client.connect()
  const end = await client.hGet(h, 'ended')
  await client.quit()
  return end || ''
}

// Regression (issue 26, docs/scaling.md "Not done yet"): over HTTP, after Redis lost client
// messages it had acknowledged, the client's next upload starts past what Redis has, which is also
// what an upload that overtook the one before it looks like. On a node that never saw Redis keep
// more, it was held, refused with 503, sent again on a new connection, refused again, for as long
// as the client kept trying: the session neither resumed nor ended. A connection's first upload
// (`u<k>` then `s<oldest unacknowledged>`, PROTOCOL.md §6.2) shows what the client was told was
// kept: the session now ends with 3901 there, and the client starts a new one with a `reset`.
// Regression too: that new session's stream or WebSocket wrote nothing (its first request carried
// the old session's `ack`, taken as the new one's cursor).
for (const t of ['websocket', 'stream', 'polling'] as const)
  test(`${t}: Redis lost acknowledged client messages: the session ends with 3901, the new one works`, async () => {
    const prefix = 'lostreal' + t + ':'
    const cluster = { redis: redis.url, nodeLease: 5000, prefix }
    const [a, b] = [await start({ cluster }), await start({ cluster })]
    // Every HTTP request goes to node a, until the balancer sends them all to b (say a was drained).
    let port = a.port
    const refused: number[] = []
    const balanced = (async (url: string, init: RequestInit) => {
      const res = await fetch(url.replace(':' + a.port + '/', ':' + port + '/'), init)
      if (res.status != 200) refused.push(res.status)
      return res
    }) as typeof fetch
    const ll = nodeClient(`http://127.0.0.1:${a.port}/rt`, t, { fetch: balanced })
    const heard: string[] = []
    const resets: string[] = []
    let delivered = 0
    ll.on('message', (e) => heard.push(String(e.data)))
    ll.on('reset', (e) => resets.push(e.reason))
    ll.on('delivered', (e) => (delivered = e.seq))
    for (const m of ['m1', 'm2', 'm3']) ll.send(m)
    await until(() => delivered == 3 && heard.length == 3, 10000, 'three echoes, acknowledged')
    const h = await loseIncoming(prefix, a.sessions[0].id)
    port = b.port
    ll.send('m4')
    await until(() => resets.length > 0, 10000, 'a reset').catch((e) => {
      throw new Error(e.message + '; HTTP statuses other than 200: ' + refused.join(' '))
    })
    assert.deepEqual(resets, ['session-closed-3901'])
    assert.match(await endOf(h), /^3901 session lost: Redis lost acknowledged messages/)
    ll.send('m5')
    await until(() => heard.includes('m5'), 10000, 'the echo of m5 in the new session')
    assert.deepEqual(heard, ['m1', 'm2', 'm3', 'm5'])
    ll.close()
  })
