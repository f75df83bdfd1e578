// What a transport is given, alone, over a fake session: the query every request carries
// (PROTOCOL.md §1), the cursor, and the options' WebSocket and fetch before the page's.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { transportContext, type ContextHost } from '../../../src/client/context'
import type { LifelineOptions } from '../../../src/client/options'
import { Inbox } from '../../../src/protocol/inbox'
import { FakeClock, POLL, connection, resolved } from './fakes'

function host(opts: LifelineOptions = {}, url = 'http://example.test/rt') {
  const h: { -readonly [K in keyof ContextHost]: ContextHost[K] } = {
    _url: url,
    _options: resolved(new FakeClock(), opts),
    _receiver: { _inbox: new Inbox(opts.resume !== false), _rooms: new Map() },
    _selector: { _heartbeat: () => 20000 },
    _why: 'preferred',
  }
  return h
}

// `w=1` over HTTP only: the `w` frame comes in upload answers (PROTOCOL.md §8.3).
test('a request names the version, the transport and the cursor; an opening one asks for a hello', () => {
  const h = host()
  const { t } = connection(new FakeClock(), POLL)
  assert.equal(transportContext(h).url(t), 'http://example.test/rt?v=2&t=polling&ack=0&w=1&g=%7B%7D')
  t.sid = 'S'
  h._why = 'websocket-refused'
  assert.equal(
    transportContext(h).url(t, true),
    'http://example.test/rt?v=2&t=polling&ack=0&sid=S&o=1&hb=20000&why=websocket-refused&w=1&g=%7B%7D',
  )
  const ws = connection(new FakeClock()).t
  assert.equal(transportContext(h).url(ws), 'http://example.test/rt?v=2&t=websocket&ack=0&g=%7B%7D')
})

test('the endpoint’s own query is kept, the token is encoded, and fire-and-forget says r=0', () => {
  const h = host({ resume: false }, 'http://example.test/rt?room=a')
  h._token = 'a b&c'
  const { t } = connection(new FakeClock(), POLL)
  assert.equal(
    transportContext(h).url(t, true),
    'http://example.test/rt?room=a&v=2&t=polling&ack=0&o=1&hb=20000&why=preferred&token=a%20b%26c&r=0&g=%7B%7D',
  )
  assert.equal(
    transportContext(h).url(t),
    'http://example.test/rt?room=a&v=2&t=polling&ack=0&r=0&g=%7B%7D',
    'the token only on opening',
  )
})

test('every request carries the room positions, as URL-encoded JSON (PROTOCOL.md §6.5)', () => {
  const h = host()
  h._receiver._rooms.set('fx rates', 1041).set('__proto__', 3)
  const { t } = connection(new FakeClock(), POLL)
  const g = new URL(transportContext(h).url(t)).searchParams.get('g')!
  assert.deepEqual(JSON.parse(g), JSON.parse('{"fx rates":1041,"__proto__":3}'))
})

test('the cursor in a URL counts as an acknowledgement of what it covers', () => {
  const h = host()
  const inbox = h._receiver._inbox
  inbox._arrive(1, 1)
  inbox._arrive(2, 1)
  assert.ok(inbox._pending())
  const { t } = connection(new FakeClock(), POLL)
  assert.match(transportContext(h).url(t), /&ack=2(&|$)/)
  assert.ok(!inbox._pending(), 'no ack frame is due for what the URL acknowledged')
  assert.equal(transportContext(h).cursor(), 2)
})

test('the options’ WebSocket and fetch come before the page’s; fetch: null means none', () => {
  const WebSocket = class {} as unknown as typeof globalThis.WebSocket
  const fetch = (() => {}) as unknown as typeof globalThis.fetch
  const ctx = transportContext(host({ WebSocket, fetch, heartbeatInterval: 1000, withCredentials: true }))
  assert.equal(ctx.WebSocket, WebSocket)
  assert.equal(ctx.fetch, fetch)
  assert.equal(ctx.heartbeat, 1000)
  assert.equal(ctx.withCredentials, true)
  assert.equal(ctx.endpoint, 'http://example.test/rt')
  assert.equal(transportContext(host({ fetch: null })).fetch, undefined)
  assert.equal(typeof transportContext(host()).fetch, 'function', 'the runtime’s own, bound')
})
