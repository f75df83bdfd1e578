// `npm run demo:cluster`: the chat on three nodes in cluster mode (docs/scaling.md), sharing one
// real redis-server, behind HAProxy round robin with no stickiness. Each node is this file run
// with LIFELINE_REDIS_URL (it then serves the examples with the chat in cluster mode). Prints the
// URL to open; `k <n>` + Enter kills node n with kill -9, `s <n>` starts it again; Ctrl-C stops all.
import { createInterface } from 'node:readline'
import { start } from './serve.mjs'

if (process.env.LIFELINE_REDIS_URL) {
  // One node: the examples' server on its port, the chat sharing its sessions through Redis.
  const cluster = { redis: process.env.LIFELINE_REDIS_URL, nodeLease: 2000 }
  const app = await start({ port: +process.env.LIFELINE_NODE_PORT, chat: { cluster } })
  process.stdout.write(`ready ${app.port} ${process.pid}\n`)
  process.on('SIGTERM', () => app.close().then(() => process.exit(0)))
} else {
  const { startRedis } = await import('../test/support/redis.mjs')
  const { startNodes } = await import('../test/support/nodes.mjs')
  const { startHaproxy } = await import('../test/support/haproxy.mjs')
  const redis = await startRedis()
  const nodes = await startNodes(3, { LIFELINE_REDIS_URL: redis.url }, new URL(import.meta.url).pathname)
  const lb = await startHaproxy(nodes.list.map((n) => n.port))
  const url = `http://127.0.0.1:${lb.port}/chat/`
  console.log(`Redis on ${redis.url}; nodes ${nodes.list.map((n) => `${n.name} :${n.port}`).join(', ')}`)
  console.log(`\nOpen ${url} in two windows (HAProxy round robin, no stickiness), and chat.`)
  console.log('Type `k 2` + Enter to kill -9 node n2, `s 2` to start it again; Ctrl-C stops everything.')
  const stop = async () => {
    await lb.stop()
    await nodes.stopAll()
    await redis.remove()
    process.exit(0)
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  createInterface({ input: process.stdin }).on('line', async (line) => {
    const [cmd, n] = line.trim().split(/\s+/)
    const i = +n - 1
    if (!(i >= 0 && i < nodes.list.length)) return console.log('nodes are 1-' + nodes.list.length)
    if (cmd == 'k') await nodes.kill(i)
    else if (cmd == 's') await nodes.start(i).catch((e) => console.log(e.message))
    console.log(`${nodes.list[i].name}: ${nodes.list[i].child ? 'running' : 'stopped'}`)
  })
}
