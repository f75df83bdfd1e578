#!/usr/bin/env node
// Size report: minified, gzip -9 and brotli bytes of the script-tag build and of ESM imports a
// bundler would make (WebSocket only, then each transport's increment), built the way a user's
// bundler would: rollup + terser over dist/lifeline.mjs, eventemitter3 included.
import { rollup } from 'rollup'
import resolve from '@rollup/plugin-node-resolve'
import commonjs from '@rollup/plugin-commonjs'
import { minify } from 'terser'
import { gzipSync, brotliCompressSync, constants } from 'node:zlib'
import { readFileSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

/** Byte counts of some code. */
export function measure(code) {
  const buf = Buffer.from(code)
  return {
    min: buf.length,
    gzip: gzipSync(buf, { level: 9 }).length,
    brotli: brotliCompressSync(buf, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
  }
}

/** Bundle an entry that imports from the package, as an app's bundler would, and minify it. */
async function bundle(source) {
  const id = '\0entry'
  const bundle = await rollup({
    input: id,
    plugins: [
      { name: 'entry', resolveId: (s) => (s == id ? id : s == 'lifeline' ? join(root, 'dist/lifeline.mjs') : null), load: (s) => (s == id ? source : null) },
      resolve({ browser: true }),
      commonjs(),
    ],
    onwarn: () => {},
  })
  const { output } = await bundle.generate({ format: 'es' })
  const out = await minify(output[0].code, { ecma: 2017, module: true, compress: { passes: 3, pure_getters: true }, mangle: { properties: { regex: /^_/ } } })
  return out.code
}

const use = (names, transports, cls = 'LifelineCore') =>
  `import { ${names} } from 'lifeline'\nwindow.x = new ${cls}('/rt', { transports: [${transports}] })`

/** Every figure of the report. */
export async function report() {
  const rows = {}
  rows['script tag, all transports (lifeline.min.js)'] = measure(readFileSync(join(root, 'dist/lifeline.min.js'), 'utf8'))
  rows['ESM: Lifeline (all transports)'] = measure(await bundle(`import { Lifeline } from 'lifeline'\nwindow.x = new Lifeline('/rt')`))
  rows['ESM: WebSocket only'] = measure(await bundle(use('LifelineCore, WebSocketTransport', 'WebSocketTransport')))
  rows['ESM: WebSocket + stream'] = measure(await bundle(use('LifelineCore, WebSocketTransport, StreamTransport', 'WebSocketTransport, StreamTransport')))
  rows['ESM: WebSocket + polling'] = measure(await bundle(use('LifelineCore, WebSocketTransport, PollingTransport', 'WebSocketTransport, PollingTransport')))
  rows['eventemitter3 alone'] = measure(await bundle(`import EE from 'eventemitter3'\nwindow.x = new EE()`))
  return rows
}

/**
 * Enforced in `npm test`, gzip -9 bytes. The goals are 6,000 (script tag) and 3,500
 * (WebSocket only); these budgets are what the code weighs today plus a little, so that growth
 * fails a test while the goals stay visible here (see README "Size").
 */
export const GOALS = {
  'script tag, all transports (lifeline.min.js)': 6000,
  'ESM: WebSocket only': 3500,
}
export const BUDGETS = {
  'script tag, all transports (lifeline.min.js)': 8390,
  'ESM: WebSocket only': 5795,
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rows = await report()
  const ws = rows['ESM: WebSocket only']
  console.log('bytes                                          min    gzip  brotli   budget   goal')
  for (const [name, r] of Object.entries(rows)) {
    const inc = /\+ (stream|polling)/.test(name) ? `  (+${r.gzip - ws.gzip} gzip over WebSocket only)` : ''
    const b = BUDGETS[name] ? `${BUDGETS[name]}${r.gzip <= BUDGETS[name] ? ' ok' : ' OVER'}  ${GOALS[name]}${r.gzip <= GOALS[name] ? ' met' : ' not met'}` : ''
    console.log(`${name.padEnd(44)} ${String(r.min).padStart(6)} ${String(r.gzip).padStart(7)} ${String(r.brotli).padStart(7)}   ${b}${inc}`)
  }
}
