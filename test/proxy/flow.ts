// A client through a chain of proxies in front of a recording server, and 10,000 numbered messages
// each way over it (test/proxy/numbered.ts): shared by the suites of test/proxy/ that measure a
// network (networks, balancers, random). Each run yields one line of figures, printed with
// KARMA_CONSOLE=1 and put in every failure message.
import { DEFAULTS } from '../../src/client/index'
import { assert, connect, ctl, equal, next, proxy, server, until, type Name, type TestProxy } from '../browser/helpers'
import { numbered, receiver } from './numbered'

export const COUNT = 10000
/** How long a run may take before its figures are taken as they are. */
export const WINDOW_MS = 60000

export type Received = { count: number; next: number; violations: string[] }
/** One proxy of a chain: its kind (test/support/proxies.mjs) and options. */
export type Hop = { kind: string } & Record<string, unknown>

/**
 * A client with the default options (storage off, so one test does not learn from another) through
 * `hops`, the first in front of a fresh recording server and each next in front of the one before;
 * the client talks to the last. The server keeps its own options, `origins` included; it sends each
 * session `welcome` first unless `welcome` is false (a flow that starts at `open` would count it).
 */
export async function setup(transports: Name[], hops: Hop[], { welcome = true, warm = 0 } = {}) {
  const s = await server({ behaviour: 'record', welcome: welcome && 'welcome', defaultOrigins: true })
  const chain: TestProxy[] = []
  for (const { kind, ...opts } of hops)
    chain.push(await proxy(kind, chain.length ? chain[chain.length - 1].port : s.port, opts))
  const p = chain[chain.length - 1]
  if (warm) await Promise.all(Array.from({ length: warm }, () => fetch(p.url.replace('/rt', '/'), { mode: 'no-cors' })))
  const t0 = Date.now()
  const ll = connect(p.url, transports, { minDelay: DEFAULTS.minDelay, maxDelay: DEFAULTS.maxDelay })
  const seen = {
    transports: [] as string[],
    causes: [] as string[],
    resets: 0,
    switches: [] as number[],
    closed: undefined as string | undefined,
  }
  ll.on('transport', (e) => {
    seen.transports.push(`${e.name} (${e.reason}) at ${Date.now() - t0} ms`)
    seen.switches.push(Date.now())
  })
  ll.on('reconnecting', (e) => seen.causes.push(e.cause))
  ll.on('reset', () => seen.resets++)
  ll.on('close', (e) => (seen.closed = `${e.code} ${e.reason} at ${Date.now() - t0} ms`))
  return { s, p, chain, ll, t0, seen }
}
export type Run = Awaited<ReturnType<typeof setup>>

/** The server's first message (its welcome), ms after the client was made; undefined if none in `ms`. */
export async function firstMessage(r: Run, ms = WINDOW_MS): Promise<number | undefined> {
  return next(r.ll, 'message', ms).then(
    () => Date.now() - r.t0,
    () => undefined,
  )
}

/** `open`, ms after the client was made; undefined if none in `ms`. */
export async function opened(r: Run, ms = WINDOW_MS): Promise<number | undefined> {
  return next(r.ll, 'open', ms).then(
    () => Date.now() - r.t0,
    () => undefined,
  )
}

/**
 * 10,000 numbered messages each way, `burst` every `every` ms from both sides (the server's start
 * once it has heard from the session): how long it took (or the window `windowMs`), how many each
 * side got in order, and the error a `send()` threw, if one did.
 */
export async function flow(r: Run, { burst = 100, pad = 0, every = 60, windowMs = WINDOW_MS } = {}) {
  const got = receiver(r.ll)
  const started = Date.now()
  const kind = pad ? 'padded' : 'text'
  let sendError: string | undefined
  await ctl('pump', { id: r.s.id, count: COUNT, burst, everyMs: every, kind, max: pad })
  for (let i = 0; i < COUNT && !sendError; i++) {
    try {
      r.ll.send(numbered(i, kind, pad))
    } catch (e) {
      sendError = `send(${i}) threw ${(e as Error).message}`
    }
    if (i % burst == burst - 1) await new Promise((resolve) => setTimeout(resolve, every))
  }
  let atServer: Received = { count: 0, next: 0, violations: [] }
  const done = async () => {
    const rec = await ctl<{ sessions: Record<string, Received> }>('received', { id: r.s.id })
    atServer = Object.values(rec.sessions)[0] || atServer
    return !!sendError || !!r.seen.closed || (got.next >= COUNT && atServer.count >= COUNT)
  }
  const left = Math.max(1000, windowMs - (Date.now() - started))
  const complete = await until(done, left, 'all messages').then(
    () => !sendError && !r.seen.closed,
    () => false,
  )
  return { complete, ms: Date.now() - started, got, atServer, sendError }
}
export type Flow = Awaited<ReturnType<typeof flow>>

/** One line of figures: `[tag] name: extra; all (or what is missing) in ms; transports; causes; resets; close. */
export function figures(tag: string, name: string, r: Run, extra: Record<string, unknown>, f?: Flow) {
  const causes: Record<string, number> = {}
  for (const c of r.seen.causes) causes[c] = (causes[c] || 0) + 1
  const line =
    `[${tag}] ${name}: ` +
    Object.entries(extra)
      .map(([k, v]) => `${k} ${v === undefined ? 'none within ' + WINDOW_MS + ' ms' : v}`)
      .join(', ') +
    (f
      ? `; ${f.complete ? 'all' : 'NOT all'} in ${f.ms} ms: client got ${f.got.next}, server got ${f.atServer.count}` +
        (f.complete
          ? ''
          : ` (missing: ${COUNT - f.got.next} to the client, ${COUNT - f.atServer.count} to the server)`) +
        (f.sendError ? `; ${f.sendError}` : '')
      : '') +
    `; transports ${r.seen.transports.join(' > ')}; reconnecting ${JSON.stringify(causes)}; resets ${r.seen.resets}` +
    (r.seen.closed ? `; CLOSED ${r.seen.closed}` : '')
  console.log(line)
  return line
}

/** Exactly 0..9999 once, in order, on both sides, no session reset and no close. */
export function allInOrder(f: Flow | undefined, r: Run, line: string) {
  assert(f, 'no flow: ' + line)
  assert(!r.seen.closed, 'closed: ' + line)
  assert(!f.sendError, 'send: ' + line)
  equal(f.got.violations, [], 'client side: ' + line)
  equal(f.atServer.violations, [], 'server side: ' + line)
  equal([f.got.next, f.atServer.count, f.atServer.next], [COUNT, COUNT, COUNT], 'each way: ' + line)
  equal(r.seen.resets, 0, 'session resets: ' + line)
}
