// A Redis Cluster as the store's link (docs/scaling.md "Redis Cluster"): node-redis's
// `createCluster` client, given by the app or made from `cluster.redis: { rootNodes }`. Each
// command goes to the master of its first key's slot; the store keeps every script to one slot.
// Node hints use plain pub/sub (the cluster bus carries a PUBLISH to every shard); room channels
// use sharded pub/sub (SSUBSCRIBE, on the shard of the room's slot).
import { LifelineError } from '../../protocol/errors'
import {
  BLOB_STRING,
  connectRedis,
  endNow,
  flatten,
  fromNodeRedis,
  loadRedis,
  type RedisArg,
  type RedisLink,
} from './redis'

/** Commands the store sends that name no key: they go to any master. */
const KEYLESS = new Set(['CONFIG', 'INFO', 'PING', 'SCRIPT', 'TIME'])

type Listener = (message: Buffer) => void

/** The part of a node-redis v6 cluster client (`createCluster`) the adapter uses. */
interface NodeRedisCluster {
  withTypeMapping(mapping: Record<number, unknown>): NodeRedisCluster
  sendCommand(firstKey: RedisArg | undefined, isReadonly: boolean, args: RedisArg[]): Promise<unknown>
  connect(): Promise<unknown>
  subscribe(channel: string, fn: Listener, bufferMode: true): Promise<void>
  unsubscribe(channel: string): Promise<void>
  sSubscribe(channel: string, fn: Listener, bufferMode: true): Promise<void>
  sUnsubscribe(channel: string): Promise<void>
  on(event: 'node-ready' | 'error', fn: (...args: unknown[]) => void): unknown
  close(): Promise<unknown>
  destroy(): unknown
  isOpen: boolean
  nodeClient: unknown
  masters: ClusterNodeInfo[]
  replicas: ClusterNodeInfo[]
  pubSubNode?: { client?: Connection }
}

type Connection = { destroy?(): unknown }
/** A node of the cluster client's, with its connections (made on first use). */
type ClusterNodeInfo = { client?: Connection; pubSub?: { client?: Connection } }

/**
 * The connections of `c`: commands, and pub/sub (plain, and sharded per master). A graceful close
 * forgets them at once while they drain, so a stop that gives up on it must have them first.
 */
function connections(c: NodeRedisCluster): Connection[] {
  const all: Connection[] = []
  for (const n of [...(c.masters || []), ...(c.replicas || [])]) {
    if (n.client) all.push(n.client)
    if (n.pubSub?.client) all.push(n.pubSub.client)
  }
  if (c.pubSubNode?.client) all.push(c.pubSubNode.client)
  return all
}

/** Whether `x` is a node-redis cluster client (it has `nodeClient`; a single server's client has not). */
export function isNodeRedisCluster(x: unknown): boolean {
  const c = x as Partial<NodeRedisCluster>
  return !!c && typeof c.sendCommand == 'function' && typeof c.nodeClient == 'function'
}

/** The key a command is routed by: EVAL and EVALSHA's first key, else the argument after the name. */
export function routingKey(args: RedisArg[]): RedisArg | undefined {
  const name = String(args[0]).toUpperCase()
  if (name == 'EVAL' || name == 'EVALSHA') return +args[2] > 0 ? args[3] : undefined
  return KEYLESS.has(name) ? undefined : args[1]
}

/**
 * Wrap a connected node-redis cluster client (`createCluster` of `redis` 6). Its pub/sub runs on
 * connections of its own, so no duplicate is made.
 *
 * @example
 * const cluster = await createCluster({ rootNodes: [{ url: 'redis://10.0.0.1:7000' }] }).connect()
 * new LifelineServer({ server, cluster: { redis: cluster } })
 */
export function fromNodeRedisCluster(cluster: unknown): RedisLink {
  if (!isNodeRedisCluster(cluster))
    throw new LifelineError('LL_ERR_INVALID_OPTION', 'cluster.redis: not a node-redis cluster client (createCluster)')
  const c = cluster as NodeRedisCluster
  const commands = c.withTypeMapping({ [BLOB_STRING]: Buffer })
  const ready: Array<() => void> = []
  /** What `quit` began to close, for `destroy` to end if Redis does not answer. */
  let draining: Connection[] = []
  // A node's connection came back: hints published meanwhile may be lost (extra ones cost a re-read).
  c.on('node-ready', () => {
    for (const fn of ready) fn()
  })
  return {
    cluster: true,
    command: async (args) => flatten(await commands.sendCommand(routingKey(args), false, args)),
    subscribe: (channel, onMessage, sharded) =>
      sharded ? c.sSubscribe(channel, onMessage, true) : c.subscribe(channel, onMessage, true),
    unsubscribe: (channel, sharded) => (sharded ? c.sUnsubscribe(channel) : c.unsubscribe(channel)),
    onReady: (fn) => ready.push(fn),
    async quit() {
      if (!c.isOpen) return
      draining = connections(c)
      await c.close()
    },
    destroy() {
      if (c.isOpen) c.destroy()
      for (const x of draining.splice(0)) endNow(x)
    },
  }
}

/**
 * Connect to a Redis Cluster with node-redis's `createCluster(options)` (`rootNodes`, and
 * `defaults` for what every node's connection shares: password, TLS).
 */
export async function connectRedisCluster(options: object): Promise<RedisLink> {
  const mod = await loadRedis<{ createCluster(o: object): NodeRedisCluster }>()
  const cluster = mod.createCluster(options)
  cluster.on('error', () => {})
  await cluster.connect()
  return fromNodeRedisCluster(cluster)
}

/**
 * The store's link for the `cluster.redis` option: a URL (one server), `{ rootNodes }` (a Redis
 * Cluster), a node-redis client of either kind, or a {@link RedisLink} of the app's own. @internal
 */
export async function openLink(redis: string | object): Promise<RedisLink> {
  if (typeof redis == 'string') return connectRedis(redis)
  if (isLink(redis)) return redis as RedisLink
  if (isNodeRedisCluster(redis)) return fromNodeRedisCluster(redis)
  if (Array.isArray((redis as { rootNodes?: unknown }).rootNodes)) return connectRedisCluster(redis)
  return fromNodeRedis(redis)
}

function isLink(r: object): boolean {
  const l = r as Partial<RedisLink>
  return typeof l.command == 'function' && typeof l.subscribe == 'function' && typeof l.onReady == 'function'
}
