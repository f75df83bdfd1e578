// What a cluster node answers a request for an ended session with: its last words, read from
// Redis (requests are served by ../serve.ts, from what `ClusterNode.open` found or made).
import { FrameType, closeFrame, type Frame } from '../../protocol/frames'
import type { Ask } from '../access'
import { helloFrame } from '../hello'
import type { ServerResolved } from '../options'
import type { SessionFields } from './records'
import type { ClusterStore } from './store'

/** An ended session's last words: its unacknowledged messages (if kept) and its close. */
export async function lastWords(
  store: ClusterStore,
  sid: string,
  info: SessionFields,
  ask: Ask,
  o: ServerResolved,
): Promise<Frame[]> {
  const bye = closeFrame(...splitEnd(info.ended), ask.version)
  const r = await store.readOutgoing(sid, ask.ack + 1)
  if (r.status != 'ok' || !r.messages.length) return [bye]
  return [helloFrame(o, sid, +info.received, ask.hb, ask.t), FrameType.Seq + r.first, ...r.messages.map(asFrame), bye]
}

export function splitEnd(end: string): [number, string] {
  const i = end.indexOf(' ')
  return i < 0 ? [+end, ''] : [+end.slice(0, i), end.slice(i + 1)]
}

const asFrame = (m: string | Buffer): Frame => (typeof m == 'string' ? FrameType.Message + m : m)
