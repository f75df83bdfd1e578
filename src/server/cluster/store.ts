// Where a session's state lives when several nodes serve it (docs/cluster-design.md): its two
// message logs, cursors, owner and fencing token, and its rooms (rooms.ts), in Redis. Every change is one Lua
// script (lua.ts), so numbering, bounds and fencing hold whichever node asks. Independent of
// ServerSession: the server's sender and receiver logs drive it through these operations.
import { randomBytes } from 'node:crypto'
import type { Clock } from '../../protocol/clock'
import { LifelineError } from '../../protocol/errors'
import { serverClock } from '../clock'
import { Census } from './census'
import { Holds } from './holds'
import { NodeLease } from './lease'
import { ClusterRoomLogs } from './room-log'
import { ClusterRooms } from './rooms'
import { slotGroups } from './slot'
import { runScript, type RedisArg, type RedisLink, type RedisReply, type Script } from './redis'
import {
  int,
  pack,
  refusal,
  status,
  unpackAll,
  type AckResult,
  type ActivateResult,
  type AppendResult,
  type ClaimResult,
  type Hint,
  type InboxResult,
  type ReadResult,
  type RecordResult,
  type Refusal,
  type SessionFields,
  type StoredMessage,
} from './records'
import * as S from './lua'

/** Options of a {@link ClusterStore}; the limits are the server's own options. */
export interface StoreOptions {
  /**
   * Prefix of every key and channel, so several apps can share a Redis; {@link KEY_LAYOUT} follows
   * it. @default 'll:'
   */
  prefix?: string
  /** This node's id; unique per process start (a restarted node is a new node). @default random */
  node?: string
  /** How long a session outlives its last touch, ms (the server's `sessionTtl`). @default 60000 */
  sessionTtl?: number
  /** Unacknowledged bytes per session and direction (`maxBufferedAmount`). @default 16777216 */
  maxBufferedAmount?: number
  /** Unacknowledged messages per session (`maxQueueLength`). @default 100000 */
  maxQueueLength?: number
  /** How long a node's liveness key lives without renewal, ms: the time before takeover. @default 5000 */
  nodeLease?: number
  /**
   * Whether Redis keeps every acknowledged write through a restart. When false, a session is tied
   * to the Redis process that made it (its run_id): after a restart it is gone. @default false
   */
  durable?: boolean
  /**
   * How long the keys of a session that a node holds a link of live without renewal, ms: they are
   * renewed every third of it (holds.ts); the time a session outlives every node dying for good.
   * @default 3600000
   */
  holdTtl?: number
  /** Messages a room's log keeps (the server's `roomHistorySize`). @default 1000 */
  roomHistorySize?: number
  /** How long a room's log keeps a message, ms (`roomHistoryAge`). @default 60000 */
  roomHistoryAge?: number
  /** Whose `now` judges this node's lease (the server's `o.clock`). @default Node's `Date.now()` */
  clock?: Pick<Clock, 'now'>
}

/** Sessions renewed or looked at per script: 200 hold Redis about 0.2 ms (four PEXPIREs each). */
const TOUCH_BATCH = 200

/** What Redis has of a session renewed or looked at ({@link ClusterStore.touch}). */
export interface Touched {
  /** The last seq the session sent (its outgoing log's end). */
  sent: number
  /** The last seq its client sent that Redis keeps. */
  received: number
  /** Whether a node holds a link of it (its keys live as long); if not, they expire in `left` ms. */
  held: boolean
  /** Ms its keys have left. */
  left: number
  /** Whether its keys were renewed (asked for, and this node holds it). */
  renewed: boolean
}

/**
 * The version of the key layout: what each key holds and how the scripts read it. It follows the
 * app's prefix in every key and channel (`ll:2:s:{sid}`). A release that changes the layout bumps
 * it, and says so in CHANGELOG.md: its nodes then share nothing with an older release's on the
 * same Redis, so neither misreads the other's state. A client whose session an older node held
 * starts a new one, visibly (`reset`), when it reaches a newer node (docs/scaling.md, "Upgrades").
 */
