// The frame reader both sides use (src/protocol/codec.ts): each kind of frame to its method, and one
// set of rules for what is malformed, and for which side may send what (PROTOCOL.md §2).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { badClientFrame, encodeHello, From, read, type ServerFrameVisitor } from '../../../src/protocol/codec'
import type { Frame } from '../../../src/protocol/frames'

/** A visitor that records each call as [method, ...arguments], `on` left out. */
const recorder: ServerFrameVisitor<unknown, unknown[]> = new Proxy({} as any, {
  get:
    (_, name) =>
    (on: unknown, ...args: unknown[]) => [String(name).slice(1), ...args],
})

const fromServer = (f: Frame) => read(f, recorder, null, From.Server)
const fromClient = (f: Frame) => read(f, recorder, null, From.Client)

test('each kind of frame goes to its method, with what it carries', () => {
  const bytes = new Uint8Array([1, 2])
  assert.deepEqual(fromServer(bytes), ['message', bytes])
  assert.deepEqual(fromServer('m'), ['message', ''])
  assert.deepEqual(fromServer('ma b'), ['message', 'a b'])
  assert.deepEqual(fromServer('M["a","b"]'), ['messages', ['a', 'b']])
  assert.deepEqual(fromServer('s5'), ['number', 's', 5, ''])
  assert.deepEqual(fromServer('a0'), ['number', 'a', 0, ''])
  assert.deepEqual(fromServer('w7'), ['number', 'w', 7, ''])
  assert.deepEqual(fromServer('r0 chat room'), ['number', 'r', 0, 'chat room'])
  assert.deepEqual(fromServer('x9 chat'), ['number', 'x', 9, 'chat'])
  assert.deepEqual(fromServer('p1 2'), ['ping', '1 2'])
  assert.deepEqual(fromServer('q1'), ['pong'])
  assert.deepEqual(fromServer('c3901 session expired'), ['close', 3901, 'session expired'])
  assert.deepEqual(fromServer('c'), ['close', 1005, ''])
  assert.deepEqual(fromServer('eLL_ERR_X what went wrong'), ['error', 'LL_ERR_X', 'what went wrong'])
  const hello = { v: 2, sid: 'S', ack: 0, hb: 25000, max: 1024 }
  assert.deepEqual(fromServer(encodeHello(hello)), ['hello', hello])
  assert.deepEqual(fromClient('u3'), ['number', 'u', 3, ''])
})

test('malformed frames go to _bad: numbers, rooms, batches, hellos, close codes, unknown types', () => {
  const bad = ['', 'z1', 's', 's0', 's-1', 's1.5', 's1e3', 's 1', 's5 ', 's5 room', 'a', 'a1234567890123456']
  bad.push('r5', 'r5 ', 'x', 'M', 'M{', 'M[1]', 'M"a"', 'o{}', 'o{"sid":"S"}', 'oo', 'cabc', 'c1e3', 'c-1 x')
  for (const f of bad) {
    assert.deepEqual(fromServer(f), ['bad', f], f)
    assert.deepEqual(fromClient(f), ['bad', f], f)
  }
  assert.deepEqual(fromClient('u0'), ['bad', 'u0'], 'u counts from 1')
})

test('each side takes only what the other sends: u from a client; o, e, w, r, x from a server', () => {
  assert.deepEqual(fromServer('u1'), ['bad', 'u1'])
  const hello = encodeHello({ v: 2, sid: 'S', ack: 0, hb: 1, max: 1 })
  for (const f of [hello, 'eLL_ERR_X x', 'w1', 'r1 chat', 'x1 chat']) assert.deepEqual(fromClient(f), ['bad', f], f)
})

test("a client closes only with an application's code or none; a server with any", () => {
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
  assert.deepEqual(fromServer('c3900 overflow'), ['close', 3900, 'overflow'])
})

test("a client's bad frame is named in the 1002 it ends its session with", () => {
  assert.equal(badClientFrame('M{'), 'malformed batch')
  assert.equal(badClientFrame('c3900 not yours'), 'bad close code "3900"')
  assert.equal(badClientFrame('z' + 'y'.repeat(30)), 'unknown frame "z' + 'y'.repeat(15) + '"')
})
