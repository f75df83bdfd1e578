// lifeline-rt/request in Chromium through fault-cutrandom (test/support/faults.mjs: every
// connection destroyed 200-700 ms after it was accepted): requests paced over several seconds each
// resolve once with their own reply, and `delivered` reaches the last message sent; a server
// restart (the session is lost) rejects what waits with LL_ERR_RESET.
import { request } from '../../src/client/request'
import { TRANSPORTS, cleanup, connect, equal, assert, next, proxy, server, until } from '../browser/helpers'

const COUNT = 60
const EVERY_MS = 50

describe('request/response through fault-cutrandom', function () {
  this.timeout(60000)
  afterEach(cleanup)

  for (const t of TRANSPORTS) {
    // and `delivered` reaches `sent`
    it(`${t}: ${COUNT} requests across cut connections each get their own reply, once`, async () => {
      const s = await server({ behaviour: 'count', requests: true })
      const p = await proxy('fault-cutrandom', s.port)
      const ll = connect(p.url, t)
      const delivered: number[] = []
      ll.on('delivered', (e) => delivered.push(e.seq))
      let drops = 0
      ll.on('reconnecting', () => drops++)
      const pending: Promise<string>[] = []
      for (let i = 0; i < COUNT; i++) {
        pending.push(request(ll, 'q' + i, { timeout: 30000 }))
        await new Promise((ok) => setTimeout(ok, EVERY_MS))
      }
      const replies = await Promise.all(pending)
      equal(
        replies,
        pending.map((_, i) => 'reply:q' + i),
      )
      const last = ll.sent
      await until(() => delivered[delivered.length - 1] == last, 20000, 'delivered up to ' + last)
      // A poll cut between two requests is retried by the browser unseen; sockets and streams are
      // cut under the session.
      if (t != 'polling') assert(drops > 0, 'the proxy cut connections meanwhile: ' + drops + ' reconnects')
      console.log(`[request] ${t}: ${COUNT} replies, ${drops} reconnects, delivered up to ${last}`)
    })
  }

  it('a request waiting when the session is lost (server restart) rejects LL_ERR_RESET', async () => {
    const s = await server({ requests: true })
    const ll = connect(s.url, 'websocket')
    await next(ll, 'open')
    equal(await request(ll, 'first'), 'reply:first')
    const waiting = request(ll, 'hang', { timeout: 30000 }).then(
      () => 'resolved',
      (e) => e.code,
    )
    await until(() => ll.bufferedAmount == 0, 5000, 'the request acknowledged')
    await s.restart()
    equal(await waiting, 'LL_ERR_RESET')
    equal(await request(ll, 'after'), 'reply:after', 'the new session answers')
  })
})
