// The package as users get it: the tarball `npm pack` makes, checked by arethetypeswrong (attw),
// then unpacked into a temp project's node_modules (its dependencies linked from ours), where a
// strict TypeScript app using client and server is compiled under every module resolution an
// app may use, and Node loads both entries by `import` and by `require`. Wrong uses must be
// errors (`@ts-expect-error`), so types that decay to `any` fail here too.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, rmSync, readdirSync, readFileSync } from 'node:fs'
import { join, dirname, basename } from 'node:path'
import { tmpdir } from 'node:os'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

const root = join(dirname(fileURLToPath(import.meta.url)), '../..')
const NAME = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).name

const APP = `
import { Lifeline, LifelineError, type LifelineOptions } from '${NAME}'
import { LifelineServer, onRequest, type ServerSession } from '${NAME}/server'
import { diagnose, type DiagnoseReport } from '${NAME}/diagnose'
import { request, type RequestOptions } from '${NAME}/request'

const options: LifelineOptions = { transports: ['websocket', 'stream'], maxBufferedAmount: 1 << 20 }
const ll = new Lifeline('/rt', options)
ll.on('transport', (e) => {
  const name: 'websocket' | 'stream' | 'polling' = e.name
  const reason: string = e.reason
  return [name, reason]
})
ll.on('message', (e) => {
  const d: string | ArrayBuffer | Blob = e.data
  return d
})
ll.on('reset', (e) => e.unacked.length)
ll.onclose = (e) => e.code + e.reason.length + (e.wasClean ? 1 : 0)
ll.addEventListener('open', () => {}, { once: true })
const state: number = ll.readyState + Lifeline.OPEN
const queued: number = ll.bufferedAmount
const sid: string | null = ll.sessionId
ll.send('text')
ll.send(new Uint8Array(2))
ll.close(1000, 'bye')
const report: Promise<DiagnoseReport> = diagnose(Lifeline, '/rt', { connectTimeout: 1000 })
const ro: RequestOptions = { timeout: 500 }
const reply: Promise<string> = request(ll, 'price', ro)
ll.on('delivered', (e) => e.seq >= ll.sent)
void reply
const err = new LifelineError('LL_ERR_INVALID_STATE', 'x')
const code: string = err.code
void [state, queued, sid, code]

// @ts-expect-error: not a transport
new Lifeline('/rt', { transports: ['carrier-pigeon'] })
// @ts-expect-error: not an option
new Lifeline('/rt', { reconnectForever: true })
// @ts-expect-error: not an event
ll.on('nope', () => {})
// @ts-expect-error: send takes data, not a number
ll.send(42)
// @ts-expect-error: requests are text
request(ll, new Uint8Array(1))
// @ts-expect-error: readyState is read-only
ll.readyState = 3
// addEventListener is typed by event name, as \`on\` is
ll.addEventListener('transport', (e) => {
  const via: 'websocket' | 'stream' | 'polling' = e.name
  return via
})
ll.removeEventListener('close', (e) => e.code)
// @ts-expect-error: not an event (misspelt)
ll.addEventListener('mesage', () => {})
// @ts-expect-error: a close event has no data
ll.addEventListener('close', (e) => e.data)

const server = new LifelineServer({ path: '/rt', origins: ['https://app.example'], maxSessions: 10 })
new LifelineServer({ serveClient: false, path: '/other' }).close()
server.on('connection', (s: ServerSession) => {
  onRequest(s, async (data, session) => data + session.id)
  s.on('delivered', (seq) => seq <= s.sent)
  s.on('message', (m, binary) => {
    const b: boolean = binary
    s.send(m)
    return b
  })
  s.on('close', (c, r) => c + r.length)
})
server.on('error', (e) => e.message)
server.on('stats', (st) => st.sessions)
server.once('connection', (s) => s.id)
// @ts-expect-error: not a server event (misspelt)
server.on('conection', () => {})
// @ts-expect-error: an error listener gets an Error, not a session
server.on('error', (e: ServerSession) => e.id)
server.on('connection', (s) => {
  // @ts-expect-error: not a session event (misspelt)
  s.on('mesage', () => {})
  // @ts-expect-error: a close listener gets a number first
  s.on('close', (c: string) => c)
})
const n: number = server.broadcast('all')
void n
// @ts-expect-error: not a server option
new LifelineServer({ paht: '/rt' })
`

