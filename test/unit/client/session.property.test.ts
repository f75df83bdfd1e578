// The client's frame handling (`Session._frame`) fed generated garbage from a "server" through
// the fake transports: nothing throws out of it, every error is a LifelineError with a stable
// code, a protocol error always leads to a reconnect (or the end the server asked for), timers
// stay in the range setTimeout honours, and the client holds nothing that grows with the input.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { LifelineError } from '../../../src/client/index'
import type { Frame } from '../../../src/protocol/frames'
import { FakeClock, client, flush, made } from './fakes'
import { frameRun, CORPUS } from '../../support/garbage'

const runs = {
  numRuns: Number(process.env.PROPERTY_RUNS || 300),
  seed: process.env.PROPERTY_SEED ? +process.env.PROPERTY_SEED : undefined,
}
const CODES = ['LL_ERR_PROTOCOL', 'LL_ERR_SERVER']

/** A fake clock that checks every delay it is given: browsers and Node fire at once past 2^31 - 1 ms. */
class StrictClock extends FakeClock {
  bad: unknown[] = []
  constructor() {
    super()
    const set = this.setTimeout
    this.setTimeout = (fn, ms) => {
      if (!(Number.isFinite(ms) && ms >= 0 && ms <= 0x7fffffff)) this.bad.push(ms)
      return set(fn, ms)
    }
  }
}

/** A proven client on a fake WebSocket, with messages flowing (s1 received). */
async function proven() {
  const clock = new StrictClock()
  const c = client({ clock, minDelay: 10, maxDelay: 100 })
  await flush()
  made[0].prove('S'.repeat(22))
  made[0].recv('s1')
  made[0].recv('mfirst')
  return { ...c, clock }
}

// no throw, stable error codes, a reconnect after every protocol error, sane timers
test('generated frames from the server', async () => {
  await fc.assert(
    fc.asyncProperty(frameRun, async (frames) => {
      const { ll, clock, of } = await proven()
      for (const f of frames) {
        const t = made[made.length - 1]
        const before = of('error').filter((e) => (e.error as LifelineError).code == 'LL_ERR_PROTOCOL').length
        assert.doesNotThrow(() => t.recv(f))
        await clock.tick(1000)
        const errors = of('error')
        for (const e of errors) {
          assert.ok(e.error instanceof LifelineError, 'an Error with a code')
          assert.ok(CODES.includes((e.error as LifelineError).code), (e.error as LifelineError).code)
        }
        if (
          errors.filter((e) => (e.error as LifelineError).code == 'LL_ERR_PROTOCOL').length > before &&
          ll.state != 'closed'
        ) {
          assert.ok(t.stopped, 'the connection that sent it is dropped')
          assert.ok(
            made[made.length - 1] != t && made[made.length - 1].opened,
            'and another is opened: ' + JSON.stringify(f),
          )
        }
        if (ll.state == 'closed') break
        // A reconnect takes the next frame on the new connection, proven like the first.
        const now = made[made.length - 1]
        if (now != t) now.prove('S'.repeat(22))
      }
      assert.deepEqual(clock.bad, [], 'timers within setTimeout range')
      assert.ok(made.length <= frames.length + 2, 'connections: ' + made.length)
      assert.equal(ll.bufferedAmount, 0)
      ll.close()
      await clock.tick(60000)
    }),
    runs,
  )
})

test('corpus: each malformed frame gives LL_ERR_PROTOCOL and a reconnect that resumes the same session', async () => {
  // Frames that are not protocol errors for a client: messages, pings, pongs, the same hello
  // again (a recycled stream), an ack of what was sent (none), a server close, an error report.
  const fine = new Set<Frame>([
    'm',
    'p',
    'q',
    'a0',
    'm\udc00',
    'M["\\ud800"]',
    ...CORPUS.filter((f) => typeof f != 'string' || /^[ce]/.test(f)),
  ])
  for (const f of CORPUS) {
    const { ll, clock, of } = await proven()
    const t = made[0]
    t.recv(f)
    await clock.tick(1000)
    const codes = of('error').map((e) => (e.error as LifelineError).code)
    if (fine.has(f)) assert.ok(!codes.includes('LL_ERR_PROTOCOL'), JSON.stringify(f) + ' gave ' + codes)
    else {
      assert.deepEqual(codes, ['LL_ERR_PROTOCOL'], JSON.stringify(f))
      assert.ok(t.stopped && made.length == 2, JSON.stringify(f) + ' reconnects')
      assert.match(made[1].url, new RegExp('sid=' + 'S'.repeat(22)), 'to the same session')
    }
    assert.deepEqual(clock.bad, [], JSON.stringify(f) + ': timers within setTimeout range')
    ll.close()
    await clock.tick(60000)
  }
})

