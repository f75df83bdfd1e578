// The Redis adapter (src/server/cluster/redis.ts) against a real redis-server: a URL connects
// through node-redis loaded on demand, binary stays binary, scripts survive an emptied cache.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { startRedis } from '../../support/redis.mjs'
import {
  connectRedis,
  fromNodeRedis,
  loadScripts,
  runScript,
  Script,
  type RedisLink,
} from '../../../src/server/cluster/redis'
import { APPEND, ROOM_APPEND } from '../../../src/server/cluster/lua'
import { until } from '../../support/processes.mjs'
import { LifelineError } from '../../../src/protocol/errors'
import { destroyAfterQuit } from './redis-helpers'

let redis: Awaited<ReturnType<typeof startRedis>>
let link: RedisLink
before(async () => {
  redis = await startRedis()
  link = await connectRedis(redis.url)
})
after(async () => {
  await link.quit()
  await redis.remove()
})

test('connectRedis(url) connects; bulk replies come back as Buffers, bytes intact', async () => {
  const bytes = Buffer.from([0, 0xff, 0xc3, 0x28, 10])
  assert.equal(String(await link.command(['SET', 'bin', bytes])), 'OK')
  assert.deepEqual(await link.command(['GET', 'bin']), bytes)
  assert.equal(await link.command(['INCR', 'n']), 1)
})

test('replies node-redis turns into objects come back flat, as Redis sent them', async () => {
  await link.command(['HSET', 'h', 'a', '1', 'b', '2'])
  const flat = ((await link.command(['HGETALL', 'h'])) as Buffer[]).map(String)
  assert.deepEqual(flat, ['a', '1', 'b', '2'])
})

test('runScript: EVALSHA, and EVAL when Redis has lost its script cache', async () => {
  const script = new Script('echo', "return {'ok', ARGV[1], #KEYS}")
  assert.deepEqual((await runScript(link, script, ['k'], ['x'])) as unknown[], [Buffer.from('ok'), Buffer.from('x'), 1])
  await link.command(['SCRIPT', 'FLUSH'])
  assert.deepEqual(await link.command(['SCRIPT', 'EXISTS', script.sha]), [0])
  assert.equal(String(((await runScript(link, script, [], ['y'])) as unknown[])[1]), 'y')
  assert.deepEqual(await link.command(['SCRIPT', 'EXISTS', script.sha]), [1])
})

test("a script error rejects with Redis' message", async () => {
  await assert.rejects(
    runScript(link, new Script('bad', 'return redis.call("NOPE")'), [], []),
    /Unknown Redis command|unknown command/i,
  )
})

test('fromNodeRedis refuses what is not a node-redis client, with a stable code', () => {
  for (const bad of [null, {}, { sendCommand() {} }, 'redis://x'])
    assert.throws(
      () => fromNodeRedis(bad),
      (e: unknown) => e instanceof LifelineError && e.code == 'LL_ERR_INVALID_OPTION',
    )
})

test('loadScripts puts every script in the script cache: a first EVALSHA needs no second round trip', async () => {
  await link.command(['SCRIPT', 'FLUSH'])
  await loadScripts(link)
  assert.deepEqual(await link.command(['SCRIPT', 'EXISTS', APPEND.sha, ROOM_APPEND.sha]), [1, 1])
})

test('subscribe and unsubscribe, plain and sharded (SSUBSCRIBE), on the duplicate connection', async () => {
  const heard: string[] = []
  await link.subscribe('plain', (m) => heard.push('plain ' + m))
  await link.subscribe('shard', (m) => heard.push('shard ' + m), true)
  await link.command(['PUBLISH', 'plain', '1'])
  await link.command(['SPUBLISH', 'shard', '2'])
  await until(() => heard.length == 2, 2000)
  await link.unsubscribe!('plain')
  await link.unsubscribe!('shard', true)
  assert.deepEqual(await link.command(['PUBLISH', 'plain', '3']), 0, 'nobody listens')
  assert.deepEqual(await link.command(['SPUBLISH', 'shard', '4']), 0, 'nobody listens')
  assert.deepEqual(heard, ['plain 1', 'shard 2'])
})

// A stop that gives up on Redis (cluster/node.ts close) calls destroy() after quit(): a graceful
// close draining a reply that never comes reports `isOpen` false, and destroy() used to skip it.
test('destroy() after a quit() that waits on a frozen Redis ends both connections and the quit', async () => {
  const own = await connectRedis(redis.url)
  await own.subscribe('x', () => {})
  await redis.pause()
  try {
    await destroyAfterQuit(own, ['PING'])
  } finally {
    await redis.resume()
  }
  // Redis, thawed, hears the connections go as it catches up.
  let clients: string[] = []
  const list = async () =>
    (clients = String(await link.command(['CLIENT', 'LIST']))
      .trim()
      .split('\n'))
  const left = await until(async () => (await list()).length == 2, 2000)
  assert.ok(left, 'only the file link (and its subscriber) is left:\n' + clients.join('\n'))
})
