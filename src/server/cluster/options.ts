// The `cluster` option (docs/scaling.md): where the shared state is, and how this node takes part.
import { LifelineError } from '../../protocol/errors'
import type { RedisLink } from './redis'

/**
 * Cluster mode: several `LifelineServer` processes share their sessions through Redis, so any
 * of them serves any request of any session, behind any balancer, without sticky sessions.
 *
 * @example
 * new LifelineServer({ server, path: '/rt', cluster: { redis: 'redis://127.0.0.1:6379' } })
 */
export interface ClusterOptions {
  /**
   * A `redis://` URL (node-redis is loaded on demand: `npm install redis`), a connected node-redis
   * 6 client the app already has, or any {@link RedisLink}. A Redis Cluster: `{ rootNodes: [{ url }] }`
   * (node-redis `createCluster` options, `defaults` included) or a connected `createCluster` client.
   */
  redis: string | RedisLink | { rootNodes: object[]; defaults?: object } | object
  /** Prefix of every key and channel, so several apps can share one Redis. @default 'll:' */
  prefix?: string
  /**
   * How long this node's liveness key lives without renewal, ms (renewed every third of it): the
   * time after a node's death or freeze before another takes its sessions over. @default 5000
   */
  nodeLease?: number
  /** Room members per fan-out script: bounds how long one room message holds Redis. @default 1000 */
  fanoutChunk?: number
  /**
   * Room messages this node holds on their way to Redis (`to(room).send()` not yet resolved, and
   * `broadcast()`s), all rooms together. One more is refused with `LL_ERR_BUFFER_FULL` (`send()`
   * rejects, `broadcast()` throws) instead of piling up in memory and starving the node's lease
   * renewal while Redis is slow or away. A publisher that awaits each `send()` never meets it.
   * @default 10000
   */
  maxPublishQueue?: number
  /**
   * Whether Redis keeps every write it acknowledged through a restart (AOF, `appendfsync always`).
   * Sessions made while it is false do not survive a Redis restart: they may have been rolled back,
   * so their clients reset (a `reset` event with what was not acknowledged), never resume on
   * state that lost messages. @default what Redis says at start (`CONFIG GET append*`)
   */
  durable?: boolean
}

/** The option with its defaults (`durable` unset: ask Redis). @internal */
export type ClusterResolved = Required<Omit<ClusterOptions, 'durable'>> & { durable?: boolean }

export const CLUSTER_DEFAULTS = Object.freeze({
  prefix: 'll:',
  nodeLease: 5000,
  fanoutChunk: 1000,
  maxPublishQueue: 10000,
})

/** Check `cluster` and fill in its defaults; a bad value throws `LL_ERR_INVALID_OPTION`. @internal */
export function checkCluster(c: unknown): ClusterResolved {
  const bad = (what: string) => new LifelineError('LL_ERR_INVALID_OPTION', 'cluster.' + what)
  if (!c || typeof c != 'object') throw new LifelineError('LL_ERR_INVALID_OPTION', 'cluster: an object { redis, ... }')
  const o = { ...CLUSTER_DEFAULTS, ...(c as ClusterOptions) }
  if (typeof o.redis == 'string') {
    if (!/^rediss?:\/\//.test(o.redis)) throw bad('redis: a redis:// or rediss:// URL, a client or a RedisLink')
  } else if (!o.redis || typeof o.redis != 'object') throw bad('redis: a redis:// or rediss:// URL, a client')
  else if ('rootNodes' in o.redis && !(Array.isArray(o.redis.rootNodes) && o.redis.rootNodes.length))
    throw bad('redis.rootNodes: an array of at least one { url } (a Redis Cluster)')
  if (typeof o.prefix != 'string' || !/^[\w.:-]{0,64}$/.test(o.prefix)) throw bad('prefix: up to 64 of [A-Za-z0-9_.:-]')
  // Renewed every third of it: below 300 ms a busy event loop misses renewals and fences itself.
  if (!(Number.isInteger(o.nodeLease) && o.nodeLease >= 300)) throw bad('nodeLease: an integer of at least 300 ms')
  if (!(Number.isInteger(o.fanoutChunk) && o.fanoutChunk >= 1)) throw bad('fanoutChunk: a positive integer')
  if (!(Number.isInteger(o.maxPublishQueue) && o.maxPublishQueue >= 1)) throw bad('maxPublishQueue: a positive integer')
  if (o.durable !== undefined && typeof o.durable != 'boolean') throw bad('durable: true or false')
  return o
}
