// A randomized network (issue 25): fault-random (test/support/randomnet.mjs), a relay whose every
// connection gets a fate drawn from a seed: its own latency (0-300 ms each way, order kept), then a
// clean pass, a cut at a random byte offset (mid-head, mid-record, mid-frame), a stall that never
// ends, or a response lost after its request was delivered.
// In Chromium with the real client, for each seed on every transport and with default options:
// 10,000 numbered messages each way from right after `open`, exactly 0..9999 once and in order on
// both sides, no `reset`, no `close`, all within 60 s of the client's start (else it fails saying
// what is missing).
//
// A plain `npm test` runs two FIXED seeds and draws SEEDS new ones (printed in each test's name);
// `LL_NET_SEED=fresh` draws new ones only, and `LL_NET_SEED=<seed>[,<seed>...]` replays given ones:
//   LL_NET_SEED=fresh npm test -- proxy
//   LL_NET_SEED=123 npm test -- proxy
//   LL_NET_SEED=123 KARMA_CONSOLE=1 KARMA_FILES=test/proxy/random.test.ts LIFELINE_ENGINES=chromium npm test -- browser
// Each test's name carries its seed; with KARMA_CONSOLE=1 each prints `[random] ...` with its
// figures: the fates drawn and struck, duration, messages each way, transports, causes, resets.
import { TRANSPORTS, assert, cleanup, ctl, netSeed, type Name } from '../browser/helpers'
import { WINDOW_MS, allInOrder, figures, flow, opened, setup } from './flow'

/**
 * Seeds every plain `npm test` runs besides fresh ones: 3, whose `polling` run meets two downloads
 * stalled in the relay (the download-owed rule), and 46, whose first 18 connections held 2 clean
 * passes: its `stream` run did not open within 60 s until stalled opening requests got rolling
 * twins and lost uploads went again (docs/testing.md "The randomized network").
 */
const FIXED = [3, 46]
/** New seeds drawn for every run. */
const SEEDS = 1
const fresh = () => Math.floor(Math.random() * 2 ** 31)
function pickSeeds(): number[] {
  const drawn = Array.from({ length: SEEDS }, fresh)
  if (netSeed == 'fresh') return drawn
  return netSeed ? netSeed.split(',').map((s) => +s) : [...FIXED, ...drawn]
}
const seeds = pickSeeds()

type Stats = {
  connections: number
  drawn: Record<string, number>
  cut: number
  stalled: number
  lost: number
  log: string[]
}
/** What struck over the whole run, for the last test to check that faults really happened. */
const struck = { cut: 0, stalled: 0, lost: 0, runs: 0 }

const RUNS: { name: string; transports: Name[] }[] = [
  ...TRANSPORTS.map((t) => ({ name: t, transports: [t] as Name[] })),
  { name: 'default options', transports: [...TRANSPORTS] },
]

describe('a randomized network (issue 25)', function () {
  this.timeout(2 * WINDOW_MS)
  afterEach(cleanup)

  for (const seed of seeds)
    for (const { name, transports } of RUNS)
      it(`seed ${seed}, ${name}: 10,000 each way, in order, no close, within 60 s`, async () => {
        assert(Number.isInteger(seed) && seed >= 0, `LL_NET_SEED: ${seed} is not a seed`)
        const r = await setup(transports, [{ kind: 'fault-random', seed }], { welcome: false })
        const open = await opened(r)
        const f = open === undefined ? undefined : await flow(r, { burst: 50, every: 20, windowMs: WINDOW_MS - open })
        const net = await ctl<Stats>('proxystats', { port: r.p.port })
        for (const k of ['cut', 'stalled', 'lost'] as const) struck[k] += net[k]
        struck.runs++
        const line =
          figures(
            'random',
            `seed ${seed}, ${name}`,
            r,
            {
              open: open === undefined ? undefined : `${open} ms`,
              connections: net.connections,
              drawn: JSON.stringify(net.drawn),
              struck: `cut ${net.cut}, stalled ${net.stalled}, lost ${net.lost}`,
            },
            f,
          ) + `; replay: LL_NET_SEED=${seed} npm test -- proxy; fates: ${net.log.slice(0, 12).join(', ')}`
        assert(open !== undefined, 'no open within 60 s: ' + line)
        assert(f && f.complete && Date.now() - r.t0 <= WINDOW_MS, 'all within 60 s: ' + line)
        allInOrder(f, r, line)
      })

  it('the relay really cut, stalled and lost connections over the runs', () => {
    if (struck.runs < RUNS.length * seeds.length) return // a run failed first: that failure says more
    assert(struck.cut + struck.stalled + struck.lost >= 1, 'no fault struck in any run: ' + JSON.stringify(struck))
  })
})
