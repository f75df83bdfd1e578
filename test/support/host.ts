// A server session's host in memory, for unit tests of one session: every byte reserved is
// granted, nothing is logged, rooms in this process.
import type { SessionHost } from '../../src/server/session'
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
