// The client's logger levels: `warn` without `debug` for a fallback the network forced, a refusal
// by the server, a reset and giving up; `debug` only with `debug` or `logLevel: 'debug'`.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { LogLevel } from '../../../src/client/index'
import { client, flush, made, recorder, STREAM, WS, resetSession } from './fakes'

/** A client whose WebSocket is refused and whose stream then carries the session. */
async function fallback(opts: { logLevel?: LogLevel; debug?: boolean } = {}) {
  const r = recorder()
  const c = client({ logger: r.logger, ...opts }, [WS, STREAM])
  await flush()
  made[0].drop('refused')
  await c.clock.tick(0)
  made[made.length - 1].prove('S'.repeat(22))
  await flush()
  assert.equal(c.ll.transport, 'stream')
  return { ...r, ...c }
}

test('warn without debug: a fallback the network forced, naming the transport and why', async () => {
  const { logged } = await fallback()
  assert.deepEqual(logged('warn'), ['warn fallback to stream: websocket-refused'])
  assert.deepEqual(logged('debug'), [], 'no decisions without debug')
  assert.deepEqual(logged('info'), [], 'warn is the default level')
})

test('warn: a refusal by the server (1008, as for an origin), with its reason; not an app code', async () => {
  const r = recorder()
  const { clock } = client({ logger: r.logger })
  await flush()
  made[0].prove('S'.repeat(22))
  made[0].recv('c1008 origin not allowed: add it to origins')
  await clock.tick(0)
  assert.deepEqual(r.logged('warn'), ['warn closed: 1008 origin not allowed: add it to origins'])
  const other = recorder()
  client({ logger: other.logger })
  await flush()
  made[0].prove('S'.repeat(22))
  made[0].recv('c4003 kicked')
  await flush()
  assert.deepEqual(other.logged('warn'), [], "an app's own close code is the app's")
})

test('warn: a reset, with its reason; giving up after maxRetries, with the last cause', async () => {
  const r = recorder()
  const { ll, clock } = client({ logger: r.logger, maxRetries: 1 })
  await flush()
  made[0].prove('A'.repeat(22))
  ll.send('unacked')
  await flush()
  await resetSession(clock, 'B'.repeat(22))
  assert.deepEqual(r.logged('warn'), ['warn reset: session-closed-3901'])
  // Every attempt from now on fails, until maxRetries is spent (bounded: a few attempts at most).
  for (let i = 0; i < 10 && ll.state != 'closed'; i++) {
    made[made.length - 1].drop('refused')
    await clock.tick(1000)
  }
  assert.equal(ll.state, 'closed')
  assert.match(r.logged('warn').at(-1)!, /^warn gave up: websocket-/)
})

// and `logger: null` logs nowhere
test('levels: error keeps errors only, silent nothing, debug (or debug: true) every decision', async () => {
  const quiet = await fallback({ logLevel: 'error' })
  assert.deepEqual(quiet.logged('warn'), [])
  made[made.length - 1].recv('Zbad frame')
  assert.deepEqual(quiet.logged('error'), ['error LL_ERR_PROTOCOL bad frame Zbad frame'])
  const silent = await fallback({ logLevel: 'silent' })
  made[made.length - 1].recv('Zbad frame')
  assert.deepEqual(silent.lines, [])
  for (const opts of [{ logLevel: 'debug' as const }, { debug: true }]) {
    const loud = await fallback(opts)
    assert.ok(
      loud.logged('debug').some((l) => l.startsWith('debug try websocket new')),
      JSON.stringify(opts),
    )
    assert.ok(loud.logged('info').some((l) => l.includes('connecting -> open')))
    assert.equal(loud.logged('warn').length, 1)
  }
  // No logger at all: nothing is called (the fakes' default is logger: null).
  client({}, [WS, STREAM])
  await flush()
  made[0].drop('refused')
})
