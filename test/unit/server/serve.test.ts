// How a request becomes a link (src/server/serve.ts), the same on either store: over a fake
// Opener, what a stream's GET, a poll and an upload are answered with, and what happens when the
// Opener fails. The real server's requests, on every store, are test/server/*.test.ts's.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { closeFrame, type Frame } from '../../../src/protocol/frames'
import { SERVER_DEFAULTS, type ServerResolved } from '../../../src/server/options'
import { serveGet, servePost, type LinkHolder, type Opener, type ServeHost } from '../../../src/server/serve'
import type { Link } from '../../../src/server/link'
import { serverClock } from '../../../src/server/clock'
import { askFor } from '../../support/ask'
import { fakeResponse as response } from '../../support/fake-response'

const req = () => Object.assign(new EventEmitter(), { headers: {}, destroyed: false }) as unknown as IncomingMessage

/** A holder of links that records what attached, and an Opener that hands it out (or `answer`). */
function setup(answer?: Frame[] | Error) {
  const o = { ...SERVER_DEFAULTS, clock: serverClock } as ServerResolved
  const attached: Array<[Link['name'], number]> = []
  const hellos: string[] = []
  const s: LinkHolder = {
    closed: false,
    _host: { o },
    _hb: 25000,
    _attach: (l, cursor) => void attached.push([l.name, cursor]),
    _detach: () => {},
    _receive: () => true,
    _end: () => {},
    _post: () => ['a0'],
    _owed: () => 0,
  }
  const opener: Opener = {
    open: async (_req, ask) => {
      if (answer instanceof Error) throw answer
      return answer || { s, hello: () => (hellos.push(ask.t), 'o{"hello":1}') }
    },
  }
  const oops: unknown[] = []
  const host: ServeHost = { o, reserve: () => true, note: () => {}, oops: (e) => oops.push(e), tell: () => {} }
  return { opener, host, attached, hellos, oops }
}

const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((ok) => setImmediate(ok))
}

test("a stream's opening GET writes the hello and attaches a stream; a later one attaches without it", async () => {
  const { opener, host, attached, hellos } = setup()
  const res = response()
  serveGet(opener, host, req(), res as unknown as ServerResponse, askFor({ t: 'stream', ack: 3 }))
  await settle()
  assert.deepEqual([res.status, res.frames, attached], [200, ['o{"hello":1}'], [['stream', 3]]])
  const again = response()
  serveGet(opener, host, req(), again as unknown as ServerResponse, askFor({ t: 'stream', opening: false }))
  await settle()
  assert.deepEqual([again.frames, hellos], [[], ['stream']], 'the hello is made only when it is sent')
})

test('an opening poll is answered at once with the hello', async () => {
  const { opener, host, attached } = setup()
  const res = response()
  serveGet(opener, host, req(), res as unknown as ServerResponse, askFor({ t: 'polling' }))
  await settle()
  assert.deepEqual([res.status, res.frames, attached], [200, ['o{"hello":1}'], [['polling', 0]]])
})

test('frames the Opener answers with instead go in a 200, for a GET and an upload', async () => {
  const bye = [closeFrame(3901, 'session unknown or expired')]
  const { opener, host, attached } = setup(bye)
  const get = response()
  serveGet(opener, host, req(), get as unknown as ServerResponse, askFor())
  const post = response()
  servePost(opener, host, req(), post as unknown as ServerResponse, askFor({ sid: 'x', opening: false }))
  await settle()
  assert.deepEqual([get.status, get.frames, post.status, post.frames, attached], [200, bye, 200, bye, []])
})

test('an Opener that fails: the GET is destroyed, the upload answered 503, the error told', async () => {
  const boom = new Error('redis away')
  const { opener, host, oops } = setup(boom)
  const get = response()
  serveGet(opener, host, req(), get as unknown as ServerResponse, askFor())
  const post = response()
  servePost(opener, host, req(), post as unknown as ServerResponse, askFor({ sid: 'x', opening: false }))
  await settle()
  assert.deepEqual([get.destroyed, post.status, oops], [true, 503, [boom, boom]])
})