/** What CommonJS allows beside the app: \`import x = require()\` of both entries. */
const CJS_ONLY = `
import client = require('${NAME}')
import serverEntry = require('${NAME}/server')
const viaRequire: typeof client.Lifeline = client.Lifeline
const serverViaRequire: typeof serverEntry.LifelineServer = serverEntry.LifelineServer
void [viaRequire, serverViaRequire]
`

/** The union the README documents for `transport`, on both sides. Needs the getters typed. */
const TRANSPORT = `
import { Lifeline, type TransportName } from '${NAME}'
import { LifelineServer, type ServerSession, type TransportName as ServerTransportName } from '${NAME}/server'
declare const ll: Lifeline
declare const session: ServerSession
const client: TransportName | null = ll.transport
const server: ServerTransportName | null = session.transport
session.on('transport', (name) => {
  const n: ServerTransportName = name
  return n
})
void [client, server, LifelineServer]
`

/**
 * Typed messages and the documented cause and reason strings as unions (types only). Each
 * `@ts-expect-error` must be an error, or the compile reports it unused: a union that decayed to
 * `string` fails here.
 */
const TYPED = `
import {
  Lifeline,
  type Cause,
  type TransportReason,
  type ResetReason,
  type StateCause,
  type MessageEvent,
} from '${NAME}'
type Quote = \`quote:\${string}\`
type Order = \`order:\${string}\`
const ll = new Lifeline<Quote, Order>('/rt')
ll.on('message', (e) => {
  const q: Quote = e.data
  return q
})
ll.onmessage = (e: MessageEvent<Quote>) => e.data.slice(6)
ll.send('order:42')
ll.on('reconnecting', (e) => {
  const c: Cause = e.cause
  const t: TransportReason = c
  return t
})
ll.on('transport', (e) => {
  const r: TransportReason = e.reason
  if (r == 'websocket-hung' || r == 'stream-buffered' || r == 'upgrade') return r
  return null
})
ll.on('reset', (e) => {
  const r: ResetReason = e.reason
  return r
})
ll.on('state', (e) => {
  const c: StateCause = e.cause
  return c
})
const plain = new Lifeline('/rt')
plain.send(new Uint8Array(1))
const cause: Cause = 'session-closed-3901'
void [plain, cause]

// @ts-expect-error: the app sends orders only
ll.send('quote:1')
// @ts-expect-error: a Quote is not an Order
ll.on('message', (e) => { const o: Order = e.data; return o })
// @ts-expect-error: not a cause Lifeline reports
const bad: Cause = 'carrier-pigeon-lost'
// @ts-expect-error: not a transport of Lifeline's
const badReason: TransportReason = 'pigeon-hung'
// @ts-expect-error: a reset reason is a session-closed code
const badReset: ResetReason = 'websocket-dropped'
void [bad, badReason, badReset]
`

/**
 * Typed JSON messages, types only: one map names both directions, as socket.io's
 * `ServerToClientEvents` does, and both ends are typed by it (README "Types").
 */
