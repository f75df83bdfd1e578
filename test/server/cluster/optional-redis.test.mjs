// `redis` is an optional peer dependency: the in-memory server never loads it (a process that
// imports dist/server.mjs and serves a session resolves no module of `redis` or `@redis/*`), and
// the cluster adapter loads it only when given a URL.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

// Resolve hooks (module.register) see every module the process loads, dynamic imports included.
const HOOKS = `export async function resolve(specifier, context, next) {
  const r = await next(specifier, context)
  if (/node_modules\\/(redis|@redis)\\//.test(r.url)) process.stderr.write('LOADED ' + r.url + '\\n')
  return r
}`
const MAIN = (body) => `
import { register } from 'node:module'
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(HOOKS)}))
${body}
`

function run(body) {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', MAIN(body)], {
    encoding: 'utf8',
    cwd: process.cwd(),
  })
  return { ...r, loaded: r.stderr.match(/^LOADED .*/gm) || [] }
}

test('the in-memory server loads no Redis client', () => {
  const r = run(`
    const { LifelineServer } = await import('./dist/server.mjs')
    const http = await import('node:http')
    const server = http.createServer()
    const ll = new LifelineServer({ server, path: '/rt' })
    ll.close()
    console.log('served')`)
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout, /served/)
  assert.deepEqual(r.loaded, [])
  assert.doesNotMatch(readFileSync('dist/server.mjs', 'utf8'), /from 'redis'|require\('redis'\)/)
})

test('the hook sees a Redis client when one is loaded (the check above can fail)', () => {
  const r = run(`await import('redis'); console.log('loaded')`)
  assert.equal(r.status, 0, r.stderr)
  assert.ok(r.loaded.length > 0, r.stderr)
})

test('the client bundles name no Redis module', () => {
  for (const f of ['dist/lifeline.mjs', 'dist/lifeline.cjs', 'dist/lifeline.min.js'])
    assert.doesNotMatch(readFileSync(f, 'utf8'), /redis/i, f)
})
