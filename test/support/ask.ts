import { VERSION } from '../../src/protocol/frames'
import { NO_STORE, type Ask } from '../../src/server/access'

/** What a request asks for, as `parseAsk` would give it: a connection-opening poll unless `over` says otherwise. */
export function askFor(over: Partial<Ask> = {}): Ask {
  return {
    t: 'polling',
    version: VERSION,
    ack: 0,
    hb: 25000,
    opening: true,
    token: null,
    why: null,
    resume: true,
    origin: '',
    address: '10.0.0.1',
    head: NO_STORE,
    ...over,
  }
}
