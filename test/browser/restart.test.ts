// A server restart in the middle of a flow of numbered messages: the client reports the reset,
// hands back the messages it had sent that were never acknowledged, sends on the new session
// only those that never left it, and nothing reaches a server twice.
import { assert, cleanup, connect, ctl, equal, next, server, until, VARIANTS } from './helpers'

type Rec = { count: number; next: number; violations: string[] }
const received = async (id: number): Promise<Rec[]> =>
  Object.values((await ctl<{ sessions: Record<string, Rec> }>('received', { id })).sessions)
const number = (m: unknown) => +(/^n:(\d+):/.exec(String(m)) || [0, -1])[1]

for (const { name, t, opts } of VARIANTS.slice(0, 3)) {
  describe(`${name}: server restart mid-stream`, function () {
    this.timeout(30000)
    afterEach(cleanup)

    it('reset, unacknowledged messages handed back, nothing delivered twice', async () => {
      const s = await server({ behaviour: 'record' })
      const ll = connect(s.url, t, { ...opts, minDelay: 20, maxDelay: 100 })
      await next(ll, 'open')
      const total = 3000
      let sent = 0
      const reset = next(ll, 'reset', 20000)
      // Keep sending while the server goes down and comes back.
      const pump = (async () => {
        while (sent < total) {
          for (let k = 0; k < 50 && sent < total; k++) ll.send(`n:${sent++}:`)
          await new Promise((r) => setTimeout(r, 10))
        }
      })()
      await until(
        async () => ((await received(s.id))[0] || { count: 0 }).count > 500,
        10000,
        'traffic before the restart',
      )
      await s.stop()
      const before = (await received(s.id))[0]
      await s.restart(200)
      const r = await reset
      await pump
      await until(
        async () => {
          const after = (await received(s.id))[0]
          return !!after && before.count + r.unacked.length + after.count >= total
        },
        20000,
        'everything accounted for',
      )
      const after = (await received(s.id))[0]
      const handed = r.unacked.map(number)
      equal(before.violations, [])
      equal(
        after.violations.filter((v) => !/^expected 0,/.test(v)),
        [],
        'the new server got an ordered run',
      )
      // The old server got 0..before.count-1; what came back starts within that range or right
      // after it; the new session carries the rest, starting right after what came back.
      assert(handed.length > 0 || before.count > 0)
      equal(
        handed,
        handed.map((_, i) => handed[0] + i),
        'handed back in order, contiguous',
      )
      const firstNew = handed.length ? handed[handed.length - 1] + 1 : before.count
      assert(
        handed.length == 0 || handed[0] <= before.count,
        'nothing skipped between the old server and what came back',
      )
      equal(after.count, total - firstNew, 'the new server got exactly the rest')
      assert(
        firstNew >= before.count,
        `nothing the old server got was sent again by the library (new from ${firstNew}, old had ${before.count})`,
      )
      equal(ll.sessionId != null && ll.state, 'open')
    })
  })
}
