import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { encode, Parser } from '../protocol/envelope'
import { Code, FrameType, type Frame } from '../protocol/frames'
import { NO_STORE, type Ask } from './access'
import type { SessionHost } from './link'

/**
 * Answer a request with `status` and close its connection: what is left of its body is never
 * read, so a client cannot keep one busy with a body nobody wants. `head`: the headers every
 * answer carries (CORS for an allowed origin). @internal
 */
export function refuse(
  res: ServerResponse,
  status: number,
  reason: string,
  frames?: Frame[],
  head: OutgoingHttpHeaders = NO_STORE,
): void {
  if (res.headersSent) return void res.end()
  res.writeHead(status, {
    ...head,
    'Content-Type': frames ? 'application/octet-stream' : 'text/plain',
    Connection: 'close',
  })
  res.end(frames ? encode(frames) : reason)
}

/**
 * What a body parser that ran before Lifeline left of a POST body. `fragile`: read as UTF-8 text,
 * which this body survived but others will not.
 * @internal
 */
export type Preread = { bytes: Buffer; fragile: boolean } | { problem: string }

/**
 * A POST body a framework's parser read before Lifeline got the request: Lifeline's bodies are
 * labelled `text/plain` to stay CORS-simple, so `express.text()` (and any parser given that type)
 * takes them. A `Buffer` (`express.raw({ type: 'text/plain' })`) is the body itself. A string
 * was decoded with the charset the request names: ISO-8859-1 maps each byte to one character,
 * so the bytes come back exactly; UTF-8 (or none named: parsers default to it) only when they
 * were UTF-8, and where they were not (binary messages; a record length with a byte past 0x7f)
 * the decoder put U+FFFD, and the body is lost. Anything else, or nothing, is lost too.
 * Undefined while the stream is unread: a parser that did not match the type may still have set
 * `req.body` (Express 4 sets `{}`).
 * @internal
 */
