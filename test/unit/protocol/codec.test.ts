// The reader of a client's frames (src/protocol/codec.ts): each kind of frame to its method, one set
// of rules for what is malformed, and the frames only a server sends refused (PROTOCOL.md §2).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { badClientFrame, encodeHello, read, type FrameVisitor } from '../../../src/protocol/codec'
import type { Frame } from '../../../src/protocol/frames'

/** A visitor that records each call as [method, ...arguments], `on` left out. */
const recorder: FrameVisitor<unknown, unknown[]> = new Proxy({} as any, {
  get:
    (_, name) =>
    (on: unknown, ...args: unknown[]) => [String(name).slice(1), ...args],
})

const fromClient = (f: Frame) => read(f, recorder, null)

test('each kind of frame goes to its method, with what it carries', () => {
  const bytes = new Uint8Array([1, 2])
  assert.deepEqual(fromClient(bytes), ['message', bytes])
  assert.deepEqual(fromClient('m'), ['message', ''])
  assert.deepEqual(fromClient('ma b'), ['message', 'a b'])
  assert.deepEqual(fromClient('M["a","b"]'), ['messages', ['a', 'b']])
  assert.deepEqual(fromClient('s5'), ['number', 's', 5])
  assert.deepEqual(fromClient('a0'), ['number', 'a', 0])
  assert.deepEqual(fromClient('u3'), ['number', 'u', 3])
  assert.deepEqual(fromClient('p1 2'), ['ping', '1 2'])
  assert.deepEqual(fromClient('q1'), ['pong'])
  assert.deepEqual(fromClient('c4000 done'), ['close', 4000, 'done'])
  assert.deepEqual(fromClient('c'), ['close', 1005, ''])
})

test('malformed frames go to _bad: numbers, batches, close codes, unknown types', () => {
  const bad = ['', 'z1', 's', 's0', 's-1', 's1.5', 's1e3', 's 1', 's5 ', 's5 room', 'a', 'a1234567890123456']
  bad.push('u0', 'u', 'M', 'M{', 'M[1]', 'M"a"', 'cabc', 'c1e3', 'c-1 x')
  for (const f of bad) assert.deepEqual(fromClient(f), ['bad', f], f)
})

test('the frames only a server sends are bad from a client: o, e, w, r, x', () => {
  const hello = encodeHello({ v: 2, sid: 'S', ack: 0, hb: 1, max: 1 })
  for (const f of [hello, 'eLL_ERR_X x', 'w1', 'r1 chat', 'r0 chat', 'x1 chat'])
    assert.deepEqual(fromClient(f), ['bad', f], f)
})

test("a client closes only with an application's code or none", () => {
  for (const [f, code] of [
    ['c', 1005],
    ['c1005 x', 1005],
    ['c1000 bye', 1000],
    ['c3000', 3000],
    ['c4999', 4999],
  ] as const)
    assert.equal(fromClient(f)[1], code, f)
  for (const f of ['c3900 not yours', 'c3901', 'c1001', 'c1011', 'c999', 'c5000'])
    assert.deepEqual(fromClient(f), ['bad', f], f)
})

test("a client's bad frame is named in the 1002 it ends its session with", () => {
  assert.equal(badClientFrame('M{'), 'malformed batch')
  assert.equal(badClientFrame('c3900 not yours'), 'bad close code "3900"')
  assert.equal(badClientFrame('z' + 'y'.repeat(30)), 'unknown frame "z' + 'y'.repeat(15) + '"')
})
