// The sessions a node holds a link of (docs/cluster-design.md §3 "TTL"). While a live node holds a
// session, its keys need no renewal of their own: they live a long safety TTL (`holdTtl`, renewed
// every holdTtl / 3, in batches), covered by the node's lease and its set `holds:<node>`. Once no
// node holds it (its last link went here, or a sweep let go for a node that died), its keys live
// what `sessionTtl` leaves since the client's link went, and its owner hears so (an `x` hint).
// Renewing every session every sessionTtl / 3 was most of Redis's work for a room of 10,000 idle
// members (bench/README.md "Rooms against socket.io").
import { runScript, type RedisReply, type Script } from './redis'
import { slotGroups } from './slot'
import type { ClusterStore } from './store'
import * as S from './lua'

/** Sessions held or let go per script: 200 hold Redis a fraction of a millisecond. */
const BATCH = 200

/** A session's keys are renewed this many times per `holdTtl` while held. */
const RENEWALS_PER_HOLD = 3

/**
 * How long a session stays held here after its last link went, as a part of `sessionTtl`: a poll
 * that follows another, a client that reconnects, does not let go and hold again each time. The
 * keys expire as `sessionTtl` after the link went all the same (what it leaves is given).
 */
const GRACE_PER_TTL = 3

/** A session held here. */
interface Held {
  /** When its last link here went (0: it has one). */
  leftAt: number
  /** When its keys were last given `holdTtl` from here. */
  renewedAt: number
}

/** @internal */
export class Holds {
  private _held = new Map<string, Held>()
  /** Sessions not held here whose link came and went between two syncs (a short poll): held all the same. */
  private _passed = new Map<string, number>()
  /** One change at a time: a hold and a let-go of one session never cross. */
  private _syncing?: Promise<void>

  constructor(private readonly _store: ClusterStore) {}

  /** Whether this node holds session `sid` (in Redis, as far as it knows). */
  has(sid: string): boolean {
    return this._held.has(sid)
  }

  /** The last link of session `sid` here went, at `at`. */
  left(sid: string, at = this._store.o.clock.now()): void {
    const h = this._held.get(sid)
    if (!h) this._passed.set(sid, at)
    else if (!h.leftAt) h.leftAt = at
  }

  /**
   * Hold the sessions with a link here (`linked`) that are not held yet, and let go of those whose
   * last link here went more than a grace period ago. One sync at a time (a second call shares it).
   */
  sync(linked: Iterable<string>, now = this._store.o.clock.now()): Promise<void> {
    if (this._syncing) return this._syncing
    const ttl = this._store.o.sessionTtl
    // Held from now, with when their link here went (0: it is here).
    const fresh = new Map<string, number>()
    const here = new Set<string>()
    for (const sid of linked) {
      here.add(sid)
      const h = this._held.get(sid)
      if (!h) fresh.set(sid, 0)
      else h.leftAt = 0
    }
    for (const [sid, at] of this._passed) if (!this._held.has(sid) && !here.has(sid)) fresh.set(sid, at)
    this._passed.clear()
    const gone: Array<[string, Held]> = []
    for (const [sid, h] of this._held) {
      if (here.has(sid)) continue
      if (!h.leftAt) h.leftAt = now
      if (now - h.leftAt < ttl / GRACE_PER_TTL) continue
      gone.push([sid, h])
      this._held.delete(sid)
    }
    if (!fresh.size && !gone.length) return Promise.resolve()
    const leaving = gone.map(([sid, h]): [string, number] => [sid, ttl - (now - h.leftAt)])
    // Let go of in Redis, or held here again: the next sync tries again (Redis away).
    const node = this._store.node
    const letGo = this.letGo(node, leaving).catch((e) => {
      if (this._store.node == node) for (const [sid, h] of gone) if (!this._held.has(sid)) this._held.set(sid, h)
      throw e
    })
    const hold = this._hold(fresh, now).catch((e) => {
      for (const [sid, at] of fresh) if (at && !this._held.has(sid)) this._passed.set(sid, at)
      throw e
    })
    const done = Promise.all([hold, letGo]).then(() => {})
    this._syncing = done.finally(() => (this._syncing = undefined))
    return this._syncing
  }

