#!/usr/bin/env node
// Size report, measured the way users get the code: the script-tag build as shipped, and ESM
// imports bundled by esbuild (`--bundle --minify --format=esm`, as the peers in ../shared/PEERS.md
// were measured), eventemitter3 included; Phoenix and engine.io-client measured the same way in the
// same run. Gzip -9 and brotli 11. Each figure is printed with its change since the committed
// baseline (scripts/size-baseline.json; `node scripts/size.mjs --update` rewrites it).
//
//   npm run size
import { build } from 'esbuild'
import { gzipSync, brotliCompressSync, constants } from 'node:zlib'
import { readFileSync, writeFileSync, existsSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
/** The package's name, as an app imports it. */
const PACKAGE = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).name
const BASELINE = join(root, 'scripts/size-baseline.json')

/** Byte counts of some code. */
export function measure(code) {
  const buf = Buffer.from(code)
  return {
    min: buf.length,
    gzip: gzipSync(buf, { level: 9 }).length,
    brotli: brotliCompressSync(buf, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
  }
}

/** The package's own entries as an app resolves them: from dist/, as published. */
const ENTRIES = {
  [PACKAGE]: 'dist/lifeline.mjs',
  [PACKAGE + '/diagnose']: 'dist/diagnose.mjs',
  [PACKAGE + '/request']: 'dist/request.mjs',
}

/** Bundle an app's entry with esbuild, minified, as a user's bundler would. */
export async function bundle(source, loader = 'js') {
  const result = await build({
    stdin: { contents: source, resolveDir: root, loader },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2017',
    write: false,
    logLevel: 'silent',
    alias: Object.fromEntries(Object.entries(ENTRIES).map(([name, file]) => [name, join(root, file)])),
  })
  return result.outputFiles[0].text
}

const use = (names, transports) =>
  `import { ${names} } from '${PACKAGE}'\nwindow.x = new LifelineCore('/rt', { transports: [${transports}] })`
const shipped = (file) => measure(readFileSync(file, 'utf8'))

/** Every figure of the report, Lifeline's and the peers'. */
export async function report() {
  const rows = {}
  rows['script tag, all transports (lifeline.min.js)'] = shipped(join(root, 'dist/lifeline.min.js'))
  rows['script tag: diagnose (lifeline.diagnose.min.js)'] = shipped(join(root, 'dist/lifeline.diagnose.min.js'))
  rows['script tag: request (lifeline.request.min.js)'] = shipped(join(root, 'dist/lifeline.request.min.js'))
  rows['ESM: Lifeline (all transports)'] = measure(
    await bundle(`import { Lifeline } from '${PACKAGE}'\nwindow.x = new Lifeline('/rt')`),
  )
  rows['ESM: WebSocket only'] = measure(await bundle(use('LifelineCore, WebSocketTransport', 'WebSocketTransport')))
  rows['ESM: WebSocket + stream'] = measure(
    await bundle(use('LifelineCore, WebSocketTransport, StreamTransport', 'WebSocketTransport, StreamTransport')),
  )
  rows['ESM: WebSocket + polling'] = measure(
    await bundle(use('LifelineCore, WebSocketTransport, PollingTransport', 'WebSocketTransport, PollingTransport')),
  )
  rows['ESM: Lifeline + diagnose'] = measure(
    await bundle(
      `import { Lifeline } from '${PACKAGE}'\nimport { diagnose } from '${PACKAGE}/diagnose'\n` +
        `window.x = new Lifeline('/rt'); window.d = diagnose('/rt')`,
    ),
  )
  rows['ESM: Lifeline + request'] = measure(
    await bundle(
      `import { Lifeline } from '${PACKAGE}'\nimport { request } from '${PACKAGE}/request'\n` +
        `window.x = new Lifeline('/rt'); window.r = request(window.x, 'q')`,
    ),
  )
  rows['ESM: Lifeline plain mode (PlainTransport)'] = measure(
    await bundle(use('LifelineCore, PlainTransport', 'PlainTransport').replace("'/rt'", "'ws://example/'")),
  )
  rows['eventemitter3 alone'] = measure(await bundle(`import EE from 'eventemitter3'\nwindow.x = new EE()`))
  const phoenix = join(root, 'node_modules/phoenix')
  const engine = join(root, 'node_modules/engine.io-client')
  rows['peer: phoenix.min.js'] = shipped(join(phoenix, 'priv/static/phoenix.min.js'))
  rows['peer: Phoenix, ESM (Socket)'] = measure(
    await bundle(`import { Socket } from 'phoenix'\nwindow.x = new Socket('/socket')`),
  )
  rows['peer: engine.io.min.js'] = shipped(join(engine, 'dist/engine.io.min.js'))
  rows['peer: engine.io-client, ESM (Socket)'] = measure(
    await bundle(`import { Socket } from 'engine.io-client'\nwindow.x = new Socket('/rt')`),
  )
  return rows
}

/** Goals of issue 18: under Phoenix (7,756 B as bundled, 8,531 B as phoenix.min.js) however bundled. */
export const GOALS = {
  'script tag, all transports (lifeline.min.js)': 7500,
  'ESM: Lifeline (all transports)': 7500,
  'ESM: WebSocket only': 5000,
}
/**
 * Enforced in `npm test`, gzip -9 bytes: what the code weighs plus about 150 B of headroom, so a
 * feature does not have to claw bytes back, while growth past it fails a test. A change that
 * needs more raises a budget in its own commit and says why.
 */
export const BUDGETS = {
  'script tag, all transports (lifeline.min.js)': 10755,
  'ESM: Lifeline (all transports)': 11080,
  'ESM: WebSocket only': 8435,
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rows = await report()
  const before = existsSync(BASELINE) ? JSON.parse(readFileSync(BASELINE, 'utf8')) : {}
  const ws = rows['ESM: WebSocket only']
  console.log('bytes                                              min    gzip  brotli  change   budget     goal')
  for (const [name, r] of Object.entries(rows)) {
    const was = before[name]
    const change = was ? (r.gzip - was.gzip >= 0 ? '+' : '') + (r.gzip - was.gzip) : 'new'
    const budget = BUDGETS[name] ? `${BUDGETS[name]}${r.gzip <= BUDGETS[name] ? ' ok' : ' OVER'}` : ''
    const goal = GOALS[name] ? `${GOALS[name]}${r.gzip <= GOALS[name] ? ' met' : ' not met'}` : ''
    const inc = /\+ (stream|polling)/.test(name) ? `  (+${r.gzip - ws.gzip} over WebSocket only)` : ''
    console.log(
      `${name.padEnd(48)} ${String(r.min).padStart(6)} ${String(r.gzip).padStart(7)} ` +
        `${String(r.brotli).padStart(7)} ${change.padStart(7)}   ${budget.padEnd(10)} ${goal}${inc}`,
    )
  }
  if (process.argv.includes('--update')) {
    writeFileSync(BASELINE, JSON.stringify(rows, null, 2) + '\n')
    console.log('baseline written: scripts/size-baseline.json')
  }
}
