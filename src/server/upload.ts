import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { encode, Parser } from '../protocol/envelope'
import type { Frame } from '../protocol/frames'
import { NO_STORE, type Ask } from './access'
import type { ServerSession, SessionHost } from './session'

/**
 * Answer a request with `status` and close its connection: what is left of its body is never
 * read, so a client cannot keep one busy with a body nobody wants. `head`: the headers every
 * answer carries (CORS for an allowed origin). @internal
 */
export function refuse(res: ServerResponse, status: number, reason: string, frames?: Frame[], head: OutgoingHttpHeaders = NO_STORE): void {
  if (res.headersSent) return void res.end()
  res.writeHead(status, { ...head, 'Content-Type': frames ? 'application/octet-stream' : 'text/plain', Connection: 'close' })
  res.end(frames ? encode(frames) : reason)
}

/**
 * One POST body for session `s` (PROTOCOL.md "Uploads"): parsed as it arrives, within
 * `maxPostBytes`, `maxFramesPerPost` and `requestTimeout`, its bytes counted in the server's
 * `maxTotalBuffered` while held. The frames go to the session once the body is complete.
 * @internal
 */
export function receivePost(req: IncomingMessage, res: ServerResponse, s: ServerSession, ask: Ask, host: SessionHost): void {
  const o = host.o
  const frames: Frame[] = []
  let size = 0
  let held = 0
  let bad = ''
  const release = () => {
    host.reserve(-held)
    held = 0
  }
  const fail = (status: number, why: string) => {
    bad = why
    release()
    refuse(res, status, why, undefined, ask.head)
    if (status == 400) s.close(1002, 'protocol error: ' + why)
  }
  const length = +(req.headers['content-length'] || 0)
  if (length > o.maxPostBytes) return fail(413, 'body over maxPostBytes ' + o.maxPostBytes)
  const parser = new Parser((f) => {
    // Counted as they come: a body of tiny records stops at the limit, not after the body.
    if (frames.push(f) > o.maxFramesPerPost) throw new RangeError('more than maxFramesPerPost ' + o.maxFramesPerPost)
  }, o.maxMessageSize + 65536)
  // Runs until the request is over, answered or not: a body dribbled (slowloris) or one that
  // goes on after a refusal is cut here.
  const timer = setTimeout(() => {
    if (!bad) fail(408, 'body not received within requestTimeout ' + o.requestTimeout)
    req.destroy()
  }, o.requestTimeout)
  req.on('data', (chunk: Buffer) => {
    if (bad) return
    size += chunk.length
    if (size > o.maxPostBytes) return fail(413, 'body over maxPostBytes ' + o.maxPostBytes)
    if (!host.reserve(chunk.length)) return fail(503, 'server busy: maxTotalBuffered reached')
    held += chunk.length
    try {
      parser.push(chunk)
    } catch (e) {
      const why = (e as Error).message
      fail(/maxFramesPerPost/.test(why) ? 413 : 400, why)
    }
  })
  req.on('end', () => {
    clearTimeout(timer)
    if (bad || res.writableEnded) return
    release()
    if (parser.pending) return fail(400, 'truncated body')
    const replies: Frame[] = []
    s._acked(ask.ack)
    const ok = s._receive(frames, ask.t as 'stream', replies)
    res.writeHead(ok ? 200 : 400, { ...ask.head, 'Content-Type': 'application/octet-stream' })
    res.end(encode(ok ? replies : []))
  })
  req.on('close', () => {
    clearTimeout(timer)
    release()
  })
}
