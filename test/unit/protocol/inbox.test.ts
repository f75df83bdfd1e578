// The receiver's count, alone: duplicates, gaps, when an acknowledgement is due.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Arrival, Inbox } from '../../../src/protocol/inbox'

test('each number is delivered once, in order; a gap is refused when reliable', () => {
  const inbox = new Inbox(true)
  assert.equal(inbox._arrive(1, 1), Arrival.Deliver)
  assert.equal(inbox._arrive(1, 1), Arrival.Duplicate)
  assert.equal(inbox._arrive(3, 1), Arrival.Gap)
  assert.equal(inbox._received, 1, 'a gap is not counted')
  assert.equal(inbox._arrive(2, 1), Arrival.Deliver)
})

test('fire-and-forget accepts gaps and still drops duplicates', () => {
  const inbox = new Inbox(false)
  assert.equal(inbox._arrive(5, 1), Arrival.Deliver)
  assert.equal(inbox._arrive(9, 1), Arrival.Deliver)
  assert.equal(inbox._arrive(9, 1), Arrival.Duplicate)
})

test('an acknowledgement is due at 128 messages or past 1 MiB, counted from the last one', () => {
  const inbox = new Inbox(true)
  for (let i = 1; i <= 127; i++) inbox._arrive(i, 1)
  assert.ok(!inbox._due() && inbox._pending())
  inbox._arrive(128, 1)
  assert.ok(inbox._due(), '128 messages')
  assert.equal(inbox._ack(), 128)
  assert.ok(!inbox._due() && !inbox._pending())
  inbox._arrive(129, 1048576)
  assert.ok(!inbox._due(), 'exactly 1 MiB is not past it')
  inbox._arrive(130, 1)
  assert.ok(inbox._due(), 'one byte past 1 MiB')
  inbox._ack()
  inbox._arrive(131, 10)
  assert.ok(!inbox._due(), 'the byte count starts again at each acknowledgement')
  // The server acknowledges only what it handed to the app (a held message is not yet the app's).
  assert.ok(!inbox._pending(130) && inbox._pending(131), 'up to a given number')
  inbox._reset()
  assert.deepEqual([inbox._received, inbox._acked], [0, 0])
})
