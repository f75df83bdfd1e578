// Server memory per 1,000 idle sessions: for each case a fresh server process with only that
// case's server, its memory after two full GCs, then again once `count` idle clients (held by a
// second Node process) are all counted as sessions by the server.
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startServers, startIdleClients } from './child.mjs'

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** Wait until the server counts `n` sessions (it may register them a moment after the client opens). */
async function sessionsReach(servers, key, n, ms) {
  const end = Date.now() + ms
  let seen = 0
  while (Date.now() < end) {
    seen = (await servers.ask('sessions')).sessions[key]
    if (seen >= n) return seen
    await sleep(100)
  }
  return seen
}

/** Measure one case; resolves to deltas in bytes per `count` sessions, or `{ error }`. */
export async function idleMemory(c, count) {
  const servers = await startServers([c.server])
  let clients
  try {
    const before = (await servers.ask('mem')).mem
    clients = await startIdleClients(c.name, servers.ports, count)
    const sessions = await sessionsReach(servers, c.server, count, 20000)
    const after = (await servers.ask('mem')).mem
    const per = (k) => ((after[k] - before[k]) * 1000) / count
    return {
      count,
      sessions,
      how: clients.how,
      rss: per('rss'),
      heapUsed: per('heapUsed'),
      external: per('external'),
      before,
      after,
    }
  } catch (e) {
    return { count, error: e.message }
  } finally {
    if (clients) await clients.stop()
    await servers.stop()
  }
}

/** Every case in turn (each in its own processes, so one cannot inflate another). */
export async function allIdleMemory(cases, count, log) {
  const out = {}
  // An idle session holds no message: the transfer case's memory is the websocket case's.
  for (const c of cases.filter((c) => !c.name.endsWith('-transfer'))) {
    const t0 = Date.now()
    out[c.name] = await idleMemory(c, count)
    const r = out[c.name]
    const what = r.error
      ? 'FAILED ' + r.error
      : `${(r.rss / 1e6).toFixed(1)} MB RSS, ${(r.heapUsed / 1e6).toFixed(1)} MB heap per 1k (${r.sessions} sessions)`
    log(`  ${c.label.padEnd(22)} ${what} in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
  }
  return out
}

// Run alone, after `npm run build`: `node bench/memory.mjs [case ...] [--count N]` prints the
// memory section only (every case by default, 1,000 sessions each) and the raw figures as JSON.
if (process.argv[1] && resolve(process.argv[1]) == fileURLToPath(import.meta.url)) {
  const { CASES, PLAN } = await import('./cases.mjs')
  const args = process.argv.slice(2)
  const at = args.indexOf('--count')
  const count = at >= 0 ? Number(args.splice(at, 2)[1]) : PLAN.idle
  const cases = CASES.filter((c) => !args.length || args.includes(c.name))
  const out = await allIdleMemory(cases, count, console.error)
  console.log(JSON.stringify(out, null, 1))
}
