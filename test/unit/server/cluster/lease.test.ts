// A node's lease judged by its own clock (src/server/cluster/lease.ts), here a fake one given
// through the store's `clock` option: held for `nodeLease` from before the renewal Redis confirmed
// was asked for, so a node frozen or slow past it stops writing before another can take over.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { RedisArg, RedisLink, RedisReply } from '../../../../src/server/cluster/redis'
import { ClusterStore } from '../../../../src/server/cluster/store'
import { FakeClock } from '../../../support/fake-clock'

const LEASE = 5000
/** How long Redis takes to answer here, ms. */
const ANSWER = 300

/** A Redis that answers ANSWER ms later: SET and SADD succeed; a renewal as `renews` says. */
function redis(clock: FakeClock) {
  const state = { renews: true }
  const link = {
    command: (args: RedisArg[]) =>
      new Promise<RedisReply>((answer) => {
        const name = String(args[0])
        clock.setTimeout(() => answer(name == 'SET' ? 'OK' : name == 'EVALSHA' ? (state.renews ? 1 : 0) : 1), ANSWER)
      }),
    subscribe: async () => {},
    onReady: () => {},
    quit: async () => {},
  } as RedisLink
  return { link, state }
}

test('the lease is held for nodeLease from before the renewal was asked for, by the clock given', async () => {
  const clock = new FakeClock()
  const { link } = redis(clock)
  const lease = new ClusterStore(link, { nodeLease: LEASE, node: 'n1', clock }).lease
  assert.equal(lease.leaseHeld(), false, 'not before it is taken')
  const asked = clock.now()
  const taken = lease.heartbeat()
  await clock.tick(2 * ANSWER)
  assert.equal(await taken, true)
  await clock.tick(asked + LEASE - 1 - clock.now())
  assert.equal(lease.leaseHeld(), true)
  // Lapsed though Redis confirmed it ANSWER ms after it was asked: its key may be gone by now.
  await clock.tick(1)
  assert.equal(lease.leaseHeld(), false)
})

test('a renewal Redis refuses (the lease lapsed or was taken) leaves it lapsing by the clock', async () => {
  const clock = new FakeClock()
  const { link, state } = redis(clock)
  const lease = new ClusterStore(link, { nodeLease: LEASE, node: 'n1', clock }).lease
  const taken = lease.heartbeat()
  await clock.tick(2 * ANSWER)
  assert.equal(await taken, true)
  const renewedAt = clock.now() - 2 * ANSWER
  state.renews = false
  const renewal = lease.heartbeat()
  await clock.tick(ANSWER)
  assert.equal(await renewal, false)
  clock.jump(renewedAt + LEASE - clock.now())
  assert.equal(lease.leaseHeld(), false, 'not extended by the refused renewal')
})
