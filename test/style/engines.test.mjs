// What the README says development needs is what the dev dependencies need: every package
// `npm ci` installs from the lockfile accepts the Node version the README names, so neither
// `npm install` nor `npm ci` warns EBADENGINE on it (cookie@2, under Fastify's light-my-request,
// wanted Node 22 while the README said 20).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const semver = createRequire(import.meta.url)('semver')
const read = (f) => readFileSync(join(root, f), 'utf8')

test('every package the lockfile installs runs on the Node version the README names for development', () => {
  const said = /Node (\d+\.\d+) or later/.exec(read('README.md'))
  assert.ok(said, 'the README names the Node version development needs ("Node 20.19 or later")')
  const version = said[1] + '.0'
  const wants = []
  for (const [path, p] of Object.entries(JSON.parse(read('package-lock.json')).packages)) {
    // Optional packages that refuse this Node are skipped by npm, not installed: no warning.
    if (!path || p.optional || !p.engines || typeof p.engines.node != 'string') continue
    if (!semver.satisfies(version, p.engines.node)) wants.push(`${path}@${p.version}: node ${p.engines.node}`)
  }
  assert.deepEqual(wants, [], `these need more than Node ${version}`)
  // The package itself asks for no more than that.
  assert.ok(semver.satisfies(version, JSON.parse(read('package.json')).engines.node))
})