const JSON_MAP = `
import { Lifeline, type Json } from '${NAME}'
import { LifelineServer } from '${NAME}/server'
interface Chat {
  toClient: { kind: 'welcome'; name: string } | { kind: 'said'; who: string; text: string }
  toServer: { kind: 'say'; text: string }
}
type ToClient = Json<Chat['toClient']>
type ToServer = Json<Chat['toServer']>
const ll = new Lifeline<ToClient, ToServer>('/rt')
ll.on('message', (e) => {
  const m = JSON.parse(e.data)
  const kind: 'welcome' | 'said' = m.kind
  return m.kind == 'said' ? m.who + m.text : m.name + kind
})
ll.send(JSON.stringify({ kind: 'say', text: 'hi' }) as ToServer)
const server = new LifelineServer<ToServer, ToClient>({ path: '/rt' })
server.on('connection', (session) => {
  session.send(JSON.stringify({ kind: 'welcome', name: session.id }) as ToClient)
  session.on('message', (data) => {
    const m = JSON.parse(data)
    const text: string = m.text
    return text
  })
  // @ts-expect-error: a plain string is not a typed message
  session.send('{"kind":"welcome"}')
})
// @ts-expect-error: nor on the client
ll.send('{"kind":"say"}')
// @ts-expect-error: a said message has no name
ll.on('message', (e) => { const m = JSON.parse(e.data); return m.kind == 'said' && m.name })
// JSON.parse of any other string is as it was
const loose: { anything: number } = JSON.parse('{"anything":1}')
void loose
`

/**
 * A script-tag page's TypeScript: no import, the global `Lifeline` declared by
 * `lifeline-rt/global`, with what the add-on scripts hang on it.
 */
const SCRIPT_PAGE = `/// <reference types="${NAME}/global" />
const ll: Lifeline = new Lifeline('/rt', { transports: ['websocket', 'polling'] })
ll.onmessage = (e) => {
  const d: string | ArrayBuffer | Blob = e.data
  return d
}
ll.addEventListener('transport', (e) => e.reason)
ll.on('reset', (e) => e.unacked.length)
Lifeline.request(ll, 'price', { timeout: 500 }).then((reply: string) => reply.length)
Lifeline.diagnose('/rt').then((report) => report.best)
const plain = new Lifeline.Plain('ws://127.0.0.1:1/plain', { plainPing: 'ping' })
plain.close()
try {
  ll.send('x')
} catch (e) {
  if (e instanceof Lifeline.LifelineError) {
    const err: Lifeline.LifelineError = e
    console.log(err.code)
  }
}
const state: number = ll.readyState + Lifeline.OPEN
void state
// @ts-expect-error: not an event (misspelt)
ll.addEventListener('mesage', () => {})
// @ts-expect-error: not an option
new Lifeline('/rt', { reconnectForever: true })
// @ts-expect-error: send takes data, not a number
ll.send(42)
`

const K = ts.ModuleKind
const R = ts.ModuleResolutionKind
/** Each way an app resolves the package; `dts` is the declaration file it must land on. */
const MODES = [
  { name: 'bundler', file: 'app.ts', module: K.ESNext, resolution: R.Bundler, dts: '.d.ts' },
  { name: 'node16, ESM app', file: 'app.mts', module: K.Node16, resolution: R.Node16, dts: '.d.ts' },
  { name: 'node16, CommonJS app', file: 'app.cts', module: K.Node16, resolution: R.Node16, dts: '.d.cts' },
  { name: 'nodenext, ESM app', file: 'app.mts', module: K.NodeNext, resolution: R.NodeNext, dts: '.d.ts' },
  { name: 'nodenext, CommonJS app', file: 'app.cts', module: K.NodeNext, resolution: R.NodeNext, dts: '.d.cts' },
  // TypeScript's old `node` resolution ignores "exports": the `server/` folder's package.json
  // is what finds `/server` there.
  { name: 'node10, CommonJS app', file: 'app.ts', module: K.CommonJS, resolution: R.Node10, dts: '.d.ts' },
]

let work
let tarball
let project

