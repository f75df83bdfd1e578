// The little the cluster store needs from a Redis client, and an adapter for node-redis (`redis`).
// The store never imports a client library: a user's client comes in through `fromNodeRedis`,
// and a URL is turned into one by `connectRedis`, which loads `redis` only when it is called, so
// the in-memory server never loads it and the browser bundle never sees it.
import { createHash } from 'node:crypto'
import { LifelineError } from '../../protocol/errors'

/** An argument of a Redis command: text goes as UTF-8, a Buffer as its bytes. */
export type RedisArg = string | Buffer

/** A reply as the store reads it: bulk strings as Buffers, integers as numbers, arrays nested. */
export type RedisReply = null | number | Buffer | string | RedisReply[]

/**
 * What the cluster store needs from a Redis connection. Implement it over any client (the store
 * ships `fromNodeRedis`); a command that fails rejects its promise.
 */
export interface RedisLink {
  /** Send one command; bulk strings must come back as Buffers (binary messages stay intact). */
  command(args: RedisArg[]): Promise<RedisReply>
  /**
   * Listen to a pub/sub channel on a connection of its own. Pub/sub is a hint: the store reads
   * the truth from the stored log after every hint and after every `onReady`. `sharded`: a
   * Redis 7 shard channel (SSUBSCRIBE), asked for only when `cluster` is true.
   */
  subscribe(channel: string, onMessage: (message: Buffer) => void, sharded?: boolean): Promise<void>
  /** Stop listening to `channel` (without it, a node keeps every room channel it ever followed). */
  unsubscribe?(channel: string, sharded?: boolean): Promise<void>
  /**
   * True on a Redis Cluster: the store then keeps each script to one hash slot (the room fan-out
   * runs one script per slot of its members) and publishes room messages with SPUBLISH.
   */
  readonly cluster?: boolean
  /** Called after the subscriber (re)connected: hints sent meanwhile may be lost. */
  onReady(fn: () => void): void
  /** Close both connections. */
  quit(): Promise<void>
  /**
   * Close both connections at once, failing the commands still waiting for Redis: a node stopping
   * while Redis is gone calls it when `quit` has not finished within `nodeLease` (a client that
   * waits for Redis to come back would otherwise hold the process for good).
   */
  destroy?(): void
}

/** Every script made, for `loadScripts`. */
const SCRIPTS: Script[] = []

/** A Lua script and its SHA1, run with EVALSHA (EVAL when the server's script cache is empty). */
export class Script {
  readonly sha: string
  constructor(
    readonly name: string,
    readonly source: string,
  ) {
    this.sha = createHash('sha1').update(source).digest('hex')
    SCRIPTS.push(this)
  }
}

/**
 * Load every script into Redis' cache (SCRIPT LOAD; on a Redis Cluster node-redis sends it to every
 * master). Without it the first run of each on each server costs a NOSCRIPT and a second round
 * trip, which let a write overtake another sent before it (an app's close() and the request
 * after it). A Redis that refuses is left to that fallback.
 */
export async function loadScripts(link: RedisLink): Promise<void> {
  await Promise.all(SCRIPTS.map((s) => link.command(['SCRIPT', 'LOAD', s.source]))).catch(() => {})
}

/** Run `script` over `keys` with `args`: EVALSHA, then EVAL if Redis has not seen it (a restart empties its cache). */
export async function runScript(
  link: RedisLink,
  script: Script,
  keys: string[],
  args: RedisArg[],
): Promise<RedisReply> {
  const tail = [String(keys.length), ...keys, ...args]
  try {
    return await link.command(['EVALSHA', script.sha, ...tail])
  } catch (e) {
    if (!/NOSCRIPT/.test(String((e as Error).message))) throw e
    return link.command(['EVAL', script.source, ...tail])
  }
}

/** node-redis's RESP type for bulk strings ('$'), mapped to Buffer so binary messages survive. @internal */
export const BLOB_STRING = 36

/** The part of a node-redis v6 client the adapter uses. */
interface NodeRedisClient {
  withTypeMapping(mapping: Record<number, unknown>): NodeRedisClient
  sendCommand(args: RedisArg[]): Promise<unknown>
  duplicate(): NodeRedisClient
  connect(): Promise<unknown>
  subscribe(channel: string, fn: (message: Buffer) => void, bufferMode: true): Promise<void>
  unsubscribe(channel: string): Promise<void>
  sSubscribe(channel: string, fn: (message: Buffer) => void, bufferMode: true): Promise<void>
  sUnsubscribe(channel: string): Promise<void>
  on(event: 'ready' | 'error', fn: (...args: unknown[]) => void): unknown
  quit?(): Promise<unknown>
  close?(): Promise<unknown>
  destroy?(): unknown
  isOpen: boolean
}