  /** Sessions held here whose keys are due for their safety renewal (marked renewed now). */
  due(now = this._store.o.clock.now()): string[] {
    const out: string[] = []
    for (const [sid, h] of this._held)
      if (now - h.renewedAt >= this._store.o.holdTtl / RENEWALS_PER_HOLD) {
        h.renewedAt = now
        out.push(sid)
      }
    return out
  }

  /** The renewal of these failed (Redis away): tried again on the next tick. */
  retry(sids: string[]): void {
    for (const sid of sids) {
      const h = this._held.get(sid)
      if (h) h.renewedAt = 0
    }
  }

  /** This node's lease lapsed: what it held is a sweep's to let go of. */
  clear(): void {
    this._held.clear()
    this._passed.clear()
  }

  /** This node stops: it lets go of everything it holds (the clients resume elsewhere, or not). */
  async release(): Promise<void> {
    await this._syncing?.catch(() => {})
    const all = [...this._held.keys()].map((sid): [string, number] => [sid, this._store.o.sessionTtl])
    this._held.clear()
    await this.letGo(this._store.node, all)
  }

  /**
   * Hold `fresh` here (with when their link here went, 0: it is here): in this node's set first
   * (were it to die now, a sweep finds them), then their keys.
   */
  private async _hold(fresh: ReadonlyMap<string, number>, now: number): Promise<void> {
    if (!fresh.size) return
    const sids = [...fresh.keys()]
    const store = this._store
    // A node fenced meanwhile joins again as another: what it held under its old id is a sweep's.
    const node = store.node
    await store.lease.holds(sids)
    const not: string[] = []
    await this._each(S.HOLD, sids, [node, String(store.o.holdTtl)], (sid, r) => {
      if (!r) return void not.push(sid)
      if (store.node != node) return
      this._held.set(sid, { leftAt: fresh.get(sid) || 0, renewedAt: now })
      return store.census.renew(sid, String(r), store.o.holdTtl)
    })
    await store.lease.holds(not, false)
  }

  /**
   * Node `node` holds no link of these sessions any more (this one, or one that died: its sweep):
   * each that no node holds now expires after the ms given with it.
   */
  async letGo(node: string, gone: Array<[sid: string, ms: number]>): Promise<void> {
    if (!gone.length) return
    const store = this._store
    const ms = new Map(gone.map(([sid, left]) => [sid, String(Math.max(1, Math.round(left)))]))
    const prefix = [node, store.o.prefix + 'n:']
    await this._each(
      S.LET_GO,
      [...ms.keys()],
      prefix,
      (sid, r) => r && store.census.renew(sid, String(r), +ms.get(sid)!),
      (sid) => [sid, ms.get(sid)!],
    )
    await store.lease.unheld(node, [...ms.keys()])
  }

  /** Run `script` over `sids` in batches (one slot each on a Redis Cluster); `each` gets every session's reply. */
  private async _each(
    script: Script,
    sids: string[],
    args: string[],
    each: (sid: string, r: RedisReply) => unknown,
    per: (sid: string) => string[] = () => [],
  ): Promise<void> {
    const store = this._store
    const h = (sid: string) => store.keys(sid)[0]
    const waits: unknown[] = []
    await Promise.all(
      slotGroups(sids, h, BATCH, store.link.cluster).map(async (some) => {
        const keys = some.flatMap((sid) => store.keys(sid))
        const r = (await runScript(store.link, script, keys, [...args, ...some.flatMap(per)])) as RedisReply[]
        some.forEach((sid, i) => waits.push(each(sid, r[i])))
      }),
    )
    await Promise.all(waits)
  }
}
