import { LifelineError } from '../protocol/errors'
import { RequestFrame, parseRequestFrame } from '../protocol/request'
import type { ServerSession } from './session'

/** Answers a request: the reply, or a promise of it. A throw or rejection fails the request. */
export type RequestHandler = (data: string, session: ServerSession) => string | Promise<string>

/**
 * Answer the requests `request()` from `lifeline-rt/request` sends on `session`; other messages
 * reach `message` listeners as before, requests do not. A handler that throws or rejects fails
 * the request with its error's message (the client gets `LL_ERR_SERVER`). Call it once per
 * session, in the `connection` handler.
 *
 * @example
 * server.on('connection', (s) => onRequest(s, (data) => 'you said ' + data))
 */
export function onRequest(session: ServerSession, handler: RequestHandler): void {
  if (typeof handler != 'function') throw new LifelineError('LL_ERR_INVALID_OPTION', 'onRequest needs a function')
  const emit = session._emitMessage
  session._emitMessage = (d, binary, seq, redelivered) => {
    const got = !binary && parseRequestFrame(String(d))
    if (!got || got[0] != RequestFrame.Request) return emit.call(session, d, binary, seq, redelivered)
    const id = got[1]
    const reply = (kind: RequestFrame, text: string) => session.closed || session.send(kind + id + ' ' + text)
    new Promise<string>((resolve) => resolve(handler(got[2], session))).then(
      (answer) => reply(RequestFrame.Reply, String(answer)),
      (e) => reply(RequestFrame.Failure, e instanceof Error ? e.message : String(e)),
    )
  }
}
