// Each real proxy kind of test/support/proxies.mjs forwards the `Host` it claims to (FORWARDS),
// tunnels WebSocket upgrades and passes a streamed response on as it comes: shown with real
// sockets against a tiny upstream that reports the headers it received (no Lifeline involved).
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import http from 'node:http'
import https from 'node:https'
import { WebSocket } from 'ws'
import { FORWARDS, startProxy, stopAllProxies } from '../support/proxies.mjs'
import { deadline, upstream } from './upstream.mjs'

let up
before(async () => (up = await upstream()))
after(async () => {
  await stopAllProxies()
  await up.close()
})

/** GET `path` through proxy `p`, as a browser at `localhost:<port>` asks: status, headers, body chunks with times. */
function get(p, path) {
  const t0 = Date.now()
  const mod = p.scheme == 'https' ? https : http
  return new Promise((resolve, reject) => {
    const host = `localhost:${p.port}`
    const opts = { host: '127.0.0.1', port: p.port, path, headers: { host }, rejectUnauthorized: false, agent: false }
    mod
      .get(opts, (res) => {
        const got = { status: res.statusCode, body: '', chunks: [] }
        res.on('data', (d) => ((got.body += d), got.chunks.push(Date.now() - t0)))
        res.on('end', () => resolve(got))
      })
      .on('error', reject)
  })
}

/** What `FORWARDS` promises, spelled out for proxy `p` in front of `up`. */
function expected(kind, p) {
  const spell = (v) =>
    v == 'host' ? 'localhost' : v == 'host:port' ? `localhost:${p.port}` : v == 'upstream' ? `127.0.0.1:${up.port}` : v
  const f = FORWARDS[kind]
  return { host: spell(f.host), forwardedHost: f.forwardedHost && spell(f.forwardedHost) }
}

for (const kind of Object.keys(FORWARDS)) {
  describe(kind, () => {
    it(`forwards Host as it claims (${FORWARDS[kind].host})`, async () => {
      const p = await startProxy(kind, up.port)
      const got = await get(p, '/headers')
      assert.equal(got.status, 200)
      const h = JSON.parse(got.body)
      const want = expected(kind, p)
      assert.deepEqual([h.host, h['x-forwarded-host']], [want.host, want.forwardedHost])
      if (kind == 'nginx-tls') assert.equal(h['x-forwarded-proto'], 'https', 'the page was https')
    })

    it('tunnels a WebSocket upgrade, with the same Host, and streams a trickled response', async () => {
      const p = await startProxy(kind, up.port)
      const ws = new WebSocket(`${p.scheme == 'https' ? 'wss' : 'ws'}://127.0.0.1:${p.port}/rt`, {
        headers: { host: `localhost:${p.port}` },
        rejectUnauthorized: false,
      })
      await deadline(once(ws, 'open'), 5000, `${kind} upgrade`)
      ws.send('through')
      const [m] = await deadline(once(ws, 'message'), 5000, 'echo')
      assert.equal(String(m), 'through')
      assert.equal(up.upgrades[up.upgrades.length - 1].host, expected(kind, p).host)
      ws.close()
      const trickle = await get(p, '/trickle?n=6&size=100&every=100')
      assert.equal(trickle.body.length, 600)
      assert.ok(trickle.chunks[0] < 400, `first chunk at ${trickle.chunks[0]} ms of 600`)
    })
  })
}
