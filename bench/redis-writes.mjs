// What one write costs Redis, against a PUBLISH (issue 27's Redis CPU goal): Redis's CPU (INFO cpu,
// user + sys) per command at `--rate` a second, on a fresh redis-server per `appendfsync` setting
// (test/support/redis.mjs), with 3 subscribers on the channel (socket.io's adapter publishes to one
// per node). `idle` is the same loop sending nothing: Redis's own ticks and the INFO reads, to
// subtract from the others.
//
//   node bench/redis-writes.mjs [--count 200] [--rate 10]
import { createClient } from 'redis'
import { startRedis } from '../test/support/redis.mjs'

const arg = (name, fallback) => {
  const i = process.argv.indexOf('--' + name)
  return i > 0 ? Number(process.argv[i + 1]) : fallback
}
const COUNT = arg('count', 200)
const RATE = arg('rate', 10)
const PAYLOAD = 'x'.repeat(100)

/** Each case's command, as a room message would be: plain, kept in a Stream, or both in one script. */
const CASES = {
  publish: ['PUBLISH', 'ch', PAYLOAD],
  xadd: ['XADD', 'log', 'MAXLEN', '~', '1000', '*', 'd', PAYLOAD],
  'xadd+publish script': [
    'EVAL',
    "redis.call('XADD', KEYS[1], 'MAXLEN', '~', '1000', '*', 'd', ARGV[1]) return redis.call('PUBLISH', 'ch', ARGV[1])",
    '1',
    'log2',
    PAYLOAD,
  ],
  idle: null,
}

for (const fsync of ['always', 'everysec']) {
  const redis = await startRedis({ fsync })
  const clients = []
  try {
    const c = createClient({ url: redis.url })
    c.on('error', () => {})
    await c.connect()
    clients.push(c)
    for (let i = 0; i < 3; i++) {
      const s = c.duplicate()
      s.on('error', () => {})
      await s.connect()
      await s.subscribe('ch', () => {})
      clients.push(s)
    }
    const cpuMs = async () => {
      const t = await c.info('cpu')
      const field = (k) => Number(new RegExp(k + ':([\\d.]+)').exec(t)[1])
      return (field('used_cpu_sys') + field('used_cpu_user')) * 1000
    }
    const per = {}
    for (const [name, command] of Object.entries(CASES)) {
      const before = await cpuMs()
      for (let i = 0; i < COUNT; i++) {
        if (command) await c.sendCommand(command)
        await new Promise((ok) => setTimeout(ok, 1000 / RATE))
      }
      per[name] = ((await cpuMs()) - before) / COUNT
    }
    for (const [name, ms] of Object.entries(per)) {
      const net = name == 'idle' ? '' : `, ${(ms - per.idle).toFixed(3)} ms less idle`
      const ratio =
        name == 'idle' || name == 'publish'
          ? ''
          : `, ${((ms - per.idle) / (per.publish - per.idle)).toFixed(1)}× publish`
      console.log(`appendfsync ${fsync.padEnd(8)} ${name.padEnd(20)} ${ms.toFixed(3)} ms${net}${ratio}`)
    }
  } finally {
    for (const x of clients) await x.close().catch(() => {})
    await redis.remove()
  }
}
