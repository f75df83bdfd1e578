// Gateway mode in real Chromium with Apache Tomcat 10's Jakarta WebSocket echo example as the
// upstream: a server nobody here wrote, reached only through a gateway LifelineServer.
import { TRANSPORTS, assert, bytesOf, cleanup, connect, equal, messages, next, proxy, type TestProxy } from './helpers'
import { gateway, restartTomcat, stopTomcat, tomcat, type Gateway } from './tomcat'

const UNICODE = 'ascii, Ünïcödé, 中文, עברית, emoji 😀🎉, nul \u0000, ' + '\ud83d\udca9'.repeat(3)

describe('gateway in front of Tomcat 10 (Jakarta WebSocket examples)', function () {
  let gw: Gateway

  before(async function () {
    await tomcat(this)
    gw = await gateway()
  })
  after(async () => gw && (await gw.stop()))
  afterEach(cleanup)

  for (const t of TRANSPORTS) {
    it(`${t}: text and binary reach the Java echo endpoint and come back unchanged, in order`, async () => {
      const ll = connect(gw.url, t)
      ll.binaryType = 'arraybuffer'
      await next(ll, 'open')
      equal(ll.transport, t)
      // 64 KiB is over Tomcat's 8 KiB message buffer: the endpoint echoes it in partial frames.
      const big = 'Tomcat ✓ '.repeat(7282)
      const bin = new Uint8Array(70000).map((_, i) => (i * 31) & 255)
      const sent: Array<string | Uint8Array> = [UNICODE, new Uint8Array([0, 1, 2, 255]), '', big, bin, 'last']
      for (const m of sent) ll.send(m)
      const got = await messages(ll, sent.length, 20000)
      for (let i = 0; i < sent.length; i++) {
        const s = sent[i]
        if (typeof s == 'string')
          assert(got[i] === s, `message ${i} is the same text (got ${String(got[i]).slice(0, 40)})`)
        else {
          assert(got[i] instanceof ArrayBuffer, `message ${i} is binary`)
          const back = await bytesOf(got[i])
          assert(back.length == s.length && back.every((x, j) => x == s[j]), `message ${i} has the same bytes`)
        }
      }
    })
  }

  it('through nginx without WebSocket upgrades, reaches Tomcat on a fallback transport', async function () {
    let p: TestProxy
    try {
      p = await proxy('nginx-no-upgrade', gw.port)
    } catch (e) {
      // nginx is installed for the proxy suite (`npm test -- proxy`); without it there is no proxy.
      console.warn('SKIPPED: nginx-no-upgrade proxy: ' + (e as Error).message)
      return this.skip()
    }
    const ll = connect(p.url, [...TRANSPORTS])
    ll.binaryType = 'arraybuffer'
    await next(ll, 'open', 20000)
    assert(ll.transport != 'websocket', 'not on WebSocket: ' + ll.transport)
    ll.send('via nginx')
    ll.send(new Uint8Array([5, 4, 3]))
    const got = await messages(ll, 2)
    equal([got[0], await bytesOf(got[1])], ['via nginx', [5, 4, 3]])
  })

  it('stopping Tomcat closes the page with 3953 and a reason; a new page then gets 3952', async () => {
    const ll = connect(gw.url, 'websocket')
    ll.send('up')
    equal(await messages(ll, 1), ['up'])
    const closed = next(ll, 'close', 20000)
    await stopTomcat()
    const e = await closed
    equal(e.code, 3953)
    assert(/^upstream /.test(e.reason), 'reason says what happened: ' + e.reason)
    const late = connect(gw.url, 'polling')
    const e2 = await next(late, 'close', 20000)
    equal([e2.code, e2.reason], [3952, 'upstream unreachable: connection refused'])
  })

  it('after Tomcat restarts, a new Lifeline through the gateway works again', async () => {
    await restartTomcat()
    const ll = connect(gw.url, 'stream')
    ll.send('back again')
    equal(await messages(ll, 1, 15000), ['back again'])
    equal(ll.state, 'open')
  })
})
