// A server session's host in memory, for unit tests of one session: every byte reserved is
// granted, nothing is logged, rooms in this process.
import { LocalSession } from '../../src/server/local-session'
import { ServerSession, type SessionHost } from '../../src/server/session'
import { SERVER_DEFAULTS, type ServerResolved } from '../../src/server/options'
import { serverClock } from '../../src/server/clock'
import { Rooms } from '../../src/server/rooms'

export function memoryHost(options: Partial<ServerResolved> = {}): SessionHost {
  return {
    o: { ...SERVER_DEFAULTS, clock: serverClock, ...options } as ServerResolved,
    reserve: () => true,
    confirm: () => {},
    gone: () => {},
    log: () => {},
    rooms: new Rooms(),
  }
}

/**
 * A session over this process's memory for unit tests: its store, whose `_session` is the app's
 * side (`ServerSession`).
 */
export function localSession(host: SessionHost = memoryHost(), reliable = true, id = 'S'.repeat(22)): LocalSession {
  let s!: LocalSession
  new ServerSession(id, '127.0.0.1', {}, '', reliable, (app) => (s = new LocalSession(app, host)))
  return s
}
