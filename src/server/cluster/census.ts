// How many sessions the whole cluster holds, in total and per remote address, so that
// `maxSessions` and `maxSessionsPerAddress` hold across nodes as they do in one process. Each count
// is a sorted set of session ids scored by when the session expires (Redis's clock): a session
// touched by a link is renewed with its keys, one that ends leaves, and one whose node died
// (kill -9) falls out when its keys would have expired. Nothing to leak, nothing to sweep.
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
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 'ok'`,
)

/**
 * Renew sessions still in use. KEYS: the cluster's set, then one address set per session.
 * ARGV: ttl ms, then the sessions' ids in the order of their address sets. Only sessions counted
 * in are renewed (XX): one that ended meanwhile stays out. Each address set's own TTL is renewed
 * once per call, however many of its sessions are in it (10,000 from one address behind a NAT).
 */
export const RENEW = new Script(
  'renew',
  NOW +
    `local expires = now + tonumber(ARGV[1])
local renewed = {}
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], 'XX', expires, ARGV[i])
  redis.call('ZADD', KEYS[i], 'XX', expires, ARGV[i])
  if not renewed[KEYS[i]] then
    renewed[KEYS[i]] = true
    redis.call('PEXPIRE', KEYS[i], ARGV[1])
  end
end
return #ARGV - 1`,
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
  /** Sessions touched since the last renewal, with their addresses: renewed together. */
  private _due = new Map<string, string>()
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

  /** Session `sid` is still in use: renewed with the next batch (one script for all touched meanwhile). */
  renew(sid: string, address: string): Promise<void> {
    this._due.set(sid, address)
    if (!this._renewing)
      this._renewing = Promise.resolve().then(() => {
        const due = [...this._due]
        this._due = new Map()
        this._renewing = undefined
        return this._renew(due)
      })
    return this._renewing
  }

  private async _renew(due: Array<[string, string]>): Promise<void> {
    for (let i = 0; i < due.length; i += RENEW_BATCH) {
      const some = due.slice(i, i + RENEW_BATCH)
      const keys = [this._all(), ...some.map(([, address]) => this._of(address))]
      await runScript(this._link, RENEW, keys, [String(this._ttl), ...some.map(([sid]) => sid)])
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
