// Real proxies and fault proxies for the proxy tests to put between a client and a Lifeline
// server, all on loopback: nginx as people configure it (a good reverse proxy with each of the
// three usual `Host` lines, three ways of getting it wrong, and TLS in front of a plain-HTTP
// server), Apache httpd with its defaults, HAProxy rewriting `Host`, and fault-injecting TCP
// proxies (test/support/faults.mjs). Each real one runs in the foreground from a config in its
// own temp dir and is stopped by its pid (test/support/daemon.mjs).
//
//   const p = await startProxy('nginx-buffering', server.port)
//   ... connect to http://127.0.0.1:${p.port}/rt ...
//   await p.stop()
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { binary, freePort, startDaemon } from './daemon.mjs'
import { blackhole, cut, cutRandom, delay, midsession, oneway } from './faults.mjs'
import { randomNet } from './randomnet.mjs'
import { startHaproxy as startBalancer } from './haproxy.mjs'

export { freePort }

/**
 * What each nginx kind puts in `location /`, besides `proxy_pass`; every kind allows big uploads.
 * The first four pass the browser's `Host` on whole (`$http_host`, port included).
 */
const NGINX = {
  // The baseline good proxy: HTTP/1.1 upstream, WebSocket upgrades forwarded, nothing buffered.
  nginx: () => [
    HTTP_HOST,
    ...HTTP11,
    ...UPGRADE,
    'proxy_buffering off;',
    'proxy_read_timeout 1h;',
    'proxy_send_timeout 1h;',
  ],
  // Upgrade and Connection are hop-by-hop, so nginx drops them unless told: the server sees a
  // plain GET for the WebSocket and refuses it; plain HTTP works.
  'nginx-no-upgrade': () => [HTTP_HOST, ...HTTP11, 'proxy_buffering off;', 'proxy_read_timeout 1h;'],
  // nginx's defaults plus small buffers, deaf to X-Accel-Buffering: a streamed response is held
  // until a 4 KB buffer fills or the response ends. HTTP/1.0 upstream because over 1.1 nginx
  // passes chunks on as they come; 1.0 cannot upgrade either.
  'nginx-buffering': () => [
    HTTP_HOST,
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
  'nginx-timeout': ({ readTimeout = 10 }) => [
    HTTP_HOST,
    ...HTTP11,
    ...UPGRADE,
    'proxy_buffering off;',
    `proxy_read_timeout ${readTimeout}s;`,
  ],
  // The WebSocket proxy of nginx's own blog post and of most tutorials, copied as written:
  // `$host` is the browser's host name without its port. Buffering is left on (the default),
  // so streaming relies on the server's X-Accel-Buffering: no.
  'nginx-host': () => TUTORIAL,
  // The same without the Host line, as many configs are: nginx then sends `$proxy_host`, the
  // upstream's own address (127.0.0.1:<server port>), and no X-Forwarded-Host.
  'nginx-proxy-host': () => TUTORIAL.filter((line) => !/ Host /.test(line)),
  // The tutorial config behind `listen ... ssl` with a certificate the test makes: the page is
  // https:// and wss://, the upstream plain http:// and ws://.
  'nginx-tls': () => [...TUTORIAL, 'proxy_set_header X-Forwarded-Proto $scheme;'],
}
const HTTP_HOST = 'proxy_set_header Host $http_host;'
const HTTP11 = ['proxy_http_version 1.1;']
const UPGRADE = ['proxy_set_header Upgrade $http_upgrade;', 'proxy_set_header Connection $connection_upgrade;']
const TUTORIAL = [
  'proxy_http_version 1.1;',
  'proxy_set_header Upgrade $http_upgrade;',
  'proxy_set_header Connection "Upgrade";',
  'proxy_set_header Host $host;',
  'proxy_set_header X-Real-IP $remote_addr;',
  'proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
]
const TLS = new Set(['nginx-tls'])

const FAULTS = {
  'fault-blackhole': blackhole,
  'fault-delay': delay,
  'fault-cut': cut,
  'fault-oneway': oneway,
  'fault-midsession': midsession,
  'fault-cutrandom': cutRandom,
  'fault-random': randomNet,
}
const DAEMONS = { apache: startApache, 'haproxy-rewrite': startHaproxy, 'haproxy-tcp': startL4 }

/** Every kind `startProxy` knows. */
export const KINDS = [...Object.keys(NGINX), ...Object.keys(DAEMONS), ...Object.keys(FAULTS)]

/**
 * What `Host` each real kind sends the upstream, for a browser that asked for `host:port`
 * (`upstream` is 127.0.0.1:<server port>); `forwardedHost` is its X-Forwarded-Host, if any.
 */
export const FORWARDS = {
  nginx: { host: 'host:port' },
  'nginx-host': { host: 'host' },
  'nginx-proxy-host': { host: 'upstream' },
  'nginx-tls': { host: 'host' },
  apache: { host: 'upstream', forwardedHost: 'host:port' },
  'haproxy-rewrite': { host: 'upstream.internal' },
}

const running = new Set()

/**
 * Start a proxy of `kind` on a free loopback port in front of 127.0.0.1:`upstreamPort`;
 * resolves once the port accepts connections. `opts`: `readTimeout` (s, nginx-timeout),
 * `delayMs` (fault-delay), `cutAfterMs` (fault-cut), `afterMs` (fault-midsession), `minMs` and
 * `maxMs` (fault-cutrandom), `seed`, `odds` and `maxLatencyMs` (fault-random). `scheme` is
 * `https` for nginx-tls, else `http`. Real proxies also give their parent process's `pid` and
 * `dir`, the temp dir holding config, logs and buffers (removed by `stop()`).
 * @example
 * const p = await startProxy('nginx-timeout', server.port, { readTimeout: 2 })
 * @returns {Promise<{ kind: string, port: number, pid?: number, dir?: string, stop(): Promise<void> }>}
 */
export async function startProxy(kind, upstreamPort, opts = {}) {
  if (!(upstreamPort > 0 && upstreamPort < 65536))
    throw new Error(`startProxy(${kind}): bad upstream port ${upstreamPort}`)
  let p
  if (NGINX[kind]) p = await startNginx(kind, upstreamPort, NGINX[kind](opts))
  else if (DAEMONS[kind]) p = await DAEMONS[kind](kind, upstreamPort)
  else if (FAULTS[kind]) p = { kind, ...(await FAULTS[kind](upstreamPort, opts)) }
  else throw new Error(`startProxy: unknown kind ${JSON.stringify(kind)}; use one of ${KINDS.join(', ')}`)
  p.scheme = TLS.has(kind) ? 'https' : 'http'
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
export const nginxBinary = () => binary('nginx')
/** Apache httpd (Debian's apache2): `APACHE2_BIN`, /usr/sbin/apache2 or on the PATH. */
export const apacheBinary = () => binary('apache2')
/** HAProxy: `HAPROXY_BIN`, /usr/sbin/haproxy or on the PATH. */
export const haproxyBinary = () => binary('haproxy')

function nginxConf(dir, port, upstreamPort, location, tls) {
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
    listen 127.0.0.1:${port}${tls ? ' ssl' : ''};
${tls ? `    ssl_certificate ${dir}/cert.pem;\n    ssl_certificate_key ${dir}/key.pem;\n` : ''}    location / {
      proxy_pass http://127.0.0.1:${upstreamPort};
      ${location.join('\n      ')}
    }
  }
}
`
}

function startNginx(kind, upstreamPort, location) {
  const tls = TLS.has(kind)
  return startDaemon({
    kind,
    bin: nginxBinary(),
    install: 'nginx',
    pidFile: 'nginx.pid',
    setup(dir, port) {
      for (const d of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, d))
      if (tls) certificate(dir)
      writeFileSync(join(dir, 'nginx.conf'), nginxConf(dir, port, upstreamPort, location, tls))
    },
    args: (dir) => ['-p', dir + '/', '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')],
  })
}

/** A self-signed certificate for localhost and 127.0.0.1 in `dir` (cert.pem, key.pem), made with openssl. */
export function certificate(dir) {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  )
}

const APACHE_MODULES = '/usr/lib/apache2/modules'

/**
 * Apache httpd as Debian's `a2enmod proxy proxy_http` and Apache's reverse-proxy guide leave it:
 * `ProxyPass ... upgrade=websocket` (2.4.47+, mod_proxy_http tunnels the WebSocket itself) and
 * every default kept, so `ProxyPreserveHost Off` (Host is the upstream's address) and
 * `ProxyAddHeaders On` (X-Forwarded-For, -Host, -Server).
 */
function startApache(kind, upstreamPort) {
  const root = process.getuid && process.getuid() == 0
  return startDaemon({
    kind,
    bin: apacheBinary(),
    install: 'apache2',
    pidFile: 'httpd.pid',
    setup(dir, port) {
      const mod = (name) => `LoadModule ${name}_module ${APACHE_MODULES}/mod_${name}.so`
      writeFileSync(
        join(dir, 'httpd.conf'),
        `# Written by test/support/proxies.mjs; everything it writes stays in ${dir}.
ServerRoot ${dir}
ServerName localhost
PidFile ${dir}/httpd.pid
DefaultRuntimeDir ${dir}
Mutex file:${dir} default
ErrorLog ${dir}/error.log
LogLevel warn
${root ? 'User nobody\nGroup nogroup' : ''}
${mod('mpm_event')}
${mod('authz_core')}
${mod('proxy')}
${mod('proxy_http')}
Listen 127.0.0.1:${port}
<VirtualHost 127.0.0.1:${port}>
  ProxyPass "/" "http://127.0.0.1:${upstreamPort}/" upgrade=websocket
  ProxyPassReverse "/" "http://127.0.0.1:${upstreamPort}/"
</VirtualHost>
`,
      )
    },
    args: (dir) => ['-f', join(dir, 'httpd.conf'), '-DFOREGROUND'],
  })
}

/**
 * HAProxy in `mode tcp` (test/support/haproxy.mjs): an L4 balancer, each client connection relayed
 * over an upstream connection of its own. `stats.connections` counts the connections it logged
 * (one line each, once closed).
 */
async function startL4(kind, upstreamPort) {
  const lb = await startBalancer([upstreamPort], { mode: 'tcp' })
  return {
    kind,
    ...lb,
    get stats() {
      return { connections: (lb.log().match(/ fe_lifeline be_lifeline\/n1 /g) || []).length }
    },
  }
}

/**
 * HAProxy in `mode http` with the timeouts of its own configuration guide, rewriting `Host` to the
 * name the backend expects (`http-request set-header Host`, as for a backend served under its own
 * virtual host); no X-Forwarded-Host, as HAProxy sends none unless told.
 */
function startHaproxy(kind, upstreamPort) {
  return startDaemon({
    kind,
    bin: haproxyBinary(),
    install: 'haproxy',
    pidFile: 'haproxy.pid',
    errorLog: 'stderr',
    setup(dir, port) {
      writeFileSync(
        join(dir, 'haproxy.cfg'),
        `# Written by test/support/proxies.mjs; everything it writes stays in ${dir}.
global
  pidfile ${dir}/haproxy.pid
defaults
  mode http
  option forwardfor
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout tunnel 1h
frontend web
  bind 127.0.0.1:${port}
  default_backend app
backend app
  http-request set-header Host upstream.internal
  server app1 127.0.0.1:${upstreamPort}
`,
      )
    },
    // Master-worker in the foreground: it writes the pid file once bound; TERM stops both.
    args: (dir) => ['-W', '-db', '-f', join(dir, 'haproxy.cfg')],
  })
}
