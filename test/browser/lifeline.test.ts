// End to end in Chromium against the real server, every behaviour on every transport.
import { Lifeline, LifelineError } from '../../src/client/index'
import { VARIANTS, assert, b64, bytesOf, cleanup, connect, equal, messages, next, server, until } from './helpers'

const UNICODE =
  'ascii, Ünïcödé, 中文, עברית, ' + 'emoji 😀🎉, math 𝔸𝔹, nul \u0000, bidi \u202e, ' + '\ud83d\udca9'.repeat(3)

for (const { name, t, opts } of VARIANTS) {
  describe(`${name}: echo and lifecycle`, function () {
    afterEach(cleanup)

    it('opens, reports its transport, and echoes text including all of Unicode and the empty string', async () => {
      const s = await server()
      const ll = connect(s.url, t, opts)
      await next(ll, 'open')
      equal(ll.transport, t)
      equal(ll.readyState, Lifeline.OPEN)
      ll.send(UNICODE)
      ll.send('')
      ll.send('third')
      equal(await messages(ll, 3), [UNICODE, '', 'third'])
    })

    it('echoes binary as Blob by default and as ArrayBuffer when asked, from every binary type', async () => {
      const s = await server()
      const ll = connect(s.url, t, opts)
      ll.send(new Uint8Array([0, 1, 2, 255]).buffer)
      const got = await messages(ll, 1)
      assert(got[0] instanceof Blob, 'default binaryType is blob')
      equal(await bytesOf(got[0]), [0, 1, 2, 255])
      ll.binaryType = 'arraybuffer'
      const view = new Uint8Array([9, 8, 7, 6, 5]).subarray(1, 4)
      ll.send(view)
      ll.send(new Blob([new Uint8Array([42, 43])]))
      ll.send(new Uint8Array(0))
      const more = await messages(ll, 3)
      assert(
        more.every((m) => m instanceof ArrayBuffer),
        'arraybuffer binaryType',
      )
      equal(await Promise.all(more.map(bytesOf)), [[8, 7, 6], [42, 43], []])
    })

    it('round-trips 1 MiB text and binary messages unchanged', async () => {
      const s = await server()
      const ll = connect(s.url, t, opts)
      ll.binaryType = 'arraybuffer'
      const text = 'x€'.repeat(1 << 18) // 1 MiB of UTF-8
      const bin = new Uint8Array(1 << 20).map((_, i) => (i * 7) & 255)
      ll.send(text)
      ll.send(bin)
      const [a, b] = await messages(ll, 2, 30000)
      assert(a === text, '1 MiB text intact')
      const back = new Uint8Array(b as ArrayBuffer)
      assert(back.length == bin.length && back.every((x, i) => x == bin[i]), '1 MiB binary intact')
    })

    it('keeps order across text and binary, and delivers to on* handlers and listeners alike', async () => {
      const s = await server()
      const ll = connect(s.url, t, opts)
      ll.binaryType = 'arraybuffer'
      const seen: string[] = []
      ll.onmessage = (e: { data: unknown }) => seen.push(typeof e.data == 'string' ? e.data : 'bin')
      const listener = (e: { data: unknown }) => seen.push('L')
      ll.addEventListener('message', listener)
      for (let i = 0; i < 50; i++) ll.send(i % 5 ? 'm' + i : new Uint8Array([i]))
      await until(() => seen.length == 100, 10000, '100 deliveries')
      equal(
        seen.filter((x) => x != 'L'),
        Array.from({ length: 50 }, (_, i) => (i % 5 ? 'm' + i : 'bin')),
      )
      ll.removeEventListener('message', listener)
    })

    it('client close(code, reason) reaches the server; close fires once, cleanly', async () => {
      const s = await server()
      const ll = connect(s.url, t, opts)
      await next(ll, 'open')
      await until(async () => (await s.sessions()).sessions.some((x) => x.heard), 5000, 'session confirmed')
      let closes = 0
      ll.onclose = () => closes++
      ll.close(4321, 'bye now')
      equal(ll.readyState, Lifeline.CLOSING)
      const e = await next(ll, 'close')
      equal([e.code, e.reason, e.wasClean], [4321, 'bye now', true])
      equal(ll.readyState, Lifeline.CLOSED)
      await until(
        async () => (await s.sessions()).log.some((l) => l.ev == 'close' && l.code == 4321 && l.reason == 'bye now'),
        5000,
        'server saw 4321',
      )
      equal(closes, 1)
      let threw: unknown
      try {
        ll.send('late')
      } catch (err) {
        threw = err
      }
      assert(
        threw instanceof LifelineError && threw.code == 'LL_ERR_INVALID_STATE',
        'send after close throws LL_ERR_INVALID_STATE',
      )
    })

    it('server close(code, reason) ends the connection for good with that code', async () => {
      const s = await server()
      const ll = connect(s.url, t, opts)
      await next(ll, 'open')
      await until(async () => (await s.sessions()).sessions.some((x) => x.heard), 5000, 'session confirmed')
      const closed = next(ll, 'close')
      await s.close(4100, 'kicked by admin')
      const e = await closed
      equal([e.code, e.reason, e.wasClean], [4100, 'kicked by admin', true])
      equal(ll.state, 'closed')
    })

    // Issue 15: 4000-4999 belong to the app (RFC 6455 §7.4.2), and 3000 to a framework the app
    // uses. Lifeline took 4001 for its own "session expired" and reconnected a kicked user forever.
    it('app close codes 4001, 4999 and 3000 from either side arrive as they are, no reconnect in 2 s', async () => {
      const runs = await Promise.all(
        [4001, 4999, 3000].flatMap((code) =>
          (['client', 'server'] as const).map(async (side) => {
            const s = await server()
            const ll = connect(s.url, t, opts)
            const seen: string[] = []
            for (const ev of ['open', 'reconnecting', 'reset'] as const) ll.on(ev, () => seen.push(ev))
            await next(ll, 'open')
            await until(async () => (await s.sessions()).sessions.some((x) => x.heard), 5000, 'session confirmed')
            const closed = next(ll, 'close')
            const reason = `app ${code} from the ${side}`
            if (side == 'client') ll.close(code, reason)
            else await s.close(code, reason)
            const e = await closed
            equal([e.code, e.reason], [code, reason], `${side}'s ${code} as the client saw it`)
            const atServer = (l: { ev: string; code?: number; reason?: string }) =>
              l.ev == 'close' && l.code == code && l.reason == reason
            await until(async () => (await s.sessions()).log.some(atServer), 5000, `${side}'s ${code} at the server`)
            return { s, ll, seen, what: `${side}'s ${code}` }
          }),
        ),
      )
      // Watched for 2 s: a reconnect would show as an event, a new connection or a new session.
      await new Promise((resolve) => setTimeout(resolve, 2000))
      for (const { s, ll, seen, what } of runs) {
        const { sessions, log } = await s.sessions()
        equal(ll.readyState, Lifeline.CLOSED, what + ': readyState')
        equal(seen, ['open'], what + ': events after the close')
        equal(log.filter((l) => l.ev == 'connection').length, 1, what + ': connections at the server')
        equal(sessions.length, 0, what + ': sessions left at the server')
      }
    })

    it('reconnects after the server restarts, with a reset, and queued messages arrive once it is back', async () => {
      const s = await server()
      const ll = connect(s.url, t, opts)
      await next(ll, 'open')
      ll.send('before')
      equal(await messages(ll, 1), ['before'])
      await until(() => ll.bufferedAmount == 0, 5000, 'the server acknowledged it')
      await s.stop()
      await next(ll, 'reconnecting')
      ll.send('while down 1')
      ll.send('while down 2')
      assert(ll.bufferedAmount >= 24, 'bufferedAmount counts queued bytes')
      equal(ll.readyState, Lifeline.OPEN)
      const reset = next(ll, 'reset', 15000)
      const reopened = next(ll, 'open', 15000)
      const got = messages(ll, 2, 15000)
      await s.restart()
      const r = await reset
      equal(r.unacked, [], 'nothing was in flight')
      await reopened
      equal(await got, ['while down 1', 'while down 2'])
    })

    it('notices a silent server by heartbeat and reconnects', async () => {
      const s = await server({ heartbeatInterval: 1000 })
      const ll = connect(s.url, t, { ...opts, heartbeatInterval: 1000, heartbeatTimeout: 1000 })
      await next(ll, 'open')
      await until(async () => (await s.sessions()).sessions.some((x) => x.heard), 5000, 'session confirmed')
      await s.mute()
      const e = await next(ll, 'reconnecting', 8000)
      assert(/heartbeat-timeout/.test(e.cause), 'cause names the heartbeat: ' + e.cause)
    })

    it('a malformed frame from the server gives an error with a code, and the client recovers', async () => {
      const s = await server()
      const ll = connect(s.url, t, opts)
      await next(ll, 'open')
      await until(async () => (await s.sessions()).sessions.some((x) => x.heard), 5000, 'session confirmed')
      const err = next(ll, 'error')
      // A frame of unknown type; on the stream, bytes that are not even an envelope record. Raw
      // frames bypass the session's queue: between two polls there is no link to write one to (a
      // gap Firefox's XHR made wide enough to hit), so try until one was written.
      const raw = () => (t == 'stream' ? s.rawBytes(b64([7, 0, 0, 0, 1, 65])) : s.raw('Z what is this'))
      await until(async () => ((await raw()) as { wrote: number }).wrote > 0, 5000, 'a link to write to')
      const e = await err
      assert(e.error instanceof LifelineError && e.error.code == 'LL_ERR_PROTOCOL', 'LL_ERR_PROTOCOL')
      ll.send('still here')
      equal(await messages(ll, 1), ['still here'])
      equal(ll.state, 'open')
    })
  })
}
