// Nothing lost, repeated or reordered: numbered messages flow both ways through a fault proxy
// that cuts every connection a few hundred milliseconds after it opens, while the client moves
// between transports. Real Chromium, real server, real TCP proxy.
import { assert, cleanup, connect, ctl, equal, next, proxy, server, until, type Name } from '../browser/helpers'
import { numbered, receiver, type Kind } from './numbered'

async function flow(kind: Kind, count: number, transports: Name[], opts: { max?: number; cutAfterMs?: number } = {}) {
  const max = opts.max || 65536
  const s = await server({ behaviour: 'record', maxMessageSize: max })
  const p = await proxy('fault-cut', s.port, { cutAfterMs: opts.cutAfterMs || 400 })
  const ll = connect(p.url, transports, {
    maxMessageSize: max,
    minDelay: 20,
    maxDelay: 200,
    upgradeDelay: 500,
    raceDelay: 300,
  })
  const got = receiver(ll)
  const used = new Set<string>()
  const cuts: string[] = []
  let resets = 0
  ll.on('transport', (e) => used.add(e.name))
  ll.on('reconnecting', (e) => cuts.push(e.cause))
  ll.on('reset', () => resets++)
  await next(ll, 'open')
  await until(
    async () => (await ctl<{ sessions: unknown[] }>('sessions', { id: s.id })).sessions.length > 0,
    5000,
    'session',
  )
  // Paced so that the flow lasts several seconds, through many cuts.
  const burst = Math.ceil(count / 100)
  await ctl('pump', { id: s.id, count, kind, max, burst, everyMs: 50 })
  for (let i = 0; i < count; i++) {
    ll.send(numbered(i, kind, max))
    if (i % burst == 0) await new Promise((r) => setTimeout(r, 50))
  }
  await until(() => got.next >= count || got.violations.length > 0, 60000, `client got ${count} (has ${got.next})`)
  let server_: { count: number; next: number; violations: string[] } = { count: 0, next: 0, violations: [] }
  await until(
    async () => {
      const r = await ctl<{ sessions: Record<string, typeof server_> }>('received', { id: s.id })
      server_ = Object.values(r.sessions)[0] || server_
      return server_.count >= count || server_.violations.length > 0
    },
    60000,
    `server got ${count}`,
  )
  equal(got.violations, [], 'client side:')
  equal(got.next, count, 'client received')
  equal(server_.violations, [], 'server side:')
  equal([server_.count, server_.next], [count, count], 'server received exactly once each')
  equal(resets, 0, 'session resets')
  // Counted at the proxy: a cut poll that the browser retried by itself never shows in the app.
  const stats = await ctl<{ cut: number; connections: number }>('proxystats', { port: p.port })
  assert(stats.cut >= 5, `the proxy really cut connections: ${stats.cut} of ${stats.connections}`)
  console.log(
    `[resume] ${kind} x${count} over ${[...used].join('+')}: ` +
      `proxy cut ${stats.cut} of ${stats.connections} connections; ` +
      `client saw ${cuts.length} (${[...new Set(cuts)].join(', ')})`,
  )
  return { used, cuts }
}

describe('resume through a cutting proxy', function () {
  this.timeout(120000)
  afterEach(cleanup)

  // each side gets 0..9999 once, in order
  it('10,000 text messages each way, cut every 400 ms, moving between transports', async () => {
    const { used } = await flow('text', 10000, ['websocket', 'stream', 'polling'])
    assert(used.size >= 2, 'switched transports mid-stream: ' + [...used].join(', '))
  })

  it('10,000 binary messages each way on every transport in turn', async () => {
    for (const t of ['websocket', 'stream', 'polling'] as Name[])
      await flow('binary', t == 'websocket' ? 10000 : 3000, [t])
  })

  it('mixed sizes up to the maximum message size (64 KiB), both ways', async () => {
    await flow('mixed', 1200, ['websocket', 'polling'], { cutAfterMs: 600 })
  })
})
