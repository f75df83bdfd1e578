// test/support/haproxy.mjs is the balancer the cluster tests need: a real HAProxy that spreads
// consecutive requests of one client over every backend (no cookie, no stickiness, even on one
// keep-alive connection), carries WebSockets through, and routes around a node that died.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import net from 'node:net'
import { once } from 'node:events'
import WebSocket from 'ws'
import { startHaproxy } from '../support/haproxy.mjs'
import { startNodes } from '../support/nodes.mjs'
import { until } from '../support/processes.mjs'

let nodes
let lb
before(async () => {
  nodes = await startNodes(3)
  lb = await startHaproxy(nodes.list.map((n) => n.port))
})
after(async () => {
  if (lb) await lb.stop()
  if (nodes) await nodes.stopAll()
})

/** `count` GET /whoami through the balancer on one keep-alive agent; the backend names in order. */
async function names(count, agent) {
  const out = []
  for (let i = 0; i < count; i++) {
    out.push(
      await new Promise((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port: lb.port, path: '/whoami', agent }, (res) => {
            let body = ''
            res.on('data', (d) => (body += d))
            res.on('end', () => resolve(body))
          })
          .on('error', reject)
      }),
    )
  }
  return out
}

test('its config is round robin with no cookie, no hashing and a WebSocket tunnel timeout', () => {
  assert.match(lb.config, /^\s*balance roundrobin$/m)
  assert.match(lb.config, /^\s*timeout tunnel 1h$/m)
  assert.doesNotMatch(lb.config, /cookie|stick|balance (source|uri|hdr|url_param)|hash-type/)
})

test('consecutive requests on one keep-alive connection go to each backend in turn', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  const seen = await names(9, agent)
  agent.destroy()
  for (let i = 3; i < seen.length; i++) assert.equal(seen[i], seen[i - 3], 'a cycle of three: ' + seen.join(' '))
  assert.deepEqual(new Set(seen.slice(0, 3)), new Set(['n1', 'n2', 'n3']), seen.join(' '))
  // The log names the backend server of every request.
  assert.ok(await until(() => (lb.log().match(/be_lifeline\/n\d/g) || []).length >= 9, 2000), lb.log())
})

test('separate connections are spread the same way', async () => {
  const seen = await names(6, false)
  assert.deepEqual(new Set(seen), new Set(['n1', 'n2', 'n3']), seen.join(' '))
})

test('a WebSocket goes through and stays on its backend', async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${lb.port}/rt?v=2&t=websocket&ack=0&o=1&hb=25000`)
  const frames = []
  ws.on('message', (d) => frames.push(String(d)))
  await new Promise((resolve, reject) => {
    ws.once('open', resolve)
    ws.once('error', reject)
  })
  ws.send('p')
  ws.send('s1')
  for (let i = 1; i <= 20; i++) ws.send('m' + i)
  assert.ok(await until(() => frames.filter((f) => f[0] == 'm' || f[0] == 'M').length > 0, 5000), frames.join(' '))
  assert.ok(await until(() => frames.join('').includes('20'), 5000), frames.join(' '))
  assert.match(frames[0], /^o\{"v":2,"sid":"[\w-]{22}"/)
  ws.close()
})

test('with one node killed (-9) every request still gets an answer, from the others', async () => {
  await nodes.kill(1)
  try {
    const seen = await names(8, false)
    assert.equal(seen.length, 8)
    assert.ok(!seen.includes('n2'), seen.join(' '))
    assert.deepEqual(new Set(seen), new Set(['n1', 'n3']), seen.join(' '))
  } finally {
    await nodes.start(1)
  }
})

test('mode tcp: L4, each client connection on an upstream one of its own, bytes untouched', async () => {
  const conns = []
  const echo = net.createServer((s) => {
    conns.push(s)
    s.on('data', (d) => s.write(d))
    s.on('error', () => {})
  })
  echo.listen(0, '127.0.0.1')
  await once(echo, 'listening')
  const l4 = await startHaproxy([echo.address().port], { mode: 'tcp' })
  try {
    assert.match(l4.config, /^\s*mode tcp$/m)
    assert.match(l4.config, /^\s*balance roundrobin$/m)
    assert.doesNotMatch(l4.config, /mode http|http-request|forwardfor/)
    // Bytes no HTTP proxy would pass (not a request): echoed as they are, on two connections.
    const garbage = Buffer.from([0, 1, 2, 255, 13, 10, 13, 10, 71, 69, 84])
    const back = await Promise.all(
      [1, 2].map(async () => {
        const s = net.connect({ host: '127.0.0.1', port: l4.port })
        await once(s, 'connect')
        s.write(garbage)
        const [d] = await once(s, 'data')
        s.destroy()
        return d
      }),
    )
    for (const d of back) assert.deepEqual(d, garbage)
    // (Its health checks connect too, and send nothing.)
    const carrying = conns.filter((s) => s.bytesRead > 0)
    assert.equal(carrying.length, 2, 'one upstream connection per client connection')
    await assert.rejects(startHaproxy([echo.address().port], { mode: 'udp' }), /mode "udp": http or tcp/)
  } finally {
    await l4.stop()
    for (const s of conns) s.destroy()
    echo.close()
  }
})
