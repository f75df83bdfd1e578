// One suite, three stores: a server test file wraps its tests in `eachStore` and they run on the
// in-memory server, on a one-node cluster over a real redis-server, and on one over a real
// three-master Redis Cluster (test/support/redis.mjs: a redis-server per describe, started when
// its run begins and stopped by its pid when it ends; one Redis Cluster per file, stopped after
// it). What works in one process and not on Redis fails a test. `LIFELINE_STORES=memory` (or
// `redis`, `redis-cluster`, or a comma-separated list) runs those.
import { after, before, describe } from 'node:test'
import { startRedis, startRedisCluster } from '../support/redis.mjs'
import { stopAll, useStore } from './raw'

export type StoreName = 'memory' | 'redis' | 'redis-cluster'

const NAMES: StoreName[] = ['memory', 'redis', 'redis-cluster']

/** The stores to run on: all three, unless `LIFELINE_STORES` names some. */
export const STORES: StoreName[] = (process.env.LIFELINE_STORES || NAMES.join(','))
  .split(',')
  .filter((s): s is StoreName => NAMES.includes(s as StoreName))

/** The file's Redis Cluster: started by its first redis-cluster run, shared by the others (2 s each). */
let cluster: ReturnType<typeof startRedisCluster> | undefined
after(async () => {
  if (cluster) await (await cluster).remove()
})

/** Run `body`'s tests once per store, in a `describe` named after it; `start()` (raw.ts) uses that store. */
export function eachStore(body: (store: StoreName) => void, stores = STORES): void {
  for (const store of stores)
    describe(store, () => {
      let redis: { remove(): Promise<unknown> } | undefined
      before(async () => {
        if (store == 'redis') {
          const one = await startRedis()
          useStore(one.url)
          redis = one
        } else if (store == 'redis-cluster') {
          cluster ??= startRedisCluster()
          useStore({ rootNodes: (await cluster).rootNodes })
        } else useStore(null)
      })
      after(async () => {
        // The servers go before the Redis they stand on.
        await stopAll()
        useStore(null)
        await redis?.remove()
      })
      body(store)
    })
}

/**
 * `eachStore` without the Redis Cluster, for a file whose tests touch the store only as every
 * request does (access.test.ts: 25 s a store).
 */
export function eachStoreButCluster(body: (store: StoreName) => void): void {
  eachStore(
    body,
    STORES.filter((s) => s != 'redis-cluster'),
  )
}

/**
 * `eachStore` on the in-memory server only: for tests of what cluster mode does otherwise by
 * design, each saying why (limits.test.ts: what one process's memory holds, cluster mode's Redis).
 */
export function memoryOnly(body: (store: StoreName) => void): void {
  eachStore(
    body,
    STORES.filter((s) => s == 'memory'),
  )
}
