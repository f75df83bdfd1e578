import type { TransportName } from './options'

/** What {@link LifelineServer.stats} reports: gauges as of now, counters since the server started. */
export interface ServerStats {
  /** Live sessions by the transport carrying each now (`none`: between connections). */
  sessions: Record<TransportName | 'none', number> & { total: number }
  /**
   * Why clients opened connections on each transport, as they reported it (the `why` of a
   * connection-opening request, PROTOCOL.md §1): `preferred`, `remembered`, or what was wrong
   * with the transport passed over (`websocket-hung`, `websocket-refused`, `stream-buffered`...).
   * Counted per connection opened. Past `statsMaxReasons` distinct reasons per transport, and for
   * anything malformed, the count goes to `other`.
   */
  reasons: Record<TransportName, Record<string, number>>
  /** Sessions made. */
  created: number
  /** Connection-opening requests for an existing session id: a reconnect, or another transport joining. */
  reconnects: number
  /** Of those, the ones whose session was there: it carried on without loss. */
  resumes: number
  /** Of those, the ones whose session was not (unknown or expired): the client starts a new one. */
  resets: number
  /** Bytes held for clients now, unacknowledged or in last words (what `maxTotalBuffered` bounds). */
  bufferedBytes: number
  /** Application messages delivered to the app, and their bytes. */
  messagesIn: number
  bytesIn: number
  /** Application messages queued for clients (a broadcast counts once per session), and their bytes. */
  messagesOut: number
  bytesOut: number
}

/** A reason as a client may spell it; anything else is counted as `other`. */
const REASON = /^[a-z0-9-]{1,40}$/

/** The counters behind {@link ServerStats}. @internal */
export class Counters {
  readonly reasons: ServerStats['reasons'] = { websocket: {}, stream: {}, polling: {} }
  created = 0
  reconnects = 0
  resumes = 0
  resets = 0
  messagesIn = 0
  bytesIn = 0
  messagesOut = 0
  bytesOut = 0

  constructor(private readonly _maxReasons: number) {}

  /** A connection on `t` opened, for the reason the client gave (`why`, possibly absent). */
  reason(t: string, why: string | null): void {
    const counts = this.reasons[t as TransportName]
    if (!counts) return
    let key = why && REASON.test(why) ? why : 'other'
    if (!(key in counts) && Object.keys(counts).length >= this._maxReasons) key = 'other'
    counts[key] = (counts[key] || 0) + 1
  }

  /** A connection-opening request for an existing session id: it resumes it (`known`), or resets. */
  reconnect(known: boolean): void {
    this.reconnects++
    if (known) this.resumes++
    else this.resets++
  }

  in(bytes: number): void {
    this.messagesIn++
    this.bytesIn += bytes
  }

  out(bytes: number): void {
    this.messagesOut++
    this.bytesOut += bytes
  }

  /** A snapshot, with the gauges given. */
  snapshot(sessions: Iterable<{ transport: TransportName | null }>, bufferedBytes: number): ServerStats {
    const by = { total: 0, websocket: 0, stream: 0, polling: 0, none: 0 }
    for (const s of sessions) {
      by.total++
      by[s.transport || 'none']++
    }
    const reasons = {} as ServerStats['reasons']
    for (const [t, counts] of Object.entries(this.reasons)) reasons[t as TransportName] = { ...counts }
    const { created, reconnects, resumes, resets, messagesIn, bytesIn, messagesOut, bytesOut } = this
    return {
      sessions: by,
      reasons,
      created,
      reconnects,
      resumes,
      resets,
      bufferedBytes,
      messagesIn,
      bytesIn,
      messagesOut,
      bytesOut,
    }
  }
}
