#!/usr/bin/env node
// `npm run bench`: Lifeline against raw WebSocket and its peers, same run, same machine.
//
//   npm run bench                              everything (builds first)
//   node bench/run.mjs raw lifeline-stream     only those browser cases (no memory section)
//
// Progress goes to stderr; the table, the goals and the notes to stdout. Raw numbers land in
// bench/results/latest.json, charts in bench/results/index.html (and index.png).
import { writeFileSync, mkdirSync } from 'node:fs'
import { cpus } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CASES, PLAN } from './cases.mjs'
import { startServers } from './child.mjs'
import { startWeb, stopBrowsers, screenshot, chromiumVersion } from './web.mjs'
import { interference } from './interference.mjs'
import { allIdleMemory } from './memory.mjs'
import { figures, rows, goals } from './summary.mjs'
import {
  table,
  goalLines,
  noteLines,
  interferenceLines,
  pairedLines,
  handlerPairedLines,
  burstPairedLines,
} from './report.mjs'
import { html, pageHeight } from './chart.mjs'

const started = Date.now()
const results = join(dirname(fileURLToPath(import.meta.url)), 'results')
const progress = (...a) => console.error(...a)
const secs = (t0) => ((Date.now() - t0) / 1000).toFixed(1) + ' s'
const only = process.argv.slice(2)
const cases = CASES.filter((c) => !only.length || only.includes(c.name))

// Chromium runs detached (its own process group, so it can be killed as a whole): make sure no
// way out of this process leaves one behind (a closed stdout pipe ends it through 'exit' too).
process.on('exit', stopBrowsers)
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => process.exit(130))

/** Every case in its own fresh Chromium, one after the other, against one server process. */
async function browserCases(web, ports) {
  const pages = {}
  for (const c of cases) {
    const t0 = Date.now()
    try {
      const query = { case: c.name, ports: JSON.stringify(ports), plan: JSON.stringify(PLAN) }
      if (c.kind == 'websocket' && c.name != 'raw') query.paired = 1
      pages[c.name] = await web.runPage(query, 180000)
    } catch (e) {
      pages[c.name] = { case: c.name, errors: ['page: ' + e.message] }
    }
    const errors = pages[c.name].errors
    progress(`  ${c.label.padEnd(22)} ${secs(t0)}${errors.length ? '  (' + errors.join('; ') + ')' : ''}`)
  }
  return pages
}

async function main() {
  progress(`bench: ${cases.length} browser cases in headless Chromium, servers in their own process`)
  const servers = await startServers()
  const web = await startWeb({ cpu: async () => (await servers.ask('cpu')).cpu })
  let pages, inter, memory
  try {
    pages = await browserCases(web, servers.ports)
    progress('interference cases')
    inter = only.length
      ? { skipped: 'only some cases asked for' }
      : await interference(web, servers.ports.lifeline, progress)
  } finally {
    await web.close()
    await servers.stop()
  }
  progress(`server memory, ${PLAN.idle} idle clients per transport`)
  memory = only.length ? {} : await allIdleMemory(cases, PLAN.idle, progress)

  const figs = Object.fromEntries(cases.map((c) => [c.name, figures(pages[c.name], memory[c.name], PLAN)]))
  const goalList = goals(figs)
  const notes = noteLines(figs)
  const interLines = interferenceLines(inter)
  const chromium = chromiumVersion()
  const how = [
    ...new Set(
      Object.values(memory)
        .map((m) => m.how)
        .filter(Boolean),
    ),
  ].join('; ')
  const elapsed = (Date.now() - started) / 1000

  const out = [
    '',
    table(rows(figs)).join('\n'),
    '',
    'Ratios are plain quotients (this / raw WebSocket, this / best peer of the same kind); ' +
      'read them with "lower/higher is better".',
    '! after a value: some rounds failed and only the completed ones count (see "Failures and oddities").',
    `Server memory: ${PLAN.idle} idle clients per transport held from Node over loopback (${how || 'not run'}), ` +
      `each server in a fresh process; delta of RSS and V8 heap after two full GCs.`,
    `Server CPU: process.cpuUsage() of the server process across the 100 B bursts, per 10,000 messages echoed.`,
    '',
    'Round trips alternating with a raw WebSocket in the same page ' +
      '(the ratio to trust; each alone drifts between runs):',
    ...pairedLines(figs),
    "The same in the reply-from-handler pattern (each echo's handler sends the next, on the other connection):",
    ...handlerPairedLines(figs),
    '1 MiB as 16 x 64 KiB, bursts alternating with a raw WebSocket in the same page:',
    ...burstPairedLines(figs),
    '',
    'Goals:',
    ...goalLines(goalList),
    '',
    'Failures and oddities:',
    ...(notes.length ? notes : ['  none']),
    '',
    'Interference cases: time from `new Lifeline()` to first message:',
    ...interLines,
    '',
    `Chromium ${chromium}, Node ${process.version}, ${cpus().length} x ${cpus()[0].model.trim()}.`,
  ]
  console.log(out.join('\n'))

  mkdirSync(results, { recursive: true })
  const meta = {
    date: new Date().toISOString(),
    node: process.version,
    chromium,
    cpus: cpus().length,
    cpu: cpus()[0].model.trim(),
    elapsedS: elapsed,
  }
  writeFileSync(
    join(results, 'latest.json'),
    JSON.stringify({ meta, plan: PLAN, figures: figs, goals: goalList, pages, memory, interference: inter }, null, 1),
  )
  const metaLine =
    `${meta.date.slice(0, 16).replace('T', ' ')} UTC · Chromium ${chromium} headless · ` +
    `Node ${process.version} · ${meta.cpus} cores · run took ${elapsed.toFixed(0)} s`
  const page = join(results, 'index.html')
  writeFileSync(
    page,
    html({ figs, goals: goalList, meta: metaLine, notes, interference: interLines, paired: pairedLines(figs) }),
  )
  const png = await screenshot(page, join(results, 'index.png'), 1290, pageHeight(notes.length, interLines.length + 4))
  console.log(`Wrote bench/results/latest.json, index.html${png ? ', index.png' : ' (no PNG: the screenshot failed)'}.`)
  const total = (Date.now() - started) / 1000
  console.log(`Elapsed: ${total.toFixed(0)} s (${(total / 60).toFixed(1)} min).`)
}

main().catch((e) => {
  stopBrowsers()
  console.error(e)
  process.exit(1)
})
