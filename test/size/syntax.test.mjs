// The client builds use no syntax newer than ES2017, what iOS 12 WKWebView and Android 7
// WebView (Chrome 58+) run; APIs newer than that are feature-detected in the source.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { parse } from 'acorn'

for (const [file, sourceType] of [
  ['dist/lifeline.min.js', 'script'],
  ['dist/lifeline.mjs', 'module'],
]) {
  test(`${file} parses as ES2017`, () => {
    const code = readFileSync(new URL('../../' + file, import.meta.url), 'utf8')
    assert.doesNotThrow(() => parse(code, { ecmaVersion: 2017, sourceType }))
  })
}

test('and the check would catch newer syntax', () => {
  for (const snippet of ['a?.b', 'a ?? b', 'try {} catch {}', 'const o = {...a}', 'class A { x = 1 }'])
    assert.throws(() => parse(snippet, { ecmaVersion: 2017 }), SyntaxError, snippet)
})