export const KEY_LAYOUT = '2'

const DEFAULTS = {
  prefix: 'll:',
  sessionTtl: 60000,
  maxBufferedAmount: 16777216,
  maxQueueLength: 100000,
  nodeLease: 5000,
  durable: false,
  clock: serverClock as Pick<Clock, 'now'>,
  holdTtl: 3600000,
}

/** What a session was made with (the request that created it). */
export interface SessionInfo {
  origin: string
  address: string
  reliable: boolean
  headers?: Record<string, unknown>
  data?: unknown
  /** The client holds its room positions (it sent `g`, PROTOCOL.md §6.5): rooms as logs for it. */
  positions?: boolean
  /** The heartbeat interval its opening request asked for, ms. */
  hb?: number
}

/**
 * One node's handle on the cluster's shared state.
 *
 * @example
 * const store = new ClusterStore(fromNodeRedis(client), { sessionTtl: 60000 })
 * await store.createSession(sid, { origin, address, reliable: true })
 * const { first } = await store.appendOutgoing(sid, fence, ['hello'])
 */
export class ClusterStore {
  /** This node's lease, its liveness key and the sessions it owns. */
  readonly lease: NodeLease
  readonly o: typeof DEFAULTS
  /** The cluster-wide session counts (`maxSessions`, `maxSessionsPerAddress`). */
  readonly census: Census
  /** Rooms: who is in each, and putting a message into every member's log. */
  readonly rooms: ClusterRooms
  /** The sessions this node holds a link of: their keys live as long as its lease. */
  readonly holds = new Holds(this)

  constructor(
    readonly link: RedisLink,
    options: StoreOptions = {},
  ) {
    const o = { ...DEFAULTS, ...options }
    // Every key and channel below starts with the app's prefix, then the layout's version.
    this.o = { ...o, prefix: o.prefix + KEY_LAYOUT + ':' }
    this.lease = new NodeLease(link, this.o, options.node || randomBytes(9).toString('base64url'))
    this.census = new Census(link, this.o.prefix, this.o.sessionTtl)
    this.rooms = new ClusterRooms(
      link,
      this.o,
      this._h,
      new ClusterRoomLogs(link, this.o.prefix, options.roomHistorySize, options.roomHistoryAge),
    )
    if (!/^[\w.:-]{1,64}$/.test(this.node))
      throw new LifelineError('LL_ERR_INVALID_OPTION', 'node id must be 1-64 of [A-Za-z0-9_.:-]')
  }

  /** The hint channel listened to. */
  private _listening = ''

  // Keys: a session's all carry `{sid}`, so they share one hash slot.
  private _h = (sid: string) => this.o.prefix + 's:{' + sid + '}'
  /** This node's id: a new one each time it joins again after its lease lapsed (`NodeLease.rejoin`). */
  get node(): string {
    return this.lease.node
  }
  /** This node's hint channel. */
  get channel(): string {
    return this.o.prefix + 'n:' + this.node
  }

  private _run(script: Script, keys: string[], args: RedisArg[]): Promise<RedisReply[]> {
    return runScript(this.link, script, keys, args) as Promise<RedisReply[]>
  }

