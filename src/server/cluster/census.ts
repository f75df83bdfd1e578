// How many sessions the whole cluster holds, in total and per remote address, so that
// `maxSessions` and `maxSessionsPerAddress` hold across nodes as they do in one process. Each count
// is a sorted set of session ids scored by when the session expires (Redis's clock): a session
// held by a node is counted for the long safety TTL of its keys (renewed with them, rarely), one
// no node holds any more for as long as its keys have left, one that ends leaves, and one whose
// node died falls out when its keys would have expired. Nothing to leak, nothing to sweep.
import { runScript, type RedisLink } from './redis'
import { CENSUS_ADMIT, CENSUS_COUNT, CENSUS_LEAVE, CENSUS_RENEW } from './lua'

/** Why a new session was refused: the cluster is full, or its address has its share. */
export type Admission = 'ok' | 'full' | 'address'

/** Sessions renewed per script: a long one would hold Redis up for every other client. */
const RENEW_BATCH = 500

/** No limit, as Lua reads it (an `Infinity` option becomes this). */
const UNLIMITED = '-1'

/**
 * The cluster-wide session counts of one app (one key prefix).
 *
 * @example
 * const census = new Census(link, 'll:', 60000)
 * if ((await census.admit(sid, '10.0.0.7', 100000, 1000)) == 'ok') createTheSession()
 */
export class Census {
  /** Sessions to renew with the next batch, with their addresses and ms: renewed together. */
  private _due = new Map<string, [address: string, ms: number]>()
  private _renewing?: Promise<void>

  constructor(
    private readonly _link: RedisLink,
    private readonly _prefix: string,
    private readonly _ttl: number,
  ) {}

  // One hash tag for both counts, so each script runs in one slot of a Redis Cluster.
  private _all = () => this._prefix + '{census}'
  private _of = (address: string) => this._prefix + '{census}:a:' + address

  /** Count session `sid` from `address` in, unless `max` sessions or `perAddress` from it are there. */
  async admit(sid: string, address: string, max: number, perAddress: number): Promise<Admission> {
    const limit = (n: number) => (Number.isFinite(n) ? String(n) : UNLIMITED)
    const keys = [this._all(), this._of(address)]
    const r = await runScript(this._link, CENSUS_ADMIT, keys, [sid, String(this._ttl), limit(max), limit(perAddress)])
    return String(r) as Admission
  }

  /**
   * Session `sid` counts `ms` from now (`sessionTtl` unless said): renewed with the next batch (one
   * script for all renewed meanwhile).
   */
  renew(sid: string, address: string, ms = this._ttl): Promise<void> {
    this._due.set(sid, [address, Math.max(1, Math.round(ms))])
    if (!this._renewing)
      this._renewing = Promise.resolve().then(() => {
        const due = [...this._due]
        this._due = new Map()
        this._renewing = undefined
        return this._renew(due)
      })
    return this._renewing
  }

  private async _renew(due: Array<[string, [string, number]]>): Promise<void> {
    for (let i = 0; i < due.length; i += RENEW_BATCH) {
      const some = due.slice(i, i + RENEW_BATCH)
      const keys = [this._all(), ...some.map(([, [address]]) => this._of(address))]
      await runScript(
        this._link,
        CENSUS_RENEW,
        keys,
        some.flatMap(([sid, [, ms]]) => [sid, String(ms)]),
      )
    }
  }

  /** Session `sid` ended. */
  async leave(sid: string, address: string): Promise<void> {
    await runScript(this._link, CENSUS_LEAVE, [this._all(), this._of(address)], [sid])
  }

  /** Sessions counted now (expired ones excluded), in the cluster or from `address`. */
  async count(address?: string): Promise<number> {
    const key = address === undefined ? this._all() : this._of(address)
    const r = await runScript(this._link, CENSUS_COUNT, [key], [])
    return Number(r)
  }
}
