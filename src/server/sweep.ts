import { Code, FrameType } from '../protocol/frames'
import type { SessionHost } from './link'
import { silent, Verdict } from './liveness'
import type { LocalSession } from './local-session'

/**
 * Heartbeats, dead connections, expiry: one pass over one process's sessions (every
 * `sweepInterval`; a cluster node keeps its own time instead).
 * @internal
 */
export function sweep(sessions: Iterable<LocalSession>, now: number, host: Pick<SessionHost, 'o' | 'log'>): void {
  const o = host.o
  for (const s of sessions) {
    const links = Object.values(s._links)
    // Never confirmed and no connection left (a race's loser, a client gone right after the
    // hello): a client that comes back for it starts a new session, as for any expired one. One
    // still connected is judged by heartbeats instead: its first frame may be late on a slow
    // network, and the client already has `open`.
    if (!s._heard && !links.length && now - s._detachedAt > o.requestTimeout)
      s._finish(Code.SESSION_EXPIRED, 'session unknown or expired')
    else if (links.length) watch(s, now, host)
    else if (now - s._detachedAt > o.sessionTtl) s._finish(Code.SESSION_EXPIRED, 'session expired')
  }
}

/** A connected session's liveness: heartbeats when idle, a probe when acknowledgements are overdue (§8). */
function watch(s: LocalSession, now: number, host: Pick<SessionHost, 'o' | 'log'>): void {
  const active = s._active && s._links[s._active]
  if (silent(now, s._lastIn, s._hb, host.o.heartbeatTimeout)) {
    host.log('debug', 'heartbeat timeout', s.id)
    for (const l of Object.values(s._links)) l!.end(true)
    return
  }
  // A poll is a request the client makes again at once: a dead one is the client's to notice.
  if (!active || active.name == 'polling') return
  const verdict = s._liveness.check(now, active.name == 'websocket', s._outbound.outbox._oldestSize)
  if (verdict == Verdict.Dead) {
    host.log('debug', 'acknowledgements overdue and the ping unanswered: link ended', s.id)
    active.end(true)
  } else if (verdict == Verdict.Probe || s._liveness.pingDue(now, s._lastIn, s._outbound.lastOut, s._hb))
    s._control([FrameType.Ping])
}
