/**
 * `lifeline-rt/diagnose`: which transports work from this network. Its own entry, so that pages
 * that never ask ship none of it; the script tag gets it from `lifeline.diagnose.min.js`, which
 * adds `Lifeline.diagnose(url)`. It uses only the public API, so it works with any build.
 * @packageDocumentation
 */
import type { LifelineCore } from './lifeline'
import type { LifelineOptions } from './options'
import type { TransportClass, TransportName } from './transports/transport'

/** One transport's result in a {@link diagnose} report. */
export interface DiagnoseResult {
  transport: TransportName
  ok: boolean
  /** ms from start until it proved both directions, or until it failed. */
  ms: number
  /** Round trip of the proof ping, ms (0 when it failed). */
  rtt: number
  /** `ok`, or why it failed (`websocket-refused`, `stream-buffered`, `unsupported`...). */
  reason: string
}

/** What {@link diagnose} resolves to. */
export interface DiagnoseReport {
  url: string
  /** The first transport that worked, in order of preference, or null. */
  best: TransportName | null
  results: DiagnoseResult[]
}

/** A client class: `Lifeline`, `LifelineRacing` or `LifelineCore`. */
export type DiagnoseClient = new (url: string, options: LifelineOptions) => LifelineCore

/** The transports `Lifeline` offers, in its order of preference. */
const ALL: TransportName[] = ['websocket', 'stream', 'polling']

/**
 * Try each transport to `url` on its own, one after the other, and report which work from this
 * network, how long each took and why any failed: the thing to ask a user behind a corporate
 * proxy to run. `options.transports` picks which (transport classes, for a `LifelineCore`).
 *
 * @example
 * import { Lifeline } from 'lifeline-rt'
 * import { diagnose } from 'lifeline-rt/diagnose'
 * console.table((await diagnose(Lifeline, '/rt')).results)
 */
export function diagnose(Client: DiagnoseClient, url: string, options: LifelineOptions = {}): Promise<DiagnoseReport> {
  const clock = options.clock
  const now = () => (clock ? clock.now() : Date.now())
  const results: DiagnoseResult[] = []
  let resolved = url
  // Each transport gets 5 s unless told otherwise: long enough for a slow network, short enough
  // that a proxy that hangs a transport does not make the report wait 15 s for it.
  const tryOne = (t: TransportName | TransportClass) =>
    new Promise<void>((done) => {
      const transport = typeof t == 'string' ? t : t.transportName
      const started = now()
      const end = (ok: boolean, rtt: number, reason: string) => {
        results.push({ transport, ok, ms: now() - started, rtt, reason })
        done()
      }
      let ll: LifelineCore
      try {
        // A probe that fails is an answer, not a connection giving up: its `warn` lines (`gave up:
        // websocket-refused`) would read as the app's connection quitting. Only what `error` events
        // report is logged, unless the caller asks for a level.
        ll = new Client(
          url,
          Object.assign({ connectTimeout: 5000, logLevel: 'error' }, options, {
            transports: [t],
            maxRetries: 0,
            storage: null,
          }),
        )
      } catch (e) {
        // Not supported here (no WebSocket, no fetch): that is the answer for this one. A bad URL
        // or option is the caller's: the report rejects with it.
        if ((e as { code?: string }).code == 'LL_ERR_NO_TRANSPORT') return end(false, 0, 'unsupported')
        throw e
      }
      resolved = ll.url
      // A connection carries the session only once proven both ways (PROTOCOL.md §8.2).
      ll.on('transport', () => {
        end(true, ll.rtt, 'ok')
        ll.removeAllListeners('close')
        ll.close()
      })
      ll.on('close', (e) => end(false, 0, e.reason))
    })
  return (options.transports || ALL)
    .reduce((p: Promise<void>, t) => p.then(() => tryOne(t)), Promise.resolve())
    .then(() => {
      const win = results.filter((r) => r.ok)[0]
      return { url: resolved, best: win ? win.transport : null, results }
    })
}
