// Plain mode against a real plain WebSocket server (package ws) on loopback: the Lifeline API,
// queue and reconnection, with none of the protocol on the wire.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { WebSocketServer, WebSocket } from 'ws'
import { Lifeline, LifelineCore, LifelinePlain } from '../../../src/client/index'

function echoServer(port = 0): Promise<{ wss: WebSocketServer; port: number; urls: string[] }> {
  return new Promise((resolve) => {
    const urls: string[] = []
    const wss = new WebSocketServer({ port, host: '127.0.0.1' }, () =>
      resolve({ wss, port: (wss.address() as { port: number }).port, urls }),
    )
    wss.on('connection', (ws, req) => {
      urls.push(req.url!)
      ws.on('message', (d, bin) => ws.send(d, { binary: bin }))
    })
  })
}

const next = <T>(ll: LifelineCore, ev: 'message' | 'open' | 'reconnecting' | 'close', n = 1) =>
  new Promise<T[]>((resolve) => {
    const got: T[] = []
    const fn = (e: T) => {
      got.push(e)
      if (got.length == n) {
        ll.off(ev, fn as never)
        resolve(got)
      }
    }
    ll.on(ev, fn as never)
  })

// reconnects after a restart and sends what queued meanwhile
test('plain mode: echoes text and binary with the exact URL', async () => {
  const s = await echoServer()
  const ll = new LifelinePlain(`ws://127.0.0.1:${s.port}/echo?room=1`, {
    WebSocket: WebSocket as never,
    minDelay: 20,
    maxDelay: 100,
  })
  ll.binaryType = 'arraybuffer'
  ll.send('hello')
  ll.send(new Uint8Array([1, 2]))
  ll.send('M-looks-like-a-frame')
  const got = await next<{ data: unknown }>(ll, 'message', 3)
  assert.equal(got[0].data, 'hello')
  assert.deepEqual([...new Uint8Array(got[1].data as ArrayBuffer)], [1, 2])
  assert.equal(got[2].data, 'M-looks-like-a-frame')
  assert.deepEqual(s.urls, ['/echo?room=1'], 'no Lifeline parameters reach a plain server')
  assert.equal(ll.transport, 'websocket')
  const port = s.port
  for (const c of s.wss.clients) c.terminate()
  await new Promise((r) => s.wss.close(r))
  await next(ll, 'reconnecting')
  ll.send('while down')
  const again = await echoServer(port)
  const back = await next<{ data: unknown }>(ll, 'message')
  assert.equal(back[0].data, 'while down')
  assert.equal(ll.state, 'open')
  const closed = next<{ code: number; reason: string }>(ll, 'close')
  ll.close(4000, 'bye')
  assert.deepEqual(
    (await closed).map((e) => [e.code, e.reason]),
    [[4000, 'bye']],
  )
  await new Promise((r) => again.wss.close(r))
})

test('plain mode: a close the server means (1000, 4xxx) ends the connection; plainPing keeps watch', async () => {
  const s = await echoServer()
  s.wss.on('connection', (ws) => ws.on('message', (d) => String(d) == 'bye' && ws.close(4321, 'server says bye')))
  const ll = new LifelinePlain(`ws://127.0.0.1:${s.port}/`, {
    WebSocket: WebSocket as never,
    plainPing: 'ping',
    heartbeatInterval: 50,
  })
  const echoed = await next<{ data: unknown }>(ll, 'message', 2)
  assert.deepEqual(
    echoed.map((e) => e.data),
    ['ping', 'ping'],
    'pings go out every heartbeat interval',
  )
  const closed = next<{ code: number; reason: string }>(ll, 'close')
  ll.send('bye')
  assert.deepEqual(
    (await closed).map((e) => [e.code, e.reason]),
    [[4321, 'server says bye']],
  )
  await new Promise((r) => s.wss.close(r))
})

// Version 0.1 took `plain: true` on Lifeline; it would now speak Lifeline's protocol to a plain server.
test('plain: true on Lifeline is refused with LL_ERR_INVALID_OPTION, naming LifelinePlain', () => {
  assert.throws(
    () => new Lifeline('ws://127.0.0.1:1/', { plain: true } as never),
    (e: { code?: string; message: string }) => e.code == 'LL_ERR_INVALID_OPTION' && /LifelinePlain/.test(e.message),
  )
})
