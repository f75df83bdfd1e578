import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  num,
  splitFrame,
  closeFrame,
  isAppCloseCode,
  isResumable,
  messageFrames,
  CloseCode,
} from '../../../src/protocol/frames'
import { utf8Length } from '../../../src/protocol/utf8'

test('num reads the decimal after the type character and rejects anything else', () => {
  assert.equal(num('a0'), 0)
  assert.equal(num('s123456789012345'), 123456789012345)
  for (const bad of ['a', 'a-1', 'a1.5', 'a 1', 'a1e3', 'a0x10', 'a1234567890123456'])
    assert.ok(Number.isNaN(num(bad)), bad)
})

test('close frames carry code and reason, which may contain spaces', () => {
  assert.equal(closeFrame(4000, 'a b c'), 'c4000 a b c')
  assert.deepEqual(splitFrame('c4000 a b c'), ['4000', 'a b c'])
  assert.deepEqual(splitFrame('c1000'), ['1000', ''])
})

test("a version 1 client gets Lifeline's own codes as version 1 numbered them; app codes pass as they are", () => {
  const v1 = (code: number) => closeFrame(code, 'x', 1)
  assert.deepEqual([3900, 3901, 3902, 3929, 3952, 3953].map(v1), [
    'c4000 x',
    'c4001 x',
    'c4002 x',
    'c4029 x',
    'c4502 x',
    'c4503 x',
  ])
  assert.deepEqual([1000, 1001, 4001, 4999, 3000].map(v1), ['c1000 x', 'c1001 x', 'c4001 x', 'c4999 x', 'c3000 x'])
  assert.equal(closeFrame(3901, 'x'), 'c3901 x', 'version 2 is the default')
})

test('which server close codes make the client start a new session', () => {
  for (const c of [
    CloseCode.GOING_AWAY,
    1011,
    CloseCode.SERVICE_RESTART,
    CloseCode.TRY_AGAIN_LATER,
    CloseCode.BUFFER_OVERFLOW,
    CloseCode.SESSION_EXPIRED,
    CloseCode.HEARTBEAT_TIMEOUT,
    CloseCode.TOO_MANY_SESSIONS,
  ])
    assert.ok(isResumable(c), String(c))
  // The application's 4000-4999 end the session, whatever they meant in version 1.
  const ends = [1000, 1002, 1003, 1008, 1009, 3000, 3903, 3928, 3930, 3952, 3953, 3999, 4000, 4001, 4002, 4029, 4999]
  for (const c of ends) assert.ok(!isResumable(c), String(c))
})

test("an application may close with 1000 and 3000-4999, but not with Lifeline's own 3900-3999", () => {
  for (const c of [1000, 3000, 3899, 4000, 4001, 4999]) assert.ok(isAppCloseCode(c), String(c))
  for (const c of [999, 1001, 1005, 2999, 3900, 3901, 3999, 5000, 4000.5, NaN]) assert.ok(!isAppCloseCode(c), String(c))
})

test('messageFrames batches consecutive texts, keeps binary messages apart, and splits past 16,384 characters', () => {
  const bin = new Uint8Array([1])
  assert.deepEqual(messageFrames(['a', 'b', bin, 'c'], 0, 4, []), ['M["a","b"]', bin, 'mc'])
  assert.deepEqual(messageFrames(['a', 'b', 'c'], 1, 3, ['s2']), ['s2', 'M["b","c"]'], 'a slice, added to frames')
  const big = 'x'.repeat(10000)
  assert.deepEqual(messageFrames([big, big, 'y'], 0, 3, []), ['m' + big, 'M' + JSON.stringify([big, 'y'])])
  assert.deepEqual(messageFrames([], 0, 0, []), [])
})

test('utf8Length agrees with Buffer.byteLength, including surrogate pairs and lone surrogates', () => {
  for (const s of ['', 'abc', 'é', '中文', '😀', 'a😀b', '\ud800', '\udc00x', 'x\ud83d', '\u07ff\u0800\uffff'])
    assert.equal(utf8Length(s), Buffer.byteLength(s), JSON.stringify(s))
})
