// A node's room fan-outs (src/server/cluster/publisher.ts): one at a time per room, in the order
// asked for, each after what it must follow; messages queued meanwhile go out together unless a
// member's write came between them; rooms do not wait for each other. A fake fan-out, no Redis.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Publisher } from '../../../../src/server/cluster/publisher'
import type { StoredMessage } from '../../../../src/server/cluster/records'

/** A publisher whose fan-outs wait until the test lets them end (`finish`), and record themselves. */
function fake(max?: number) {
  const runs: Array<{
    room: string
    messages: StoredMessage[]
    finish: (n: number) => void
    fail: (e: Error) => void
  }> = []
  const p = new Publisher(
    (room, messages) => new Promise<number>((finish, fail) => runs.push({ room, messages, finish, fail })),
    max,
  )
  return { p, runs }
}

const tick = () => new Promise((ok) => setImmediate(ok))

test('one fan-out at a time per room, in order; those queued meanwhile go out together', async () => {
  const { p, runs } = fake()
  const now = Promise.resolve()
  const got = ['m1', 'm2', 'm3'].map((m) => p.publish('r', m, now))
  await tick()
  assert.deepEqual(
    runs.map((r) => r.messages),
    [['m1']],
    'the second waits for the first',
  )
  runs[0].finish(5)
  await tick()
  assert.deepEqual(
    runs.map((r) => r.messages),
    [['m1'], ['m2', 'm3']],
  )
  runs[1].finish(4)
  assert.deepEqual(await Promise.all(got), [5, 4, 4])
})

test('rooms do not wait for each other; a failed fan-out fails its messages, and the next goes on', async () => {
  const { p, runs } = fake()
  const now = Promise.resolve()
  const a1 = p.publish('a', 'a1', now)
  const b1 = p.publish('b', 'b1', now)
  const a2 = p.publish('a', 'a2', now)
  await tick()
  assert.deepEqual(
    runs.map((r) => r.room),
    ['a', 'b'],
  )
  runs[0].fail(new Error('redis away'))
  await assert.rejects(a1, /redis away/)
  await tick()
  assert.deepEqual(runs[2].messages, ['a2'])
  runs[1].finish(1)
  runs[2].finish(2)
  assert.deepEqual(await Promise.all([b1, a2]), [1, 2])
})

test("a message waits for what it follows; a member's write waits for the room's earlier messages", async () => {
  const { p, runs } = fake()
  let joined!: () => void
  const join = new Promise<void>((ok) => (joined = ok))
  const now = Promise.resolve()
  const m1 = p.publish('r', 'm1', join)
  const m2 = p.publish('r', 'm2', now)
  await tick()
  assert.equal(runs.length, 0, 'not before the join it follows')
  assert.equal(p.follow(['other']), undefined, 'nothing on its way to that room')
  let wrote = false
  void p.follow(['other', 'r'])!.then(() => (wrote = true))
  // Not with m2: a member's write came between them.
  const m3 = p.publish('r', 'm3', now)
  joined()
  await tick()
  assert.deepEqual(
    runs.map((r) => r.messages),
    [['m1']],
  )
  runs[0].finish(3)
  await tick()
  assert.deepEqual(
    runs.map((r) => r.messages),
    [['m1'], ['m2']],
  )
  assert.equal(wrote, false, 'the write waits for m2')
  runs[1].finish(3)
  await tick()
  assert.equal(wrote, true)
  assert.deepEqual(
    runs.map((r) => r.messages),
    [['m1'], ['m2'], ['m3']],
  )
  runs[2].finish(3)
  assert.deepEqual(await Promise.all([m1, m2, m3]), [3, 3, 3])
  await tick()
  assert.equal(p.follow(['r']), undefined, 'all out: a write waits for nothing')
})

test('maxPublishQueue: at the bound one more is refused (LL_ERR_BUFFER_FULL); room once they are in', async () => {
  const { p, runs } = fake(3)
  const now = Promise.resolve()
  const kept = [p.publish('a', 'm1', now), p.publish('b', 'm2', now), p.publish('a', 'm3', now)]
  assert.equal(p.isFull, true)
  await assert.rejects(p.publish('c', 'm4', now), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'LL_ERR_BUFFER_FULL')
    assert.match(e.message, /3 room messages .*cluster\.maxPublishQueue/)
    return true
  })
  await tick()
  runs[0].finish(1)
  runs[1].finish(1)
  await tick()
  assert.equal(p.isFull, false, 'two are in Redis')
  const more = p.publish('c', 'm5', now)
  runs[2].fail(new Error('Redis said no'))
  await tick()
  // A failed one frees its place too.
  const last = p.publish('c', 'm6', now)
  await tick()
  for (const r of runs.slice(3)) r.finish(1)
  await tick()
  for (const r of runs.slice(3)) r.finish(1)
  assert.deepEqual(await Promise.all([kept[0], kept[1], more, last]), [1, 1, 1, 1])
  await assert.rejects(kept[2], /Redis said no/)
  assert.deepEqual(
    runs.map((r) => r.messages),
    [['m1'], ['m2'], ['m3'], ['m5'], ['m6']],
    'nothing of the refused one went out',
  )
})
