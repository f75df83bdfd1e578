// How many sessions the whole cluster holds, in total and per remote address, so that
// `maxSessions` and `maxSessionsPerAddress` hold across nodes as they do in one process. Each count
// is a sorted set of session ids scored by when the session expires (Redis's clock): a session
// held by a node is counted for the long safety TTL of its keys (renewed with them, rarely), one
// no node holds any more for as long as its keys have left, one that ends leaves, and one whose
// node died falls out when its keys would have expired. Nothing to leak, nothing to sweep.
import { runScript, type RedisLink, Script } from './redis'

/** Why a new session was refused: the cluster is full, or its address has its share. */
export type Admission = 'ok' | 'full' | 'address'

/** Sessions renewed per script: a long one would hold Redis up for every other client. */
const RENEW_BATCH = 500

/** No limit, as Lua reads it (an `Infinity` option becomes this). */
const UNLIMITED = '-1'

/** Redis's clock in ms, shared by every node: the scores never depend on a node's own clock. */
const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
-- An address's set lives as long as its longest entry: a held session's is far longer than sessionTtl.
local function extend(key, ms)
  local left = redis.call('PTTL', key)
  if left == -1 or left < tonumber(ms) then redis.call('PEXPIRE', key, ms) end
end
`

/**
 * Count a new session in, if both counts have room. KEYS: the cluster's set, the address's set.
 * ARGV: sid, ttl ms, max sessions, max per address (-1: no limit). Replies ok, full or address.
 */
export const ADMIT = new Script(
  'admit',
  NOW +
    `redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local max, per = tonumber(ARGV[3]), tonumber(ARGV[4])
if max >= 0 and redis.call('ZCARD', KEYS[1]) >= max then return 'full' end
if per >= 0 and redis.call('ZCARD', KEYS[2]) >= per then return 'address' end
local expires = now + tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], expires, ARGV[1])
redis.call('ZADD', KEYS[2], expires, ARGV[1])
extend(KEYS[2], ARGV[2])
return 'ok'`,
)

/**
 * Renew sessions still in use, each for its own ms (a held session's safety TTL, or what one no node
 * holds has left). KEYS: the cluster's set, then one address set per session. ARGV: per session
 * its id and ms, in the order of their address sets. Only sessions counted in are renewed (XX):
 * one that ended meanwhile stays out. Each address set's own TTL is extended once per call to its
 * longest entry, however many of its sessions are in it (10,000 from one address behind a NAT).
 */
export const RENEW = new Script(
  'renew',
  NOW +
    `local longest = {}
for i = 2, #KEYS do
  local sid, ms = ARGV[2 * i - 3], tonumber(ARGV[2 * i - 2])
  redis.call('ZADD', KEYS[1], 'XX', now + ms, sid)
  redis.call('ZADD', KEYS[i], 'XX', now + ms, sid)
  if ms > (longest[KEYS[i]] or 0) then longest[KEYS[i]] = ms end
end
for key, ms in pairs(longest) do extend(key, ms) end
return #KEYS - 1`,
)

/** A session ended: it counts no more. KEYS: the cluster's set, the address's set. ARGV: sid. */
export const LEAVE = new Script(
  'leave',
  `redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1`,
)

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
    const r = await runScript(this._link, ADMIT, keys, [sid, String(this._ttl), limit(max), limit(perAddress)])
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
        RENEW,
        keys,
        some.flatMap(([sid, [, ms]]) => [sid, String(ms)]),
      )
    }
  }

  /** Session `sid` ended. */
  async leave(sid: string, address: string): Promise<void> {
    await runScript(this._link, LEAVE, [this._all(), this._of(address)], [sid])
  }

  /** Sessions counted now (expired ones excluded), in the cluster or from `address`. */
  async count(address?: string): Promise<number> {
    const key = address === undefined ? this._all() : this._of(address)
    const r = await runScript(this._link, COUNT, [key], [])
    return Number(r)
  }
}

/** Sessions in a count that have not expired. KEYS: the set. */
const COUNT = new Script('count', NOW + `return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')`)
