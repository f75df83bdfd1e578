// Real proxies and fault proxies for the proxy tests to put between a client and a Lifeline
// server: nginx in four configurations (a good reverse proxy and three ways of getting it
// wrong) and three fault-injecting TCP proxies (test/support/faults.mjs). All on loopback.
//
//   const p = await startProxy('nginx-buffering', server.port)
//   ... connect to http://127.0.0.1:${p.port}/rt ...
//   await p.stop()
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { blackhole, cut, delay } from './faults.mjs'

/** What each nginx kind adds to `location /`; every kind forwards Host and allows big uploads. */
const NGINX = {
  // The baseline good proxy: HTTP/1.1 upstream, WebSocket upgrades forwarded, nothing buffered.
  nginx: () => [...HTTP11, ...UPGRADE, 'proxy_buffering off;', 'proxy_read_timeout 1h;', 'proxy_send_timeout 1h;'],
  // Upgrade and Connection are hop-by-hop, so nginx drops them unless told: the server sees a
  // plain GET for the WebSocket and refuses it; plain HTTP works.
  'nginx-no-upgrade': () => [...HTTP11, 'proxy_buffering off;', 'proxy_read_timeout 1h;'],
  // nginx's defaults plus small buffers, deaf to X-Accel-Buffering: a streamed response is held
  // until a 4 KB buffer fills or the response ends. HTTP/1.0 upstream because over 1.1 nginx
  // passes chunks on as they come; 1.0 cannot upgrade either.
  'nginx-buffering': () => [
    'proxy_http_version 1.0;',
    'proxy_buffering on;',
    'proxy_ignore_headers X-Accel-Buffering;',
    'proxy_buffer_size 4k;',
    'proxy_buffers 4 4k;',
    'proxy_busy_buffers_size 4k;',
    'proxy_read_timeout 1h;',
  ],
  // A good proxy with a short idle timeout: any connection silent for `readTimeout` seconds, an
  // upgraded WebSocket or a held long-poll alike, is cut.
  'nginx-timeout': ({ readTimeout = 10 }) => [...HTTP11, ...UPGRADE, 'proxy_buffering off;', `proxy_read_timeout ${readTimeout}s;`],
}
const HTTP11 = ['proxy_http_version 1.1;']
const UPGRADE = ['proxy_set_header Upgrade $http_upgrade;', 'proxy_set_header Connection $connection_upgrade;']

const FAULTS = { 'fault-blackhole': blackhole, 'fault-delay': delay, 'fault-cut': cut }

/** Every kind `startProxy` knows. */
export const KINDS = [...Object.keys(NGINX), ...Object.keys(FAULTS)]

const running = new Set()

/**
 * Start a proxy of `kind` on a free loopback port in front of 127.0.0.1:`upstreamPort`;
 * resolves once the port accepts connections. `opts`: `readTimeout` (s, nginx-timeout),
 * `delayMs` (fault-delay), `cutAfterMs` (fault-cut). nginx kinds also give the master's `pid`
 * and `dir`, the temp dir holding config, logs and buffers (removed by `stop()`).
 * @example
 * const p = await startProxy('nginx-timeout', server.port, { readTimeout: 2 })
 * @returns {Promise<{ kind: string, port: number, pid?: number, dir?: string, stop(): Promise<void> }>}
 */
export async function startProxy(kind, upstreamPort, opts = {}) {
  if (!(upstreamPort > 0 && upstreamPort < 65536)) throw new Error(`startProxy(${kind}): bad upstream port ${upstreamPort}`)
  let p
  if (NGINX[kind]) p = await startNginx(kind, upstreamPort, NGINX[kind](opts))
  else if (FAULTS[kind]) p = { kind, ...(await FAULTS[kind](upstreamPort, opts)) }
  else throw new Error(`startProxy: unknown kind ${JSON.stringify(kind)}; use one of ${KINDS.join(', ')}`)
  const stop = p.stop
  let stopped
  p.stop = () => (stopped = stopped || (running.delete(p), stop()))
  running.add(p)
  return p
}

/** Stop every proxy still running. */
export async function stopAllProxies() {
  await Promise.all([...running].map((p) => p.stop()))
}