before(() => {
  work = mkdtempSync(join(tmpdir(), 'lifeline-pack-'))
  const out = execFileSync('npm', ['pack', '--silent', '--pack-destination', work], { cwd: root, encoding: 'utf8' })
  tarball = join(work, out.trim().split('\n').pop())
  project = join(work, 'app')
  const pkg = join(project, 'node_modules', NAME)
  mkdirSync(pkg, { recursive: true })
  execFileSync('tar', ['-xzf', tarball, '-C', pkg, '--strip-components=1'])
  // Its dependencies as npm would install them, without the network: ours, linked.
  for (const dep of Object.keys(JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')).dependencies))
    symlinkSync(join(root, 'node_modules', dep), join(project, 'node_modules', dep), 'dir')
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }))
})

after(() => rmSync(work, { recursive: true, force: true }))

/** Diagnostics of a strict compile of `source` as `file`, and the package files it read. */
function compile(mode, source) {
  const dir = join(project, mode.name.replace(/\W+/g, '-'))
  mkdirSync(dir, { recursive: true })
  const file = join(dir, mode.file)
  writeFileSync(file, source)
  const program = ts.createProgram([file], {
    strict: true,
    skipLibCheck: false,
    noEmit: true,
    target: ts.ScriptTarget.ES2020,
    module: mode.module,
    moduleResolution: mode.resolution,
    lib: ['lib.es2020.d.ts', 'lib.dom.d.ts'],
    types: ['node'],
    typeRoots: [join(root, 'node_modules/@types')],
  })
  const diags = ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file
      ? d.file.fileName.replace(project, '') + ':' + (d.file.getLineAndCharacterOfPosition(d.start || 0).line + 1) + ' '
      : ''
    return where + ts.flattenDiagnosticMessageText(d.messageText, '\n')
  })
  const used = program
    .getSourceFiles()
    .map((f) => f.fileName)
    .filter((f) => f.includes('/node_modules/' + NAME + '/'))
    .map((f) => basename(f))
  return { diags, used: used.sort() }
}

test('attw finds no problem in the packed tarball (the script-tag build is a script, not a module)', () => {
  const report = JSON.parse(
    execFileSync(
      join(root, 'node_modules/.bin/attw'),
      [
        '--pack',
        tarball,
        '--format',
        'json',
        '--exclude-entrypoints',
        'lifeline.min.js',
        'lifeline.diagnose.min.js',
        'lifeline.plain.min.js',
        'lifeline.request.min.js',
      ],
      { encoding: 'utf8' },
    ),
  )
  assert.deepEqual(report.analysis.problems, [])
  const entries = Object.keys(report.analysis.entrypoints).sort()
  assert.deepEqual(entries, ['.', './diagnose', './global', './package.json', './request', './server'])
  // Each entry resolved to types under every resolution attw knows, not merely "no problem".
  for (const entry of ['.', './server'])
    for (const [kind, r] of Object.entries(report.analysis.entrypoints[entry].resolutions))
      assert.ok(r.resolution && /\.d\.c?ts$/.test(r.resolution.fileName), `${entry} under ${kind}: ${r.resolution}`)
})

for (const mode of MODES) {
  test(`the packed types compile a strict app under ${mode.name}, from its ${mode.dts} files`, () => {
    const cjs = mode.dts == '.d.cts'
    const { diags, used } = compile(mode, APP + (cjs && mode.module != K.CommonJS ? CJS_ONLY : ''))
    assert.deepEqual(diags, [])
    assert.deepEqual(used, ['diagnose' + mode.dts, 'lifeline' + mode.dts, 'request' + mode.dts, 'server' + mode.dts])
  })
}

test('the packed types give `transport` the union TransportName | null, on the client and the server', () => {
  for (const mode of MODES.filter((m) => m.resolution != R.Node10))
    assert.deepEqual(compile(mode, TRANSPORT).diags, [], mode.name)
})

test('messages type through Lifeline<In, Out>, and causes and reasons are the documented unions', () => {
  for (const mode of MODES.filter((m) => m.resolution != R.Node10))
    assert.deepEqual(compile(mode, TYPED).diags, [], mode.name)
})

