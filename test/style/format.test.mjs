// The code's shape is checked, not argued about: Prettier's formatting (.prettierrc.json, width 120)
// and no line over 120 characters, comments and strings included (Prettier wraps neither).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const WIDTH = 120
/** Every committed source file Prettier formats. */
const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '*.ts', '*.mjs', '*.cjs', '*.js'], {
  cwd: root,
  encoding: 'utf8',
})
  .split('\n')
  .filter((f) => f && !/^(dist|node_modules|docs\/api)\//.test(f) && existsSync(join(root, f)))

test('every source file is formatted by Prettier (npx prettier --write <file> fixes it)', () => {
  const r = spawnSync(join(root, 'node_modules/.bin/prettier'), ['--list-different', ...files], {
    cwd: root,
    encoding: 'utf8',
  })
  assert.equal(r.stdout.trim(), '', 'not formatted:\n' + r.stdout + r.stderr)
})

test(`no line is over ${WIDTH} characters`, () => {
  const wide = []
  for (const f of files) {
    readFileSync(join(root, f), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        // Counted in characters as an editor shows them, not UTF-16 units or bytes.
        const n = [...line].length
        if (n > WIDTH) wide.push(`${f}:${i + 1} (${n})`)
      })
  }
  assert.deepEqual(wide, [], wide.join('\n'))
})
