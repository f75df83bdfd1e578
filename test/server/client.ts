// The real client in Node, for server tests that want one: ws for the WebSocket, timers that do not
// keep the test process alive.
import WS from 'ws'
import { Lifeline, type Clock, type LifelineOptions, type TransportName } from '../../src/client/index'

/** A browser's WebSocket reports failures by events; ws would throw without a listener. */
export class NodeWS extends WS {
  constructor(url: string, protocols?: string | string[]) {
    super(url, protocols)
    this.on('error', () => {})
  }
}

/** Real timers that do not keep the test process alive. */
export const clock: Clock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (t) => clearTimeout(t as NodeJS.Timeout),
  now: () => Date.now(),
}

/** The real client on one transport, in Node: no storage, real timers, quick retries; `options` on top. */
export function nodeClient(url: string, transport: TransportName, options: LifelineOptions = {}): Lifeline {
  return new Lifeline(url, {
    WebSocket: NodeWS as unknown as typeof WebSocket,
    transports: [transport],
    storage: null,
    clock,
    minDelay: 20,
    ...options,
  })
}
