// A session's places in its rooms (src/server/room-cursors.ts): where a room starts on a connection
// from the client's positions, `r` frames only where the run changes, `x` when history is too short.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { RoomCursors } from '../../../src/server/room-cursors'
import { RoomLog } from '../../../src/server/room-log'

function rooms() {
  const a = new RoomLog(1, 5, 60000)
  const b = new RoomLog(100, 5, 60000)
  const c = new RoomLog(1, 5, 60000)
  return { a, b, c, cur: new RoomCursors() }
}

test('a room is written from where the session joined, in runs; `r` again only when the run changes', () => {
  const { a, b, cur } = rooms()
  a.append('old')
  cur.joined('a', a)
  cur.joined('b', b)
  cur.activate(undefined)
  assert.deepEqual(cur.take([]), false, 'nothing since it joined')
  a.append('a2')
  a.append('a3')
  const out: unknown[] = []
  assert.equal(cur.take(out as never[]), true)
  assert.deepEqual(out, ['r2 a', 'M["a2","a3"]'])
  a.append('a4')
  assert.deepEqual(take(cur), ['ma4'], 'the run goes on: no header')
  b.append('b100')
  a.append('a5')
  assert.deepEqual(take(cur), ['ma5', 'r100 b', 'mb100'], 'still in a: a header only for b')
  b.append('b101')
  a.append('a6')
  assert.deepEqual(take(cur), ['r6 a', 'ma6', 'r101 b', 'mb101'])
  cur.own()
  b.append('b102')
  assert.deepEqual(take(cur), ['r102 b', 'mb102'], "after the session's own messages the run needs its header")
})

test('on a new connection each room goes on after the client’s position; none or an older one: from the join', () => {
  const { a, b, c, cur } = rooms()
  for (const m of ['a1', 'a2']) a.append(m)
  cur.joined('a', a)
  cur.joined('b', b)
  cur.joined('c', c)
  for (const m of ['a3', 'a4', 'a5']) a.append(m)
  for (const m of ['b100', 'b101']) b.append(m)
  c.append('c1')
  cur.activate(
    new Map([
      ['a', 1],
      ['b', 100],
      ['z', 7],
      ['c', 99],
    ]),
  )
  assert.deepEqual(
    take(cur),
    ['r0 z', 'r3 a', 'M["a3","a4","a5"]', 'r101 b', 'mb101'],
    'z: not a room of the session, its position goes; c: the client claims more than there is',
  )
  cur.activate(new Map([['a', 4]]))
  assert.deepEqual(take(cur), ['r5 a', 'ma5', 'r100 b', 'M["b100","b101"]', 'r1 c', 'mc1'])
})

test('a position older than the room keeps: `x` with the next offset, none of the old history, then new ones', () => {
  const { a, cur } = rooms()
  cur.joined('a', a)
  for (let i = 1; i <= 8; i++) a.append('a' + i)
  cur.activate(new Map([['a', 2]]))
  assert.deepEqual(take(cur), ['x9 a'])
  assert.deepEqual(take(cur), [], 'once')
  a.append('a9')
  assert.deepEqual(take(cur), ['r9 a', 'ma9'])
  cur.left('a')
  a.append('a10')
  assert.deepEqual(take(cur), ['r0 a'], 'left: its position goes, nothing more')
})

test('a room left, or named by the client and not joined, gets `r0` once, first; a rejoin takes it back', () => {
  const { a, b, cur } = rooms()
  cur.joined('a', a)
  cur.joined('b', b)
  cur.activate(new Map([['old', 3]]))
  cur.left('a')
  b.append('b100')
  assert.deepEqual(take(cur), ['r0 old', 'r0 a', 'r100 b', 'mb100'])
  assert.deepEqual(take(cur), [], 'once')
  b.append('b101')
  cur.left('b')
  cur.joined('b', b)
  b.append('b102')
  assert.deepEqual(take(cur), ['r102 b', 'mb102'], 'left and joined again before a write: no `r0`, from the join')
  // A new connection's positions are all the client holds: an `r0` not written yet is for them only.
  cur.left('b')
  cur.activate(new Map([['a', 1]]))
  assert.deepEqual(take(cur), ['r0 a'])
  b.append('b103')
  assert.deepEqual(take(cur), [], 'b left: nothing, and its `r0` gone with the connection it was for')
})

function take(cur: RoomCursors): unknown[] {
  const out: never[] = []
  cur.take(out)
  return out
}
