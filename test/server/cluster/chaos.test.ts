// The randomized fault test (issue 26): per seed, in a process of its own (test/support/chaos-run.ts),
// a real redis-server (appendfsync always), three node processes, each reaching Redis through a TCP
// relay of its own, behind HAProxy round robin with no stickiness. Raw-protocol peers on WebSocket,
// stream and polling exchange numbered messages both ways while a seed's schedule of faults (kill -9
// and restart, SIGSTOP/SIGCONT around the lease, a Redis kill -9 and restart, a node's link to Redis
// cut) strikes at points of the flow's progress. The checker (test/support/chaos.ts) judges the
// record; this file asserts it found nothing.
//
//   LL_CHAOS_SEED=1234 npm test -- test/server/cluster/chaos.test.ts   replays seed 1234 (or 1,2,3)
//   LL_CHAOS_SEEDS=20 ...                                                 draws 20 new seeds
//
// A plain `npm test` runs seeds 2 and 5 (between them every kind of fault: kill -9, a freeze about
// as long as the lease and one longer, a Redis restart, a cut) and one new seed, about 25 s each.
// Seeds that drew a Redis restart used to fail (issue 26: a WebSocket session closed with `gap
// after N`, 20 replies lost on stream or polling, a session silent for good); seeds 1-10 failed 5
// of 10 before the fixes. A run of several seeds used to hang as the process exited: a redis-server
// killed -9 left its stderr pipe open in an AOF-rewrite child (test/support/redis.mjs closes it),
// and still did now and then with its main thread spinning: each seed now runs in a process of its
// own, which exits once it has printed its summary, and is killed with what it started (its process
// group) if it has not within SEED_MS.
// The checker and the relay are tested in every run (chaos-support.test.ts).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { within } from '../../support/processes.mjs'

const RUNNER = join(dirname(fileURLToPath(import.meta.url)), '../../support/chaos-run.ts')
/** A seed's run, from start to exit: setup, a flow of at most 30 s, the owners' check, teardown. */
const SEED_MS = 90000

/** Seeds every run has: between them every kind of fault (see the schedule each prints). */
const FIXED = [2, 5]
const fresh = (n: number) => Array.from({ length: n }, () => Math.floor(Math.random() * 2 ** 31))
const seeds = process.env.LL_CHAOS_SEED
  ? process.env.LL_CHAOS_SEED.split(',').map(Number)
  : process.env.LL_CHAOS_SEEDS
    ? fresh(+process.env.LL_CHAOS_SEEDS)
    : [...FIXED, ...fresh(1)]

for (const seed of seeds)
  test(`chaos seed ${seed} (replay: LL_CHAOS_SEED=${seed})`, { timeout: SEED_MS + 10000 }, async () => {
    // Its own process group: on the deadline it goes with everything it started.
    const child = spawn(process.execPath, ['--import', 'tsx', RUNNER, String(seed)], {
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true,
    })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)))
    const inTime = await within(exited, SEED_MS)
    if (!inTime) {
      process.kill(-child.pid!, 'SIGKILL')
      await exited
    }
    console.log(out.trimEnd())
    const line = /^CHAOS (.*)$/m.exec(out)
    const replay = `seed ${seed} (replay: LL_CHAOS_SEED=${seed})`
    assert.ok(line, `${replay}: no summary, ${inTime ? 'its run failed' : `not done within ${SEED_MS} ms`}`)
    const problems = JSON.parse(line[1]).problems as string[]
    assert.deepEqual(problems, [], `${replay}: ${problems.join('\n')}`)
  })
