// Interference cases: time from `new Lifeline()` (default options) to the first message, through
// real and fault-injecting proxies. The proxies come from test/support/proxies.mjs
// (`startProxy(kind, upstreamPort) -> { port, stop() }`), built on another branch: when that file
// is not in this checkout the section is skipped and says so.
import { existsSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const PROXIES = join(root, 'test', 'support', 'proxies.mjs')
export const KINDS = [
  'nginx',
  'nginx-no-upgrade',
  'nginx-buffering',
  'nginx-timeout',
  'fault-blackhole',
  'fault-delay',
  'fault-cut',
]
const TRIES = 3
const TRY_MS = 10000

/**
 * Run the section. `web` is the bench web server, `upstreamPort` the Lifeline echo server's port.
 * Resolves to `{ skipped }` or `{ results: [{ kind, ms[], transports[], errors[] }], unavailable }`.
 */
export async function interference(web, upstreamPort, log) {
  if (!existsSync(PROXIES))
    return { skipped: 'test/support/proxies.mjs is not in this checkout (the proxies are built on another branch)' }
  let startProxy
  try {
    ;({ startProxy } = await import(pathToFileURL(PROXIES).href))
  } catch (e) {
    return { skipped: 'test/support/proxies.mjs failed to load: ' + e.message }
  }
  if (typeof startProxy != 'function')
    return { skipped: 'test/support/proxies.mjs exports no startProxy(kind, upstreamPort)' }
  // Without a proxy first: the reference the other rows compare with.
  const targets = [{ kind: 'direct (no proxy)', port: upstreamPort }]
  const running = []
  const unavailable = {}
  try {
    for (const kind of KINDS) {
      try {
        const p = await startProxy(kind, upstreamPort)
        running.push(p)
        targets.push({ kind, port: p.port })
      } catch (e) {
        unavailable[kind] = e.message
      }
    }
    log(`  ${targets.length} targets, ${TRIES} tries each, ${TRY_MS / 1000} s deadline per try`)
    const query = { case: 'interference', targets: JSON.stringify(targets), tries: TRIES, tryMs: TRY_MS }
    const page = await web.runPage(query, targets.length * TRIES * (TRY_MS + 4000) + 30000)
    return { results: page.results || [], unavailable, errors: page.errors }
  } catch (e) {
    return { results: [], unavailable, skipped: 'interference page failed: ' + e.message }
  } finally {
    for (const p of running) await Promise.resolve(p.stop()).catch(() => {})
  }
}
