// Shared by the browser suites: the control server, real Lifeline servers, and waiting for
// events with deadlines (never a fixed sleep).
import { Lifeline, type LifelineOptions, type LifelineEvents } from '../../src/client/index'

const cfg = (
  window as unknown as {
    __karma__: { config: { lifeline: { control: string; proxies: Record<string, number>; netSeed: string } } }
  }
).__karma__.config.lifeline

export const TRANSPORTS = ['websocket', 'stream', 'polling'] as const
export type Name = (typeof TRANSPORTS)[number]

/**
 * Every transport, and the HTTP ones once more over XMLHttpRequest (`fetch: null`), the path
 * webviews without fetch streaming take.
 */
export const VARIANTS: { name: string; t: Name; opts: LifelineOptions }[] = [
  ...TRANSPORTS.map((t) => ({ name: t, t, opts: {} })),
  { name: 'stream over XHR', t: 'stream', opts: { fetch: null } },
  { name: 'polling over XHR', t: 'polling', opts: { fetch: null } },
]
export const proxies = cfg.proxies
export const control = cfg.control
/** `LL_NET_SEED`: the randomized network's seeds, comma-separated; empty for fresh ones. */
export const netSeed = cfg.netSeed || ''

/** The longest a control action may take (a cluster of three nodes, HAProxy and Redis started). */
const CONTROL_MS = 120000

export async function ctl<T = Record<string, unknown>>(action: string, body: object = {}): Promise<T> {
  const signal = AbortSignal.timeout(CONTROL_MS)
  const r = await fetch(cfg.control + '/' + action, { method: 'POST', body: JSON.stringify(body), signal })
  if (!r.ok) throw new Error(action + ': ' + (await r.text()))
  return r.json()
}

export interface TestServer {
  id: number
  port: number
  url: string
  stop(): Promise<unknown>
  restart(downMs?: number): Promise<unknown>
  send(data: string, count?: number): Promise<unknown>
  sendBinary(base64: string): Promise<unknown>
  close(code: number, reason: string): Promise<unknown>
  raw(frame: string, binary?: boolean): Promise<unknown>
  rawBytes(base64: string): Promise<unknown>
  mute(): Promise<unknown>
  sessions(): Promise<{
    sessions: { id: string; transport: string; heard: boolean }[]
    log: { ev: string; code?: number; reason?: string; id: string }[]
  }>
}

const started: TestServer[] = []

/** A real Lifeline echo server on a fresh loopback port. */
export async function server(opts: Record<string, unknown> = {}): Promise<TestServer> {
  const { id, port } = await ctl<{ id: number; port: number }>('start', opts)
  const s: TestServer = {
    id,
    port,
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}/rt`,
    stop: () => ctl('stop', { id }),
    restart: (downMs = 0) => ctl('restart', { id, downMs }),
    send: (data, count) => ctl('send', { id, data, count }),
    sendBinary: (data) => ctl('send', { id, data, binary: true }),
    close: (code, reason) => ctl('close', { id, code, reason }),
    raw: (frame, binary) => ctl('raw', { id, frame, binary }),
    rawBytes: (bytes) => ctl('raw', { id, bytes }),
    mute: () => ctl('mute', { id }),
    sessions: () => ctl('sessions', { id }),
  }
  started.push(s)
  return s
}

export interface TestProxy {
  port: number
  /** The Lifeline endpoint through the proxy: `http://127.0.0.1:<port>/rt`. */
  url: string
  stop(): Promise<unknown>
}

const proxied: TestProxy[] = []

/**
 * A proxy of `kind` (see test/support/proxies.mjs) in front of the server on `upstreamPort`;
 * `opts` are the kind's options (`readTimeout`, `delayMs`, `cutAfterMs`).
 */
export async function proxy(
  kind: string,
  upstreamPort: number,
  opts: Record<string, unknown> = {},
): Promise<TestProxy> {
  const { port } = await ctl<{ port: number }>('proxy', { ...opts, kind, upstream: upstreamPort })
  const p: TestProxy = { port, url: `http://127.0.0.1:${port}/rt`, stop: () => ctl('unproxy', { port }) }
  proxied.push(p)
  return p
}

const clients: Lifeline[] = []

/** A client on one transport with test-friendly timings. */
export function connect(url: string, transport: Name | Name[], opts: LifelineOptions = {}): Lifeline {
  const ll = new Lifeline(url, {
    transports: Array.isArray(transport) ? transport : [transport],
    storage: null,
    minDelay: 50,
    maxDelay: 400,
    ...opts,
  })
  clients.push(ll)
  return ll
}

/** Close every client, proxy and server a test made. */
export async function cleanup(): Promise<void> {
  for (const c of clients.splice(0)) if (c.readyState < 2) c.close()
  await Promise.all(proxied.splice(0).map((p) => p.stop().catch(() => undefined)))
  await Promise.all(started.splice(0).map((s) => ctl('forget', { id: s.id }).catch(() => undefined)))
}

/** The next `event` from `ll`, or a rejection after `ms`. */
export function next<K extends keyof LifelineEvents>(
  ll: Lifeline,
  event: K,
  ms = 10000,
  pred?: (e: LifelineEvents[K][0]) => boolean,
): Promise<LifelineEvents[K][0]> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      ll.off(event, fn as never)
      reject(new Error(`no ${String(event)} within ${ms} ms (state ${ll.state}, transport ${ll.transport})`))
    }, ms)
    const fn = (e: LifelineEvents[K][0]) => {
      if (pred && !pred(e)) return
      clearTimeout(t)
      ll.off(event, fn as never)
      resolve(e)
    }
    ll.on(event, fn as never)
  })
}

/** Collect `n` messages. */
export function messages(ll: Lifeline, n: number, ms = 15000): Promise<unknown[]> {
  const got: unknown[] = []
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`got ${got.length} of ${n} messages within ${ms} ms`)), ms)
    const fn = (e: { data: unknown }) => {
      got.push(e.data)
      if (got.length == n) {
        clearTimeout(t)
        ll.off('message', fn as never)
        resolve(got)
      }
    }
    ll.on('message', fn as never)
  })
}

/** Wait until `cond()` holds, checking every 20 ms, failing after `ms`. */
export async function until(cond: () => boolean | Promise<boolean>, ms = 10000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(what + ' not met within ' + ms + ' ms')
    await new Promise((r) => setTimeout(r, 20))
  }
}

export function assert(cond: unknown, msg = 'assertion failed'): asserts cond {
  if (!cond) throw new Error(msg)
}

export function equal(a: unknown, b: unknown, msg = ''): void {
  const sa = JSON.stringify(a)
  const sb = JSON.stringify(b)
  if (sa !== sb) throw new Error(`${msg} expected ${sb.slice(0, 300)} got ${sa.slice(0, 300)}`)
}

export async function bytesOf(d: unknown): Promise<number[]> {
  const buf = d instanceof Blob ? await d.arrayBuffer() : (d as ArrayBuffer)
  return Array.from(new Uint8Array(buf))
}

export function b64(bytes: number[]): string {
  return btoa(String.fromCharCode(...bytes))
}