/** The nginx binary: `NGINX_BIN`, /usr/sbin/nginx, or on the PATH; undefined when missing. */
export function nginxBinary() {
  if (process.env.NGINX_BIN) return existsSync(process.env.NGINX_BIN) ? process.env.NGINX_BIN : undefined
  if (existsSync('/usr/sbin/nginx')) return '/usr/sbin/nginx'
  const r = spawnSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' })
  return (r.status == 0 && r.stdout.trim()) || undefined
}

function nginxConf(dir, port, upstreamPort, location) {
  return `# Written by test/support/proxies.mjs; everything it writes stays in ${dir}.
${process.getuid && process.getuid() == 0 ? 'user root;  # workers as nobody could not write the temp dirs below' : ''}
daemon off;
master_process on;
worker_processes 1;
pid ${dir}/nginx.pid;
lock_file ${dir}/nginx.lock;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  client_max_body_size 16m;
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://127.0.0.1:${upstreamPort};
      proxy_set_header Host $http_host;
      ${location.join('\n      ')}
    }
  }
}
`
}

async function startNginx(kind, upstreamPort, location) {
  const bin = nginxBinary()
  if (!bin) throw new Error('nginx is not installed: run `sudo apt-get install -y nginx` (or set NGINX_BIN)')
  // Another checkout may take the free port before nginx binds it: then try another.
  for (let attempt = 1; ; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), 'lifeline-nginx-'))
    for (const d of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, d))
    const port = await freePort()
    writeFileSync(join(dir, 'nginx.conf'), nginxConf(dir, port, upstreamPort, location))
    const child = spawn(bin, ['-p', dir + '/', '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    let gone = false
    const exited = new Promise((resolve) => child.once('exit', () => resolve((gone = true))))
    // nginx writes its pid file only after binding, so an answer on the port is then ours and
    // not another process's that took the port first.
    const up = await until(() => !gone && existsSync(join(dir, 'nginx.pid')) && accepts(port), () => gone, 5000)
    if (up) {
      killOnExit.add(child.pid)
      const stop = async () => {
        killOnExit.delete(child.pid)
        // TERM is nginx's fast shutdown: the master stops its workers, then exits.
        if (child.exitCode == null && child.signalCode == null) child.kill('SIGTERM')
        if (!(await within(exited, 5000))) {
          child.kill('SIGKILL')
          await exited
        }
        rmSync(dir, { recursive: true, force: true })
      }
      return { kind, port, pid: child.pid, dir, stop }
    }
    if (child.exitCode == null) child.kill('SIGKILL')
    await exited
    const log = stderr + readIf(join(dir, 'error.log'))
    rmSync(dir, { recursive: true, force: true })
    if (/in use/.test(log) && attempt < 5) continue
    throw new Error(`nginx (${kind}) did not start on port ${port}: ${log.trim() || 'no port within 5 s'}`)
  }
}

const readIf = (file) => (existsSync(file) ? readFileSync(file, 'utf8') : '')

/** Does `port` accept a connection? */
function accepts(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => (s.destroy(), resolve(true)))
    s.on('error', () => resolve(false))
  })
}

/** Polls `cond` every 20 ms: true once it holds, false once `fail()` holds or after `ms`. */
async function until(cond, fail, ms) {
  const end = Date.now() + ms
  while (Date.now() < end && !fail()) {
    if (await cond()) return true
    await new Promise((r) => setTimeout(r, 20))
  }
  return false
}

/** `promise` settled within `ms`? */
function within(promise, ms) {
  let t
  return Promise.race([promise.then(() => true), new Promise((r) => (t = setTimeout(() => r(false), ms)))]).finally(() => clearTimeout(t))
}

/** A free loopback port (several checkouts may test at once). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
    srv.on('error', reject)
  })
}

// nginx in the foreground outlives a test process that dies without stopping it: ask it to go.
const killOnExit = new Set()
process.on('exit', () => {
  for (const pid of killOnExit) {
    try {
      process.kill(pid, 'SIGTERM')
    } catch (e) {
      // Already gone.
    }
  }
})
