// The README against the code: it opens with examples/hello.mjs, word for word; every client and
// server option with its default, every event with its payload, every member of the connection
// (and nothing that is a separate import), every error code and close code, and the builds' syntax
// level; plus every relative link in README.md and docs/*.md pointing at something that exists. A
// renamed option or a changed default fails here instead of going stale in the docs.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'acorn'
import ts from 'typescript'
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

/** Titles of the README's \`## \` sections, in order. */
const sections = () => [...readme.matchAll(/^## (.+)$/gm)].map((m) => m[1])

test('README opens with Hello world: examples/hello.mjs word for word, on the first screen', () => {
  assert.equal(sections()[0], 'Hello world')
  const at = readme.indexOf('## Hello world')
  const block = /```js\n([\s\S]*?)```/.exec(readme.slice(at))
  assert.equal(block[1], read('examples/hello.mjs'))
  // Its last line within the first screen's worth of a README (about 50 lines).
  const end = readme.slice(0, at + block.index + block[0].length).split('\n').length
  assert.ok(end <= 50, `the example ends on line ${end}`)
  // A server that serves its page and pushes unprompted on connection; the page prints what arrives.
  assert.match(block[1], /createServer\(\(req, res\) =>[^\n]*\.end\(page\)/)
  assert.match(block[1], /on\('connection', \(session\) => \{\n\s+session\.send\(/)
  assert.match(block[1], /ll\.onmessage = /)
})

test('README order: Hello world, install, the page (script tag, then ESM), the server API, then the rest', () => {
  const order = ['Hello world', 'Install', 'In the page: script tag and ES module', 'Server', 'The connection']
  const at = order.map((t) => sections().indexOf(t))
  assert.ok(
    at.every((i, n) => i >= 0 && (n == 0 || i > at[n - 1])),
    sections().join(' / '),
  )
  const page = readme.slice(readme.indexOf('## In the page'), readme.indexOf('## Server'))
  assert.ok(page.indexOf('<script src=') < page.indexOf("import { Lifeline } from 'lifeline-rt'"))
  // Until the package is on the registry, Install says so, and how to install meanwhile.
  const install = readme.slice(readme.indexOf('## Install'), readme.indexOf('\n## ', readme.indexOf('## Install') + 3))
  assert.match(install, /not on the npm registry yet/)
  assert.match(install, /npm pack/)
})

/** Public members of a class in a source file: not \`_\`-prefixed, private or @internal. */
function members(file, name) {
  const src = ts.createSourceFile(file, read(file), ts.ScriptTarget.Latest, true)
  const cls = src.statements.find((s) => ts.isClassDeclaration(s) && s.name && s.name.text == name)
  assert.ok(cls, `class ${name} in ${file}`)
  return cls.members
    .filter((m) => m.name && !ts.isConstructorDeclaration(m) && !m.name.getText().startsWith('_'))
    .filter((m) => !(m.modifiers || []).some((x) => x.kind == ts.SyntaxKind.PrivateKeyword))
    .map((m) => m.name.getText())
}

test('README "The connection": every member of the class, and only members; separate imports apart', () => {
  const rows = table('## The connection')
  // The names a row documents: `name`, `name(args)`, not quoted values such as `'blob'`.
  const named = rows.flatMap((r) => ticked(r[0]).map((t) => /^([A-Za-z]\w*)(?:\(|$)/.exec(t)?.[1])).filter(Boolean)
  const own = new Set(members('src/client/lifeline.ts', 'LifelineCore'))
  // The emitter's methods (eventemitter3); the readyState constants are described in its row.
  const emitter = ['on', 'once', 'off']
  for (const n of named) assert.ok(own.has(n) || emitter.includes(n), `${n} is a member of Lifeline`)
  for (const n of own)
    if (!/^(CONNECTING|OPEN|CLOSING|CLOSED)$/.test(n)) assert.ok(named.includes(n), `member ${n} is listed`)
  // request() and diagnose() are listed as what they are: functions of their own entries.
  const imports = table('| import | |').map((r) => /^`(\w+)\(.*` from `(lifeline-rt\/\w+)`$/.exec(r[0]))
  assert.ok(imports.length && imports.every(Boolean), JSON.stringify(imports))
  assert.deepEqual(
    imports.map((m) => [m[1], m[2]]),
    [
      ['request', 'lifeline-rt/request'],
      ['diagnose', 'lifeline-rt/diagnose'],
    ],
  )
  for (const m of imports) assert.match(read(`src/client/${m[1]}.ts`), new RegExp(`export function ${m[1]}\\b`))
})

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
    fields('src/server/session-api.ts', 'ServerSessionEvents').sort(),
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
  const blocks = [...read('docs/frameworks.md').matchAll(/```js\n([\s\S]*?)```/g)]
    .map((m) => m[1])
    .filter((b) => b.includes("from 'lifeline-rt/server'"))
  assert.equal(blocks.length, 4, 'one recipe per server framework')
  const mounts = blocks
    .flatMap((b) => b.split('\n'))
    .filter((l) => /handleRequest|handleUpgrade|new LifelineServer\(/.test(l))
    // The test's servers are made by a helper that adds an echo and a logger to these options.
    .map((l) => l.trim().replace(/^const ll = new LifelineServer/, ''))
  assert.ok(mounts.length >= 8, mounts.join('\n'))
  for (const m of mounts) assert.ok(tested.includes(m), `the test mounts as the doc does: ${m}`)
})

test('docs/frameworks.md shows the React and Vue recipes as the files test/e2e/spa.test.mjs builds', () => {
  const doc = read('docs/frameworks.md')
  for (const [lang, file] of [
    ['jsx', 'examples/spa/react.jsx'],
    ['js', 'examples/spa/vue.js'],
  ]) {
    const code = read(file)
    assert.ok(doc.includes('```' + lang + '\n' + code + '```'), `${file}, word for word, in a ${lang} block`)
    assert.ok(read('test/e2e/spa/' + (lang == 'jsx' ? 'react-app.jsx' : 'vue-app.js')).includes('../../../' + file))
  }
})
