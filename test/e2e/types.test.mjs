// The published types as a user's TypeScript sees them: a project that depends on `lifeline`
// (linked into its node_modules, resolved through package.json "exports"), compiled strict
// with skipLibCheck off. Wrong uses must be errors (`@ts-expect-error`), so types that decay to
// `any` fail here too.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, rmSync, readdirSync, readFileSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { tmpdir } from 'node:os'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

const root = join(dirname(fileURLToPath(import.meta.url)), '../..')

const APP = `
import { Lifeline, LifelineError, type LifelineOptions } from 'lifeline'
import { LifelineServer, type ServerSession } from 'lifeline/server'

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
// @ts-expect-error: readyState is read-only
ll.readyState = 3

const server = new LifelineServer({ path: '/rt', origins: ['https://app.example'], maxSessions: 10 })
server.on('connection', (s: ServerSession) => {
  s.on('message', (m, binary) => {
    const b: boolean = binary
    s.send(m)
    return b
  })
  s.on('close', (c, r) => c + r.length)
})
server.on('error', (e) => e.message)
const n: number = server.broadcast('all')
void n
// @ts-expect-error: not a server option
new LifelineServer({ paht: '/rt' })
`

test('the published types: a strict TypeScript app using client and server compiles, and misuse does not', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeline-types-'))
  try {
    mkdirSync(join(dir, 'node_modules'))
    symlinkSync(root, join(dir, 'node_modules', 'lifeline'), 'dir')
    writeFileSync(join(dir, 'app.ts'), APP)
    const options = {
      strict: true,
      skipLibCheck: false,
      noEmit: true,
      target: ts.ScriptTarget.ES2020,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      lib: ['lib.es2020.d.ts', 'lib.dom.d.ts'],
      types: ['node'],
      typeRoots: [join(root, 'node_modules/@types')],
    }
    const program = ts.createProgram([join(dir, 'app.ts')], options)
    const diags = ts.getPreEmitDiagnostics(program).map((d) => {
      const where = d.file ? d.file.fileName.replace(dir, '').replace(root, '<lifeline>') + ':' + (d.file.getLineAndCharacterOfPosition(d.start || 0).line + 1) + ' ' : ''
      return where + ts.flattenDiagnosticMessageText(d.messageText, '\n')
    })
    assert.deepEqual(diags, [])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('the published types show no internal members: every `_` member is marked @internal and stripped', () => {
  const dir = join(root, 'dist/types')
  const leaks = []
  for (const f of readdirSync(dir, { recursive: true })) {
    if (!f.endsWith('.d.ts')) continue
    readFileSync(join(dir, f), 'utf8')
      .split('\n')
      .forEach((l, i) => /^\s*(?:(?:public|protected|readonly|static|abstract)\s+)*_\w+\??[(:]/.test(l) && leaks.push(f + ':' + (i + 1) + ' ' + l.trim()))
  }
  assert.deepEqual(leaks, [])
})
