// A body of client frames as cluster mode reads it (src/server/cluster/served-body.ts): one run of
// messages, and `u`, `a`, pings and the close kept in order for after; what ends the session.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Bad, readBody } from '../../../../src/server/cluster/served-body'
import type { Frame } from '../../../../src/protocol/frames'

/** What `frames` end the session with: [code, reason], or undefined when they are taken. */
function refusal(frames: Frame[], seq = 0, max = 10): [number, string] | undefined {
  try {
    readBody(frames, seq, max)
  } catch (e) {
    assert.ok(e instanceof Bad)
    return [e.code, e.message]
  }
}

test("a connection's first upload: its messages as one run, `u`, `a`, pings and the close in order", () => {
  const bytes = new Uint8Array([7])
  const b = readBody(['u2', 's4', 'ma', 'M["b","c"]', bytes, 'p1', 'q', 'a3', 'c4000 bye'], 0, 10)
  assert.deepEqual([b._first, b._seq, b._kept, b._used], [4, 8, 4, true])
  assert.deepEqual(b._msgs.slice(0, 3), ['a', 'b', 'c'])
  assert.ok(Buffer.isBuffer(b._msgs[3]) && b._msgs[3][0] == 7, 'a binary message as a Buffer')
  assert.deepEqual(b._after, [
    ['u', 2],
    ['p', '1'],
    ['a', 3],
    ['c', 4000, 'bye'],
  ])
})

test('a WebSocket message goes on from the link: no `s` needed, and no `u` means nothing kept', () => {
  const b = readBody(['mx'], 5, 10)
  assert.deepEqual([b._first, b._seq, b._kept, b._msgs], [5, 6, 0, ['x']])
})

test('what ends the session: malformed frames, a bad close code, a message too big or out of run', () => {
  assert.deepEqual(refusal(['s1', 'M{']), [1002, 'protocol error: malformed batch'])
  assert.deepEqual(refusal(['c3901 mine']), [1002, 'protocol error: bad close code "3901"'])
  assert.deepEqual(refusal(['o{}']), [1002, 'protocol error: unknown frame "o{}"'])
  assert.deepEqual(refusal(['mx']), [1002, 'protocol error: message before sequence marker'])
  assert.deepEqual(refusal(['s1', 'ma', 's5', 'mb']), [1002, 'protocol error: two runs in one body'])
  assert.deepEqual(refusal(['s1', 'm' + 'x'.repeat(11)]), [1009, 'message of 11 bytes exceeds 10'])
  assert.equal(refusal(['s1', 'm' + 'x'.repeat(10)]), undefined, 'maxMessageSize itself is fine')
})
