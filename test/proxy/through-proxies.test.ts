// Lifeline end to end through each real proxy and fault proxy (test/support/proxies.mjs): every
// transport offered, 100 echoes and 20 server pushes in order, and the transport that should
// win through that proxy winning. Run with KARMA_CONSOLE=1 to see who won and how fast.
import type { Lifeline } from '../../src/client/index'
import {
  TRANSPORTS,
  assert,
  cleanup,
  connect,
  equal,
  messages,
  next,
  proxy,
  server,
  until,
  type Name,
  type TestServer,
} from '../browser/helpers'

/** A client through `url` on `transports`, with its debug log kept for the failure message. */
function client(url: string, transports: Name[] = [...TRANSPORTS]) {
  const t0 = performance.now()
  const log: string[] = []
  const line = (...a: unknown[]) =>
    log.push(
      ((performance.now() - t0) | 0) + ' ' + a.map((x) => (typeof x == 'string' ? x : JSON.stringify(x))).join(' '),
    )
  const ll = connect(url, transports, { debug: true, logger: { debug: line, info: line, warn: line } })
  const path: string[] = []
  ll.on('transport', (e) => path.push(e.name + ' (' + e.reason + ')'))
  let resets = 0
  ll.on('reset', () => resets++)
  const cuts: string[] = []
  ll.on('reconnecting', (e) => cuts.push(e.cause))
  const firstEcho = next(ll, 'message', 15000).then(() => (performance.now() - t0) | 0)
  return { ll, name: transports.join('+'), log, path, cuts, firstEcho, resets: () => resets }
}
type Client = ReturnType<typeof client>

const numbered = (tag: string, n: number) => Array.from({ length: n }, (_, i) => tag + i)

/** `n` numbered echoes, then `pushed` numbered pushes from the server, each in order. */
async function exchange(c: Client, s: TestServer, tag: string, n = 100, pushed = 20): Promise<void> {
  const echoes = messages(c.ll, n, 15000)
  for (let i = 0; i < n; i++) c.ll.send(tag + i)
  equal(await echoes, numbered(tag, n), `${c.name}: echoes in order:`)
  const pushes = messages(c.ll, pushed, 10000)
  await s.send(tag + 's', pushed)
  equal(await pushes, numbered(tag + 's', pushed), `${c.name}: pushes in order:`)
}

/** Runs `body`; a failure carries each client's path and the tail of its debug log. */
async function explained(clients: Client[], body: () => Promise<void>): Promise<void> {
  try {
    await body()
  } catch (e) {
    const logs = clients.map(
      (c) =>
        `${c.name}: transport ${c.ll.transport}, state ${c.ll.state}, path ${c.path.join(' > ')}\n` +
        c.log.slice(-40).join('\n'),
    )
    throw new Error((e as Error).message + '\n' + logs.join('\n---\n'))
  }
}

function report(kind: string, c: Client, first: number): void {
  console.log(
    `[through-proxies] ${kind}, ${c.name}: ${c.ll.transport} won, ` +
      `first echo after ${first} ms; path ${c.path.join(' > ')}`,
  )
}

// The race starts the next transport raceDelay (400 ms) plus a round trip after the last; a
// fallback that waits for connectTimeout (15 s) instead is what this bound catches.
const FALLBACK_MS = 3000

const CASES: { kind: string; opts?: Record<string, number>; winner: Name; why: string }[] = [
  { kind: 'nginx', winner: 'websocket', why: 'a correct proxy passes WebSocket' },
  { kind: 'nginx-no-upgrade', winner: 'stream', why: 'the handshake is refused; streaming passes unbuffered' },
  {
    kind: 'nginx-buffering',
    winner: 'polling',
    why: 'the stream is held until 4 KB gather: only long-polling delivers',
  },
  { kind: 'fault-blackhole', winner: 'stream', why: 'the WebSocket opens but carries nothing' },
  { kind: 'fault-delay', opts: { delayMs: 100 }, winner: 'websocket', why: 'a slow WebSocket is still the best' },
]