/**
 * Wrap a connected node-redis client (`redis` 6) the app already has. The subscriber is a
 * duplicate of it, connected here.
 *
 * @example
 * const client = await createClient({ url: 'redis://127.0.0.1:6379' }).connect()
 * const link = fromNodeRedis(client)
 */
export function fromNodeRedis(client: unknown): RedisLink {
  const c = client as NodeRedisClient
  if (!c || typeof c.sendCommand != 'function' || typeof c.duplicate != 'function')
    throw new LifelineError('LL_ERR_INVALID_OPTION', 'cluster.redis: not a node-redis client (redis@6)')
  const commands = c.withTypeMapping({ [BLOB_STRING]: Buffer })
  let subscriber: NodeRedisClient | undefined
  const ready: Array<() => void> = []
  const sub = async () => {
    if (subscriber) return subscriber
    subscriber = c.duplicate()
    subscriber.on('error', () => {})
    // The first 'ready' is the connect below; every later one is a reconnect.
    let first = true
    subscriber.on('ready', () => {
      if (!first) for (const fn of ready) fn()
      first = false
    })
    await subscriber.connect()
    return subscriber
  }
  return {
    command: async (args) => flatten(await commands.sendCommand(args)),
    async subscribe(channel, onMessage, sharded) {
      const x = await sub()
      await (sharded ? x.sSubscribe(channel, onMessage, true) : x.subscribe(channel, onMessage, true))
    },
    async unsubscribe(channel, sharded) {
      const x = await sub()
      await (sharded ? x.sUnsubscribe(channel) : x.unsubscribe(channel))
    },
    onReady: (fn) => ready.push(fn),
    async quit() {
      for (const x of subscriber ? [subscriber, c] : [c]) {
        if (!x.isOpen) continue
        if (x.close) await x.close()
        else if (x.quit) await x.quit()
      }
    },
    // Whether or not a graceful close began: one draining replies Redis never sends reports
    // `isOpen` false, and only destroy() ends it (node-redis 6's is idempotent).
    destroy() {
      for (const x of subscriber ? [subscriber, c] : [c]) endNow(x)
    },
  }
}

/** End a node-redis connection now, open, draining or closed already (an old client's destroy() may throw). */
export function endNow(x: { destroy?(): unknown }): void {
  try {
    x.destroy?.()
  } catch {
    // Closed already.
  }
}

/**
 * node-redis turns some replies into objects or Maps (HGETALL, CONFIG GET) even through
 * sendCommand; the store reads them as Redis sends them, flat arrays of field and value.
 */
export function flatten(reply: unknown): RedisReply {
  if (reply === null || typeof reply == 'number' || typeof reply == 'string' || Buffer.isBuffer(reply)) return reply
  if (Array.isArray(reply)) return reply.map(flatten)
  if (typeof reply == 'bigint' || typeof reply == 'boolean') return Number(reply)
  const entries = reply instanceof Map ? [...reply.entries()] : Object.entries(reply as object)
  return entries.flatMap(([k, v]) => [flatten(k), flatten(v)])
}

/**
 * Whether Redis keeps every write it acknowledged through a restart: the append-only file on,
 * fsynced before each reply (`appendonly yes`, `appendfsync always`). False when it says otherwise
 * or refuses `CONFIG` (managed services often rename it): then nothing says so.
 */
export async function isDurable(link: RedisLink): Promise<boolean> {
  try {
    const r = (await link.command(['CONFIG', 'GET', 'append*'])) as RedisReply[]
    const config = new Map<string, string>()
    for (let i = 0; i + 1 < r.length; i += 2) config.set(String(r[i]), String(r[i + 1]))
    return config.get('appendonly') == 'yes' && config.get('appendfsync') == 'always'
  } catch {
    return false
  }
}

/**
 * Connect to `url` with node-redis, loaded here on demand: it is an optional peer dependency,
 * installed by apps that use the cluster mode (`npm install redis`).
 */
export async function connectRedis(url: string): Promise<RedisLink> {
  const mod = await loadRedis<{ createClient(o: object): NodeRedisClient }>()
  const client = mod.createClient({ url })
  client.on('error', () => {})
  await client.connect()
  return fromNodeRedis(client)
}

/** node-redis, loaded on demand (an optional peer dependency). @internal */
export async function loadRedis<T>(): Promise<T> {
  try {
    // node-redis's module, seen as the part of it the caller uses (its own types are far wider).
    const mod: unknown = await import('redis')
    return mod as T
  } catch (e) {
    throw new LifelineError('LL_ERR_INVALID_OPTION', 'cluster.redis needs the `redis` package: npm install redis')
  }
}
