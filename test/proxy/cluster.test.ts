// Cluster mode in Chromium (issue 17): the real client through HAProxy round robin, no
// stickiness, over three server processes sharing one real redis-server; 10,000 numbered
// messages each way per transport while a node is killed with kill -9 every 1.2 s and
// restarted. The nodes echo, so the client getting 0..9999 once, in order, means the app on the
// owner had each once, in order, too: a duplicate handed to it would come back twice.
import { assert, cleanup, connect, ctl, equal, until, next, type Name } from '../browser/helpers'
import { numbered, receiver } from './numbered'

async function flow(t: Name | Name[], count: number) {
  const { port } = await ctl<{ port: number }>('cluster', { nodeLease: 1000 })
  const ll = connect(`http://127.0.0.1:${port}/rt`, t, { minDelay: 20, maxDelay: 300, upgradeDelay: 500 })
  const used = new Set<string>()
  ll.on('transport', (e) => used.add(e.name))
  const got = receiver(ll)
  const cuts: string[] = []
  let resets = 0
  ll.on('reconnecting', (e) => cuts.push(e.cause))
  ll.on('reset', () => resets++)
  await next(ll, 'open')
  let done = false
  let kills = 0
  const killer = (async () => {
    for (let i = 0; !done; i = (i + 1) % 3) {
      await new Promise((r) => setTimeout(r, 1200))
      if (done) break
      await ctl('clusterKill', { i, restartMs: 300 })
      kills++
    }
  })()
  const t0 = Date.now()
  for (let i = 0; i < count; i++) {
    ll.send(numbered(i, 'text', 0))
    // Paced so that the flow lasts through several kills.
    if (i % 50 == 49) await new Promise((r) => setTimeout(r, 40))
  }
  await until(() => got.next >= count || got.violations.length > 0, 120000, `client got ${count} (has ${got.next})`)
  done = true
  await killer
  const { log } = await ctl<{ log: string }>('clusterLog')
  const takeovers = log.split('took a session over').length - 1
  console.log(
    `[cluster] ${[...used].join('+')}: ${count} each way in ${Date.now() - t0} ms through ${kills} kill -9 ` +
      `(${takeovers} takeovers); the client saw ${cuts.length} drops (${[...new Set(cuts)].join(', ')})`,
  )
  equal(got.violations, [], 'echoes:')
  equal(got.next, count, 'every echo, once, in order')
  equal(resets, 0, 'session resets')
  assert(kills >= 3, 'nodes were killed mid-flow: ' + kills)
  return used
}

describe('cluster mode: three nodes behind HAProxy, killed -9 in turn', function () {
  this.timeout(180000)
  afterEach(cleanup)
  after(() => ctl('clusterStop'))

  for (const t of ['websocket', 'stream', 'polling'] as Name[])
    it(`10,000 numbered messages each way over ${t}, once, in order`, async () => {
      await flow(t, 10000)
    })

  // Racing candidates and the background upgrade probe reach other nodes than the session's owner.
  it('10,000 each way on default options (racing, upgrade probe), once, in order', async () => {
    const used = await flow(['websocket', 'stream', 'polling'], 10000)
    assert(used.has('websocket'), 'carried by WebSocket at some point: ' + [...used].join(', '))
  })
})