describe('through proxies', function () {
  this.timeout(40000)
  afterEach(cleanup)

  for (const { kind, opts, winner, why } of CASES) {
    it(`${kind}: ${winner} wins (${why}); 100 echoes and 20 pushes in order`, async () => {
      const s = await server()
      const p = await proxy(kind, s.port, opts)
      const c = client(p.url)
      await explained([c], async () => {
        await exchange(c, s, 'm')
        const first = await c.firstEcho
        report(kind, c, first)
        equal(c.ll.transport, winner, `through ${kind}:`)
        assert(first < FALLBACK_MS + (opts && opts.delayMs ? 8 * opts.delayMs : 0), `first echo after ${first} ms`)
        if (opts && opts.delayMs)
          assert(first >= 4 * opts.delayMs, `first echo after ${first} ms despite ${opts.delayMs} ms each way`)
        equal(c.resets(), 0, 'session resets:')
      })
    })
  }

  // each transport resumes, nothing lost or reordered
  it('fault-cut: every connection cut 3 s after it opened', async () => {
    const cutAfterMs = 3000
    const pairs = await eachTransport('fault-cut', { cutAfterMs })
    const clients = pairs.map((x) => x.c)
    await explained(clients, async () => {
      const t0 = performance.now()
      await Promise.all(pairs.map(({ c, s }) => exchange(c, s, 'a')))
      for (const c of clients) report('fault-cut', c, await c.firstEcho)
      equal(clients[0].ll.transport, 'websocket', 'through fault-cut:')
      // Rounds of traffic, each waiting for the last, for as long as the first connections take to
      // be cut twice.
      await Promise.all(
        pairs.map(async ({ c, s }) => {
          for (let round = 0; performance.now() - t0 < 2 * cutAfterMs + 500; round++) {
            assert(round < 5000, 'bounded')
            await exchange(c, s, `r${round}.`, 20, 5)
          }
        }),
      )
      console.log(
        `[through-proxies] fault-cut: reconnects ${clients.map((c) => `${c.name}: ${c.cuts.join(' ')}`).join('; ')}`,
      )
      // Chromium silently retries a GET whose reused connection closes before any answer, so a
      // held poll may be cut without the client seeing it; a WebSocket and a stream cannot be.
      for (const c of clients.slice(0, 2)) assert(c.cuts.length >= 1, `${c.name} was never cut`)
      for (const c of clients) equal(c.resets(), 0, `${c.name} session resets:`)
    })
  })

  // each resumes, then learns to stay up
  it('nginx-timeout: idle connections cut at 10 s on every transport', async function () {
    this.timeout(45000)
    const pairs = await eachTransport('nginx-timeout', { readTimeout: 10 })
    const clients = pairs.map((x) => x.c)
    await explained(clients, async () => {
      await Promise.all(pairs.map(({ c, s }) => exchange(c, s, 'a')))
      for (const c of clients) report('nginx-timeout', c, await c.firstEcho)
      equal(clients[0].ll.transport, 'websocket', 'through a good proxy with a timeout:')
      // Idle from here: the proxy cuts each connection once it has been silent for 10 s.
      let t0 = performance.now()
      const cuts = await Promise.all(clients.map((c) => next(c.ll, 'reconnecting', 14000)))
      console.log(
        `[through-proxies] nginx-timeout: cut after ${(performance.now() - t0) | 0} ms: ` +
          cuts.map((e) => e.cause).join(', '),
      )
      await Promise.all(clients.map((c) => until(() => c.ll.state == 'open', 5000, c.name + ' open again')))
      await Promise.all(pairs.map(({ c, s }) => exchange(c, s, 'b')))
      for (const c of clients) equal(c.resets(), 0, `${c.name} session resets:`)
      // A cut after 10 s of silence should teach the client to ask for heartbeats (or polls) under
      // 10 s (options.ts, heartbeatInterval). A second cut can only be ruled out by waiting past
      // the proxy's timeout: 12 s with no reconnect.
      t0 = performance.now()
      const again = await Promise.all(
        clients.map((c) =>
          next(c.ll, 'reconnecting', 12000).then(
            (e) => `${c.name}: ${e.cause} after ${(performance.now() - t0) | 0} ms`,
            () => '',
          ),
        ),
      )
      equal(again.filter(Boolean), [], 'cut again:')
    })
  })
})

/** Per transport set (all three, stream only, polling only), a server with a `kind` proxy and a client through it. */
function eachTransport(kind: string, opts: Record<string, number>) {
  // One server per client: a server's pushes go to every session it has.
  const sets: Name[][] = [[...TRANSPORTS], ['stream'], ['polling']]
  return Promise.all(
    sets.map(async (transports) => {
      const s = await server()
      const p = await proxy(kind, s.port, opts)
      return { s, c: client(p.url, transports) }
    }),
  )
}
