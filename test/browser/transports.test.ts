// Transport-specific behaviour in Chromium: TLS, cuts mid-frame, many queued frames, pages from
// other origins, a strict CSP, separate tabs.
import { Lifeline } from '../../src/client/index'
import {
  TRANSPORTS,
  VARIANTS,
  assert,
  cleanup,
  connect,
  control,
  ctl,
  equal,
  messages,
  next,
  server,
  until,
} from './helpers'

const numbered = (tag: string, n: number) => Array.from({ length: n }, (_, i) => tag + i)

function frame(src: string): Promise<MessageEvent> {
  return new Promise((resolve, reject) => {
    const f = document.createElement('iframe')
    const t = setTimeout(() => reject(new Error('no report from ' + src)), 30000)
    const on = (e: MessageEvent) => {
      if (e.source != f.contentWindow) return
      clearTimeout(t)
      removeEventListener('message', on)
      f.remove()
      resolve(e)
    }
    addEventListener('message', on)
    f.src = src
    document.body.appendChild(f)
  })
}

describe('transports: specifics', function () {
  afterEach(cleanup)

  for (const t of TRANSPORTS) {
    it(`${t}: echoes over TLS (https/wss with a certificate the test run made)`, async () => {
      const s = await server({ tls: true })
      assert(s.url.startsWith('https://'))
      const ll = connect(s.url, t)
      ll.binaryType = 'arraybuffer'
      ll.send('over tls')
      ll.send(new Uint8Array([1, 2, 3]))
      const [a, b] = await messages(ll, 2)
      equal(a, 'over tls')
      equal(Array.from(new Uint8Array(b as ArrayBuffer)), [1, 2, 3])
    })

    it(`${t}: a connection cut in the middle of a frame loses nothing and repeats nothing`, async () => {
      const s = await server()
      const ll = connect(s.url, t)
      await next(ll, 'open')
      for (let i = 0; i < 50; i++) ll.send('a' + i)
      equal((await messages(ll, 50)).length, 50)
      await until(async () => (await s.sessions()).sessions.some((x) => x.heard && x.transport), 5000, 'a link to cut')
      const got = messages(ll, 100, 20000)
      const reconnected = next(ll, 'reconnecting')
      await fetch(control + '/cut', { method: 'POST', body: JSON.stringify({ id: s.id }) })
      for (let i = 0; i < 50; i++) ll.send('b' + i)
      await reconnected
      await s.send('from server', 50)
      const all = (await got) as string[]
      equal(
        all.filter((m) => m[0] == 'b'),
        Array.from({ length: 50 }, (_, i) => 'b' + i),
      )
      equal(
        all.filter((m) => m.startsWith('from server')),
        Array.from({ length: 50 }, (_, i) => 'from server' + i),
      )
    })
  }

  it('polling: 1,000 frames queued while no poll is waiting arrive in one response, in order', async () => {
    const s = await server()
    const ll = connect(s.url, 'polling')
    await next(ll, 'open')
    await until(async () => (await s.sessions()).sessions.some((x) => x.heard), 5000, 'confirmed')
    const got = messages(ll, 1000)
    await s.send('q', 1000)
    equal(
      await got,
      Array.from({ length: 1000 }, (_, i) => 'q' + i),
    )
  })

  it('cross-origin with withCredentials: cookies go along only when asked; nothing needs them otherwise', async () => {
    document.cookie = 'lifeline_token=cookie-secret; path=/'
    try {
      const s = await server({ authToken: 'cookie-secret', origins: [location.origin] })
      for (const t of ['stream', 'polling'] as const) {
        const yes = connect(s.url, t, { withCredentials: true })
        yes.send('with cookie ' + t)
        equal(await messages(yes, 1), ['with cookie ' + t])
        const no = connect(s.url, t, { maxRetries: 0 })
        const e = await next(no, 'close')
        equal(e.code, 1008, 'without credentials the cookie is not sent: ' + e.reason)
      }
    } finally {
      document.cookie = 'lifeline_token=; max-age=0; path=/'
    }
    const open = await server()
    const ll = connect(open.url, 'polling')
    ll.send('no cookies at all')
    equal(await messages(ll, 1), ['no cookies at all'])
  })

  it("runs under a strict Content-Security-Policy (script-src 'self'): no eval, no inline, no JSONP", async () => {
    const s = await server()
    const e = await frame(control + '/page/csp.html#' + encodeURIComponent(s.url))
    equal(e.data.lifelineCsp, { websocket: 'csp websocket', stream: 'csp stream', polling: 'csp polling' })
    equal(e.data.violations, [])
  })

  for (const t of TRANSPORTS) {
    it(`${t}: two tabs get separate sessions and never each other's messages`, async () => {
      const s = await server()
      const tab = (name: string) => frame(control + '/page/tab.html#' + encodeURIComponent([name, s.url, t].join('|')))
      const [a, b] = await Promise.all([tab('A'), tab('B')])
      for (const r of [a.data, b.data])
        equal(
          r.got,
          Array.from({ length: 20 }, (_, i) => r.tab + ':' + i),
        )
      assert(a.data.sid && b.data.sid && a.data.sid != b.data.sid, 'separate sessions')
    })
  }

  it('the CONNECTING/OPEN/CLOSING/CLOSED constants are on the class and on instances, like WebSocket', () => {
    equal([Lifeline.CONNECTING, Lifeline.OPEN, Lifeline.CLOSING, Lifeline.CLOSED], [0, 1, 2, 3])
    const ll = connect('http://127.0.0.1:9/rt', 'websocket', { maxRetries: 0 })
    equal([ll.CONNECTING, ll.OPEN, ll.CLOSING, ll.CLOSED, ll.readyState], [0, 1, 2, 3, 0])
    equal([ll.protocol, ll.binaryType, ll.url], ['', 'blob', 'http://127.0.0.1:9/rt'])
  })
})

