// Apache Tomcat 10 as an upstream nobody here wrote: its Jakarta WebSocket examples webapp,
// run from a CATALINA_BASE of our own on a free loopback port, as a child process we stop by pid.
//
//   const tc = await startTomcat()   // { port, echoUrl, stop(), restart() }
//   ensureTomcat()                   // installs the Debian packages as root; false if it cannot
import { spawn, spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import WebSocket from 'ws'
import { freePort } from './ports.cjs'

export const CATALINA_HOME = '/usr/share/tomcat10'
export const EXAMPLES = '/usr/share/tomcat10-examples/examples'
const CONF = '/etc/tomcat10'
/** The annotated echo endpoint (websocket/echo/EchoAnnotation.java in the examples webapp). */
export const ECHO_PATH = '/examples/websocket/echoAnnotation'
const PACKAGES = ['tomcat10', 'tomcat10-examples', 'default-jre-headless']
const START_DEADLINE = 60000

const installed = () =>
  existsSync(join(CATALINA_HOME, 'bin', 'catalina.sh')) &&
  existsSync(join(EXAMPLES, 'WEB-INF')) &&
  existsSync(CONF) &&
  spawnSync('sh', ['-c', 'command -v java'], { stdio: 'ignore' }).status == 0

let why = ''
let tried = false
/** Why Tomcat is not available ('' when it is), for skip messages. */
export const tomcatUnavailable = () => why

/**
 * Make sure Java, Tomcat 10 and its examples are installed: with apt-get when root, otherwise
 * report what to run. Returns false (and sets {@link tomcatUnavailable}) when they cannot be had.
 */
export function ensureTomcat({ quiet = false } = {}) {
  if (installed()) return !(why = '')
  // One attempt per process: a failed install is not retried for every test.
  if (tried) return false
  tried = true
  if (
    process.getuid &&
    process.getuid() == 0 &&
    spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status == 0
  ) {
    if (!quiet) console.log(`[tomcat] installing ${PACKAGES.join(' ')} with apt-get`)
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
    // Other checkouts may be running apt at the same moment: wait for its lock rather than fail.
    const lock = ['-o', 'DPkg::Lock::Timeout=180']
    const stdio = quiet ? 'ignore' : 'inherit'
    spawnSync('apt-get', [...lock, 'update', '-qq'], { stdio, env })
    spawnSync('apt-get', [...lock, 'install', '-y', '-qq', '--no-install-recommends', ...PACKAGES], { stdio, env })
    if (installed()) return !(why = '')
  }
  why =
    'Tomcat 10 is not installed and could not be installed here: ' +
    `run \`sudo apt-get install -y ${PACKAGES.join(' ')}\``
  if (!quiet) console.log('[tomcat] ' + why)
  return false
}

/**
 * Debian's server.xml made ours: the one HTTP connector on `port` and loopback only, no shutdown
 * port, no AJP or TLS connectors, no auto-deploy scanning.
 */
function serverXml(xml, port) {
  xml = xml.replace(/<!--[\s\S]*?-->/g, '')
  xml = xml.replace(/<Server\b[^>]*>/, '<Server port="-1" shutdown="SHUTDOWN">')
  let http = 0
  xml = xml.replace(/<Connector\b[\s\S]*?(\/>|<\/Connector>)/g, (c) => {
    if (/AJP|SSLEnabled|8443/i.test(c) || http++) return ''
    return (
      `<Connector port="${port}" address="127.0.0.1" protocol="HTTP/1.1" ` +
      'connectionTimeout="20000" maxParameterCount="1000" />'
    )
  })
  if (!http)
    xml = xml.replace(
      /<Engine\b/,
      `<Connector port="${port}" address="127.0.0.1" protocol="HTTP/1.1" connectionTimeout="20000" />\n    <Engine`,
    )
  return xml.replace(/autoDeploy="true"/g, 'autoDeploy="false"')
}

function makeBase(port) {
  const base = mkdtempSync(join(tmpdir(), 'lifeline-tomcat-'))
  cpSync(CONF, join(base, 'conf'), { recursive: true, dereference: true })
  for (const d of ['logs', 'temp', 'webapps', 'work', 'conf/Catalina/localhost'])
    mkdirSync(join(base, d), { recursive: true })
  writeFileSync(join(base, 'conf', 'server.xml'), serverXml(readFileSync(join(CONF, 'server.xml'), 'utf8'), port))
  // Debian ships this context too; written here so the examples are there whatever conf holds.
  writeFileSync(
    join(base, 'conf', 'Catalina', 'localhost', 'examples.xml'),
    `<Context path="/examples" docBase="${EXAMPLES}">\n  <Resources allowLinking="true"/>\n</Context>\n`,
  )
  return base
}

/** Resolves once `url` accepts a WebSocket, rejects at the deadline or when the process dies. */
async function waitForEcho(url, child, deadline) {
  let lastError = ''
  while (Date.now() < deadline) {
    if (child.exitCode != null || child.signalCode)
      throw new Error('Tomcat exited (' + (child.exitCode ?? child.signalCode) + ') before ' + url + ' was up')
    const ok = await new Promise((resolve) => {
      const ws = new WebSocket(url, { handshakeTimeout: 2000 })
      ws.on('open', () => (ws.close(), resolve(true)))
      ws.on('error', (e) => ((lastError = e.message), resolve(false)))
    })
    if (ok) return
    await new Promise((r) => setTimeout(r, 150))
  }
  throw new Error('Tomcat did not accept ' + url + ' within ' + START_DEADLINE + ' ms: ' + lastError)
}

/** One round trip of a text and a binary message through the echo endpoint. */
export function checkEcho(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url)
    const got = []
    const t = setTimeout(() => (ws.terminate(), reject(new Error('echo check timed out'))), 10000)
    ws.on('open', () => {
      ws.send('hello tomcat')
      ws.send(Buffer.from([0, 1, 254, 255]))
    })
    ws.on('message', (d, binary) => {
      got.push(binary ? 'bin:' + [...d].join(',') : 'text:' + d)
      if (got.length < 2) return
      clearTimeout(t)
      ws.close()
      if (got[0] == 'text:hello tomcat' && got[1] == 'bin:0,1,254,255') resolve()
      else reject(new Error('echo endpoint answered ' + JSON.stringify(got)))
    })
    ws.on('error', (e) => (clearTimeout(t), reject(e)))
  })
}

