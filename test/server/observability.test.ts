// server.stats() with real clients on every transport over loopback, the client's `why` as it
// reaches the server, and docs/observability.md's Prometheus example (its `js metrics` block, run
// as written) scraped through prom-client; in one process and on a one-node cluster (stores.ts).
import { after, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Registry } from 'prom-client'
import { Lifeline } from '../../src/client/index'
import type { LifelineServer } from '../../src/server/index'
import { NodeWS, clock } from './client'
import { req, start, stopAll, until, ws, hello } from './raw'
import { eachStore } from './stores'

const root = join(import.meta.dirname, '../..')
const clients: Lifeline[] = []
after(async () => {
  for (const ll of clients.splice(0)) if (ll.readyState < 2) ll.close()
  await stopAll()
})

function connect(port: number, t: 'websocket' | 'stream' | 'polling') {
  const ll = new Lifeline(`http://127.0.0.1:${port}/rt`, {
    WebSocket: NodeWS as unknown as typeof WebSocket,
    transports: [t],
    storage: null,
    logger: null,
    clock,
  })
  clients.push(ll)
  return ll
}

/** Three clients, one per transport, each sending `hi` and hearing its echo. */
async function busy(port: number) {
  const all = (['websocket', 'stream', 'polling'] as const).map((t) => connect(port, t))
  await Promise.all(all.map((ll) => new Promise((ok) => (ll.on('message', ok), ll.send('hi')))))
  return all
}

/** docs/observability.md's `js metrics` block, written out as a module and imported. */
async function docsExample(): Promise<(ll: LifelineServer, registry: Registry) => void> {
  const md = readFileSync(join(root, 'docs/observability.md'), 'utf8')
  const code = /```js metrics\n([\s\S]*?)```/.exec(md)![1]
  const dir = join(root, '.tmp')
  mkdirSync(dir, { recursive: true })
  const file = join(dir, 'observability-metrics.mjs')
  writeFileSync(file, code)
  return (await import(pathToFileURL(file).href)).lifelineMetrics
}

eachStore(() => {
  it('stats: sessions by transport, reasons as the clients gave them, messages and bytes each way', async () => {
    const r = await start()
    await busy(r.port)
    await until(() => r.ll.stats().messagesOut == 3)
    const s = r.ll.stats()
    assert.deepEqual(s.sessions, { total: 3, websocket: 1, stream: 1, polling: 1, none: 0 })
    assert.deepEqual(s.reasons, { websocket: { preferred: 1 }, stream: { preferred: 1 }, polling: { preferred: 1 } })
    assert.deepEqual([s.created, s.messagesIn, s.bytesIn, s.messagesOut, s.bytesOut], [3, 3, 6, 3, 6])
    assert.deepEqual([s.reconnects, s.resumes, s.resets], [0, 0, 0])
    assert.ok(s.bufferedBytes >= 0)
  })

  // and a reason past statsMaxReasons, or malformed, counts as other
  it('stats: reconnects split into resumes and resets', async () => {
    const r = await start({ statsMaxReasons: 2 })
    const a = ws(r.port, 'v=2&t=websocket&ack=0&o=1&why=websocket-dropped')
    const sid = (await a.hello()).sid
    a.sock.send('p')
    await until(() => r.sessions.length == 1)
    a.sock.close()
    await a.closed
    const back = ws(r.port, `v=2&t=websocket&ack=0&o=1&sid=${sid}&why=websocket-dropped`)
    assert.equal((await back.hello()).sid, sid, 'resumed')
    const gone = ws(r.port, `v=2&t=websocket&ack=0&o=1&sid=${'A'.repeat(22)}&why=websocket-dropped`)
    await gone.closed
    const polls = ['stream-buffered', 'websocket-hung', 'websocket-refused', 'NOT%20A%20REASON']
    for (const why of polls) hello((await req(r.port, 'GET', `v=2&t=polling&ack=0&o=1&why=${why}`)).frames)
    const s = r.ll.stats()
    assert.deepEqual([s.reconnects, s.resumes, s.resets], [2, 1, 1])
    assert.deepEqual(s.reasons.websocket, { 'websocket-dropped': 2 }, 'the refused one is not counted')
    assert.deepEqual(s.reasons.polling, { 'stream-buffered': 1, 'websocket-hung': 1, other: 2 })
  })

  it('stats event every statsInterval ms, none without it', async () => {
    const r = await start({ statsInterval: 50 })
    const got: number[] = []
    r.ll.on('stats', (s) => got.push(s.created))
    await busy(r.port)
    await until(() => got.length >= 2 && got[got.length - 1] == 3, 5000, 'two stats events')
    const quiet = await start()
    let heard = 0
    quiet.ll.on('stats', () => heard++)
    await busy(quiet.port)
    await new Promise((ok) => setTimeout(ok, 150))
    assert.equal(heard, 0)
  })

  it("docs/observability.md's prom-client example scrapes what stats() says, counters not counted twice", async () => {
    const lifelineMetrics = await docsExample()
    const r = await start()
    const registry = new Registry()
    lifelineMetrics(r.ll, registry)
    const all = await busy(r.port)
    await until(() => r.ll.stats().messagesOut == 3)
    const scrape = async () => {
      const values: Record<string, number> = {}
      for (const line of (await registry.metrics()).split('\n'))
        if (line && line[0] != '#')
          values[line.slice(0, line.lastIndexOf(' '))] = +line.slice(line.lastIndexOf(' ') + 1)
      return values
    }
    const first = await scrape()
    for (const t of ['websocket', 'stream', 'polling']) assert.equal(first[`lifeline_sessions{transport="${t}"}`], 1, t)
    assert.equal(first['lifeline_sessions_created_total'], 3)
    assert.equal(first['lifeline_messages_total{direction="in"}'], 3)
    assert.equal(first['lifeline_bytes_total{direction="out"}'], 6)
    assert.equal(first['lifeline_transport_reasons_total{transport="polling",reason="preferred"}'], 1)
    all[0].send('again')
    await until(() => r.ll.stats().messagesIn == 4)
    const second = await scrape()
    assert.equal(second['lifeline_messages_total{direction="in"}'], 4, 'one more, not 3 + 4')
    assert.equal(second['lifeline_sessions_created_total'], 3)
  })
})
