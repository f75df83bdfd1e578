// The client's reading of HTTP statuses that are not Lifeline's own refusals (src/client/statuses.ts),
// with the real client in Node against the real server on loopback: a wrong path, a proxy's 403,
// and a server whose `maxPostBytes` is below the client's own bound on a POST body.
import assert from 'node:assert/strict'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, test } from 'node:test'
import { Lifeline, type LifelineOptions } from '../../src/client/index'
import { LifelineServer } from '../../src/server/index'
import { NodeWS, clock } from './client'
import { recorder } from './raw'

const stops: Array<() => unknown> = []
after(async () => {
  for (const s of stops.splice(0).reverse()) await s()
})

/** A server with Lifeline at /rt and an app answering every other path with `status`. */
async function app(status = 404, options = {}) {
  const server = http.createServer((req, res) => res.writeHead(status).end('not here'))
  const logged: string[] = []
  const ll = new LifelineServer({ server, path: '/rt', logger: recorder(logged), ...options })
  ll.on('connection', (s) => s.on('message', (m) => s.send(m)))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  stops.push(() => (ll.close(), server.closeAllConnections(), new Promise((r) => server.close(r))))
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, logged }
}

/** The real client, its log kept in `lines`. */
function client(url: string, lines: string[], opts: LifelineOptions = {}) {
  const ll = new Lifeline(url, {
    WebSocket: NodeWS as unknown as typeof WebSocket,
    storage: null,
    clock,
    minDelay: 10,
    maxDelay: 100,
    logger: recorder(lines),
    ...opts,
  })
  stops.push(() => ll.readyState < 2 && ll.close())
  return ll
}

const closeOf = (ll: Lifeline, ms: number) =>
  Promise.race([
    new Promise<{ code: number; reason: string }>((r) => ll.on('close', r)),
    new Promise<string>((r) => setTimeout(r, ms, 'no close within ' + ms + ' ms')),
  ])

// The page reported nothing for 15 s, then `websocket-hung`, and reconnected forever (issue 28).
test('a wrong path: each HTTP transport names its 404 (warn, once); 404 on all, 3 times, ends with close', async () => {
  const { base } = await app()
  const lines: string[] = []
  const ll = client(base + '/rtx', lines)
  const causes: string[] = []
  ll.on('reconnecting', (e) => causes.push(e.cause))
  const bye = await closeOf(ll, 10000)
  assert.deepEqual(bye, {
    ...(bye as object),
    code: 1006,
    reason: `wrong path? 404: ${base}/rtx`,
  })
  assert.ok(causes.length >= 2 && causes.length <= 3, causes.join())
  const warns = lines.filter((l) => l.startsWith('warn '))
  for (const t of ['stream', 'polling'])
    assert.deepEqual(
      warns.filter((l) => l.includes(t + '-404')),
      [`warn [lifeline] ${t}-404: ${base}/rtx`],
    )
  assert.equal(warns[warns.length - 1], `warn [lifeline] gave up: wrong path? 404: ${base}/rtx`)
})

test("another status (a proxy's 403) names itself, told once, and the client keeps trying", async () => {
  const { base } = await app(403)
  const lines: string[] = []
  const ll = client(base + '/rtx', lines, { transports: ['polling'] })
  const causes: string[] = []
  ll.on('reconnecting', (e) => causes.push(e.cause))
  assert.equal(await closeOf(ll, 1500), 'no close within 1500 ms')
  assert.ok(causes.length >= 3, causes.join())
  assert.deepEqual(new Set(causes), new Set(['polling-403']))
  assert.deepEqual(
    lines.filter((l) => l.startsWith('warn ')),
    [`warn [lifeline] polling-403: ${base}/rtx`],
  )
})

// A client's body of up to 512 KiB plus a message got 413 from a server with a lower maxPostBytes,
// and was sent again and again.
for (const t of ['stream', 'polling'] as const)
  test(`the hello's maxPostBytes bounds each POST body: 60 messages of 10 kB, a 64 KiB limit, over ${t}`, async () => {
    const { base, logged } = await app(404, { maxPostBytes: 65536, maxMessageSize: 16384 })
    const lines: string[] = []
    const ll = client(base + '/rt', lines, { transports: [t] })
    const sent = Array.from({ length: 60 }, (_, i) => String(i).padEnd(10000, '.'))
    const got: string[] = []
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${got.length} of ${sent.length} back; ${lines.join('; ')}`)),
        10000,
      )
      ll.on('message', (e) => got.push(e.data as string) == sent.length && (clearTimeout(timer), resolve()))
    })
    for (const m of sent) ll.send(m)
    await done
    assert.deepEqual(got, sent)
    assert.deepEqual(logged, [], 'no POST was refused')
    assert.deepEqual(
      lines.filter((l) => !l.startsWith('debug') && !l.startsWith('info')),
      [],
    )
  })