const running = new Set()
let hooked = false
function hookExit() {
  if (hooked) return
  hooked = true
  // A test run that ends or is interrupted must not leave a JVM behind.
  process.on('exit', () => {
    for (const c of running) if (c.exitCode == null) c.kill('SIGKILL')
  })
}

/**
 * Start Tomcat with its examples on a free port (or `port`). Resolves once the echo endpoint
 * echoes text and binary.
 */
export async function startTomcat({ port } = {}) {
  if (!installed()) throw new Error(why || 'Tomcat 10 is not installed: call ensureTomcat() first')
  port = port || (await freePort())
  const base = makeBase(port)
  const echoUrl = `ws://127.0.0.1:${port}${ECHO_PATH}`
  let child
  let log = ''
  const launch = async () => {
    child = spawn(join(CATALINA_HOME, 'bin', 'catalina.sh'), ['run'], {
      env: {
        ...process.env,
        CATALINA_HOME,
        CATALINA_BASE: base,
        CATALINA_TMPDIR: join(base, 'temp'),
        CATALINA_PID: '',
        // Small and quick to start: these are tests, not production.
        JAVA_OPTS:
          '-Xms32m -Xmx192m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto ' +
          '-Djava.security.egd=file:/dev/./urandom',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    running.add(child)
    hookExit()
    const keep = (d) => (log = (log + d).slice(-8000))
    child.stdout.on('data', keep)
    child.stderr.on('data', keep)
    child.on('exit', () => running.delete(child))
    try {
      await waitForEcho(echoUrl, child, Date.now() + START_DEADLINE)
      await checkEcho(echoUrl)
    } catch (e) {
      await stop()
      throw new Error(e.message + '\n--- Tomcat output ---\n' + log)
    }
  }
  /** Kill the JVM by its pid (SIGTERM: Tomcat's shutdown hook runs), SIGKILL after 10 s. */
  const stop = () =>
    new Promise((resolve) => {
      const c = child
      if (!c || c.exitCode != null || c.signalCode) return resolve()
      const t = setTimeout(() => c.kill('SIGKILL'), 10000)
      c.once('exit', () => (clearTimeout(t), resolve()))
      process.kill(c.pid, 'SIGTERM')
    })
  await launch()
  return {
    port,
    echoUrl,
    base,
    get pid() {
      return child.pid
    },
    get running() {
      return child.exitCode == null && !child.signalCode
    },
    stop,
    /** Stop if running, then start again on the same port. */
    restart: async () => {
      await stop()
      await launch()
    },
    /** Stop and remove the CATALINA_BASE. */
    dispose: async () => {
      await stop()
      rmSync(base, { recursive: true, force: true })
    },
    log: () => log,
  }
}
