// A real redis-server (Debian's 7.0) for the cluster tests: its own free port on 127.0.0.1, its own
// temp dir holding config, AOF, log and pid file, in the foreground, stopped by its pid.
//
//   const redis = await startRedis()                  // appendonly yes, appendfsync always
//   ... connect to redis.url ...
//   await redis.kill()       // kill -9: what was acknowledged must be in the AOF
//   await redis.start()      // same port and dir: the AOF is loaded again
//   await redis.remove()     // stop and delete the dir
//
//   const cluster = await startRedisCluster()         // three masters, every slot served
//   ... createCluster({ rootNodes: cluster.rootNodes }) ...
//   await cluster.remove()   // stop all three by pid, delete their dirs
import { execFile, spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { exited, freePort, freeze, stopChild, thaw, track, until } from './processes.mjs'

/** The redis-server binary: `REDIS_SERVER_BIN`, /usr/bin/redis-server, or on the PATH; undefined when missing. */
export function redisBinary() {
  if (process.env.REDIS_SERVER_BIN)
    return existsSync(process.env.REDIS_SERVER_BIN) ? process.env.REDIS_SERVER_BIN : undefined
  if (existsSync('/usr/bin/redis-server')) return '/usr/bin/redis-server'
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' })
  return (found.status == 0 && found.stdout.trim()) || undefined
}

/** How long a start may take, AOF loading included. */
const START_MS = 10000

/**
 * The configuration a durable deployment uses: the AOF on, fsync'd before every write is
 * acknowledged (`appendfsync always`; `fsync: 'everysec'` or `'no'` for the weaker settings), no
 * RDB snapshots to muddy what survives, loopback only.
 */
function redisConf({ port, dir, fsync, cluster }) {
  return `# Written by test/support/redis.mjs; everything it writes stays in ${dir}.
bind 127.0.0.1
port ${port}
daemonize no
pidfile ${join(dir, 'redis.pid')}
dir ${dir}
logfile ${join(dir, 'redis.log')}
save ""
appendonly yes
appendfsync ${fsync}
appenddirname appendonly
# Redis 7 refuses to write new AOF data if a rewrite is slow; keep the rewrite out of the tests' way.
auto-aof-rewrite-percentage 0
${cluster ? clusterConf(port, dir) : ''}`
}

/** A cluster node's lines: its own nodes-<port>.conf in its dir; a node unreachable for 2 s counts as failing. */
function clusterConf(port, dir) {
  return `cluster-enabled yes
cluster-config-file ${join(dir, 'nodes-' + port + '.conf')}
cluster-node-timeout 2000
`
}

/**
 * Start a redis-server; resolves once it answers PING with PONG (not LOADING). `cluster`: with
 * `cluster-enabled yes`, serving no slot until `startRedisCluster` gives it some.
 * @param {{ fsync?: 'always' | 'everysec' | 'no', cluster?: boolean }} [options]
 */
export async function startRedis({ fsync = 'always', cluster = false } = {}) {
  const bin = redisBinary()
  if (!bin) throw new Error('redis-server is not installed: run `sudo apt-get install -y redis-server`')
  const dir = mkdtempSync(join(tmpdir(), 'lifeline-redis-'))
  const port = await freePort()
  writeFileSync(join(dir, 'redis.conf'), redisConf({ port, dir, fsync, cluster }))
  const redis = {
    port,
    dir,
    fsync,
    url: `redis://127.0.0.1:${port}`,
    /** The running redis-server's ChildProcess (undefined while stopped). */
    child: undefined,
    get pid() {
      return redis.child && redis.child.pid
    },
    /** Start it (again) on the same port and dir; with the AOF on, what it held is loaded back. */
    start: () => launch(bin, redis),
    /** SIGTERM (Redis flushes the AOF and exits), then waits for the exit. */
    stop: () => halt(redis, 'SIGTERM'),
    /** kill -9: no chance to flush anything beyond what fsync already wrote. */
    kill: () => halt(redis, 'SIGKILL'),
    /** SIGSTOP: connections stay open, nothing is answered. */
    pause: () => freeze(redis.child),
    /** SIGCONT after `pause`. */
    resume: () => thaw(redis.child),
    /**
     * Stop it and start it again with its data files deleted: what a Redis that lost its state
     * looks like (a machine crash under weaker fsync, a failover to a replica that lagged).
     */
    async wipe() {
      await redis.kill()
      rmSync(join(dir, 'appendonly'), { recursive: true, force: true })
      await redis.start()
    },
    /** Stop it and delete its dir. */
    async remove() {
      await redis.stop()
      rmSync(dir, { recursive: true, force: true })
    },
    /** The server's log so far (for failure messages). */
    log: () => (existsSync(join(dir, 'redis.log')) ? readFileSync(join(dir, 'redis.log'), 'utf8') : ''),
  }
  await redis.start()
  return redis
}

async function launch(bin, redis) {
  if (redis.child) throw new Error(`redis on port ${redis.port} is already running (pid ${redis.pid})`)
  const child = track(spawn(bin, [join(redis.dir, 'redis.conf')], { stdio: ['ignore', 'ignore', 'pipe'] }))
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d))
  redis.child = child
  child.once('exit', () => {
    if (redis.child == child) redis.child = undefined
    // A child it forked (an AOF rewrite) may outlive it with this pipe's other end: without this
    // the pipe stayed open and held the test process at its exit (chaos.test.ts, several seeds).
    child.stderr.destroy()
  })
  const gone = () => child.exitCode != null || child.signalCode != null
  const ready = await until(() => ping(redis.port), START_MS, gone)
  const pidFile = join(redis.dir, 'redis.pid')
  // The pid file says the PONG came from our process, not from another that took the port.
  if (ready && existsSync(pidFile) && +readFileSync(pidFile, 'utf8') == child.pid) return
  if (!gone()) await stopChild(child, 'SIGKILL')
  throw new Error(`redis-server did not start on port ${redis.port}: ${(stderr + redis.log()).trim().slice(-2000)}`)
}

