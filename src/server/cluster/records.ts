// What the cluster store's operations answer, and how a message is kept in Redis: one type byte,
// then its bytes. Shared by store.ts (which makes the answers) and the nodes that read them.
import { LifelineError } from '../../protocol/errors'
import type { RedisArg, RedisReply } from './redis'

/** A message as the store keeps it: a string is text, a Buffer binary. */
export type StoredMessage = string | Buffer

/**
 * A session's hash in Redis, as `ClusterStore.session()` reads it: every value a string (lua/common.lua
 * says what each field holds). Key layout 2 named them; layout 1's were two and three letters.
 */
export type SessionFields = Record<
  | 'sent'
  | 'acked'
  | 'sentBytes'
  | 'received'
  | 'delivered'
  | 'inboxBytes'
  | 'owner'
  | 'fence'
  | 'active'
  | 'uses'
  | 'confirmed'
  | 'ended'
  | 'reliable'
  | 'ttl'
  | 'runId'
  | 'heartbeat'
  | 'origin'
  | 'address'
  | 'headers'
  | 'data'
  | 'positions',
  string
> &
  Partial<Record<'lastAppend' | 'lastFirst' | 'holders' | `link:${string}` | `held:${string}`, string>>

/** Answers that change nothing: the session is unknown or expired, ended, or no longer ours. */
export type Refusal = { status: 'gone' } | { status: 'ended'; end: string } | { status: 'fenced' }

export type ClaimResult =
  | { status: 'ok'; fence: number; takenOver: boolean; received: number; delivered: number }
  | { status: 'owned'; owner: string }
  | Refusal
/** `bufferedAmount`: bytes the client has not acknowledged, after the append (-1: not known, a retried write). */
export type AppendResult =
  { status: 'ok'; first: number; last: number; bufferedAmount: number } | { status: 'overflow' } | Refusal
export type AckResult =
  { status: 'ok'; ack: number; bufferedAmount: number } | { status: 'ahead'; sent: number } | Refusal
export type ReadResult = { status: 'ok'; first: number; last: number; end: string; messages: StoredMessage[] } | Refusal
/** `fresh` is how many of the messages given, counted from the end, are new (the rest were duplicates). */
export type RecordResult =
  | { status: 'ok'; received: number; fresh: number; owner: string; delivered: number }
  | { status: 'gap'; received: number }
  | { status: 'overflow' }
  | Refusal
export type InboxResult = { status: 'ok'; first: number; received: number; messages: StoredMessage[] } | Refusal
/** `previous`: the active link before ("kind node", '' for none); `holder`: the node holding the link now active. */
export type ActivateResult =
  { status: 'active'; previous: string; holder: string } | { status: 'standby' | 'stale'; previous: string } | Refusal

/**
 * A pub/sub hint for this node: `w` new messages for a session whose active link is here, `i`
 * client messages for a session it owns, `a` another link became active, `e` a session ended,
 * `d` the client acknowledged messages of a session it owns, `r` the rooms of a session whose
 * active link is here changed (its client holds its room positions), `x` no node holds a link of a
 * session it owns any more: it expires in `left` ms. Hints may be lost (a reconnect); the logs are the truth.
 */
export interface Hint {
  kind: 'w' | 'i' | 'a' | 'e' | 'd' | 'r' | 'x'
  sid: string
  /** `w`: last seq in the log; `i`: last seq received; `d`: the client's cursor. */
  seq?: number
  /** `d`: bytes the client has not acknowledged. */
  bytes?: number
  /** `a`: the link now active ("kind node"). */
  active?: string
  /** `x`: ms the session's keys have left. */
  left?: number
}

const TEXT = 0x74 // 't'
const BINARY = 0x62 // 'b'

/** A message as stored: one type byte, then its bytes. */
export function pack(m: StoredMessage): RedisArg {
  if (typeof m == 'string') return 't' + m
  return Buffer.concat([Buffer.of(BINARY), m])
}

export function unpack(b: RedisReply): StoredMessage {
  const buf = Buffer.isBuffer(b) ? b : Buffer.from(String(b))
  if (buf[0] == TEXT) return buf.toString('utf8', 1)
  if (buf[0] == BINARY) return buf.subarray(1)
  throw new LifelineError('LL_ERR_SERVER', 'cluster store: a stored message of unknown type ' + buf[0])
}

export function unpackAll(list: RedisReply): StoredMessage[] {
  return Array.isArray(list) ? list.map(unpack) : []
}

export const status = (r: RedisReply[]): string => String(r[0])
export const int = (x: RedisReply): number => Number(Buffer.isBuffer(x) ? x.toString() : x)

export function refusal(r: RedisReply[]): Refusal {
  const s = status(r)
  if (s == 'gone' || s == 'fenced') return { status: s }
  if (s == 'ended') return { status: 'ended', end: String(r[1]) }
  throw new LifelineError('LL_ERR_SERVER', 'cluster store: unexpected reply ' + JSON.stringify(s))
}
