// An L4 balancer (issue 25): a real HAProxy in `mode tcp` (test/support/haproxy.mjs), each client
// connection relayed over an upstream connection of its own, bytes untouched, as an NLB does. So
// two uploads on two connections may reach the server in either order: the first on a fresh
// connection waits for its upstream connect while the next goes on a kept-alive one.
// In Chromium, on every transport and with default options: bursts of 20 messages every 10 ms
// from both sides, starting right after `open` (and, in the last test, while the session leaves a
// WebSocket blackholed behind the balancer for HTTP), 10,000 numbered messages each way, exactly
// 0..9999 once and in order on both sides, no `reset`, no `close`, within 60 s.
// The karma page itself does not come through the balancer; every request of the client does.
//
// Run alone: KARMA_CONSOLE=1 KARMA_FILES=test/proxy/l4.test.ts LIFELINE_ENGINES=chromium npm test -- browser
// Each prints `[l4] ...` with its figures.
import { TRANSPORTS, assert, cleanup, ctl, type Name } from '../browser/helpers'
import { WINDOW_MS, allInOrder, figures, flow, opened, setup, type Hop, type Run } from './flow'

/** The burst: 20 messages every 10 ms, from right after `open`. */
const BURST = { burst: 20, every: 10 }
const L4: Hop = { kind: 'haproxy-tcp' }

/** `open`, then the flow at once; the figures line and the flow. */
async function run(name: string, transports: Name[], hops: Hop[]) {
  const r = await setup(transports, hops, { welcome: false, warm: 4 })
  const open = await opened(r)
  const f = open === undefined ? undefined : await flow(r, { ...BURST, windowMs: WINDOW_MS - open })
  const line = figures('l4', name, r, { open: open === undefined ? undefined : `${open} ms` }, f)
  return { r, f, line }
}

const within = (r: Run, line: string) => assert(Date.now() - r.t0 <= WINDOW_MS, 'within 60 s: ' + line)

describe('an L4 balancer: HAProxy in mode tcp (issue 25)', function () {
  this.timeout(2 * WINDOW_MS)
  afterEach(cleanup)

  const RUNS: { name: string; transports: Name[] }[] = [
    ...TRANSPORTS.map((t) => ({ name: t, transports: [t] as Name[] })),
    { name: 'default options', transports: [...TRANSPORTS] },
  ]
  for (const { name, transports } of RUNS)
    it(`${name}: bursts from right after open, 10,000 each way, in order, no reset, no close`, async () => {
      const { r, f, line } = await run(name, transports, [L4])
      allInOrder(f, r, line)
      within(r, line)
    })

  it('default options, the WebSocket blackholed behind it mid-burst: the same on HTTP', async () => {
    // fault-midsession behind the balancer: 2 s after the upgrade, the WebSocket goes silent both
    // ways and later upgrades are refused, so the session moves to `stream` with the bursts going.
    const { r, f, line } = await run(
      'default options, WebSocket blackholed at 2 s',
      [...TRANSPORTS],
      [{ kind: 'fault-midsession', afterMs: 2000 }, L4],
    )
    allInOrder(f, r, line)
    within(r, line)
    const mid = await ctl<{ trippedAt?: number }>('proxystats', { port: r.chain[0].port })
    assert(mid.trippedAt, 'the WebSocket really was blackholed: ' + line)
    const moved = r.seen.switches.filter((at) => at > mid.trippedAt!)
    assert(moved.length >= 1, 'the session switched transports after the blackhole: ' + line)
  })
})
