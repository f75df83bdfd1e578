// What a server session shows the app (ServerSession, session.ts, over either store): the events
// and their arguments, the checks on what the app hands it (close codes, data to send), and the
// rule both stores use for the transport it shows.
import { LifelineError } from '../protocol/errors'
import { isAppCloseCode } from '../protocol/frames'
import { MAX_REASON_BYTES } from '../protocol/limits'
import type { SessionHost } from './link'
import { silent } from './liveness'
import type { ServerResolved, TransportName } from './options'

/** The `message` event's third argument. */
export interface MessageMeta {
  /** The message's number in the session (in fire-and-forget mode: how many were delivered). */
  seq: number
  /** Cluster mode: the node that owned the session died after handing this one to the app, perhaps. */
  redelivered: boolean
}

/** What `session.send()` takes. */
export type SessionData = string | Buffer | ArrayBuffer | Uint8Array

/** Events of a {@link ServerSession}; `In` types the messages received. */
export interface ServerSessionEvents<In extends string | Buffer = string | Buffer> {
  /**
   * A message from the client, once and in order. `meta.seq` is its number in the session (1, 2,
   * ...); `meta.redelivered` is true only in cluster mode, for a message a node that died may have
   * handed to the app already (dedupe by `session.id` and `seq` where that matters).
   */
  message: [data: In, isBinary: boolean, meta: MessageMeta]
  close: [code: number, reason: string]
  transport: [name: TransportName]
  error: [error: LifelineError]
  /** Unacknowledged bytes fell below a quarter of `maxBufferedAmount` after passing half of it. */
  drain: []
  /**
   * The client has acknowledged every message up to `seq` (numbered 1, 2, 3… in the order sent;
   * `session.sent` is the last one's). Not for a fire-and-forget session (`reliable` false).
   */
  delivered: [seq: number]
}

/** An app's close code and reason, checked (`LL_ERR_INVALID_OPTION`). @internal */
export function checkClose(code: number, reason: string): void {
  const standard = code >= 1000 && code <= 1014 && code != 1004 && code != 1005 && code != 1006
  if (!(standard || isAppCloseCode(code)))
    throw new LifelineError('LL_ERR_INVALID_OPTION', 'close code ' + code + ": 3900-3999 are Lifeline's own")
  if (Buffer.byteLength(reason) > MAX_REASON_BYTES)
    throw new LifelineError('LL_ERR_INVALID_OPTION', 'close reason over ' + MAX_REASON_BYTES + ' bytes')
}

/**
 * What the app sends, checked (`LL_ERR_INVALID_DATA` for anything but a string or bytes) and
 * made the session's own. @internal
 */
export function payload(data: string | Buffer | ArrayBuffer | Uint8Array): string | Buffer {
  if (typeof data == 'string') return data
  if (!(data instanceof ArrayBuffer || ArrayBuffer.isView(data)))
    throw new LifelineError('LL_ERR_INVALID_DATA', 'cannot send ' + typeof data + ': send a string or bytes')
  return copy(data)
}

/**
 * The app's bytes, copied: a queued message is kept until acknowledged, and the app may reuse its
 * buffer once `send()` returns. (`Buffer.from` copies a view's bytes but would share an ArrayBuffer.)
 * @internal
 */
export function copy(data: ArrayBuffer | ArrayBufferView): Buffer {
  if (data instanceof ArrayBuffer) return Buffer.from(new Uint8Array(data))
  return Buffer.from(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
}

/**
 * Emit `type` to the app's listeners from inside frame handling (both kinds of session): an
 * exception in the app's handler must not tear the protocol state apart. @internal
 */
export function emitSafely<K extends 'message' | 'delivered'>(
  session: { emit(type: string, ...args: unknown[]): boolean },
  log: SessionHost['log'],
  type: K,
  args: ServerSessionEvents[K],
): void {
  try {
    session.emit(type, ...args)
  } catch (e) {
    log('warn', type + ' handler threw:', e)
  }
}

/**
 * The transport a session shows the app (`session.transport`), one rule for both kinds of
 * session: the kind of the link made active, while one of that kind is there (`linked`), and
 * polling between two polls too, until the client has been silent (since `heardAt`) past its
 * heartbeat `hb` plus `heartbeatTimeout`, as the sweep judges a connection dead. @internal
 */
export function carrying(
  kind: TransportName | undefined,
  linked: boolean,
  heardAt: number,
  hb: number,
  o: Pick<ServerResolved, 'clock' | 'heartbeatTimeout'>,
): TransportName | null {
  if (!kind) return null
  if (linked) return kind
  return kind == 'polling' && !silent(o.clock.now(), heardAt, hb, o.heartbeatTimeout) ? kind : null
}