  /**
   * Listen to this node's hints (plain pub/sub, on a Redis Cluster too: the scripts that send them
   * run in their sessions' slots, and a PUBLISH reaches every shard). A node that joined again as
   * a new one stops listening on its old channel.
   */
  async listen(onHint: (hint: Hint) => void): Promise<void> {
    const old = this._listening
    this._listening = this.channel
    if (old && old != this.channel && this.link.unsubscribe) await this.link.unsubscribe(old).catch(() => {})
    await this.link.subscribe(this.channel, (message) => {
      const [kind, ...rest] = message.toString().split(' ')
      if (kind == 'w') for (let i = 0; i + 1 < rest.length; i += 2) onHint({ kind, sid: rest[i], seq: +rest[i + 1] })
      else if (kind == 'i') onHint({ kind, sid: rest[0], seq: +rest[1] })
      else if (kind == 'a') onHint({ kind, sid: rest[0], active: rest.slice(1).join(' ') })
      else if (kind == 'e') onHint({ kind, sid: rest[0] })
      else if (kind == 'd') onHint({ kind, sid: rest[0], seq: +rest[1], bytes: +rest[2] })
      else if (kind == 'r') onHint({ kind, sid: rest[0] })
      else if (kind == 'x') onHint({ kind, sid: rest[0], left: +rest[1] })
    })
  }

  /** Make session `sid`, owned by this node with fencing token 1. */
  async createSession(sid: string, info: SessionInfo): Promise<{ status: 'ok'; fence: number } | { status: 'exists' }> {
    const r = await this._run(
      S.CREATE,
      [this._h(sid)],
      [
        this.node,
        String(this.o.sessionTtl),
        info.reliable ? '1' : '0',
        info.origin,
        info.address,
        JSON.stringify(info.headers || {}),
        info.data === undefined ? '' : JSON.stringify(info.data),
        this.o.durable ? '1' : '0',
        info.positions ? '1' : '0',
        info.hb ? String(info.hb) : '',
      ],
    )
    return status(r) == 'ok' ? { status: 'ok', fence: 1 } : { status: 'exists' }
  }

  /** The session's fields as stored (strings), or null when unknown or expired. */
  async session(sid: string): Promise<SessionFields | null> {
    const r = (await this._run(S.SESSION, [this._h(sid)], [])) as RedisReply
    const flat = Array.isArray(r) ? r : []
    if (!flat.length) return null
    const out: Record<string, string> = {}
    for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = String(flat[i + 1])
    return out as SessionFields
  }

  /** A connection-opening request for live session `sid` asked for heartbeat `hb`, ms: later requests keep it. */
  async heartbeat(sid: string, hb: number): Promise<void> {
    await runScript(this.link, S.HEARTBEAT, [this._h(sid)], [String(hb)])
  }

  /** Bind session `sid` to `origin` if it has none yet; resolves to the origin it is bound to. */
  async bindOrigin(sid: string, origin: string): Promise<string> {
    return String(await runScript(this.link, S.BIND, [this._h(sid)], [origin]))
  }

  /**
   * Own session `sid`: at once if nobody does, or if its owner's lease has lapsed (takeover, with a
   * new fencing token that makes the old owner's every later write fail). `afresh`: this node
   * owns it but forgot it (it found its own lease lapsed): a new token all the same, so that no
   * write of what it forgot can land.
   */
  async claim(sid: string, afresh = false): Promise<ClaimResult> {
    let r = await this._run(S.CLAIM, [this._h(sid)], [this.node, afresh ? this.node : ''])
    if (status(r) == 'owned' && !(await this.lease.alive(String(r[1]))))
      r = await this._run(S.CLAIM, [this._h(sid)], [this.node, String(r[1])])
    const s = status(r)
    if (s == 'ok')
      return { status: 'ok', fence: int(r[1]), takenOver: int(r[2]) == 1, received: int(r[3]), delivered: int(r[4]) }
    if (s == 'owned') return { status: 'owned', owner: String(r[1]) }
    return refusal(r)
  }

  /** Give `sid` up (a node draining before it stops): the next claim needs no lease to lapse. */
  async release(sid: string, fence: number): Promise<{ status: 'ok' } | Refusal> {
    const r = await this._run(S.RELEASE, [this._h(sid)], [String(fence)])
    return status(r) == 'ok' ? { status: 'ok' } : refusal(r)
  }

