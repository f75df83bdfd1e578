// The cluster's Lua scripts as files (src/server/cluster/lua/*.lua, read by lua.ts): each opens by
// naming its KEYS and ARGV slots and its reply, and reads them by those names after; every file is
// used. The scripts' behaviour is tested against a real Redis (test/server/cluster/store.test.ts,
// room-log.test.ts, census.test.ts, lease.test.ts).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import * as S from '../../../../src/server/cluster/lua'
import { Script } from '../../../../src/server/cluster/redis'

const dir = new URL('../../../../src/server/cluster/lua/', import.meta.url)
const files = readdirSync(dir).filter((f) => f.endsWith('.lua'))
/** Helpers other scripts open with: they name no slots. */
const HELPERS = ['common.lua', 'time.lua', 'room-common.lua', 'census-common.lua']
const text = (file: string) => readFileSync(new URL(file, dir), 'utf8')
const scripts = Object.values(S).filter((s): s is Script => s instanceof Script)

test('each script opens with what it does, its KEYS and ARGV, and what it replies', () => {
  for (const file of files.filter((f) => !HELPERS.includes(f))) {
    const head = text(file).split('\n\n')[0]
    assert.match(head, /^-- \S/, file + ': opens with a comment')
    assert.match(head, /^-- (KEYS|ARGV): /m, file + ': names its slots')
    assert.match(head, /Replies/, file + ': says what it replies')
  }
})

test('a script reads KEYS[n] and ARGV[n] only in its opening, where it names them', () => {
  for (const file of files) {
    const body = text(file).split('\n\n').slice(1).join('\n\n')
    assert.doesNotMatch(body, /\b(KEYS|ARGV)\[\d+\]/, file + ': a numbered slot past the opening')
  }
})

test('every file is used, and every script opens with the helpers it calls', () => {
  const sources = scripts.map((s) => s.source)
  for (const file of files)
    assert.ok(
      sources.some((src) => src.includes(text(file))),
      file + ' is used by no script',
    )
  const helpers: Record<string, RegExp> = {
    'common.lua': /\b(fail|follow|size|push|node_of|lost|refused)\(/,
    'time.lua': /\bnow\b/,
    'room-common.lua': /\b(whole|id|next_of)\(/,
    'census-common.lua': /\bextend\(/,
  }
  for (const s of scripts)
    for (const [file, uses] of Object.entries(helpers)) {
      const own = s.source.replace(text(file), '')
      if (uses.test(own.replace(/--.*$/gm, ''))) assert.ok(s.source.includes(text(file)), s.name + ' calls ' + file)
    }
})

test('scripts have distinct names', () => {
  const names = scripts.map((s) => s.name)
  assert.deepEqual([...new Set(names)], names)
})
