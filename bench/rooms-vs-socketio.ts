// Rooms against socket.io in one run (issue 27; bench/README.md "Rooms against socket.io"):
// a 100-byte message to every member of one room, `--rate` a second for `--seconds`, to
// `--members` raw WebSocket peers (bench/room-peers.ts) that speak each protocol as its real
// client does:
// - over Redis: Lifeline in cluster mode and socket.io 4.8 with @socket.io/redis-adapter, each on
//   its own fresh redis-server (`appendfsync always`), 3 node processes holding the members round
//   robin and a 4th holding none; the publisher once on a node with members, once on the 4th;
// - in one process, in memory: LifelineServer and socket.io alone.
// Per system and pattern: p50 / p99 of the time from a message's send to the LAST member's
// delivery, what was missing at the deadline, Redis CPU per message (INFO cpu) and Redis memory
// per message and per idle member (used_memory), the nodes' CPU per delivery and the largest
// node's peak RSS. `--runs N` repeats it all (the order of Lifeline and socket.io alternates) and
// prints the ranges and issue 27's goals. Writes bench/results/rooms.json.
//
//   node --import tsx bench/rooms-vs-socketio.ts [--members 10000] [--rate 10] [--seconds 20] [--runs 1]
//     [--only lifeline-redis,socketio-redis,lifeline-memory,socketio-memory] [--fsync everysec]
//
// `--fsync everysec` runs both Redis with `appendfsync everysec`: what a durable write costs Redis
// beyond its fsync (socket.io's PUBLISH writes nothing to the AOF either way).
import os from 'node:os'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DRAIN_MS, measure, type Options } from './rooms-system'
import { printRun, printSummary, type Run } from './rooms-report'
import type { Kind } from './room-peers'

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf('--' + name)
  return i > 0 ? Number(process.argv[i + 1]) : fallback
}
const O = { members: arg('members', 10000), rate: arg('rate', 10), seconds: arg('seconds', 20), size: 100 }
const RUNS = arg('runs', 1)
const FSYNC =
  process.argv.includes('--fsync') && process.argv[process.argv.indexOf('--fsync') + 1] == 'everysec'
    ? 'everysec'
    : 'always'
/** `--only lifeline-redis,socketio-memory`: some of the four systems (while developing). */
const ONLY = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1].split(',') : undefined
/** Setting up one system (nodes, room, warm-ups, tearing down) may take this long, beyond its patterns. */
const SETUP_BUDGET_MS = 240000
/** Systems per run: Lifeline and socket.io, over Redis (2 patterns) and in memory (1). */
const SYSTEMS = 4
const PATTERNS = 3
const DEADLINE_MS = RUNS * (SYSTEMS * SETUP_BUDGET_MS + PATTERNS * 2 * (O.seconds * 1000 + DRAIN_MS + 10000))

// Whatever is running when the deadline passes or the bench is interrupted is stopped by its pid.
const running = new Set<() => Promise<void>>()
const track: Options['track'] = (stop) => {
  running.add(stop)
  return () => running.delete(stop)
}
async function abort(why: string): Promise<never> {
  console.error(`\nrooms bench: ${why}; stopping what it started`)
  await Promise.all([...running].map((stop) => stop().catch((e) => console.error(e))))
  process.exit(1)
}
const watchdog = setTimeout(() => abort(`not done within ${DEADLINE_MS / 1000} s`), DEADLINE_MS)
process.on('SIGINT', () => abort('interrupted'))
process.on('uncaughtException', (e) => abort('failed: ' + (e.stack || e)))
process.on('SIGTERM', () => abort('terminated'))

console.log(
  `Rooms: ${O.size} B to every member of one room, ${O.rate}/s for ${O.seconds} s, ${O.members} members; ` +
    `${RUNS} run(s), node ${process.version}, ${os.cpus().length} cores; deadline ${DEADLINE_MS / 1000} s`,
)
const runs: Run[] = []
for (let run = 1; run <= RUNS; run++) {
  const kinds: Kind[] = run % 2 ? ['lifeline', 'socketio'] : ['socketio', 'lifeline']
  const r: Run = { run, date: new Date().toISOString(), load: os.loadavg(), systems: [] }
  for (const redis of [true, false])
    for (const kind of kinds) {
      if (ONLY && !ONLY.includes(kind + (redis ? '-redis' : '-memory'))) continue
      const where = redis ? `over Redis (appendfsync ${FSYNC})` : 'in memory'
      console.log(`  run ${run}: ${kind}, ${where} (load ${os.loadavg()[0].toFixed(2)})`)
      r.systems.push(await measure({ ...O, kind, redis, track, fsync: FSYNC }))
    }
  printRun(r)
  runs.push(r)
}
printSummary(runs)
clearTimeout(watchdog)
const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'rooms.json')
mkdirSync(dirname(out), { recursive: true })
writeFileSync(out, JSON.stringify({ options: O, runs }, (_, v) => (v === Infinity ? 'never' : v), 2) + '\n')
console.log(`Wrote ${out}`)
process.exit(runs.some((r) => r.systems.some((s) => s.error)) ? 1 : 0)
