// The incoming side of a server session (src/server/inbound.ts) with a link in memory and
// node:test's mock timers: uploads that overtake each other (PROTOCOL.md §4.5, issue 25).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { LocalSession } from '../../../src/server/local-session'
import type { ServerResolved } from '../../../src/server/options'
import { localSession, memoryHost } from '../../support/host'
import { POSTS_IN_FLIGHT } from '../../../src/protocol/limits'
import type { Frame } from '../../../src/protocol/frames'

function session(options: Partial<ServerResolved> = {}, reliable = true) {
  const s = localSession(memoryHost(options), reliable)
  const got: string[] = []
  s._session.on('message', (d) => got.push(String(d)))
  return { s, got }
}

/** A POST's answer: its frames, or 'waiting' while the server holds it. */
async function settle(answer: ReturnType<LocalSession['_post']>): Promise<Frame[] | null | 'waiting'> {
  if (!(answer instanceof Promise)) return answer
  return Promise.race([answer, new Promise<'waiting'>((r) => setImmediate(() => r('waiting')))])
}

test('a POST that overtook the one before it is answered only once it is taken, then with the ack', async () => {
  const { s, got } = session()
  const second = s._post(['s3', 'mc', 'md'], { ack: 0, t: 'polling' })
  assert.equal(await settle(second), 'waiting', 'answering it now would let the client send another')
  assert.deepEqual(s._post(['s1', 'ma', 'mb'], { ack: 0, t: 'polling' }), ['a2'])
  assert.deepEqual(await second, ['a4'])
  assert.deepEqual(got, ['a', 'b', 'c', 'd'])
  s._session.close()
})

// The cause of issue 25: a client keeps two POSTs in flight and sends the next when one is
// answered. Answered at once, a parked body freed its slot, and behind a slow first request
// (an L4 relay opening its upstream connection) the next bodies parked one after another until
// maxParkedPosts, and the session was closed with 1002.
test('two POSTs in flight, the older always held up: never more than one parked, none lost', async () => {
  const { s, got } = session({ maxParkedPosts: 4 })
  const COUNT = 200
  let sent = 0
  let seq = 1
  const inFlight: { frames: Frame[]; answered: boolean }[] = []
  let most = 0
  const next = () => {
    if (sent >= COUNT) return
    const frames: Frame[] = ['s' + seq]
    for (let i = 0; i < 5; i++, sent++) frames.push('m' + seq++)
    inFlight.push({ frames, answered: false })
  }
  for (let i = 0; i < POSTS_IN_FLIGHT; i++) next()
  // The network delivers the newest request first, every time; a free slot is filled at once.
  for (let round = 0; inFlight.length && round < 1000; round++) {
    const post = inFlight[inFlight.length - 1]
    inFlight.splice(inFlight.length - 1, 1)
    const answer = s._post(post.frames, { ack: 0, t: 'stream' })
    most = Math.max(most, s._inbound._parked ? s._inbound._parked.size : 0)
    const held = (await settle(answer)) == 'waiting'
    if (held) {
      // Still in flight from the client's side: the older one goes next, then both are answered.
      const older = inFlight.pop()!
      assert.notEqual(s._post(older.frames, { ack: 0, t: 'stream' }), null)
      assert.notEqual(await answer, null)
      next()
      next()
    } else next()
  }
  assert.equal(s.closed, false)
  assert.ok(most <= POSTS_IN_FLIGHT - 1, 'parked at once: ' + most)
  assert.deepEqual(
    got,
    Array.from({ length: COUNT }, (_, i) => String(i + 1)),
  )
  s._session.close()
})

test('a retry of a parked body takes its place; the older copy is answered with nothing', async () => {
  const { s, got } = session()
  const first = s._post(['s2', 'mb'], { ack: 0, t: 'polling' })
  const again = s._post(['s2', 'mb'], { ack: 0, t: 'polling' })
  assert.deepEqual(await first, [])
  assert.equal(s._inbound._parked!.size, 1)
  s._post(['s1', 'ma'], { ack: 0, t: 'polling' })
  assert.deepEqual(await again, ['a2'])
  assert.deepEqual(got, ['a', 'b'])
  s._session.close()
})

test('past maxParkedPosts an early body is refused (503), not the session ended', async () => {
  const { s, got } = session({ maxParkedPosts: 1 })
  const early = s._post(['s3', 'mc'], { ack: 0, t: 'polling' })
  await assert.rejects(s._post(['s4', 'md'], { ack: 0, t: 'polling' }) as Promise<unknown>, /maxParkedPosts 1/)
  assert.equal(s.closed, false)
  s._post(['s1', 'ma', 'mb'], { ack: 0, t: 'polling' })
  assert.deepEqual(await early, ['a3'])
  // The refused body is sent again by the client, which kept it.
  assert.deepEqual(s._post(['s4', 'md'], { ack: 0, t: 'polling' }), ['a4'])
  assert.deepEqual(got, ['a', 'b', 'c', 'd'])
  s._session.close()
})

test('fire-and-forget sessions park nothing: bodies go as they come', () => {
  const { s } = session({}, false)
  assert.ok(Array.isArray(s._post(['s5', 'mx'], { ack: 0, t: 'polling' })))
  assert.equal(s._inbound._parked, undefined)
  s._session.close()
})

// Seed 13 of issue 25's randomized network: the upload before it stalled in a relay for good.
test('a parked POST whose predecessor does not come within requestTimeout is refused (503)', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] })
  const { s, got } = session({ requestTimeout: 10000 })
  const early = s._post(['s2', 'mb'], { ack: 0, t: 'polling' }) as Promise<unknown>
  t.mock.timers.tick(9999)
  assert.equal(await settle(early as never), 'waiting')
  t.mock.timers.tick(1)
  await assert.rejects(early, /within requestTimeout/)
  assert.equal(s._inbound._parked!.size, 0)
  assert.equal(s.closed, false)
  // Sent again after the one before it: taken.
  s._post(['s1', 'ma'], { ack: 0, t: 'polling' })
  assert.deepEqual(s._post(['s2', 'mb'], { ack: 0, t: 'polling' }), ['a2'])
  assert.deepEqual(got, ['a', 'b'])
  s._session.close()
})
