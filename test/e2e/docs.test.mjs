// The README against the code: every client and server option with its default, every event
// with its payload, every error code and close code, and the builds' syntax level; plus every
// relative link in README.md and docs/*.md pointing at something that exists. A renamed option
// or a changed default fails here instead of going stale in the docs.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'acorn'
import { DEFAULTS, CloseCode } from '../../dist/lifeline.mjs'
import { SERVER_DEFAULTS } from '../../dist/server.mjs'

const root = fileURLToPath(new URL('../..', import.meta.url))
const read = (f) => readFileSync(join(root, f), 'utf8')
const readme = read('README.md')

/** Rows of the first table under the heading `title`, as arrays of trimmed cells. */
function table(title) {
  const at = readme.indexOf('\n' + title + '\n')
  assert.ok(at >= 0, `README has a "${title}" section`)
  const lines = readme.slice(at).split('\n').slice(1)
  const start = lines.findIndex((l) => l.startsWith('|'))
  const rows = []
  for (const l of lines.slice(start + 2)) {
    if (!l.startsWith('|')) break
    rows.push(
      l
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((c) => c.trim()),
    )
  }
  return rows
}

/** Backticked words of a cell. */
const ticked = (cell) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1])

/** Field names of `interface name { ... }` in a source file (one level deep). */
function fields(file, name) {
  const src = read(file)
  // A generic interface (`LifelineEvents<In ...>`) too.
  const start = src.search(new RegExp(`interface ${name}[ <]`))
  assert.ok(start >= 0, `${name} in ${file}`)
  let depth = 0
  let body = ''
  for (let i = src.indexOf('{', start); i < src.length; i++) {
    if (src[i] == '{') depth++
    if (src[i] == '}' && --depth == 0) break
    body += depth == 1 ? src[i] : ''
  }
  return [...body.matchAll(/^\s+(\w+)\??:/gm)].map((m) => m[1])
}

/** The README's spelling of a default, compared with the code's value. */
function sameDefault(cell, value) {
  const shown = ticked(cell)[0]
  return shown == String(value) || shown == JSON.stringify(value).replace(/"/g, "'")
}

test('README client options: every LifelineOptions field, with the default DEFAULTS has', () => {
  const rows = table('## Client options')
  const names = rows.map((r) => ticked(r[0])[0])
  assert.deepEqual(names.slice().sort(), fields('src/client/options.ts', 'LifelineOptions').sort())
  for (const [cell, def] of rows.map((r) => [r[0], r[1]])) {
    const name = ticked(cell)[0]
    if (name in DEFAULTS)
      assert.ok(sameDefault(def, DEFAULTS[name]), `${name}: README says ${def}, DEFAULTS has ${DEFAULTS[name]}`)
  }
  assert.equal(ticked(rows.find((r) => r[0] == '`transports`')[1])[0], "['websocket', 'stream', 'polling']")
  assert.match(read('src/client/options.ts'), /@default \['websocket', 'stream', 'polling'\]/)
})

test('README server options: every ServerOptions field, with the default SERVER_DEFAULTS has', () => {
  const rows = table('### Server options')
  const names = rows.map((r) => ticked(r[0])[0])
  assert.deepEqual(names.slice().sort(), fields('src/server/options.ts', 'ServerOptions').sort())
  for (const r of rows) {
    const name = ticked(r[0])[0]
    if (name in SERVER_DEFAULTS)
      assert.ok(
        sameDefault(r[1], SERVER_DEFAULTS[name]),
        `${name}: README says ${r[1]}, SERVER_DEFAULTS has ${SERVER_DEFAULTS[name]}`,
      )
  }
})

test('README events: every event of LifelineEvents, each with every field of its payload', () => {
  const rows = table('## Events')
  const events = fields('src/client/events.ts', 'LifelineEvents')
  assert.deepEqual(rows.map((r) => ticked(r[0])[0]).sort(), events.slice().sort())
  const src = read('src/client/events.ts')
  for (const ev of events) {
    const type = new RegExp(`^\\s+${ev}: \\[(\\w+)[<\\]]`, 'm').exec(src)[1]
    const own = type == 'BaseEvent' ? [] : fields('src/client/events.ts', type)
    const cell = rows.find((r) => ticked(r[0])[0] == ev)[1]
    for (const f of own) assert.ok(ticked(cell).includes(f), `${ev} payload lists ${f}`)
  }
})

test('README server events: every event of ServerSessionEvents and ServerEvents', () => {
  const listed = (rows) =>
    rows
      .map((r) => /on\('(\w+)'/.exec(r[0]))
      .filter(Boolean)
      .map((m) => m[1])
  assert.deepEqual(
    listed(table('| `ServerSession` | |')).sort(),
    fields('src/server/session.ts', 'ServerSessionEvents').sort(),
  )
  assert.deepEqual(
    listed(table('| `LifelineServer` | |')).sort(),
    fields('src/server/server.ts', 'ServerEvents').sort(),
  )
})

test('README errors: every ErrorCode', () => {
  const codes = [...read('src/protocol/errors.ts').matchAll(/'(LL_ERR_\w+)'/g)].map((m) => m[1])
  const listed = table('## Errors').flatMap((r) => ticked(r[0]))
  assert.deepEqual(listed.slice().sort(), [...new Set(codes)].sort())
})

test('README close codes: every CloseCode, with its name', () => {
  const rows = table('## Close codes')
  for (const [name, code] of Object.entries(CloseCode)) {
    const row = rows.find((r) => r[0].split(/,\s*/).includes(String(code)))
    assert.ok(row, `close code ${code} listed`)
    assert.ok(ticked(row[1]).includes(name), `${code} is named ${name}`)
  }
})

test('the builds are ES2017, as the README says', () => {
  parse(read('dist/lifeline.min.js'), { ecmaVersion: 2017 })
  parse(read('dist/lifeline.mjs'), { ecmaVersion: 2017, sourceType: 'module' })
})

test('relative links in README.md and docs/*.md point at files that exist, and README anchors at headings', () => {
  const slug = (h) =>
    h
      .toLowerCase()
      .replace(/[^\w\- ]/g, '')
      .replace(/ /g, '-')
  const docs = [
    'README.md',
    ...readdirSync(join(root, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => 'docs/' + f),
  ]
  for (const doc of docs) {
    const text = read(doc)
    const anchors = new Set([...text.matchAll(/^#+ (.+)$/gm)].map((m) => slug(m[1])))
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      // PROTOCOL.md is written on its own branch and may land after these docs.
      if (/^[a-z]+:/.test(target) || target == 'PROTOCOL.md') continue
      const [file, hash] = target.split('#')
      if (file) assert.ok(existsSync(join(root, dirname(doc), file)), `${doc} links to ${file}, which exists`)
      else assert.ok(anchors.has(hash), `${doc} links to #${hash}, a heading of its own`)
    }
  }
})

test('docs/frameworks.md: every way it mounts Lifeline is the way test/server/frameworks.test.ts does', () => {
  const tested = read('test/server/frameworks.test.ts')
  const blocks = [...read('docs/frameworks.md').matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1])
  assert.equal(blocks.length, 4, 'one recipe per framework')
  const mounts = blocks
    .flatMap((b) => b.split('\n'))
    .filter((l) => /handleRequest|handleUpgrade|new LifelineServer\(/.test(l))
    // The test's servers are made by a helper that adds an echo and a logger to these options.
    .map((l) => l.trim().replace(/^const ll = new LifelineServer/, ''))
  assert.ok(mounts.length >= 8, mounts.join('\n'))
  for (const m of mounts) assert.ok(tested.includes(m), `the test mounts as the doc does: ${m}`)
})
