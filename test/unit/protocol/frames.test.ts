import { test } from 'node:test'
import assert from 'node:assert/strict'
import { num, splitFrame, closeFrame, isResumable, CloseCode } from '../../../src/protocol/frames'
import { utf8Length } from '../../../src/protocol/utf8'

test('num reads the decimal after the type character and rejects anything else', () => {
  assert.equal(num('a0'), 0)
  assert.equal(num('s123456789012345'), 123456789012345)
  for (const bad of ['a', 'a-1', 'a1.5', 'a 1', 'a1e3', 'a0x10', 'a1234567890123456']) assert.ok(Number.isNaN(num(bad)), bad)
})

test('close frames carry code and reason, which may contain spaces', () => {
  assert.equal(closeFrame(4000, 'a b c'), 'c4000 a b c')
  assert.deepEqual(splitFrame('c4000 a b c'), ['4000', 'a b c'])
  assert.deepEqual(splitFrame('c1000'), ['1000', ''])
})

test('which server close codes make the client start a new session', () => {
  for (const c of [CloseCode.GOING_AWAY, 1011, CloseCode.SERVICE_RESTART, CloseCode.TRY_AGAIN_LATER, 4000, 4001, 4002, CloseCode.TOO_MANY_SESSIONS]) assert.ok(isResumable(c), String(c))
  for (const c of [1000, 1002, 1003, 1008, 1009, 4003, 4028, 4030, 4100, 4502, 4503, 3000]) assert.ok(!isResumable(c), String(c))
})

test('utf8Length agrees with Buffer.byteLength, including surrogate pairs and lone surrogates', () => {
  for (const s of ['', 'abc', 'é', '中文', '😀', 'a😀b', '\ud800', '\udc00x', 'x\ud83d', '\u07ff\u0800\uffff'])
    assert.equal(utf8Length(s), Buffer.byteLength(s), JSON.stringify(s))
})
