// The server's parts meet through types the compiler checks (issue 26): no double cast through
// `unknown` in src/server, which let cluster mode hand the app a session class of its own that
// only looked like ServerSession. A test file may still cast to reach what a real peer cannot.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

test('no `as unknown as` in src/server', () => {
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', 'src/server'], {
    cwd: root,
    encoding: 'utf8',
  })
    .split('\n')
    .filter((f) => f.endsWith('.ts'))
  assert.ok(files.length > 50, 'the server is there: ' + files.length + ' files')
  const found = []
  for (const f of files)
    readFileSync(join(root, f), 'utf8')
      .split('\n')
      .forEach((line, i) => /\bas unknown as\b/.test(line) && found.push(`${f}:${i + 1}: ${line.trim()}`))
  assert.deepEqual(found, [], found.join('\n'))
})
