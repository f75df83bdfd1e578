// Deterministic stand-ins for unit tests: a clock driven by hand and transports whose every
// event the test decides. No sockets, no sleeping.
import {
  Transport,
  type TransportContext,
  type TransportName,
  type TransportClass,
} from '../../../src/client/transports/transport'
import { Connection } from '../../../src/client/connection'
import { DEFAULTS, type Resolved } from '../../../src/client/options'
import type { Frame } from '../../../src/protocol/frames'
import { Lifeline, LifelineRacing, type LifelineOptions, type Logger } from '../../../src/client/index'
import { FakeClock, flush } from '../../support/fake-clock'

export { FakeClock, flush }

/** Every fake transport made, in order, so a test can drive the one it wants. */
export const made: FakeTransport[] = []

export class FakeTransport extends Transport {
  static transportName: TransportName = 'websocket'
  static supported = true
  name: TransportName = 'websocket'
  sent: Frame[] = []
  seqs: number[] = []
  url = ''
  opened = false
  stopped = false
  static isSupported(): boolean {
    return this.supported
  }
  // Capabilities as the real transport of this name has them.
  override get isSocket(): boolean {
    return this.name == 'websocket'
  }
  override get pollsCursor(): boolean {
    return this.name == 'polling'
  }
  open(): void {
    this.opened = true
    this.url = this._ctx.url(this, true)
    made.push(this)
  }
  /** URLs of the POSTs an HTTP transport would have made, one per send (as http.ts does). */
  posts: string[] = []
  send(frames: Frame[], seq: number): void {
    this.sent.push(...frames)
    this.seqs.push(seq)
    if (this.name != 'websocket') this.posts.push(this._ctx.url(this))
  }
  protected _stop(): void {
    this.stopped = true
  }
  /** Server side of the fake: push a frame to the client. */
  recv(f: Frame): void {
    this._frame(f)
  }
  /** Server side of the fake: a frame in an upload's answer (HTTP), no sign of the download's life. */
  answer(f: Frame): void {
    this._frame(f, true)
  }
  hello(sid = 'S'.repeat(22), ack = 0, hb = 25000, max = 4194304): void {
    this.emit('open')
    this.recv('o' + JSON.stringify({ v: 2, sid, ack, hb, max }))
  }
  /** Hello, then answer the proof ping. */
  prove(sid?: string, ack = 0, hb?: number): void {
    this.hello(sid, ack, hb)
    this.recv('q')
  }
  drop(reason = 'dropped'): void {
    this._end(reason)
  }
  /** Application messages the client put on this transport (text only, in order). */
  get texts(): string[] {
    const out: string[] = []
    for (const f of this.sent) {
      if (typeof f != 'string') out.push('<bin>')
      else if (f[0] == 'm') out.push(f.slice(1))
      else if (f[0] == 'M') out.push(...JSON.parse(f.slice(1)))
    }
    return out
  }
  get controls(): string[] {
    return this.sent.filter((f): f is string => typeof f == 'string' && !/^[mM]/.test(f))
  }
}

/** A fake transport class with its own name. */
export function fakeOf(name: TransportName): TransportClass {
  return class extends FakeTransport {
    static transportName = name
    name = name
  } as unknown as TransportClass
}

export const WS = fakeOf('websocket')
export const STREAM = fakeOf('stream')
export const POLL = fakeOf('polling')

export class MemoryStorage {
  map = new Map<string, string>()
  getItem(k: string): string | null {
    return this.map.has(k) ? this.map.get(k)! : null
  }
  setItem(k: string, v: string): void {
    this.map.set(k, v)
  }
}

/** A client over fake transports with a fake clock; `ev` records every event. */
export function client(opts: LifelineOptions & { clock?: FakeClock } = {}, transports = [WS]) {
  made.length = 0
  const clock = opts.clock || new FakeClock()
  const ll = new LifelineRacing(
    'http://example.test/rt',
    { transports, clock, storage: null, jitter: false, logger: null, ...opts },
    transports,
  )
  const ev: { type: string; [k: string]: unknown }[] = []
  for (const type of ['open', 'message', 'close', 'error', 'reconnecting', 'state', 'transport', 'reset'] as const)
    ll.on(type, (e: never) => ev.push(Object.assign({}, e as object, { type, target: undefined }) as never))
  return { ll, clock, ev, of: (type: string) => ev.filter((e) => e.type == type) }
}

export { Lifeline }

/**
 * The server forgot the session: drop the connection carrying it (`made[0]`), answer the resume
 * (`made[1]`) with 3901, and prove the new session `sid` on the next attempt (`made[2]`).
 */
export async function resetSession(clock: FakeClock, sid: string): Promise<void> {
  made[0].drop()
  await clock.tick(0)
  made[1].recv('c3901 session unknown or expired')
  await clock.tick(0)
  made[2].prove(sid)
  await flush()
}

/** Options as a session resolves them, over `clock`, for a module tested without one. */
export function resolved(clock: FakeClock, opts: LifelineOptions = {}): Resolved {
  return { ...DEFAULTS, clock, ...opts } as Resolved
}

/** A connection over a fake transport of class `C`, outside any session (for a module tested alone). */
export function connection(clock: FakeClock, C: TransportClass = WS, sid?: string) {
  const ctx: TransportContext = {
    url: () => 'http://example.test/rt',
    endpoint: 'http://example.test/rt',
    cursor: () => 0,
    WebSocket: globalThis.WebSocket,
    withCredentials: false,
    maxMessageSize: DEFAULTS.maxMessageSize,
    clock,
    heartbeat: DEFAULTS.heartbeatInterval,
  }
  const t = new C(ctx) as FakeTransport
  return { t, c: new Connection(t, sid) }
}

/** A logger that records `level text` lines. */
export function recorder() {
  const lines: string[] = []
  const at =
    (level: string) =>
    (...args: unknown[]) =>
      lines.push(level + ' ' + args.slice(1).join(' '))
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
  return { lines, logger, logged: (level: string) => lines.filter((l) => l.startsWith(level + ' ')) }
}
