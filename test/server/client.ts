// The real client in Node, for server tests that want one: ws for the WebSocket, timers that do not
// keep the test process alive.
import WS from 'ws'
import type { Clock } from '../../src/client/index'

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
