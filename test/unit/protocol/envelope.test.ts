// The HTTP envelope parser fed raw bytes, whole and split at every position.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { encode, Parser, HEADER } from '../../../src/protocol/envelope'
import type { Frame } from '../../../src/protocol/frames'

const frames: Frame[] = [
  'mhello',
  '',
  'M["a","b"]',
  new Uint8Array([0, 255, 7]),
  'm' + '😀'.repeat(3),
  new Uint8Array(0),
]

function parseAll(chunks: Uint8Array[], max = 1 << 20): Frame[] {
  const out: Frame[] = []
  const p = new Parser((f) => out.push(f), max)
  for (const c of chunks) p.push(c)
  assert.equal(p.pending, 0)
  return out
}

test('encode then parse gives the frames back, text as strings and binary as bytes', () => {
  const body = encode(frames)
  assert.equal(
    body.length,
    frames.reduce((n, f) => n + HEADER + (typeof f == 'string' ? Buffer.byteLength(f) : f.length), 0),
  )
  assert.deepEqual(parseAll([body]), frames)
})

test('every split point of the body parses the same (the parser keeps partial records)', () => {
  const body = encode(frames)
  for (let i = 0; i <= body.length; i++)
    assert.deepEqual(parseAll([body.subarray(0, i), body.subarray(i)]), frames, 'split at ' + i)
  assert.deepEqual(parseAll(Array.from(body, (b) => new Uint8Array([b]))), frames, 'byte by byte')
})

test('binary payloads are copies: later changes to the chunk do not reach them', () => {
  const body = encode([new Uint8Array([1, 2, 3])])
  const out = parseAll([body])
  body.fill(0)
  assert.deepEqual(out[0], new Uint8Array([1, 2, 3]))
})

test('a bad kind, a length over the limit, or invalid UTF-8 throws before allocating', () => {
  assert.throws(() => parseAll([new Uint8Array([2, 0, 0, 0, 0])]), RangeError)
  assert.throws(() => parseAll([new Uint8Array([0, 0xff, 0xff, 0xff, 0xff])], 1000), RangeError)
  assert.throws(() => parseAll([new Uint8Array([0, 0, 0, 0, 2, 0xc3, 0x28])]), TypeError)
  assert.throws(() => parseAll([new Uint8Array([0, 0, 0, 0, 1, 0xe2])]), TypeError, 'truncated UTF-8 sequence')
})

test('an incomplete record stays pending; nothing is emitted for it', () => {
  const out: Frame[] = []
  const p = new Parser((f) => out.push(f), 100)
  p.push(encode(['mabc']).subarray(0, 7))
  assert.equal(out.length, 0)
  assert.equal(p.pending, 7)
})

// 2 MiB in 64-byte chunks now takes milliseconds
test('regression: a record arriving in small pieces was copied again with each (quadratic)', () => {
  const body = encode([new Uint8Array(1 << 21), 'mafter'])
  const out: Frame[] = []
  const p = new Parser((f) => out.push(f), 1 << 22)
  const t0 = performance.now()
  for (let i = 0; i < body.length; i += 64) p.push(body.subarray(i, i + 64))
  const ms = performance.now() - t0
  assert.equal(out.length, 2)
  assert.equal((out[0] as Uint8Array).length, 1 << 21)
  assert.equal(p.pending, 0)
  // Quadratic was about 5 s here; linear is well under 100 ms.
  assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`)
})
