// test/support/redis.mjs does what the cluster tests rely on: a real redis-server of its own, durable
// under kill -9 with `appendfsync always`, restartable on the same port and dir, freezable; and a
// real three-master Redis Cluster, stopped by its pids.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { createClient, createCluster } from 'redis'
import { ping, startRedis, startRedisCluster } from '../../support/redis.mjs'
import { until } from '../../support/processes.mjs'

let redis
before(async () => {
  redis = await startRedis()
})
after(async () => {
  await redis.remove()
})

/** A client that gives up at once while Redis is away, rather than queueing commands. */
async function connect() {
  const client = createClient({ url: redis.url, disableOfflineQueue: true, socket: { reconnectStrategy: false } })
  client.on('error', () => {})
  await client.connect()
  return client
}

test('runs its own redis-server 7 on loopback, in its own dir, with the AOF fsynced on every write', async () => {
  const client = await connect()
  const info = await client.info('server')
  assert.match(info, /redis_version:7\./)
  assert.match(info, new RegExp('tcp_port:' + redis.port))
  assert.equal((await client.configGet('appendfsync')).appendfsync, 'always')
  assert.equal((await client.configGet('appendonly')).appendonly, 'yes')
  assert.equal((await client.configGet('dir')).dir, redis.dir)
  await client.set('probe', '1')
  assert.ok(readdirSync(join(redis.dir, 'appendonly')).some((f) => f.endsWith('.incr.aof')))
  assert.ok(existsSync(join(redis.dir, 'redis.pid')))
  client.destroy()
})

test('every write acknowledged before kill -9 is there after the restart (AOF reloaded)', async () => {
  const client = await connect()
  await client.del('counter')
  let acknowledged = 0
  let stop = false
  // Writes in flight while the process dies: the count that came back is a floor for what survives,
  // and at most the requests sent can have been applied.
  const writer = (async () => {
    for (let i = 0; i < 100000 && !stop; i++) {
      try {
        acknowledged = await client.incr('counter')
      } catch (e) {
        return
      }
    }
  })()
  assert.ok(await until(() => acknowledged >= 200, 10000), 'writes are going through')
  const pid = redis.pid
  await redis.kill()
  stop = true
  await writer
  client.destroy()
  assert.equal(await ping(redis.port), false, 'nothing answers on the port after kill -9')
  await redis.start()
  assert.notEqual(redis.pid, pid)
  const again = await connect()
  const survived = +(await again.get('counter'))
  assert.ok(survived >= acknowledged, `survived ${survived} of ${acknowledged} acknowledged`)
  assert.ok(survived <= acknowledged + 1, 'at most the one write in flight is applied without its reply')
  again.destroy()
})

test('stop (SIGTERM) and start keep the data too; wipe() starts with none', async () => {
  const client = await connect()
  await client.set('kept', 'yes')
  client.destroy()
  await redis.stop()
  await redis.start()
  const again = await connect()
  assert.equal(await again.get('kept'), 'yes')
  again.destroy()
  await redis.wipe()
  const fresh = await connect()
  assert.equal(await fresh.get('kept'), null)
  fresh.destroy()
})

test('pause() freezes it (SIGSTOP) with its port open, resume() lets it answer again', async () => {
  redis.pause()
  try {
    assert.equal(await ping(redis.port), false, 'no PONG within 1 s while frozen')
  } finally {
    redis.resume()
  }
  assert.ok(await until(() => ping(redis.port), 5000))
})

test('refuses to signal a process it did not start', async () => {
  const { signal } = await import('../../support/processes.mjs')
  assert.throws(() => signal({ pid: process.pid }, 'SIGSTOP'), /not a running process this test started/)
})

test('startRedisCluster: three masters on loopback serve every slot; remove() stops them by pid', async () => {
  const cluster = await startRedisCluster()
  const { nodes } = cluster
  try {
    assert.equal(new Set(cluster.pids).size, 3)
    assert.deepEqual(
      cluster.addresses,
      nodes.map((n) => '127.0.0.1:' + n.port),
    )
    const client = createCluster({ rootNodes: cluster.rootNodes })
    client.on('error', () => {})
    await client.connect()
    try {
      assert.equal(client.masters.length, 3)
      const served = client.slots.reduce((n, shard) => n + (shard ? 1 : 0), 0)
      assert.equal(served, 16384, 'every slot has a master')
      // Keys spread over the three shards; each is read back through the shard that holds it.
      const shards = new Set()
      for (let i = 0; i < 30; i++) {
        await client.set('k{' + i + '}', String(i))
        assert.equal(await client.get('k{' + i + '}'), String(i))
        shards.add(
          client.slots[await client.sendCommand('k', false, ['CLUSTER', 'KEYSLOT', 'k{' + i + '}'])].master.port,
        )
      }
      assert.equal(shards.size, 3, 'keys on all three masters')
      await assert.rejects(client.sendCommand('a{1}', false, ['EVAL', 'return 1', '2', 'a{1}', 'a{2}']), /CROSSSLOT/)
      for (const n of nodes) {
        const own = createClient({ url: n.url })
        own.on('error', () => {})
        await own.connect()
        assert.match(await own.sendCommand(['CLUSTER', 'INFO']), /cluster_state:ok/)
        const file = (await own.configGet('cluster-config-file'))['cluster-config-file']
        assert.equal(file, join(n.dir, 'nodes-' + n.port + '.conf'))
        own.destroy()
      }
    } finally {
      await client.close()
    }
  } finally {
    await cluster.remove()
  }
  for (const n of nodes) {
    assert.equal(n.child, undefined, 'stopped: port ' + n.port)
    assert.equal(await ping(n.port), false)
    assert.equal(existsSync(n.dir), false, 'its dir deleted')
  }
})
