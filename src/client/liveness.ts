import { MIN_PATIENCE, PATIENCE_RTTS, POLL_GRACE, SLOW_LINK_BYTES_PER_MS } from '../protocol/limits'
import type { Inbox } from '../protocol/inbox'
import type { Outbox } from '../protocol/outbox'
import type { Connection } from './connection'
import type { Resolved } from './options'

/** What the watch needs from the session. */
export interface LivenessHost {
  readonly _active?: Connection
  readonly _outbox: Outbox<unknown>
  readonly _receiver: { readonly _inbox: Inbox }
  readonly _options: Resolved
  readonly _rtt: number
  _ping(c: Connection): void
  _lose(c: Connection, reason: string): void
  _timer(fn: () => void, ms: number): unknown
  _clear(id: unknown): void
  _now(): number
}

/**
 * Whether the connection carrying the session is alive (PROTOCOL.md §8). Two rules, both judged by
 * the wall clock, so a throttled or frozen page does not condemn a live connection:
 *
 * - **Idle** (heartbeats): silence past the server's heartbeat interval plus `heartbeatTimeout`
 *   drops the connection. A check that ran late (the page was throttled or asleep) first pings and
 *   gives it `heartbeatTimeout` to answer. Tuned for idle mobile links: nothing extra on the wire.
 *   What is heard is the download (the WebSocket, the stream, the polls), not uploads' answers. A
 *   poll, which the server answers within its heartbeat interval, may be late by {@link POLL_GRACE}.
 * - **Data in flight** (acknowledgements due): messages on the connection that have waited
 *   {@link PATIENCE_RTTS} round trips (at least a second, more for a big message) with no
 *   acknowledgement or pong earn a ping; no answer for as long again drops the connection as
 *   `<transport>-stalled`, so a connection that went silent mid-session is left within seconds,
 *   not 45 s. Other traffic does not count: over HTTP, polls answered while an upload stalls
 *   prove nothing about the upload (issue 25).
 * - **Download owed** (HTTP): an upload's answer says the server has messages up to n for the
 *   client (`w` frame), written on the download or waiting for the next poll. If the download
 *   brings nothing for as long as an acknowledgement may take while it owes some, it is dropped as
 *   `<transport>-stalled`: a poll, its answer or a stream stalled or lost in a proxy is left within
 *   seconds, not after the heartbeat interval.
 */
export class Liveness {
  private _timer: unknown
  /** When the check was due: one running well after it was throttled, or the page slept. */
  private _due = 0
  /** Since when messages on the connection have waited for an acknowledgement (0: none waiting). */
  private _waitingSince = 0
  /** When the liveness ping went out (0: none outstanding). */
  private _probedAt = 0
  /** The last message the server said it has for the client (`w` frames). */
  private _owedUpTo = 0
  /** Since when the download has owed messages (valid while `_written` is past what was received). */
  private _owedSince = 0

  constructor(private readonly _session: LivenessHost) {}

  /** A connection started carrying the session. */
  _activated(): void {
    this._waitingSince = 0
    this._probedAt = 0
    this._owedUpTo = 0
    this._watch()
  }

  /** The server has messages up to `n` for the client (a `w` frame in an upload's answer). */
  _owed(n: number): void {
    const s = this._session
    const received = s._receiver._inbox._received
    if (n <= received || n <= this._owedUpTo) return
    // Owed from now, unless it owed already.
    if (this._owedUpTo <= received) this._owedSince = s._now()
    this._owedUpTo = n
    this._watch()
  }

  /** Messages were put on the connection: from now on an acknowledgement is due. */
  _sent(): void {
    if (this._waitingSince || !this._session._outbox._inFlight) return
    this._waitingSince = this._session._now()
    this._watch()
  }

  /** An acknowledgement freed messages, or a pong came: the clock starts again for what is still waiting. */
  _progress(): void {
    this._waitingSince = this._session._outbox._inFlight ? this._session._now() : 0
    this._probedAt = 0
  }

  /** The network is back or the page woke: ask the connection at once, and judge its answer. */
  _check(): void {
    const s = this._session
    const c = s._active
    if (!c) return
    s._ping(c)
    s._clear(this._timer)
    this._timer = s._timer(() => this._watch(true), s._options.heartbeatTimeout)
  }

  _stop(): void {
    this._session._clear(this._timer)
  }

  /** Both rules, and the next check; `late`: the answer to a wake-up ping is due now. */
  private _watch(late?: boolean): void {
    const s = this._session
    const c = s._active
    const now = s._now()
    s._clear(this._timer)
    if (!c || !c._hello) return
    const heard = c._transport._last
    // Idle: silence past the heartbeat interval plus heartbeatTimeout. On time, the silence is
    // real; late, the page slept: ask once before condemning.
    const limit = c._hello.hb + (c._transport.pollsCursor ? POLL_GRACE : s._options.heartbeatTimeout)
    let wait = limit - (now - heard)
    if (wait <= 0) {
      if (late || now - this._due < 1000) return s._lose(c, 'heartbeat-timeout')
      s._ping(c)
      wait = s._options.heartbeatTimeout
    }
    // Data in flight: acknowledgements overdue, and no pong (`_progress` restarts the clock on
    // either), earn a ping, then a drop.
    if (this._waitingSince && s._outbox._inFlight) {
      const patience = this._patience(s._outbox._oldestSize)
      if (this._probedAt && now - this._probedAt >= patience) return s._lose(c, c._name + '-stalled')
      const quiet = now - this._waitingSince
      if (!this._probedAt && quiet >= patience) {
        this._probedAt = now
        s._ping(c)
      }
      wait = Math.min(wait, this._probedAt ? this._probedAt + patience - now : patience - quiet)
    } else this._waitingSince = 0
    // Download owed: nothing heard on it since it owed messages, for as long as an acknowledgement
    // may take, drops it. No ping: its answer would come on an upload's answer, proving nothing.
    if (this._owedUpTo > s._receiver._inbox._received) {
      const quiet = now - Math.max(this._owedSince, heard)
      const patience = this._patience(0)
      if (quiet >= patience) return s._lose(c, c._name + '-stalled')
      wait = Math.min(wait, patience - quiet)
    }
    this._due = now + wait
    this._timer = s._timer(() => this._watch(), Math.max(1, wait))
  }

  /** How long an answer may be late with nothing heard: round trips, and the time `bytes` take. */
  private _patience(bytes: number): number {
    return Math.max(MIN_PATIENCE, PATIENCE_RTTS * this._session._rtt) + bytes / SLOW_LINK_BYTES_PER_MS
  }
}
