// Cluster mode in Chromium (issue 17): the real client through HAProxy round robin, no
// stickiness, over three server processes sharing one real redis-server; 10,000 numbered
// messages each way per transport while the nodes are killed with kill -9 in turn, each at a
// point of the flow's progress (a tenth of the echoes back, two tenths...; issue 26: not on a
// timer), and restarted. The nodes echo, so the client getting 0..9999 once, in order, means the
// app on the owner had each once, in order, too: a duplicate handed to it would come back twice.
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
  const killer = killInTurn(() => got.next, count)
  const t0 = Date.now()
  for (let i = 0; i < count; i++) {
    ll.send(numbered(i, 'text', 0))
    // Paced so that the flow lasts through several kills.
    if (i % 50 == 49) await new Promise((r) => setTimeout(r, 40))
  }
  await until(() => got.next >= count || got.violations.length > 0, 120000, `client got ${count} (has ${got.next})`)
  const kills = await killer.stop()
  const takeovers = await takeoversSoFar()
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

/** Kill marks: a kill when a tenth of the flow is back, two tenths, ... nine tenths. */
const MARKS = 10

/**
 * Kill -9 the balanced nodes in turn, each when `progress()` reaches its mark of `count` (a kill
 * whose mark passed while the one before restarted strikes at once), each started again 300 ms
 * later, until `stop()`.
 */
function killInTurn(progress: () => number, count: number) {
  let done = false
  let kills = 0
  const loop = (async () => {
    for (let k = 1; k < MARKS && !done; k++) {
      while (!done && progress() < (k * count) / MARKS) await new Promise((r) => setTimeout(r, 20))
      if (done) break
      await ctl('clusterKill', { i: (k - 1) % 3, restartMs: 300 })
      kills++
    }
  })()
  return { stop: () => ((done = true), loop.then(() => kills)) }
}

/** Sessions taken over so far, from what the nodes wrote on stderr. */
async function takeoversSoFar(): Promise<number> {
  const { log } = await ctl<{ log: string }>('clusterLog')
  return log.split('took a session over').length - 1
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

  // Issue 27: a room of real clients on every transport, spread round robin over the three nodes;
  // 1,000 numbered room messages from a fourth node (behind no balancer, never killed) while the
  // three are killed -9 in turn. Every member gets 0..999 once, in order, and no room reset: each
  // kill is far shorter than the room's history.
  it('a room on every transport: 1,000 room messages through kill -9 in turn, all once, in order', async () => {
    const COUNT = 1000
    const { port } = await ctl<{ port: number }>('cluster', { nodeLease: 1000, publisher: true })
    const kinds: Name[] = ['websocket', 'stream', 'polling', 'websocket']
    const members = kinds.map((t) => {
      const ll = connect(`http://127.0.0.1:${port}/rt`, t, { minDelay: 20, maxDelay: 300 })
      const resets: string[] = []
      ll.on('roomreset', (e) => resets.push(e.room))
      return { t, ll, resets }
    })
    const joined = await Promise.all(
      members.map(async (m) => {
        await next(m.ll, 'open', 20000)
        const echo = next(m.ll, 'message', 20000, (e) => e.data == 'join:ticker')
        m.ll.send('join:ticker')
        await echo
        return { ...m, got: receiver(m.ll) }
      }),
    )
    const killer = killInTurn(() => Math.min(...joined.map((m) => m.got.next)), COUNT)
    const t0 = Date.now()
    await ctl('clusterPublish', { room: 'ticker', count: COUNT, everyMs: 10 })
    const { members: reached } = await ctl<{ members: number[] }>('clusterPublished')
    await until(
      () => joined.every((m) => m.got.next >= COUNT || m.got.violations.length > 0),
      60000,
      'every member has 1,000: ' + joined.map((m) => `${m.t} ${m.got.next}`).join(', '),
    )
    const kills = await killer.stop()
    console.log(
      `[cluster] room: ${COUNT} room messages to ${joined.length} members in ${Date.now() - t0} ms through ${kills} ` +
        `kill -9 (${await takeoversSoFar()} takeovers); each reached ${Math.min(...reached)}-${Math.max(...reached)}`,
    )
    for (const m of joined) {
      equal(m.got.violations, [], m.t + ': room messages')
      equal([m.got.next, m.resets], [COUNT, []], m.t + ': all, no room reset')
    }
    equal(reached.length, COUNT)
    assert(kills >= 3, 'nodes were killed mid-flow: ' + kills)
  })
})
