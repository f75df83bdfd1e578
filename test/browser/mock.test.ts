// What a real server cannot do on demand, with mock-socket in Chromium: a handshake that never
// completes, a connection closed in the middle of the exchange, garbage frames. The mock speaks
// just enough of the protocol (PROTOCOL.md §3) to get there.
import { Server, WebSocket as MockWebSocket } from 'mock-socket'
import { Lifeline, LifelineCore, LifelineError, WebSocketTransport } from '../../src/client/index'
import { assert, cleanup, equal, messages, next, server, until } from './helpers'

/** A WebSocket whose handshake never completes (a proxy that swallows the upgrade). */
class HangingWebSocket {
  readyState = 0
  binaryType = 'blob'
  bufferedAmount = 0
  onopen = null
  onmessage = null
  onclose = null
  onerror = null
  static made = 0
  constructor(readonly url: string) {
    HangingWebSocket.made++
  }
  send(): void {}
  close(): void {
    this.readyState = 3
  }
}

let n = 0
/** A mock server at a fresh URL; `onConnect(socket, query)` scripts it. */
function mock(
  onConnect: (
    s: {
      send(d: string): void
      close(o?: { code: number; reason: string }): void
      on(ev: string, fn: (d: string) => void): void
    },
    q: URLSearchParams,
  ) => void,
) {
  const url = `ws://mock${++n}.test/rt`
  const srv = new Server(url)
  srv.on('connection', (socket) =>
    onConnect(socket as never, new URLSearchParams((socket as unknown as { url: string }).url.split('?')[1])),
  )
  return { url, stop: () => srv.stop() }
}

const hello = (sid: string, ack = 0) => 'o' + JSON.stringify({ v: 2, sid, ack, hb: 25000, max: 4194304 })
const SID = 'M'.repeat(22)

describe('edge cases with a mock WebSocket server', function () {
  afterEach(cleanup)

  // with WebSocket alone, the attempt times out as websocket-hung and is retried
  it('a handshake that never completes', async () => {
    const ll = new LifelineCore('http://hang.test/rt', {
      transports: [WebSocketTransport],
      WebSocket: HangingWebSocket as never,
      connectTimeout: 300,
      minDelay: 10,
      storage: null,
    })
    const e = await next(ll, 'reconnecting', 3000)
    equal(e.cause, 'websocket-hung')
    const before = HangingWebSocket.made
    await until(() => HangingWebSocket.made > before, 3000, 'retried')
    ll.close()
  })

  // a fallback to the real server takes over after raceDelay, not after a long timeout
  it('a handshake that never completes', async () => {
    const s = await server()
    const t0 = performance.now()
    const ll = new Lifeline(s.url, { WebSocket: HangingWebSocket as never, storage: null, raceDelay: 300 })
    const e = await next(ll, 'transport')
    const ms = performance.now() - t0
    equal([e.name, e.reason], ['stream', 'websocket-hung'])
    assert(ms < 2000, `fell back after ${ms | 0} ms`)
    ll.send('over the fallback')
    equal(await messages(ll, 1), ['over the fallback'])
    ll.close()
  })

  it('a connection closed in the middle of the exchange: the message goes again on the next one, once', async () => {
    const got: string[] = []
    let conns = 0
    const m = mock((sock, q) => {
      const first = ++conns == 1
      sock.send(hello(SID, first ? 0 : got.length))
      sock.on('message', (d) => {
        if (d[0] == 'p') sock.send('q')
        if (d[0] != 'm') return
        if (first) return sock.close({ code: 1006, reason: 'cut' }) // before any ack or echo
        got.push(d.slice(1))
        sock.send('s1')
        sock.send(d)
      })
      void q
    })
    const ll = new LifelineCore(m.url, {
      transports: [WebSocketTransport],
      WebSocket: MockWebSocket as never,
      minDelay: 10,
      storage: null,
    })
    ll.send('important')
    const echo = await messages(ll, 1, 5000)
    equal(echo, ['important'])
    equal(got, ['important'], 'the server got it exactly once')
    equal(conns, 2)
    ll.close()
    m.stop()
  })

  it('garbage from the server: an error event with a stable code, a reconnect, and the session goes on', async () => {
    let conns = 0
    const m = mock((sock) => {
      const first = ++conns == 1
      sock.send(hello(SID))
      sock.on('message', (d) => {
        if (d[0] == 'p') sock.send('q')
        if (d[0] == 'm') (sock.send('s1'), sock.send(d))
      })
      if (first) setTimeout(() => sock.send('\u0000 not a frame'), 50)
    })
    const ll = new LifelineCore(m.url, {
      transports: [WebSocketTransport],
      WebSocket: MockWebSocket as never,
      minDelay: 10,
      storage: null,
    })
    const errors: LifelineError[] = []
    ll.on('error', (e) => errors.push(e.error))
    await until(() => conns == 2 && ll.state == 'open', 5000, 'reconnected')
    equal(
      errors.map((e) => e.code),
      ['LL_ERR_PROTOCOL'],
    )
    assert(errors[0] instanceof LifelineError && errors[0] instanceof Error)
    ll.send('after garbage')
    equal(await messages(ll, 1), ['after garbage'])
    equal(ll.sessionId, SID, 'same session')
    ll.close()
    m.stop()
  })
})
