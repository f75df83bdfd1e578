// Uploads a server refuses, in the browser, on every transport (and over XMLHttpRequest): Express 5
// with express.text() (100 kB limit) in front of Lifeline answered every POST over 100 kB with 413,
// and the client sent it again forever, with no error and no console line (issue 28). Mounted
// before the body parsers, as docs/frameworks.md says, a message of 1 MB goes through.
import type { LifelineError } from '../../src/client/index'
import { VARIANTS, cleanup, connect, equal, messages, next, server } from './helpers'

const MEGABYTE = 'z'.repeat(1 << 20)

describe('uploads: Express 5 and express.text(), a message of 1 MB', function () {
  afterEach(cleanup)

  for (const v of VARIANTS)
    it(`${v.name}: Lifeline mounted before express.text() takes it, and sends it back`, async () => {
      const s = await server({ express: 'lifeline-first' })
      const ll = connect(s.url, v.t, v.opts)
      await next(ll, 'open')
      const got = messages(ll, 2, 30000)
      ll.send(MEGABYTE)
      ll.send('after')
      equal(await got, [MEGABYTE, 'after'])
    })

  for (const v of VARIANTS) {
    const what = v.t == 'websocket' ? 'it goes (an upgrade meets no body parser)' : 'an error, then close 1009'
    it(`${v.name}: behind express.text(), ${what}`, async () => {
      const s = await server({ express: 'text-first' })
      const lines: string[] = []
      const logger = { debug() {}, info() {}, warn: (...a: unknown[]) => lines.push(a.join(' ')), error() {} }
      const ll = connect(s.url, v.t, { ...v.opts, logger })
      await next(ll, 'open')
      if (v.t == 'websocket') {
        const got = messages(ll, 1, 30000)
        ll.send(MEGABYTE)
        return equal(await got, [MEGABYTE])
      }
      const errors: LifelineError[] = []
      ll.on('error', (e) => errors.push(e.error as LifelineError))
      const closed = next(ll, 'close', 15000)
      ll.send(MEGABYTE)
      const e = await closed
      equal([e.code, e.reason], [1009, v.t + '-upload-413'])
      equal(
        errors.map((x) => [x.code, x.message]),
        [['LL_ERR_UPLOAD_REFUSED', v.t + '-upload-413: a body parser in front of Lifeline, or maxPostBytes?']],
      )
      equal(lines.filter((l) => l.includes('LL_ERR_UPLOAD_REFUSED')).length, 1)
    })
  }
})
