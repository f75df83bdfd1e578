// A ServerResponse as the server's request handling uses it, for unit tests without sockets: it
// keeps its status, the frames written and answered (parsed from the envelope), and whether it was
// destroyed.
import { EventEmitter } from 'node:events'
import { Parser } from '../../src/protocol/envelope'
import type { Frame } from '../../src/protocol/frames'

export function fakeResponse() {
  const take = (body: Uint8Array | string | undefined) => {
    if (body && typeof body != 'string') new Parser((f) => res.frames.push(f), 1 << 20).push(body)
  }
  const res = Object.assign(new EventEmitter(), {
    status: 0,
    frames: [] as Frame[],
    writableEnded: false,
    headersSent: false,
    destroyed: false,
    writeHead(status: number) {
      res.status = status
      res.headersSent = true
      return res
    },
    flushHeaders() {},
    setHeader() {},
    write(body: Uint8Array | string) {
      take(body)
      return true
    },
    end(body?: Uint8Array | string) {
      take(body)
      res.writableEnded = true
      res.emit('close')
    },
    destroy() {
      res.destroyed = true
    },
  })
  return res
}