// accepted with timers in range, or LL_ERR_PROTOCOL and a reconnect
test('generated hellos as the first frame of a connection', async () => {
  const weird = fc.oneof(
    fc.anything(),
    fc.constantFrom(1e308, 1e10, 2 ** 31, -1, 0, 0.5, 1.5, '1000', '3', null, true, [], {}),
  )
  const field = (good: fc.Arbitrary<unknown>) =>
    fc.oneof({ weight: 3, arbitrary: good }, { weight: 1, arbitrary: weird })
  const hello = fc.record(
    {
      v: field(fc.constant(1)),
      sid: field(fc.constant('S'.repeat(22))),
      ack: field(fc.constant(0)),
      hb: field(fc.integer({ min: 1000, max: 60000 })),
      max: field(fc.integer({ min: 1, max: 1 << 22 })),
    },
    { requiredKeys: [] },
  )
  await fc.assert(
    fc.asyncProperty(hello, async (h) => {
      const clock = new StrictClock()
      const { ll, of } = client({ clock, minDelay: 10, maxDelay: 100 })
      await flush()
      made[0].emit('open')
      assert.doesNotThrow(() => made[0].recv('o' + JSON.stringify(h)))
      made[0].recv('q')
      await clock.tick(1000)
      const codes = of('error').map((e) => (e.error as LifelineError).code)
      if (codes.includes('LL_ERR_PROTOCOL')) assert.ok(made[0].stopped && made.length == 2, 'reconnects')
      else {
        assert.equal(ll.state, 'open')
        // What the hello said is what the client now lives by: it must be sane.
        assert.doesNotThrow(() => ll.send('x'), 'a one-byte message fits any accepted hello')
        await clock.tick(120000)
      }
      assert.deepEqual(clock.bad, [], 'timers within setTimeout range')
      ll.close()
      await clock.tick(60000)
    }),
    runs,
  )
})

// It reported LL_ERR_PROTOCOL but went on over that connection.
test('regression: a hello acknowledging messages never sent was used anyway', async () => {
  const { ll, clock, of } = client({ clock: new StrictClock() })
  await flush()
  made[0].hello('S'.repeat(22), 5)
  await clock.tick(10)
  assert.deepEqual(
    of('error').map((e) => (e.error as LifelineError).code),
    ['LL_ERR_PROTOCOL'],
  )
  assert.ok(made[0].stopped, 'dropped')
  assert.equal(made.length, 2, 'and a new connection tried')
  ll.close()
  await clock.tick(60000)
})

// (or a blank id, or numbers as strings) was taken, and its timer fired at once, over and over
test('regression: a hello with a heartbeat past 2^31 ms', async () => {
  for (const h of [{ hb: 2 ** 31 }, { hb: 1e308 }, { sid: '' }, { hb: '1000' }, { max: '5' }, { ack: 0.5 }]) {
    const clock = new StrictClock()
    const { ll, of } = client({ clock })
    await flush()
    made[0].emit('open')
    made[0].recv('o' + JSON.stringify({ v: 1, sid: 'S'.repeat(22), ack: 0, hb: 25000, max: 100, ...h }))
    await clock.tick(10)
    assert.deepEqual(
      of('error').map((e) => (e.error as LifelineError).code),
      ['LL_ERR_PROTOCOL'],
      JSON.stringify(h),
    )
    assert.deepEqual(clock.bad, [])
    ll.close()
    await clock.tick(60000)
  }
})
