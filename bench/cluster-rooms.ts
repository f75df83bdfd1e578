// Rooms as logs against rooms as per-member logs (issue 27), in one run: the room broadcast of
// bench/cluster-room.ts over 3 node processes on one redis-server, first with peers that do not
// send their room positions (each member's own log in Redis, as before), then with peers that do
// (the room's one log). Prints per broadcast the Redis CPU and the time to the last member.
//
//   node --import tsx bench/cluster-rooms.ts [--sessions 3000] [--broadcasts 5]
import { createClient } from 'redis'
import { startRedis } from '../test/support/redis.mjs'
import { room } from './cluster-room'

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf('--' + name)
  return i > 0 ? Number(process.argv[i + 1]) : fallback
}
const ROOM = { sessions: arg('sessions', 3000), nodes: 3, broadcasts: arg('broadcasts', 5), size: 100 }
const redis = await startRedis()
const client = createClient({ url: redis.url })
await client.connect()
const info = (section: string) => client.info(section)
console.log(`redis-server ${/redis_version:(\S+)/.exec(await info('server'))![1]}, appendfsync ${redis.fsync}`)
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
for (const positions of [false, true]) {
  const r = await room({ redisUrl: redis.url, info, ...ROOM, positions })
  const b = r.broadcasts
  const label = positions ? "room's one log (clients send g)" : "each member's own log (old clients)"
  const list = (xs: number[], digits: number) => xs.map((x) => x.toFixed(digits)).join(', ')
  const cpu = b.map((x) => x.redisCpuMs)
  const last = b.map((x) => x.lastDeliveryMs)
  console.log(`${label}: ${r.connected} members`)
  console.log(`  Redis CPU per broadcast, median ${median(cpu).toFixed(1)} ms (${list(cpu, 1)})`)
  console.log(`  Redis CPU for the acks after it, median ${median(b.map((x) => x.ackCpuMs)).toFixed(1)} ms`)
  console.log(`  last delivery, median ${median(last).toFixed(0)} ms (${list(last, 0)})`)
  console.log(`  Redis memory held, median ${median(b.map((x) => x.memoryHeld))} B`)
  console.log(`  complete ${b.every((x) => x.complete)}; trouble ${JSON.stringify(r.trouble)}`)
  await client.flushAll()
}
await client.quit()
await redis.remove()
process.exit(0)
