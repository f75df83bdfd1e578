// `lifeline-gateway` as a user runs it: a real process in front of a plain ws echo server.
// Needs the build (`npm test` builds first).
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import WS, { WebSocketServer } from 'ws'
import { Lifeline, type Clock } from '../../src/client/index'
import { until } from '../support/processes.mjs'

/** Real timers that do not keep the test process alive (close() leaves a 20 s fallback timer). */
const clock: Clock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (t) => clearTimeout(t as NodeJS.Timeout),
  now: () => Date.now(),
}

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'lifeline-gateway.mjs')

describe('lifeline-gateway command', () => {
  let upstream: http.Server
  let upstreamUrl = ''
  const closes: number[] = []
  let cli: ChildProcess
  let base = ''

  before(async () => {
    upstream = http.createServer()
    new WebSocketServer({ server: upstream }).on('connection', (ws) => {
      ws.on('message', (d, binary) => ws.send(d, { binary }))
      ws.on('close', (code) => closes.push(code))
    })
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r))
    upstreamUrl = `ws://127.0.0.1:${(upstream.address() as AddressInfo).port}/echo`
    cli = spawn(
      process.execPath,
      [
        BIN,
        '--upstream',
        upstreamUrl,
        '--port',
        '0',
        '--path',
        '/rt',
        '--origins',
        'https://a.example,https://b.example',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    const line = await new Promise<string>((resolve, reject) => {
      let out = ''
      const t = setTimeout(() => reject(new Error('no start-up line within 10 s: ' + out)), 10000)
      cli.stdout!.on('data', (d) => {
        out += d
        if (out.includes('\n')) (clearTimeout(t), resolve(out))
      })
      cli.stderr!.on('data', (d) => (out += d))
      cli.on('exit', (code) => reject(new Error('exited ' + code + ': ' + out)))
    })
    base = /http:\/\/127\.0\.0\.1:\d+/.exec(line)![0]
  })

  after(() => {
    if (cli.exitCode == null) cli.kill('SIGKILL')
    upstream.closeAllConnections()
    upstream.close()
  })

  it('serves the client script from dist', async () => {
    const r = await fetch(base + '/lifeline.min.js')
    assert.equal(r.status, 200)
    assert.match(r.headers.get('content-type')!, /javascript/)
    assert.ok((await r.text()).length > 1000)
    assert.equal((await fetch(base + '/other')).status, 404)
  })

  it('relays a session to the upstream and refuses origins not listed', async () => {
    const ll = new Lifeline(base + '/rt', {
      WebSocket: WS as unknown as typeof WebSocket,
      transports: ['websocket'],
      storage: null,
      clock,
    })
    const got = new Promise((r) => ll.once('message', (e) => r(e.data)))
    ll.send('through the command')
    assert.equal(await got, 'through the command')
    ll.close()
    const refused = await fetch(base + '/rt?v=2&t=polling&o=1', { headers: { origin: 'https://evil.example' } })
    assert.equal(refused.status, 403)
  })

  it('usage errors exit 2; SIGTERM closes upstreams with 1001 and exits 0', async () => {
    const bad = spawn(process.execPath, [BIN, '--port', '1'], { stdio: 'ignore' })
    assert.equal(await new Promise((r) => bad.on('exit', r)), 2)
    const badUrl = spawn(process.execPath, [BIN, '--upstream', 'ftp://x'], { stdio: 'ignore' })
    assert.equal(await new Promise((r) => badUrl.on('exit', r)), 2)
    const ll = new Lifeline(base + '/rt', {
      WebSocket: WS as unknown as typeof WebSocket,
      transports: ['polling'],
      storage: null,
      maxRetries: 0,
      clock,
    })
    const got = new Promise((r) => ll.once('message', (e) => r(e.data)))
    ll.send('x')
    await got
    const closed = new Promise<{ code: number }>((r) => ll.once('close', r))
    const exit = new Promise((r) => cli.on('exit', r))
    cli.kill('SIGTERM')
    assert.equal(await exit, 0)
    // The upstream (in this process) may hear its close after the gateway's exit is reported here.
    assert.ok(await until(() => closes.includes(1001), 5000), 'upstream saw 1001: ' + closes)
    // The page's session ended with 1001, so it tries for a new one and finds the gateway gone.
    assert.ok([1001, 1006].includes((await closed).code))
  })
})