  /**
   * Number and keep the owner's messages for the client: seqs are assigned here, atomically,
   * after the bounds are checked (`overflow`: nothing kept; the owner closes with 3900).
   * `delivered` commits the app's delivery cursor with them: replies and the receipt of what
   * they answer are kept, or lost, together.
   */
  async appendOutgoing(
    sid: string,
    fence: number,
    messages: StoredMessage[],
    delivered?: number,
    op = '',
  ): Promise<AppendResult> {
    const h = this._h(sid)
    const r = await this._run(
      S.APPEND,
      [h, h + ':o', h + ':i'],
      [
        String(fence),
        String(this.o.maxBufferedAmount),
        String(this.o.maxQueueLength),
        delivered === undefined ? '' : String(delivered),
        this.o.prefix + 'n:',
        sid,
        op,
        ...messages.map(pack),
      ],
    )
    const s = status(r)
    if (s == 'ok')
      return { status: 'ok', first: int(r[1]), last: int(r[2]), bufferedAmount: r[3] == null ? -1 : int(r[3]) }
    if (s == 'overflow') return { status: 'overflow' }
    return refusal(r)
  }

  /** The client has everything up to `n`: drop it from the log. Any node may say so. */
  async ackOutgoing(sid: string, n: number): Promise<AckResult> {
    const h = this._h(sid)
    const r = await this._run(S.ACK, [h, h + ':o'], [String(n), this.o.prefix + 'n:', sid])
    const s = status(r)
    if (s == 'ok') return { status: 'ok', ack: int(r[1]), bufferedAmount: int(r[2]) }
    if (s == 'ahead') return { status: 'ahead', sent: int(r[1]) }
    return refusal(r)
  }

  /** Up to `max` messages for the client from seq `from` (or the oldest kept, if later). */
  async readOutgoing(sid: string, from: number, max = 1000): Promise<ReadResult> {
    const h = this._h(sid)
    const r = await this._run(S.READ, [h, h + ':o'], [String(from), String(max)])
    if (status(r) != 'ok') return refusal(r)
    return { status: 'ok', first: int(r[1]), last: int(r[2]), end: String(r[3]), messages: unpackAll(r[4]) }
  }

  /**
   * Keep messages from the client numbered from `first`, on whichever node their request came
   * to: duplicates are dropped, a gap refused (the caller parks the POST), the owner woken.
   * The answer says how many are new: the owner hands exactly those to the app.
   */
  async recordIncoming(sid: string, first: number, messages: StoredMessage[]): Promise<RecordResult> {
    const h = this._h(sid)
    const r = await this._run(
      S.RECORD,
      [h, h + ':i'],
      [this.node, String(first), String(this.o.maxBufferedAmount), this.o.prefix + 'n:', sid, ...messages.map(pack)],
    )
    const s = status(r)
    if (s == 'ok')
      return { status: 'ok', received: int(r[1]), fresh: int(r[2]), owner: String(r[3]), delivered: int(r[4]) }
    if (s == 'gap') return { status: 'gap', received: int(r[1]) }
    if (s == 'overflow') return { status: 'overflow' }
    return refusal(r)
  }

  /** The owner reads client messages from seq `from` that the app has not had yet. */
  async readIncoming(sid: string, fence: number, from: number, max = 1000): Promise<InboxResult> {
    const h = this._h(sid)
    const r = await this._run(S.INBOX, [h, h + ':i'], [String(fence), String(from), String(max)])
    if (status(r) != 'ok') return refusal(r)
    return { status: 'ok', first: int(r[1]), received: int(r[2]), messages: unpackAll(r[3]) }
  }

  /** The app has had the client's messages up to `n` (when nothing was sent in reply to carry it). */
  async deliveredIncoming(
    sid: string,
    fence: number,
    n: number,
  ): Promise<{ status: 'ok'; delivered: number } | Refusal> {
    const h = this._h(sid)
    const r = await this._run(S.DELIVERED, [h, h + ':i'], [String(fence), String(n)])
    return status(r) == 'ok' ? { status: 'ok', delivered: int(r[1]) } : refusal(r)
  }

