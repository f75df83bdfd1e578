// A real HAProxy (Debian's 2.6) balancing round robin over N backends with no stickiness: no
// cookie, no source hashing, each request of a keep-alive client connection balanced on its own.
// With `{ mode: 'tcp' }` it is an L4 balancer instead (what an NLB does): each client connection
// relayed over an upstream connection of its own, bytes untouched.
// In the foreground in master-worker mode (-W -db: the master writes the pid file and stops its
// worker on SIGTERM), with its own config and pid file in a temp dir, stopped by its pid.
//
//   const lb = await startHaproxy([9001, 9002, 9003])
//   const l4 = await startHaproxy([9001], { mode: 'tcp' })
//   ... connect to http://127.0.0.1:${lb.port}/rt ...
//   await lb.stop()
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { accepts, freePort, stopChild, track, until } from './processes.mjs'

/** The haproxy binary: `HAPROXY_BIN`, /usr/sbin/haproxy, or on the PATH; undefined when missing. */
export function haproxyBinary() {
  if (process.env.HAPROXY_BIN) return existsSync(process.env.HAPROXY_BIN) ? process.env.HAPROXY_BIN : undefined
  if (existsSync('/usr/sbin/haproxy')) return '/usr/sbin/haproxy'
  const found = spawnSync('sh', ['-c', 'command -v haproxy'], { encoding: 'utf8' })
  return (found.status == 0 && found.stdout.trim()) || undefined
}

/**
 * Debian's /etc/haproxy/haproxy.cfg `defaults` (httplog, 5 s connect, 50 s client and server),
 * `balance roundrobin` and health-checked servers with `option redispatch`, as a deployment that
 * wants a dead node routed around has. Logs go to stderr, one line per request (per connection in
 * `mode tcp`).
 * - `mode http` adds what HAProxy's WebSocket guide adds (`option http-server-close`, `timeout
 *   tunnel 1h`) and `option forwardfor`.
 * - `mode tcp` is an L4 balancer as the configuration guide writes one: `option tcplog`, the same
 *   timeouts, nothing that reads HTTP.
 */
function haproxyConf({ dir, port, backends, mode }) {
  const http = mode == 'http'
  const servers = backends.map((p, i) => `  server n${i + 1} 127.0.0.1:${p} check inter 1s fall 2 rise 1`)
  const lines = (...l) => (http ? l.map((x) => `  ${x}\n`).join('') : '')
  return `# Written by test/support/haproxy.mjs; everything it writes stays in ${dir}.
global
  maxconn 4096
  pidfile ${join(dir, 'haproxy.pid')}
  log stderr format raw local0 info

defaults
  log global
  mode ${mode}
  option ${http ? 'httplog' : 'tcplog'}
  option dontlognull
  timeout connect 5000
  timeout client 50000
  timeout server 50000
${lines('timeout tunnel 1h', 'timeout http-request 10s')}  retries 3
  option redispatch

frontend fe_lifeline
  bind 127.0.0.1:${port}
  default_backend be_lifeline

backend be_lifeline
  balance roundrobin
${lines('option http-server-close', 'option forwardfor')}${servers.join('\n')}
`
}

/**
 * Start HAProxy on a free loopback port in front of 127.0.0.1:`backends[i]`; resolves once it
 * accepts connections.
 * @param {number[]} backends ports
 * @param {{ mode?: 'http' | 'tcp' }} [opts] `mode`: `http` (the default) or `tcp` (L4)
 */
export async function startHaproxy(backends, { mode = 'http' } = {}) {
  if (mode != 'http' && mode != 'tcp') throw new Error(`startHaproxy: mode ${JSON.stringify(mode)}: http or tcp`)
  const bin = haproxyBinary()
  if (!bin) throw new Error('haproxy is not installed: run `sudo apt-get install -y haproxy` (or set HAPROXY_BIN)')
  if (!backends.length || !backends.every((p) => p > 0 && p < 65536)) throw new Error('startHaproxy: bad backend ports')
  for (let attempt = 1; ; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), 'lifeline-haproxy-'))
    const port = await freePort()
    const config = join(dir, 'haproxy.cfg')
    writeFileSync(config, haproxyConf({ dir, port, backends, mode }))
    const child = track(spawn(bin, ['-W', '-db', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] }))
    let log = ''
    child.stderr.on('data', (d) => (log += d))
    const gone = () => child.exitCode != null || child.signalCode != null
    // The master writes its pid after the listeners are bound: an answer on the port is then ours.
    const pidFile = join(dir, 'haproxy.pid')
    const ours = () => existsSync(pidFile) && +readFileSync(pidFile, 'utf8') == child.pid
    const up = await until(async () => ours() && (await accepts(port)), 5000, gone)
    if (up) {
      return {
        port,
        pid: child.pid,
        dir,
        config: readFileSync(config, 'utf8'),
        /** Request log so far: one line per request, naming the backend (`be_lifeline/n2`). */
        log: () => log,
        async stop() {
          await stopChild(child, 'SIGTERM')
          // The master can exit a few ms before its worker has closed the listener (seen in 1 stop of 6).
          const closed = await until(async () => !(await accepts(port)), 5000)
          rmSync(dir, { recursive: true, force: true })
          if (!closed) throw new Error(`haproxy (pid ${child.pid}) exited but port ${port} still accepts after 5 s`)
        },
      }
    }
    if (!gone()) await stopChild(child, 'SIGKILL')
    rmSync(dir, { recursive: true, force: true })
    if (/cannot bind|Address already in use/i.test(log) && attempt < 5) continue
    throw new Error(`haproxy did not start on port ${port}: ${log.trim().slice(-2000) || 'no port within 5 s'}`)
  }
}
