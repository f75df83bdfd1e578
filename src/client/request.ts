/**
 * `lifeline-rt/request`: send a message and await the server's reply, as socket.io's
 * `emitWithAck` or SignalR's `invoke` do. Its own entry, so that pages that never ask ship none
 * of it. The server answers with `onRequest` from `lifeline-rt/server`.
 * @packageDocumentation
 */
import { LifelineError } from '../protocol/errors'
import { RequestFrame, parseRequestFrame } from '../protocol/request'
import type { LifelineCore } from './lifeline'

/** Options of one {@link request}. */
export interface RequestOptions {
  /** Reject with `LL_ERR_TIMEOUT` when no reply came within this long, ms. @default 10000 */
  timeout?: number
}

/** Default of {@link RequestOptions.timeout}, ms. */
export const REQUEST_TIMEOUT = 10000

type Waiting = [resolve: (reply: string) => void, reject: (e: LifelineError) => void, timer: unknown]

/** Requests waiting for their replies on one connection. */
class Requests {
  _next = 1
  readonly _waiting = new Map<number, Waiting>()

  constructor(readonly _ll: LifelineCore) {
    // Replies are taken before the app's `message` listeners see them: they are this helper's.
    const deliver = _ll._deliver
    _ll._deliver = (d) => {
      const got = typeof d == 'string' && parseRequestFrame(d)
      if (!got || got[0] == RequestFrame.Request) return deliver.call(_ll, d)
      const w = this._waiting.get(got[1])
      if (!w) return
      if (got[0] == RequestFrame.Reply) this._settle(got[1])[0](got[2])
      else this._settle(got[1])[1](new LifelineError('LL_ERR_SERVER', 'request failed on the server: ' + got[2]))
    }
    // A new session is a new server session: replies to the old one's requests never come.
    _ll.on('reset', () => this._failAll('LL_ERR_RESET', 'the session was reset before the reply came'))
    _ll.on('close', () => this._failAll('LL_ERR_INVALID_STATE', 'the connection closed before the reply came'))
  }

  /** Forget request `id`; returns its callbacks. */
  _settle(id: number): Waiting {
    const w = this._waiting.get(id)!
    this._waiting.delete(id)
    this._ll._session._clear(w[2])
    return w
  }

  _failAll(code: 'LL_ERR_RESET' | 'LL_ERR_INVALID_STATE', message: string): void {
    for (const id of [...this._waiting.keys()]) this._settle(id)[1](new LifelineError(code, message))
  }
}

const all = new WeakMap<LifelineCore, Requests>()

/**
 * Send `data` as a request and resolve with the server's reply (a string). Rejects with a
 * {@link LifelineError}: `LL_ERR_TIMEOUT` after `timeout`, `LL_ERR_RESET` when the session was
 * reset meanwhile (the request is then among the reset's `unacked` if it was never acknowledged),
 * `LL_ERR_INVALID_STATE` once closed, `LL_ERR_SERVER` when the server's handler threw; and as
 * `send()` does (`LL_ERR_BUFFER_FULL`...). Text only.
 *
 * @example
 * import { request } from 'lifeline-rt/request'
 * const price = await request(ll, 'price AAPL', { timeout: 5000 })
 */
export function request(ll: LifelineCore, data: string, options: RequestOptions = {}): Promise<string> {
  if (typeof data != 'string') return Promise.reject(new LifelineError('LL_ERR_INVALID_DATA', 'requests are text'))
  const timeout = options.timeout === undefined ? REQUEST_TIMEOUT : options.timeout
  if (!(timeout > 0))
    return Promise.reject(new LifelineError('LL_ERR_INVALID_OPTION', 'timeout ' + timeout + ': use a number of ms > 0'))
  let r = all.get(ll)
  if (!r) all.set(ll, (r = new Requests(ll)))
  const requests = r
  const id = requests._next++
  return new Promise((resolve, reject) => {
    // Sent first: a send() that throws leaves nothing waiting.
    ll.send(RequestFrame.Request + id + ' ' + data)
    const timer = ll._session._timer(() => {
      requests._settle(id)
      reject(new LifelineError('LL_ERR_TIMEOUT', 'no reply within ' + timeout + ' ms'))
    }, timeout)
    requests._waiting.set(id, [resolve, reject, timer])
  })
}
