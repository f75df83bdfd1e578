// The tables bench/rooms-vs-socketio.ts prints: each run's figures per system and pattern, then
// the ranges over the runs and issue 27's goals, Lifeline against socket.io in the same run.
import { percentiles } from './cluster-peers'
import { BACKLOG_MS, type Pattern, type SystemResult } from './rooms-system'

export interface Run {
  run: number
  date: string
  /** `uptime`'s load averages when the run started. */
  load: number[]
  systems: SystemResult[]
}

/** Issue 27's goals: Lifeline over socket.io in the same run, at most. */
const GOALS = { redisCpu: 2, latency: 1.5 }

const row = (cells: string[], widths: number[]) =>
  cells.map((c, i) => (i ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ')

function table(head: string[], rows: string[][]) {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
  console.log(row(head, widths))
  for (const r of rows) console.log(row(r, widths))
}

const fixed = (x: number | undefined, digits: number) =>
  x == undefined ? '-' : Number.isFinite(x) ? x.toFixed(digits) : 'never'
const name = (s: SystemResult) => (s.kind == 'lifeline' ? 'Lifeline' : 'socket.io') + (s.redis ? ', Redis' : ', memory')

/** The figures of one pattern that the tables show. */
export function figures(s: SystemResult, p: Pattern) {
  const { p50, p99 } = percentiles(p.lastMs)
  const cpu = p.redisCpuMs
  const idle = p.redisIdleCpuMsPerS
  return {
    p50,
    p99,
    missing: p.missingByNode.reduce((a, b) => a + b, 0),
    redisCpuPerBroadcast: cpu == undefined ? undefined : cpu / p.count,
    // Less what Redis spends idle (Lifeline's leases and upkeep), over the pattern's length.
    redisCpuLessIdle: cpu == undefined || idle == undefined ? undefined : (cpu - (idle * p.windowMs) / 1000) / p.count,
    redisBytesPerMessage: p.redisMemory == undefined ? undefined : p.redisMemory / p.count,
    nodeCpuPerDeliveryUs: (p.nodeCpuMs * 1000) / p.deliveries,
    maxRssMiB: Math.max(...s.maxRss.slice(0, s.redis ? -1 : undefined)) / 2 ** 20,
  }
}

/** The commands Redis ran most over a pattern, per room message. */
const calls = (p: Pattern) =>
  (p.redisCalls || [])
    .slice(0, 6)
    .map(([c, n]) => `${c} ${(n / p.count).toFixed(1)}`)
    .join(', ')

export function printRun(r: Run): void {
  console.log(`\nRun ${r.run}, ${r.date}, load average ${r.load.map((x) => x.toFixed(2)).join(' ')}`)
  for (const s of r.systems) if (s.error) console.log(`  FAILED ${name(s)}: ${s.error}`)
  const rows: string[][] = []
  for (const s of r.systems)
    for (const p of s.patterns) {
      const f = figures(s, p)
      const t = p.trouble
      const trouble = [t.gaps, t.duplicates, t.skipped, t.backwards, t.closeFrames, t.closed].some((x) => x)
      rows.push([
        name(s),
        p.name,
        `${s.joined}/${s.members}`,
        `${p.complete}/${p.count}`,
        f.missing ? `${f.missing} (${p.missingByNode.join('/')})` : '0',
        fixed(f.p50, 0),
        fixed(f.p99, 0),
        fixed(p.drainMs, 0),
        fixed(f.redisCpuPerBroadcast, 2),
        fixed(f.redisCpuLessIdle, 2),
        fixed(p.redisIdleCpuMsPerS, 1),
        fixed(f.redisBytesPerMessage, 0),
        fixed(s.redisPerIdleMember, 0),
        fixed(f.nodeCpuPerDeliveryUs, 2),
        fixed((p.benchCpuMs / p.windowMs) * 100, 0),
        fixed(f.maxRssMiB, 0),
        fixed(p.maxLateMs, 0),
        (trouble ? JSON.stringify(t) : '') + (p.errors.length ? ` ${p.errors.length} send errors: ${p.errors[0]}` : ''),
      ])
    }
  table(
    [
      'system',
      'pattern',
      'members',
      'complete',
      'missing',
      'p50 ms',
      'p99 ms',
      'drain ms',
      'Redis CPU ms/msg',
      'less idle',
      'Redis idle ms/s',
      'Redis B/msg',
      'Redis B/member',
      'node CPU µs/delivery',
      'bench CPU %',
      'peak RSS MiB',
      'late ms',
      'trouble',
    ],
    rows,
  )
  for (const s of r.systems)
    for (const p of s.patterns)
      if (p.redisCalls) console.log(`  Redis commands per message, ${name(s)}, ${p.name}: ${calls(p)}`)
}

const range = (xs: Array<number | undefined>, digits: number) => {
  const ok = xs.filter((x): x is number => x != undefined)
  if (!ok.length) return '-'
  const lo = fixed(Math.min(...ok), digits)
  const hi = fixed(Math.max(...ok), digits)
  return lo == hi ? lo : `${lo}–${hi}`
}

/** Each system and pattern with its figures in every run, in the order of the first run. */
function byRow(runs: Run[]) {
  const rows = new Map<string, Array<{ s: SystemResult; p: Pattern }>>()
  for (const r of runs)
    for (const s of r.systems)
      for (const p of s.patterns) {
        const key = name(s) + ' | ' + p.name
        rows.set(key, [...(rows.get(key) || []), { s, p }])
      }
  return rows
}

export function printSummary(runs: Run[]): void {
  console.log(`\nRanges over ${runs.length} run(s)`)
  const rows = [...byRow(runs)].map(([key, xs]) => {
    const f = xs.map(({ s, p }) => figures(s, p))
    return [
      key,
      range(
        f.map((x) => x.p50),
        0,
      ),
      range(
        f.map((x) => x.p99),
        0,
      ),
      range(
        f.map((x) => x.missing),
        0,
      ),
      range(
        f.map((x) => x.redisCpuPerBroadcast),
        2,
      ),
      range(
        f.map((x) => x.redisBytesPerMessage),
        0,
      ),
      range(
        xs.map(({ s }) => s.redisPerIdleMember),
        0,
      ),
      range(
        f.map((x) => x.nodeCpuPerDeliveryUs),
        2,
      ),
      range(
        f.map((x) => x.maxRssMiB),
        0,
      ),
    ]
  })
  table(
    [
      'system | pattern',
      'p50 ms',
      'p99 ms',
      'missing',
      'Redis CPU ms/msg',
      'Redis B/msg',
      'Redis B/member',
      'node CPU µs/delivery',
      'peak RSS MiB',
    ],
    rows,
  )

  console.log(`\nIssue 27's goals, Lifeline / socket.io in the same run (per run)`)
  const goals: string[][] = []
  for (const r of runs) {
    const find = (kind: string, redis: boolean) => r.systems.find((s) => s.kind == kind && s.redis == redis)
    for (const redis of [true, false]) {
      const [l, s] = [find('lifeline', redis), find('socketio', redis)]
      if (!l || !s) continue
      l.patterns.forEach((lp, i) => {
        const sp = s.patterns[i]
        if (!sp) return
        const [fl, fs] = [figures(l, lp), figures(s, sp)]
        const ratio = (a?: number, b?: number) => (a == undefined || b == undefined ? undefined : a / b)
        const cpu = redis
          ? ratio(fl.redisCpuPerBroadcast, fs.redisCpuPerBroadcast)
          : ratio(fl.nodeCpuPerDeliveryUs, fs.nodeCpuPerDeliveryUs)
        const p50 = ratio(fl.p50, fs.p50)
        const p99 = ratio(fl.p99, fs.p99)
        const backlog = lp.complete == lp.count && lp.drainMs <= BACKLOG_MS
        const verdict = (x: number | undefined, goal: number) => (x == undefined ? '' : x <= goal ? ' met' : ' NOT met')
        goals.push([
          String(r.run),
          (redis ? 'Redis, ' : 'memory, ') + lp.name,
          fixed(cpu, 2) + (redis ? verdict(cpu, GOALS.redisCpu) : ''),
          fixed(p50, 2) + verdict(p50, GOALS.latency),
          fixed(p99, 2) + verdict(p99, GOALS.latency),
          backlog ? 'none' : `BACKLOG (${lp.complete}/${lp.count} complete, drain ${fixed(lp.drainMs, 0)} ms)`,
        ])
      })
    }
  }
  table(
    [
      'run',
      'pattern',
      `CPU ratio (Redis ≤ ${GOALS.redisCpu}; memory: node CPU/delivery)`,
      `p50 ≤ ${GOALS.latency}`,
      `p99 ≤ ${GOALS.latency}`,
      'Lifeline backlog',
    ],
    goals,
  )
}
