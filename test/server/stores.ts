// One suite, two stores: a server test file wraps its tests in `eachStore` and they run twice, on
// the in-memory server and on a one-node cluster over a real redis-server (test/support/redis.mjs,
// one per file, started when the redis run begins, stopped by its pid when it ends). What works in
// one process and not on Redis fails a test. `LIFELINE_STORES=memory` (or `redis`) runs one.
import { after, before, describe } from 'node:test'
import { startRedis } from '../support/redis.mjs'
import { stopAll, useStore } from './raw'

export type StoreName = 'memory' | 'redis'

/** The stores to run on: both, unless `LIFELINE_STORES` names one. */
export const STORES: StoreName[] = (process.env.LIFELINE_STORES || 'memory,redis')
  .split(',')
  .filter((s): s is StoreName => s == 'memory' || s == 'redis')

/** Run `body`'s tests once per store, in a `describe` named after it; `start()` (raw.ts) uses that store. */
export function eachStore(body: (store: StoreName) => void): void {
  for (const store of STORES)
    describe(store, () => {
      let redis: Awaited<ReturnType<typeof startRedis>> | undefined
      before(async () => {
        if (store == 'redis') redis = await startRedis()
        useStore(redis ? redis.url : null)
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
