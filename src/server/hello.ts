import { encodeHello } from '../protocol/codec'
import { VERSION } from '../protocol/frames'
import type { ServerResolved } from './options'

/**
 * The hello frame (PROTOCOL.md §5.1) for session `sid`, which has `received` of the client's
 * messages, on a connection of transport `t`, one process or cluster alike. A poll is never held
 * longer than `pollHold`, so its client must not expect a heartbeat less often than that.
 * @internal
 */
export function helloFrame(o: ServerResolved, sid: string, received: number, hb: number, t?: string): string {
  return encodeHello({
    v: VERSION,
    sid,
    ack: received,
    hb: t == 'polling' ? Math.min(o.pollHold, hb) : hb,
    max: o.maxMessageSize,
    post: o.maxPostBytes,
  })
}