  /**
   * A link of `kind` arrived here (`use` = 0), or the client chose that kind with `u<use>` (on the
   * link itself, or in a POST to this node for a link held by another). `deadActive` is the active
   * link the caller found on a node whose lease lapsed: it may be replaced.
   */
  async activate(sid: string, kind: string, use = 0, deadActive = ''): Promise<ActivateResult> {
    const r = await this._run(
      S.ACTIVATE,
      [this._h(sid)],
      [kind, this.node, String(use), deadActive, this.o.prefix + 'n:', sid],
    )
    const s = status(r)
    if (s == 'active') return { status: s, previous: String(r[1]), holder: String(r[2]) }
    if (s == 'standby' || s == 'stale') return { status: s, previous: String(r[1]) }
    return refusal(r)
  }

  /** The link of `kind` here went away; if it was the active one, none is now. */
  async detach(sid: string, kind: string): Promise<boolean> {
    const r = await this._run(S.DETACH, [this._h(sid)], [kind, this.node])
    return int(r[1]) == 1
  }

  /**
   * End the session: by its owner (`fence`), or for the client (`fence` null: its close frame came
   * here). With `keepLast` its unacknowledged messages stay as last words for `sessionTtl`.
   */
  async close(sid: string, fence: number | null, code: number, reason: string, keepLast: boolean) {
    const h = this._h(sid)
    const r = await this._run(
      S.CLOSE,
      [h, h + ':o', h + ':i', h + ':r'],
      [
        fence === null ? '' : String(fence),
        String(code),
        reason,
        keepLast ? '1' : '0',
        String(this.o.sessionTtl),
        this.o.prefix + 'n:',
        sid,
      ],
    )
    if (status(r) != 'ok') return refusal(r)
    await this.census.leave(sid, String(r[2]))
    const rooms = (r[1] as RedisReply[]).map(String)
    // The rooms' member sets live in other slots: left one by one (a fan-out meanwhile skips an ended session).
    await this.rooms.forget(sid, rooms)
    return { status: 'ok' as const, rooms }
  }

  /**
   * Renew the keys of sessions held here (every holdTtl / 3: holds.ts), `TOUCH_BATCH` in one
   * script; or, those in `look`, only look at them (sessions owned here: did they expire?).
   * Resolves, per session, to what Redis has of it, or undefined when it ended or is gone.
   */
  async touch(sids: string[], look?: ReadonlySet<string>): Promise<Array<Touched | undefined>> {
    const found = new Map<string, Touched>()
    const renewals: Promise<void>[] = []
    const groups = slotGroups(sids, this._h, TOUCH_BATCH, this.link.cluster)
    const hold = this.o.holdTtl
    await Promise.all(
      groups.map(async (some) => {
        const keys = some.flatMap((sid) => this.keys(sid))
        const renew = some.map((sid) => (look && look.has(sid) ? '0' : '1'))
        const r = (await runScript(this.link, S.TOUCH, keys, [this.node, String(hold), ...renew])) as RedisReply[]
        some.forEach((sid, i) => {
          const t = r[i]
          if (!Array.isArray(t)) return
          const renewed = int(t[5]) == 1
          found.set(sid, { sent: int(t[1]), received: int(t[2]), held: int(t[3]) > 0, left: int(t[4]), renewed })
          if (renewed) renewals.push(this.census.renew(sid, String(t[0]), hold))
        })
      }),
    )
    await Promise.all(renewals)
    return sids.map((sid) => found.get(sid))
  }

  /** Every key of session `sid` (for MEMORY USAGE, tests). */
  keys(sid: string): string[] {
    const h = this._h(sid)
    return [h, h + ':o', h + ':i', h + ':r']
  }
}
