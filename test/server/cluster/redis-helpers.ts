// Shared by the cluster store tests: one real redis-server (or Redis Cluster) per test file, and
// stores (one per "node") on their own node-redis connections to it.
import assert from 'node:assert/strict'
import { after, before } from 'node:test'
import { createClient } from 'redis'
import { fromNodeRedis, type RedisArg, type RedisLink } from '../../../src/server/cluster/redis'
import { connectRedisCluster } from '../../../src/server/cluster/redis-cluster'
import { ClusterStore, KEY_LAYOUT, type StoreOptions } from '../../../src/server/cluster/store'
import { until } from '../../support/processes.mjs'
import { startRedis } from '../../support/redis.mjs'
import { stopAll } from '../raw'

const links: RedisLink[] = []

/**
 * A store named `node` on its own connection to `url`, or to the Redis Cluster of `{ rootNodes }`;
 * closed by `closeStores()`.
 */
export async function store(
  url: string | { rootNodes: object[] },
  node: string,
  options: StoreOptions = {},
): Promise<ClusterStore> {
  let link: RedisLink
  if (typeof url == 'string') {
    const client = createClient({ url })
    client.on('error', () => {})
    await client.connect()
    link = fromNodeRedis(client)
  } else link = await connectRedisCluster(url)
  links.push(link)
  return new ClusterStore(link, { node, prefix: 'test:', ...options })
}

export async function closeStores(): Promise<void> {
  await Promise.all(links.splice(0).map((l) => l.quit().catch(() => {})))
}

let counter = 0
/** A fresh 22-character session id. */
/** What every key of a store made by `store()` starts with: its prefix, then the key layout's version. */
export const keyPrefix = 'test:' + KEY_LAYOUT + ':'

export const newSid = () => ('sid' + process.pid + 'x' + ++counter).padEnd(22, 'A').slice(0, 22)

export const INFO = { origin: 'https://app.example', address: '127.0.0.1', reliable: true }

/**
 * With Redis frozen (SIGSTOP) and a command of `link` waiting on it: `quit()` waits for the reply,
 * `destroy()` then ends it (what a node stopping does when Redis does not answer, cluster/node.ts).
 * Fails unless quit waited, settled within 2 s of destroy, and the command failed.
 */
export async function destroyAfterQuit(link: RedisLink, command: RedisArg[]): Promise<void> {
  const pending = link.command(command).then(
    () => 'answered',
    (e: Error) => e.message,
  )
  // On its node's connection (a cluster client routes it after a tick).
  await new Promise((ok) => setTimeout(ok, 100))
  let quitted = false
  const quit = link.quit().finally(() => (quitted = true))
  await new Promise((ok) => setTimeout(ok, 200))
  assert.equal(quitted, false, 'quit waits for the reply')
  link.destroy!()
  assert.ok(await until(() => quitted, 2000), 'quit settled after destroy')
  await quit.catch(() => {})
  assert.notEqual(await pending, 'answered')
}

type Redis = Awaited<ReturnType<typeof startRedis>>

/**
 * The file's redis-server: started before its tests, and removed after them once what stands on it
 * is closed (the servers of raw.ts, then the stores above). Read it in a test or hook, not at load.
 *
 * @example
 * const redis = useRedis()
 * test('...', async () => { const a = await store(redis.url, 'nodeA') })
 */
export function useRedis(): Redis {
  let started: Redis | undefined
  before(async () => {
    started = await startRedis()
  })
  after(async () => {
    await stopAll()
    await closeStores()
    await started?.remove()
  })
  return new Proxy({} as Redis, {
    get(_, key) {
      if (!started) throw new Error('useRedis(): the Redis is started by a before hook; read it in a test')
      return started[key as keyof Redis]
    },
  })
}
