// diagnose (lifeline-rt/diagnose) in Chromium: each transport tried on its own, through real
// proxies, with a reason for each failure, and nothing in the report but the app's own endpoint.
import { Lifeline } from '../../src/client/index'
import { diagnose } from '../../src/client/diagnose'
import { assert, cleanup, equal, proxy, server } from '../browser/helpers'

describe('diagnose', function () {
  this.timeout(60000)
  afterEach(cleanup)

  it('directly: every transport works; best is websocket', async () => {
    const s = await server()
    const r = await diagnose(Lifeline, s.url)
    equal(r.best, 'websocket')
    equal(
      r.results.map((x) => [x.transport, x.ok, x.reason]),
      [
        ['websocket', true, 'ok'],
        ['stream', true, 'ok'],
        ['polling', true, 'ok'],
      ],
    )
    assert(r.results.every((x) => x.ms > 0 && x.rtt >= 0))
    equal(Object.keys(r).sort(), ['best', 'results', 'url'])
    equal(r.url, s.url)
  })

  it('through a proxy that refuses WebSocket: says so, and that streaming works', async () => {
    const s = await server()
    const p = await proxy('nginx-no-upgrade', s.port)
    const r = await diagnose(Lifeline, p.url)
    equal(r.best, 'stream')
    equal(
      r.results.map((x) => [x.transport, x.ok, x.reason]),
      [
        ['websocket', false, 'websocket-refused'],
        ['stream', true, 'ok'],
        ['polling', true, 'ok'],
      ],
    )
    for (const x of r.results) equal(Object.keys(x).sort(), ['ms', 'ok', 'reason', 'rtt', 'transport'])
  })

  it('through a proxy that buffers responses: the stream is reported as never delivering', async () => {
    const s = await server()
    const p = await proxy('nginx-buffering', s.port)
    const r = await diagnose(Lifeline, p.url, { connectTimeout: 2000 })
    equal(r.best, 'polling')
    equal(
      r.results.map((x) => [x.transport, x.ok]),
      [
        ['websocket', false],
        ['stream', false],
        ['polling', true],
      ],
    )
    equal(r.results[1].reason, 'stream-buffered')
  })
})
