// Request/response (lifeline-rt/request with the server's onRequest) and `delivered` on both
// sides, with the real client in Node and the real server over loopback, on every transport, in one
// process and on a one-node cluster over Redis (stores.ts).
import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { Lifeline, LifelineError } from '../../src/client/index'
import { request } from '../../src/client/request'
import { onRequest, type ServerSession } from '../../src/server/index'
import { NodeWS, clock } from './client'
import { start, stopAll, until } from './raw'
import { eachStore } from './stores'

const TRANSPORTS = ['websocket', 'stream', 'polling'] as const
const clients: Lifeline[] = []
after(async () => {
  for (const ll of clients.splice(0)) if (ll.readyState < 2) ll.close()
  await stopAll()
})

/** A server answering requests (`fail...` rejects, `late...` answers after 300 ms), and a client of it. */
async function setup(t: (typeof TRANSPORTS)[number]) {
  const r = await start({}, false)
  const sessions: ServerSession[] = []
  const seen: string[] = []
  r.ll.on('connection', (s) => {
    sessions.push(s)
    s.on('message', (m) => seen.push(String(m)))
    onRequest(s, async (data) => {
      if (data.startsWith('fail')) throw new Error('no ' + data.slice(5))
      if (data.startsWith('late')) await new Promise((ok) => setTimeout(ok, 300))
      return 'answer to ' + data
    })
  })
  const ll = new Lifeline(`http://127.0.0.1:${r.port}/rt`, {
    WebSocket: NodeWS as unknown as typeof WebSocket,
    transports: [t],
    storage: null,
    clock,
  })
  clients.push(ll)
  const heard: string[] = []
  ll.on('message', (e) => heard.push(String(e.data)))
  return { r, ll, sessions, seen, heard }
}

eachStore(() => {
  for (const t of TRANSPORTS) {
    describe(t, () => {
      it('requests resolve with their replies, in any order; app messages pass by both ways', async () => {
        const { ll, sessions, seen, heard } = await setup(t)
        const late = request(ll, 'late one')
        const replies = await Promise.all(['a', 'b c', ''].map((d) => request(ll, d)))
        assert.deepEqual(replies, ['answer to a', 'answer to b c', 'answer to '])
        assert.equal(await late, 'answer to late one')
        ll.send('plain')
        await until(() => seen.length == 1)
        sessions[0].send('from server')
        await until(() => heard.length == 1)
        assert.deepEqual([seen, heard], [['plain'], ['from server']], 'requests and replies reach no listener')
      })

      it("a handler's failure rejects LL_ERR_SERVER; a reply that does not come rejects LL_ERR_TIMEOUT", async () => {
        const { ll } = await setup(t)
        await assert.rejects(request(ll, 'fail quote'), (e: LifelineError) => {
          assert.equal(e.code, 'LL_ERR_SERVER')
          assert.match(e.message, /no quote/)
          return true
        })
        await assert.rejects(request(ll, 'late again', { timeout: 50 }), { code: 'LL_ERR_TIMEOUT' })
      })

      it('delivered: the client hears what the server acknowledged, the server what the client did', async () => {
        const { ll, sessions } = await setup(t)
        const atClient: number[] = []
        ll.on('delivered', (e) => atClient.push(e.seq))
        for (const m of ['1', '', '3']) ll.send(m)
        const last = ll.sent
        assert.equal(last, 3)
        await until(() => atClient.at(-1) == last, 10000, 'client: delivered up to ' + last)
        assert.deepEqual(
          atClient.filter((n, i) => n < atClient[i - 1]),
          [],
          'rising',
        )
        assert.equal(ll.bufferedAmount, 0)
        const s = sessions[0]
        const atServer: number[] = []
        s.on('delivered', (seq) => atServer.push(seq))
        s.send('x')
        s.send('')
        assert.equal(s.sent, 2)
        await until(() => atServer.at(-1) == 2, 10000, 'server: delivered up to 2')
        assert.equal(s.bufferedAmount, 0)
      })
    })
  }
})