describe('transports: regressions', function () {
  afterEach(cleanup)

  // (streamMaxBytes) reopens on the same session, again and again
  it('stream: a response recycled by the server', async () => {
    const s = await server({ streamMaxBytes: 4000 })
    const ll = connect(s.url, 'stream')
    await next(ll, 'open')
    await until(async () => (await s.sessions()).sessions.some((x) => x.heard), 5000, 'confirmed')
    const closes: unknown[] = []
    ll.on('close', (e) => closes.push(e))
    const got = messages(ll, 400)
    for (let i = 0; i < 4; i++) await s.send('x'.repeat(100) + ':' + i + ':', 100)
    const all = (await got) as string[]
    equal(all.length, 400)
    equal(closes, [])
    equal(ll.state, 'open')
    equal((await s.sessions()).sessions.length, 1, 'one session throughout')
  })

  // WebKitGTK's network stack reads a chunked response whose connection dies between chunks as
  // ended cleanly (Chromium and Firefox report a network error), so the stream transport takes
  // the cut for the server recycling the response and reopens it at once, with no `reconnecting`:
  // it must resume from its cursor all the same, nothing lost or repeated, on every engine.
  for (const variant of VARIANTS.filter((v) => v.t == 'stream')) {
    it(`${variant.name}: a response cut between two records, read as ended or as failed`, async () => {
      const s = await server()
      const ll = connect(s.url, variant.t, variant.opts)
      await next(ll, 'open')
      await until(async () => (await s.sessions()).sessions.some((x) => x.heard), 5000, 'confirmed')
      const sid = ll.sessionId
      const before = messages(ll, 20)
      await s.send('before', 20)
      equal(await before, numbered('before', 20))
      await until(async () => (await s.sessions()).sessions.some((x) => x.transport), 5000, 'a link to cut')
      const after = messages(ll, 40, 15000)
      await ctl('cut', { id: s.id, between: true })
      await s.send('after', 20)
      for (let i = 0; i < 20; i++) ll.send('up' + i)
      const all = (await after) as string[]
      equal(
        all.filter((m) => m.startsWith('after')),
        numbered('after', 20),
      )
      equal(
        all.filter((m) => m.startsWith('up')),
        numbered('up', 20),
      )
      equal([ll.sessionId, ll.state], [sid, 'open'], 'the same session, open')
      equal((await s.sessions()).log.filter((l) => l.ev == 'connection').length, 1, 'one session on the server')
    })
  }

  for (const t of ['stream', 'polling'] as const) {
    it(`${t}: 6 MiB queued while disconnected goes up in POST bodies the server accepts`, async () => {
      const s = await server()
      const ll = connect(s.url, t)
      ll.binaryType = 'arraybuffer'
      await next(ll, 'open')
      await s.stop()
      await next(ll, 'reconnecting')
      const chunk = new Uint8Array(64 * 1024)
      for (let i = 0; i < 96; i++) ll.send(chunk.map((_, k) => (i + k) & 255))
      for (let i = 0; i < 2000; i++) ll.send('small ' + i)
      const got = messages(ll, 2096, 60000)
      await s.restart()
      const all = await got
      equal(all.filter((m) => typeof m == 'string').length, 2000)
      equal((all[95] as ArrayBuffer).byteLength, 65536)
      equal(new Uint8Array(all[95] as ArrayBuffer)[1], (95 + 1) & 255)
    })
  }
})