export function preread(req: IncomingMessage): Preread | undefined {
  if (!req.readableEnded) return
  const body = (req as { body?: unknown }).body
  if (Buffer.isBuffer(body)) return { bytes: body, fragile: false }
  if (typeof body == 'string') {
    const charset = (/;\s*charset="?([\w.:-]+)/i.exec(req.headers['content-type'] || '') || ['', 'utf-8'])[1]
    if (LATIN1.test(charset)) return { bytes: Buffer.from(body, 'latin1'), fragile: false }
    if (!/^utf-?8$/i.test(charset)) return { problem: `a body parser decoded the POST body as ${charset}` }
    return body.indexOf('\ufffd') < 0
      ? { bytes: Buffer.from(body, 'utf8'), fragile: true }
      : { problem: 'a body parser decoded the POST body as UTF-8, losing the bytes that were not' }
  }
  const what = body === undefined ? 'nothing' : body === null ? 'null' : typeof body
  return { problem: `a body parser read the POST body before Lifeline and left ${what} in req.body` }
}

/** Names of ISO-8859-1, whose decoding maps byte n to U+00n: undone exactly. */
const LATIN1 = /^(iso-?8859-1|latin-?1|l1)$/i

/**
 * What takes a POST's frames: the in-memory session, or in cluster mode what this node holds of
 * one. `_post` answers the response's frames, or null for a protocol error (HTTP 400; the
 * session is closed then).
 * @internal
 */
export interface PostTarget {
  _end(code: number, reason: string): void
  _post(frames: Frame[], ask: Ask): Frame[] | null | Promise<Frame[] | null>
  /**
   * The last application message the server has for the client, written on the download or
   * waiting for it: the `w` frame a client that asks for it gets in each answer (PROTOCOL.md §8.3).
   */
  _owed(): number
}

/**
 * Take a POST for session `s`: from the request stream, or from what a body parser that ran
 * before Lifeline left ({@link preread}). A body that cannot be had is answered 500; that, and a
 * body read as UTF-8 text (this one survived, others will not), are told to `tell` with the fix.
 * @internal
 */
export function takePost(
  req: IncomingMessage,
  res: ServerResponse,
  s: PostTarget,
  ask: Ask,
  host: Pick<SessionHost, 'o' | 'reserve' | 'note'>,
  tell: (key: string, message: string) => void,
): void {
  const body = preread(req)
  const where = 'POST to ' + host.o.path + ': '
  if (body && 'problem' in body) {
    tell('body', `${where}${body.problem}; answered 500. ${BODY_PARSER_FIX}`)
    return refuse(res, 500, 'lifeline: ' + body.problem, undefined, ask.head)
  }
  if (body && body.fragile)
    tell(
      'fragile',
      `${where}a body parser read the body as UTF-8 text; this one decoded back exactly, but binary ` +
        `messages and most over 127 bytes will not. ${BODY_PARSER_FIX}`,
    )
  receivePost(req, res, s, ask, host, body && body.bytes)
}

const BODY_PARSER_FIX =
  'Mount Lifeline before the body parsers (express.text() takes its text/plain POSTs), or keep them off its path.'

/**
 * One POST body for session `s` (PROTOCOL.md "Uploads"): parsed as it arrives, within
 * `maxPostBytes`, `maxFramesPerPost` and `requestTimeout`, its bytes counted in the server's
 * `maxTotalBuffered` while held. The frames go to the session once the body is complete. `body`:
 * the whole body, when a framework's parser has read it already ({@link preread}).
 * @internal
 */
export function receivePost(
  req: IncomingMessage,
  res: ServerResponse,
  s: PostTarget,
  ask: Ask,
  host: Pick<SessionHost, 'o' | 'reserve' | 'note'>,
  body?: Buffer,
): void {
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
    if (status == 413 || status == 408) host.note('post-' + status, `POST to ${o.path} refused with ${status}:`, why)
    if (status == 400) s._end(Code.PROTOCOL_ERROR, 'protocol error: ' + why)
  }
  const length = body ? body.length : +(req.headers['content-length'] || 0)
  if (length > o.maxPostBytes) return fail(413, 'body over maxPostBytes ' + o.maxPostBytes)
  const parser = new Parser((f) => {
    // Counted as they come: a body of tiny records stops at the limit, not after the body.
    if (frames.push(f) > o.maxFramesPerPost) throw new RangeError('more than maxFramesPerPost ' + o.maxFramesPerPost)
  }, o.maxMessageSize + 65536)
  const take = (chunk: Buffer) => {
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
  }
  const end = () => {
    if (bad || res.writableEnded) return
    release()
    if (parser.pending) return fail(400, 'truncated body')
    const answer = (replies: Frame[] | null) => {
      if (res.writableEnded) return
      // Lets the client notice a download that stalled while its uploads are answered.
      const owed = ask.owed && s._owed()
      if (replies && owed) replies.push(FrameType.Owed + owed)
      const body = encode(replies || [])
      res.writeHead(replies ? 200 : 400, {
        ...ask.head,
        'Content-Type': 'application/octet-stream',
        'Content-Length': body.length,
      })
      res.end(body)
    }
    const replies = s._post(frames, ask)
    if (replies instanceof Promise)
      replies.then(answer, () => refuse(res, 503, 'server busy: try again', undefined, ask.head))
    else answer(replies)
  }
  if (body) {
    take(body)
    return end()
  }
  // Runs until the request is over, answered or not: a body dribbled (slowloris) or one that
  // goes on after a refusal is cut here.
  const clock = o.clock
  const timer = clock.setTimeout(() => {
    if (!bad) fail(408, 'body not received within requestTimeout ' + o.requestTimeout)
    req.destroy()
  }, o.requestTimeout)
  req.on('data', take)
  req.on('end', () => {
    clock.clearTimeout(timer)
    end()
  })
  req.on('close', () => {
    clock.clearTimeout(timer)
    release()
  })
}
