// A node's lease in a cluster (docs/scaling.md): its liveness key, holding a token that renewal
// compares in Redis, so a lease once lapsed or taken is never renewed by its old holder (which
// joins again as a new node); and the sets of sessions each node owns and holds a link of, so that
// the others' sweeps find those of a node whose lease lapsed.
import { randomBytes } from 'node:crypto'
import type { Clock } from '../../protocol/clock'
import { LifelineError } from '../../protocol/errors'
import { int } from './records'
import { runScript, type RedisLink, type RedisReply } from './redis'
import * as S from './lua'

/** @internal */
export class NodeLease {
  /** This node's id: a new one each time it joins again after its lease lapsed (`rejoin`). */
  node: string
  /** Local time of the last renewal of this node's lease that Redis confirmed. */
  private _renewedAt = 0
  /** What this node's liveness key holds: renewal compares it ('' before the lease is taken). */
  private _token = ''
  /** The id the node started with, and how many times it joined again. */
  private readonly _base: string
  private _joins = 0

  constructor(
    private readonly _link: RedisLink,
    private readonly _o: { prefix: string; nodeLease: number; clock: Pick<Clock, 'now'> },
    node: string,
  ) {
    this.node = this._base = node
  }

  private _nodeKey = (node: string) => this._o.prefix + 'node:' + node
  /** The sessions `node` owns: a node's sweep takes over those of a node whose lease lapsed. */
  private _ownsKey = (node: string) => this._o.prefix + 'owns:' + node
  /** The sessions `node` holds a link of (holds.ts): a sweep lets go of those of a node whose lease lapsed. */
  private _holdsKey = (node: string) => this._o.prefix + 'holds:' + node
  /** Every node that may own sessions (until a sweep finds it dead and owning nothing). */
  private get _nodesKey() {
    return this._o.prefix + 'nodes'
  }

  /**
   * Take this node's lease, then renew it (every nodeLease / 3 or so). False, and nothing
   * written, once it lapsed or was taken: the renewal compares the token in Redis. The node is
   * then fenced for good under this id; `rejoin` makes it a new node.
   */
  async heartbeat(): Promise<boolean> {
    const before = this._o.clock.now()
    const key = this._nodeKey(this.node)
    const lease = String(this._o.nodeLease)
    if (!this._token) {
      this._token = randomBytes(9).toString('base64url')
      if ((await this._link.command(['SET', key, this._token, 'PX', lease, 'NX'])) === null) return false
      await this._link.command(['SADD', this._nodesKey, this.node])
    } else if (int((await runScript(this._link, S.RENEW, [key], [this._token, lease])) as RedisReply) != 1) return false
    this._renewedAt = before
    return true
  }

  /**
   * After its lease lapsed: this node becomes a new one with a lease of its own. Its old id stays
   * dead, so the sessions it owned under it are taken over (by a sweep, or the next request).
   */
  async rejoin(listen: () => Promise<void>): Promise<void> {
    this._renewedAt = 0
    this._token = ''
    this.node = this._base + '.' + ++this._joins
    if (!(await this.heartbeat())) throw new LifelineError('LL_ERR_SERVER', 'cluster: node id taken: ' + this.node)
    await listen()
  }

  /** Session `sid` is owned by this node from now on (or no longer: `own` false). */
  async owns(sid: string, own = true): Promise<void> {
    await this._link.command([own ? 'SADD' : 'SREM', this._ownsKey(this.node), sid])
  }

  /** Sessions this node holds a link of from now on (or no longer: `hold` false), in one command. */
  async holds(sids: string[], hold = true): Promise<void> {
    if (sids.length) await this._link.command([hold ? 'SADD' : 'SREM', this._holdsKey(this.node), ...sids])
  }

  /**
   * Sessions owned, and sessions held, by nodes whose lease lapsed, up to `max` of each: what a
   * sweep takes over and lets go of. A dead node that owns and holds nothing any more is
   * forgotten. `disowned(node, sid)` when one is no longer that node's; `unheld` likewise.
   */
  async orphans(max: number): Promise<{ owned: Array<[node: string, sid: string]>; held: Array<[string, string]> }> {
    const owned: Array<[string, string]> = []
    const held: Array<[string, string]> = []
    const some = async (key: string, left: number) =>
      left > 0 ? ((await this._link.command(['SRANDMEMBER', key, String(left)])) as RedisReply[]).map(String) : []
    const nodes = ((await this._link.command(['SMEMBERS', this._nodesKey])) as RedisReply[]).map(String)
    for (const node of nodes) {
      if (owned.length >= max && held.length >= max) break
      if (node == this.node || (await this.alive(node))) continue
      const sids = await some(this._ownsKey(node), max - owned.length)
      const links = await some(this._holdsKey(node), max - held.length)
      if (!sids.length && !links.length && owned.length < max && held.length < max)
        await this._link.command(['SREM', this._nodesKey, node])
      for (const sid of sids) owned.push([node, sid])
      for (const sid of links) held.push([node, sid])
    }
    return { owned, held }
  }

  /** `sid` is no longer `node`'s (taken over, ended or expired). */
  async disowned(node: string, sid: string): Promise<void> {
    await this._link.command(['SREM', this._ownsKey(node), sid])
  }

  /** `node` holds no link of these sessions any more (its sweep let go of them for it). */
  async unheld(node: string, sids: string[]): Promise<void> {
    if (sids.length) await this._link.command(['SREM', this._holdsKey(node), ...sids])
  }

  /**
   * Whether this node may still write as an owner by its own clock: its lease was renewed less
   * than `nodeLease` ago. A node that was frozen or cut off finds this false before Redis tells it.
   */
  leaseHeld(now = this._o.clock.now()): boolean {
    return now - this._renewedAt < this._o.nodeLease
  }

  /** Is `node`'s liveness key there? */
  async alive(node: string): Promise<boolean> {
    return (await this._link.command(['EXISTS', this._nodeKey(node)])) === 1
  }
}
