import { MIN_PATIENCE, PATIENCE_RTTS, SLOW_LINK_BYTES_PER_MS, STREAM_ACK_DELAY } from '../protocol/limits'

/**
 * Whether a client last heard at `lastIn` has been silent past its heartbeat `hb` plus
 * `heartbeatTimeout` at `now`: the server's one rule for a client gone (PROTOCOL.md §8.1). The
 * sweep ends such a client's links (in cluster mode its WebSocket: uploads may reach other nodes),
 * and a session between two polls stops counting as on polling then.
 */
export function silent(now: number, lastIn: number, hb: number, heartbeatTimeout: number): boolean {
  return now - lastIn > hb + heartbeatTimeout
}

/** What the server's watch is told to do about a link. */
export const enum Verdict {
  /** Nothing to do. */
  Fine,
  /** Send a ping: acknowledgements are overdue and nothing was heard. */
  Probe,
  /** The ping went unanswered too: end the link (the client resumes on another). */
  Dead,
}

/**
 * The server's half of "data in flight" liveness (PROTOCOL.md §8.3): messages written on a
 * WebSocket or a stream that wait for an acknowledgement past a few round trips, with nothing
 * heard from the client, earn a ping; no answer for as long again ends the link. Judged by the
 * housekeeping sweep, so it costs no timer per session; idle sessions keep the heartbeat rule.
 */
export class ServerLiveness {
  /** Round trip estimated from the last hello to the client's first frame after it, ms. */
  rtt = 0
  private _greetedAt = 0
  /** Since when written messages have waited for an acknowledgement (0: none waiting). */
  private _waitingSince = 0
  private _probedAt = 0
  private _heardAt = 0
  /** When the last ping for the client's silence went out (`quiet`). */
  private _pingedAt = 0

  /** A hello went out (at `now`): the client's proof ping answers it one round trip later. */
  greeted(now: number): void {
    this._greetedAt = now
  }

  heard(now: number): void {
    this._heardAt = now
    if (this._greetedAt) this.rtt = now - this._greetedAt
    this._greetedAt = 0
  }

  activated(): void {
    this._waitingSince = this._probedAt = 0
  }

  /** Messages were written at `now`; `inFlight` of them now wait for an acknowledgement. */
  sent(inFlight: number, now: number): void {
    if (inFlight && !this._waitingSince) this._waitingSince = now
  }

  /** An acknowledgement freed messages at `now`. */
  progress(inFlight: number, now: number): void {
    this._waitingSince = inFlight ? now : 0
    this._probedAt = 0
  }

  /**
   * Whether to ping because the client has been silent for a heartbeat (`lastIn` its last frame),
   * once per silence, however much the server writes: a client that only receives and does not
   * acknowledge (fire-and-forget) speaks only to answer a ping, and would be taken for dead at
   * heartbeat + `heartbeatTimeout` while the server sent all along.
   */
  quiet(now: number, lastIn: number, hb: number): boolean {
    if (now - lastIn < hb || this._pingedAt > lastIn) return false
    this._pingedAt = now
    return true
  }

  /**
   * Whether a link that pings (not a poll) should ping now: nothing was written to it for a
   * heartbeat (`lastOut`), or the client has been quiet for one (`quiet`).
   */
  pingDue(now: number, lastIn: number, lastOut: number, hb: number): boolean {
    return now - lastOut >= hb || this.quiet(now, lastIn, hb)
  }

  /**
   * What to do now about the active link (`socket`: a WebSocket; otherwise a stream, whose client
   * lets a lone acknowledgement wait 5 s), the oldest waiting message being `oldest` bytes.
   */
  check(now: number, socket: boolean, oldest: number): Verdict {
    if (!this._waitingSince) return Verdict.Fine
    const ackDelay = socket ? 0 : STREAM_ACK_DELAY
    const patience = Math.max(MIN_PATIENCE, PATIENCE_RTTS * this.rtt) + ackDelay + oldest / SLOW_LINK_BYTES_PER_MS
    if (this._probedAt && this._heardAt >= this._probedAt) this._probedAt = 0
    if (this._probedAt) return now - this._probedAt >= patience ? Verdict.Dead : Verdict.Fine
    if (now - Math.max(this._waitingSince, this._heardAt) < patience) return Verdict.Fine
    this._probedAt = now
    return Verdict.Probe
  }
}
