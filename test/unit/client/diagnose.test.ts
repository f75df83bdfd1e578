// diagnose(): each transport tried on its own, the report saying why one failed, and its probes
// logging nothing that reads as the app's connection giving up.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { LifelineRacing } from '../../../src/client/index'
import { diagnose } from '../../../src/client/diagnose'
import { flush, made, recorder, WS, POLL, FakeClock } from './fakes'

/** Diagnose a refused WebSocket and a working polling transport. */
async function refusedThenPolling(extra: { logLevel?: 'debug' | 'warn' } = {}) {
  const r = recorder()
  const clock = new FakeClock()
  const p = diagnose(LifelineRacing, 'http://example.test/rt', {
    transports: [WS, POLL],
    clock,
    storage: null,
    logger: r.logger,
    ...extra,
  })
  await flush()
  made.at(-1)!.drop('refused')
  await flush()
  made.at(-1)!.prove('L'.repeat(22))
  await clock.tick(0)
  return { report: await p, lines: r.lines }
}

// Regression (issue 28): the status panel's Diagnose button printed `[lifeline] gave up:
// websocket-refused` at warn, as if the page's connection had quit.
test('a failing probe logs nothing at warn; the report says why it failed', async () => {
  const { report, lines } = await refusedThenPolling()
  assert.deepEqual(lines, [])
  assert.deepEqual(
    report.results.map((r) => [r.transport, r.ok, r.reason]),
    [
      ['websocket', false, 'websocket-refused'],
      ['polling', true, 'ok'],
    ],
  )
})

test("a level the caller asks for is the probes' level", async () => {
  const { lines } = await refusedThenPolling({ logLevel: 'warn' })
  assert.deepEqual(
    lines.filter((l) => l.startsWith('warn')),
    ['warn gave up: websocket-refused'],
  )
  const debug = await refusedThenPolling({ logLevel: 'debug' })
  assert.ok(
    debug.lines.some((l) => l.startsWith('debug try websocket')),
    debug.lines.join('\n'),
  )
})