async function halt(redis, sig) {
  const child = redis.child
  if (!child) return
  await stopChild(child, sig)
  await exited(child)
}

/** Does the Redis on `port` answer PING with PONG? (While loading the AOF it answers LOADING.) */
export function ping(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port })
    let reply = ''
    const done = (ok) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(1000, () => done(false))
    socket.on('connect', () => socket.write('PING\r\n'))
    socket.on('data', (d) => {
      reply += d
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'))
    })
    socket.on('error', () => done(false))
  })
}

/** The redis-cli binary (Debian's redis-tools, which redis-server depends on), next to redis-server. */
export function redisCliBinary() {
  const server = redisBinary()
  const cli = server && join(dirname(server), 'redis-cli')
  return cli && existsSync(cli) ? cli : undefined
}

/** How long `redis-cli --cluster create` and the nodes' agreement on every slot may take. */
const CLUSTER_MS = 20000

/**
 * A Redis Cluster of three masters and no replicas on loopback: three `startRedis({ cluster: true })`
 * (each its port, dir, nodes-<port>.conf and pid), joined by `redis-cli --cluster create`; resolves
 * once every node's `CLUSTER INFO` says `cluster_state:ok`. On failure the nodes are stopped.
 * @param {{ fsync?: 'always' | 'everysec' | 'no' }} [options]
 */
export async function startRedisCluster({ fsync = 'always' } = {}) {
  const cli = redisCliBinary()
  if (!cli) throw new Error('redis-cli is not installed: run `sudo apt-get install -y redis-tools`')
  const nodes = []
  const cluster = {
    nodes,
    /** `host:port` of each master. */
    get addresses() {
      return nodes.map((n) => '127.0.0.1:' + n.port)
    },
    /** node-redis `createCluster({ rootNodes })`, the `cluster.redis` option of a Lifeline server. */
    get rootNodes() {
      return nodes.map((n) => ({ url: n.url }))
    },
    /** The redis-server processes' pids. */
    get pids() {
      return nodes.map((n) => n.pid)
    },
    /** Stop every node by its pid and delete its dir. */
    remove: () => Promise.all(nodes.map((n) => n.remove())),
  }
  try {
    for (let i = 0; i < 3; i++) nodes.push(await startRedis({ fsync, cluster: true }))
    const create = ['--cluster', 'create', ...cluster.addresses, '--cluster-replicas', '0', '--cluster-yes']
    await run(cli, create)
    const ok = async () => {
      for (const n of nodes)
        if (!/cluster_state:ok/.test(await run(cli, ['-p', String(n.port), 'cluster', 'info']))) return false
      return true
    }
    if (!(await until(ok, CLUSTER_MS))) throw new Error('the Redis Cluster did not reach cluster_state:ok')
  } catch (e) {
    await cluster.remove()
    throw e
  }
  return cluster
}

/** Run `bin` with `args` (bounded by CLUSTER_MS); resolves to what it printed, rejects on failure. */
function run(bin, args) {
  return new Promise((resolve, reject) =>
    execFile(bin, args, { timeout: CLUSTER_MS }, (e, stdout, stderr) =>
      e ? reject(new Error(`${bin} ${args.join(' ')}: ${e.message} ${stderr}`)) : resolve(stdout),
    ),
  )
}
