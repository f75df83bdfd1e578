// Ownership under a freeze, against real processes (test/support/cluster-node.mjs over src/server
// under tsx, two nodes on one real redis-server, raw peers straight to each node): the
// owner of a session is frozen with SIGSTOP, its client moves to the live node before the lease
// runs out, and no request comes after that. The live node's sweep must take the session over
// and hand what waits; the frozen node, once it runs again, must not renew its lapsed lease, hand
// anything or write anything (issue 26: in 8 freezes of 12 the session was stuck for good).
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createClient } from 'redis'
import { startRedis } from '../../support/redis.mjs'
import { startNodes } from '../../support/nodes.mjs'
import { req, hello, until } from '../raw'
import { KEY_LAYOUT } from '../../../src/server/cluster/store'

const LEASE = 3000
let redis: Awaited<ReturnType<typeof startRedis>>
let nodes: Awaited<ReturnType<typeof startNodes>>
let client: ReturnType<typeof createClient>
before(async () => {
  redis = await startRedis()
  nodes = await startNodes(2, {
    LIFELINE_REDIS_URL: redis.url,
    LIFELINE_NODE_LEASE: String(LEASE),
    LIFELINE_TRACE: '1',
  })
  client = createClient({ url: redis.url })
  client.on('error', () => {})
  await client.connect()
})
after(async () => {
  await client?.quit().catch(() => {})
  await nodes?.stopAll()
  await redis?.remove()
})

const ackOf = (frames: unknown[]) => {
  const a = frames.find((f) => typeof f == 'string' && f[0] == 'a') as string | undefined
  return a ? +a.slice(1) : -1
}
/** The seqs a node's log says it handed its app, in order. */
const handed = (log: string, name: string) =>
  [...log.matchAll(new RegExp(`^${name} handed (\\d+) (true|false) `, 'gm'))].map((m) => +m[1])

test('owner frozen, client moved before its lease ran out, no request after: swept, taken over, handed', async () => {
  const [n1, n2] = nodes.list
  const sid = hello((await req(n1.port, 'GET', 'v=2&t=polling&ack=0&o=1')).frames).sid
  const first = await req(n1.port, 'POST', `v=2&t=polling&sid=${sid}&ack=0`, ['s1', 'u1', 'm1'])
  assert.equal(ackOf(first.frames), 1)
  const h = `ll:${KEY_LAYOUT}:s:{${sid}}`
  // Its echo carries the receipt of message 1: once both are in Redis, nothing of n1's is pending.
  await until(async () => Number(await client.hGet(h, 'delivered')) == 1, 5000, 'message 1 committed')
  const owner = String(await client.hGet(h, 'owner'))
  nodes.freeze(0)
  const frozenAt = Date.now()
  // The client moves to n2 while n1's lease still runs: 2,000 messages kept in Redis and acknowledged.
  const N = 2001
  const body = ['s2', ...Array.from({ length: N - 1 }, (_, i) => 'm' + (i + 2))]
  const post = await req(n2.port, 'POST', `v=2&t=polling&sid=${sid}&ack=0`, body)
  assert.equal(ackOf(post.frames), N)
  assert.ok(Date.now() - frozenAt < LEASE, 'moved before the lease ran out (the test needs it)')
  assert.equal(await client.hGet(h, 'owner'), owner, 'n1 owns it still; nothing took it over on the request')
  // No request from here on. The sweep takes it over and hands every waiting message, committed in Redis.
  await until(() => handed(n2.log, 'n2').length >= N - 1, LEASE + 15000, 'n2 handed the 2,000 waiting')
  await until(async () => Number(await client.hGet(h, 'delivered')) == N, 10000, 'delivery committed in Redis')
  const took = handed(n2.log, 'n2')
  assert.deepEqual(
    took,
    Array.from({ length: N - 1 }, (_, i) => i + 2),
    'each once, in order',
  )
  assert.ok(
    [...n2.log.matchAll(/^n2 handed \d+ (true|false) /gm)].every((m) => m[1] == 'true'),
    'handed after a takeover: redelivered (the dead owner may have had them)',
  )
  assert.match(n2.log, /^n2 took a session over$/m)
  assert.notEqual(await client.hGet(h, 'owner'), owner)
  // n1 runs again: it renews nothing, hands nothing, writes nothing, and drops the session.
  const before = n1.log.length
  const out = Number(await client.hGet(h, 'sent'))
  nodes.thaw(0)
  await until(() => /joined again as node/.test(n1.log.slice(before)), 10000, 'n1 found its lease lapsed')
  const since = n1.log.slice(before)
  assert.deepEqual(handed(since, 'n1'), [], 'the thawed node handed nothing: ' + since)
  assert.equal(await client.exists(`ll:${KEY_LAYOUT}:node:` + owner), 0, 'its lapsed lease was not renewed')
  assert.match(since, /^n1 was fenced$/m)
  // Every echo, once, in order, to the client on n2 (a poll answers up to 1,000); n1 wrote none of them.
  const texts: string[] = []
  for (let i = 0; i < 10 && texts.length < N; i++) {
    const poll = await req(n2.port, 'GET', `v=2&t=polling&sid=${sid}&ack=${texts.length}`)
    const seq = poll.frames.find((f) => typeof f == 'string' && f[0] == 's') as string
    assert.equal(seq, 's' + (texts.length + 1))
    for (const f of poll.frames)
      if (typeof f == 'string' && f[0] == 'm') texts.push(f.slice(1))
      else if (typeof f == 'string' && f[0] == 'M') texts.push(...(JSON.parse(f.slice(1)) as string[]))
  }
  assert.deepEqual(
    texts,
    Array.from({ length: N }, (_, i) => String(i + 1)),
  )
  assert.equal(Number(await client.hGet(h, 'sent')), out, 'nothing written after the thaw')
})
