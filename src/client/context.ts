import { VERSION } from '../protocol/frames'
import type { Inbox } from '../protocol/inbox'
import type { Resolved } from './options'
import type { Selector } from './select'
import type { TransportContext } from './transports/transport'

/** What a transport's context reads from the session, when it is asked. */
export interface ContextHost {
  /** The endpoint, absolute, as `http(s)://`. */
  readonly _url: string
  readonly _options: Resolved
  readonly _receiver: { readonly _inbox: Inbox; readonly _rooms: Map<string, number> }
  readonly _selector: Pick<Selector, '_heartbeat'>
  /** Why the next activation happens: reported in an opening request's URL. */
  readonly _why: string
  /** The token of this attempt, from the `token` option. */
  readonly _token?: string
}

/**
 * What every transport of a session is given: the URL each request carries, the receive cursor, and
 * the `WebSocket` and `fetch` to use (the options' or the page's).
 */
export function transportContext(s: ContextHost): TransportContext {
  const o = s._options
  const g = typeof globalThis != 'undefined' ? globalThis : self
  return {
    /** The query every request carries (PROTOCOL.md §1). Its cursor is an acknowledgement too. */
    url(t, opening) {
      const cursor = s._receiver._inbox._ack()
      let url = s._url + (s._url.indexOf('?') < 0 ? '?' : '&') + 'v=' + VERSION + '&t=' + t.name + '&ack=' + cursor
      if (t.sid) url += '&sid=' + t.sid
      // `why`: what brought the client to this transport, for the server's stats (PROTOCOL.md §1).
      if (opening) url += '&o=1&hb=' + s._selector._heartbeat() + '&why=' + s._why
      if (opening && s._token) url += '&token=' + encodeURIComponent(s._token)
      if (!o.resume) url += '&r=0'
      // Over HTTP, upload answers may then say what the server has for the client (PROTOCOL.md §8.3).
      else if (!t.isSocket) url += '&w=1'
      // Room positions: each room resumes after them, whatever connection carries it (PROTOCOL.md §6.5).
      // Not Object.fromEntries: ES2019, missing in the iOS 12.0 and 12.1 webviews we support. No
      // prototype, so that a room named `__proto__` is a key like any other.
      const rooms: { [room: string]: number } = Object.create(null)
      s._receiver._rooms.forEach((n, room) => {
        rooms[room] = n
      })
      url += '&g=' + encodeURIComponent(JSON.stringify(rooms))
      return url
    },
    endpoint: s._url,
    cursor: () => s._receiver._inbox._received,
    WebSocket: o.WebSocket || g.WebSocket,
    fetch: o.fetch !== undefined ? o.fetch || undefined : g.fetch && g.fetch.bind(g),
    withCredentials: o.withCredentials,
    maxMessageSize: o.maxMessageSize,
    clock: o.clock,
    heartbeat: o.heartbeatInterval,
    plainPing: o.plainPing,
  }
}
