// Shared by the cluster store tests: one real redis-server (or Redis Cluster) per test file, and
// stores (one per "node") on their own node-redis connections to it.
import { createClient } from 'redis'
import { fromNodeRedis, type RedisLink } from '../../../src/server/cluster/redis'
import { connectRedisCluster } from '../../../src/server/cluster/redis-cluster'
import { ClusterStore, KEY_LAYOUT, type StoreOptions } from '../../../src/server/cluster/store'

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