test('typed JSON messages: one map types the client and the server (types only)', () => {
  for (const mode of MODES.filter((m) => m.resolution != R.Node10 && m.dts == '.d.ts'))
    assert.deepEqual(compile(mode, JSON_MAP).diags, [], mode.name)
})

test('a script-tag page compiles against lifeline-rt/global, under every resolution', () => {
  for (const mode of MODES) {
    const { diags, used } = compile(
      { ...mode, name: mode.name + ' page', file: mode.file.replace('app', 'page') },
      SCRIPT_PAGE,
    )
    assert.deepEqual(diags, [], mode.name)
    // Its own declaration file for each module format; node10 ignores "exports" and finds global/index.d.ts.
    const own = mode.resolution == R.Node10 ? 'index.d.ts' : 'global' + mode.dts
    assert.ok(used.includes(own), mode.name + ': ' + used)
  }
})

test('the Hello world runs from the packed tarball, as the README installs it', async () => {
  writeFileSync(join(project, 'hello.mjs'), readFileSync(join(root, 'examples/hello.mjs')))
  const child = spawn(process.execPath, ['hello.mjs'], { cwd: project, env: { ...process.env, PORT: '0' } })
  try {
    let out = ''
    const port = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no "open http://…" line within 10 s: ' + out)), 10000)
      child.stdout.on('data', (d) => {
        out += d
        const m = /open http:\/\/localhost:(\d+)/.exec(out)
        if (m) resolve((clearTimeout(timer), m[1]))
      })
      child.once('exit', (code) => reject(new Error('exited with ' + code + ': ' + out)))
    })
    const page = await fetch(`http://127.0.0.1:${port}/`)
    assert.match(await page.text(), /<script src="\/rt\/lifeline\.min\.js"><\/script>/)
    const script = await fetch(`http://127.0.0.1:${port}/rt/lifeline.min.js`)
    assert.equal(script.status, 200)
    assert.equal(await script.text(), readFileSync(join(project, 'node_modules', NAME, 'dist/lifeline.min.js'), 'utf8'))
  } finally {
    child.kill()
  }
})

test('Node loads both entries of the installed package by require and by import', () => {
  const check = (file, source) => {
    writeFileSync(join(project, file), source)
    return execFileSync(process.execPath, [file], { cwd: project, encoding: 'utf8' }).trim()
  }
  const body = `
const server = new LifelineServer({ serveClient: false })
server.close()
console.log([typeof Lifeline, typeof LifelineCore, typeof LifelineServer, typeof CloseCode.NORMAL].join(' '))`
  const esm = check(
    'load.mjs',
    `import { Lifeline, LifelineCore, CloseCode } from '${NAME}'\n` +
      `import { LifelineServer } from '${NAME}/server'\n${body}`,
  )
  const cjs = check(
    'load.cjs',
    `const { Lifeline, LifelineCore, CloseCode } = require('${NAME}')\n` +
      `const { LifelineServer } = require('${NAME}/server')\n${body}`,
  )
  assert.equal(esm, 'function function function number')
  assert.equal(cjs, esm)
})

test('the published types show no internal members: every `_` member is marked @internal and stripped', () => {
  const dir = join(root, 'dist')
  const leaks = []
  const files = readdirSync(dir).filter((f) => /\.d\.c?ts$/.test(f))
  assert.deepEqual(files.sort(), [
    'diagnose.d.cts',
    'diagnose.d.ts',
    'global.d.cts',
    'global.d.ts',
    'lifeline.d.cts',
    'lifeline.d.ts',
    'request.d.cts',
    'request.d.ts',
    'server.d.cts',
    'server.d.ts',
  ])
  for (const f of files) {
    readFileSync(join(dir, f), 'utf8')
      .split('\n')
      .forEach(
        (l, i) =>
          /^\s*(?:(?:public|protected|readonly|static|abstract)\s+)*_\w+\??[(:]/.test(l) &&
          leaks.push(f + ':' + (i + 1) + ' ' + l.trim()),
      )
  }
  assert.deepEqual(leaks, [])
})
