// Letting requests and upgrades in at the endpoint (src/server/admission.ts), with recording
// responses and sockets: refused origins, CORS preflights, malformed requests.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { Parser } from '../../../src/protocol/envelope'
import type { Frame } from '../../../src/protocol/frames'
import { NO_STORE } from '../../../src/server/access'
import { admitRequest, admitUpgrade } from '../../../src/server/admission'
import { SERVER_DEFAULTS, type ServerResolved } from '../../../src/server/options'
import { OriginGate } from '../../../src/server/origin'
import { askFor } from '../../support/ask'

const o = { ...SERVER_DEFAULTS, origins: ['https://app.example'] } as ServerResolved
const origins = new OriginGate(o, () => {})

function request(method: string, origin?: string) {
  return { method, headers: origin ? { origin, host: 'rt.example' } : { host: 'rt.example' } } as IncomingMessage
}

/** A response that keeps what it was answered with. */
function response() {
  const got: { status?: number; headers?: OutgoingHttpHeaders; body?: string | Uint8Array } = {}
  const res = {
    headersSent: false,
    writeHead(status: number, headers: OutgoingHttpHeaders) {
      Object.assign(got, { status, headers })
      return res
    },
    end(body?: string | Uint8Array) {
      got.body = body
    },
  }
  return { res: res as unknown as ServerResponse, got }
}

const ask = (t: string, origin = '') => askFor({ t, origin })

test('a poll from an allowed origin goes on, its answers carrying CORS headers', () => {
  const { res, got } = response()
  const a = ask('polling', 'https://app.example')
  assert.equal(admitRequest(request('GET', 'https://app.example'), res, a, o, origins), a)
  assert.equal(a.head['Access-Control-Allow-Origin'], 'https://app.example')
  assert.equal(got.status, undefined, 'not answered here')
  const plain = ask('stream')
  assert.equal(admitRequest(request('POST'), response().res, plain, o, origins), plain)
  assert.equal(plain.head, NO_STORE, 'no Origin: no CORS headers')
})

test('a refused origin gets 403 with the 1008 close frame its page can read; a refused preflight, no frame', () => {
  const { res, got } = response()
  assert.equal(admitRequest(request('GET', 'https://evil.example'), res, ask('polling'), o, origins), undefined)
  assert.equal(got.status, 403)
  assert.equal(got.headers!['Access-Control-Allow-Origin'], '*')
  const frames: Frame[] = []
  new Parser((f) => frames.push(f), 1 << 20).push(got.body as Uint8Array)
  assert.match(String(frames[0]), /^c1008 origin not allowed/)
  const pre = response()
  assert.equal(admitRequest(request('OPTIONS', 'https://evil.example'), pre.res, undefined, o, origins), undefined)
  assert.deepEqual([pre.got.status, pre.got.body], [403, 'origin not allowed'])
})

test('a preflight from an allowed origin is answered 204; a request that is no stream or poll, 400', () => {
  const pre = response()
  assert.equal(admitRequest(request('OPTIONS', 'https://app.example'), pre.res, undefined, o, origins), undefined)
  assert.equal(pre.got.status, 204)
  assert.equal(pre.got.headers!['Access-Control-Allow-Methods'], 'GET, POST')
  for (const a of [undefined, ask('websocket')]) {
    const { res, got } = response()
    assert.equal(admitRequest(request('GET', 'https://app.example'), res, a, o, origins), undefined)
    assert.deepEqual([got.status, got.body], [400, 'bad request'])
    assert.equal(got.headers!['Access-Control-Allow-Origin'], 'https://app.example')
  }
})

test('an upgrade goes on only for a WebSocket request from an allowed origin: 400 or 403 otherwise', () => {
  const answers: string[] = []
  const socket = { end: (s: string) => answers.push(s.split('\r\n')[0]) } as unknown as Duplex
  const ws = ask('websocket', 'https://app.example')
  assert.equal(admitUpgrade(request('GET', 'https://app.example'), socket, ws, origins), ws)
  const evil = ask('websocket', 'https://evil.example')
  assert.equal(admitUpgrade(request('GET', 'https://evil.example'), socket, evil, origins), undefined)
  assert.equal(admitUpgrade(request('GET'), socket, ask('polling'), origins), undefined)
  assert.equal(admitUpgrade(request('GET'), socket, undefined, origins), undefined)
  assert.deepEqual(answers, ['HTTP/1.1 403 Forbidden', 'HTTP/1.1 400 Bad Request', 'HTTP/1.1 400 Bad Request'])
})
