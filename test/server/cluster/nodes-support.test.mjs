// test/support/nodes.mjs does what the multi-node tests rely on: N real server processes over the
// built dist/server.mjs, each on its own port, that can be restarted, killed with -9 and frozen.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import WebSocket from 'ws'
import { startNodes } from '../../support/nodes.mjs'
import { until } from '../../support/processes.mjs'

let nodes
before(async () => {
  nodes = await startNodes(3)
})
after(async () => {
  await nodes.stopAll()
})

/** GET /whoami on `port`; rejects after `ms` (a frozen node answers nothing). */
async function whoami(port, ms = 1000) {
  const res = await fetch(`http://127.0.0.1:${port}/whoami`, { signal: AbortSignal.timeout(ms) })
  return res.text()
}

/** A Lifeline WebSocket on `port` that sends `m<text>` after the hello and resolves with the echo. */
function echo(port, text) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/rt?v=1&t=websocket&ack=0&o=1&hb=25000`)
    ws.on('message', (data) => {
      const frame = String(data)
      if (frame[0] == 'o') for (const f of ['p', 's1', 'm' + text]) ws.send(f)
      else if (frame[0] == 'm') {
        ws.close()
        resolve(frame.slice(1))
      }
    })
    ws.on('error', reject)
  })
}

test('starts N separate server processes, each on its own port, each serving Lifeline', async () => {
  const pids = new Set(nodes.list.map((n) => n.pid))
  assert.equal(pids.size, 3)
  assert.ok(!pids.has(process.pid))
  for (const n of nodes.list) {
    assert.equal(await whoami(n.port), n.name)
    assert.equal(await echo(n.port, 'hi ' + n.name), 'hi ' + n.name)
  }
})

test('kill -9 ends one node at once (its port refuses), start brings it back on the same port', async () => {
  const old = nodes.list[0].pid
  await nodes.kill(0)
  assert.equal(nodes.list[0].child, undefined)
  await assert.rejects(whoami(nodes.list[0].port), /fetch failed/)
  assert.equal(await whoami(nodes.list[1].port), 'n2', 'the others carry on')
  await nodes.start(0)
  assert.notEqual(nodes.list[0].pid, old)
  assert.equal(await whoami(nodes.list[0].port), 'n1')
})

test('restart closes the sessions of that node with 1001 (going away) and serves again', async () => {
  const port = nodes.list[1].port
  const ws = new WebSocket(`ws://127.0.0.1:${port}/rt?v=1&t=websocket&ack=0&o=1&hb=25000`)
  const frames = []
  ws.on('message', (d) => frames.push(String(d)))
  await new Promise((resolve) => ws.once('open', resolve))
  ws.send('p')
  assert.ok(await until(() => frames.some((f) => f[0] == 'q'), 5000))
  await nodes.restart(1)
  assert.ok(
    frames.some((f) => f.startsWith('c1001')),
    frames.join(' | '),
  )
  assert.equal(await whoami(port), 'n2')
})

test('freeze stops a node answering while its port stays open; thaw lets it answer again', async () => {
  nodes.freeze(2)
  try {
    await assert.rejects(whoami(nodes.list[2].port, 500), /timeout|aborted/i)
  } finally {
    nodes.thaw(2)
  }
  assert.equal(await whoami(nodes.list[2].port, 5000), 'n3')
})
