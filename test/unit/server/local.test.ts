// One process's sessions (src/server/local.ts) without sockets: which session a connection gets,
// the limits that refuse one, what an ended session leaves for late requests, and what is given
// back when it goes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { IncomingMessage } from 'node:http'
import type { WebSocketServer } from 'ws'
import { closeFrame } from '../../../src/protocol/frames'
import type { Ask } from '../../../src/server/access'
import { LocalSessions } from '../../../src/server/local'
import { SERVER_DEFAULTS, type ServerResolved } from '../../../src/server/options'
import type { LocalSession } from '../../../src/server/local-session'
import type { ServerSession } from '../../../src/server/session'
import { Counters } from '../../../src/server/stats'
import { askFor } from '../../support/ask'
import { MemLink } from '../../support/memlink'
import { serverClock } from '../../../src/server/clock'

function setup(options: Partial<Record<keyof ServerResolved, number>> = {}) {
  const sessions = new Map<string, ServerSession>()
  const stats = new Counters(10)
  let total = 0
  const confirmed: ServerSession[] = []
  const notes: string[] = []
  const local = new LocalSessions(
    sessions,
    {
      o: { ...SERVER_DEFAULTS, clock: serverClock, ...options } as ServerResolved,
      reserve: (n) => ((total += n), true),
      account: (n) => (total += n),
      confirm: (s) => confirmed.push(s),
      log: () => {},
      note: (key, ...args) => notes.push([key, ...args].join(' ')),
      stats,
      tell: () => {},
      oops: (e) => assert.fail(String(e)),
    },
    {} as WebSocketServer,
  )
  return { local, sessions, stats, confirmed, notes, total: () => total }
}

const req = (address = '10.0.0.1') => ({ headers: { origin: 'https://a.example' }, socket: { remoteAddress: address } })
const ask = (over: Partial<Ask> = {}) => askFor({ origin: 'https://a.example', ...over })

async function open(local: LocalSessions, a: Ask, address?: string): Promise<LocalSession> {
  const got = await local.find(req(address) as unknown as IncomingMessage, a)
  assert.ok(!Array.isArray(got), 'refused: ' + got)
  return got
}

test('a new session is made with what its request asked for, and counted', async () => {
  const { local, sessions, stats } = setup()
  const s = await open(local, ask({ hb: 5000 }))
  const app = s._session
  assert.equal(sessions.get(s.id), app, "the server's sessions list the app's side")
  assert.equal(app._store, s)
  assert.equal(s.id.length, 22)
  assert.deepEqual(
    [app.remoteAddress, app._peer, app.origin, s._hb],
    ['10.0.0.1', '10.0.0.1', 'https://a.example', 5000],
  )
  assert.equal(stats.created, 1)
  assert.equal(s._host, local.host)
})

test('a known session is resumed; an unknown one, or one asked for from another origin, is expired', async () => {
  const { local, stats } = setup()
  const s = await open(local, ask())
  assert.equal(await open(local, ask({ sid: s.id, hb: 7000 })), s)
  assert.equal(s._hb, 7000, 'a connection-opening request sets the heartbeat')
  await open(local, ask({ sid: s.id, hb: 9000, opening: false }))
  assert.equal(s._hb, 7000, 'a later poll keeps it')
  const expired = [closeFrame(3901, 'session unknown or expired')]
  assert.deepEqual(await local.find(req() as unknown as IncomingMessage, ask({ sid: 'nope' })), expired)
  const other = ask({ sid: s.id, origin: 'https://b.example' })
  assert.deepEqual(await local.find(req() as unknown as IncomingMessage, other), expired)
  assert.deepEqual([stats.reconnects, stats.resumes, stats.resets], [3, 1, 2])
})

test('maxSessions and maxSessionsPerAddress refuse a new session; an ended one gives its place back', async () => {
  const { local, notes } = setup({ maxSessions: 3, maxSessionsPerAddress: 2 })
  const a = await open(local, ask())
  await open(local, ask())
  const tooMany = await local.find(req() as unknown as IncomingMessage, ask())
  assert.deepEqual(tooMany, [closeFrame(3929, 'too many sessions from this address')])
  await open(local, ask({ address: '10.0.0.2' }), '10.0.0.2')
  const full = await local.find(req() as unknown as IncomingMessage, ask({ address: '10.0.0.3' }))
  assert.deepEqual(full, [closeFrame(1013, 'server full, try again later')])
  // Each told to the operator (at warn, at most once a minute per kind: the server's `note`).
  assert.deepEqual(notes, [
    'session-3929 new session refused with 3929: maxSessionsPerAddress 2 reached',
    'session-1013 new session refused with 1013: maxSessions 3 reached',
  ])
  a._session.close()
  await open(local, ask())
})

test('an ended session leaves its last words, messages and their bytes included, for late requests', async () => {
  const { local, sessions, total } = setup()
  const s = await open(local, ask())
  s._attach(new MemLink(), 0)
  s._session.send('abc')
  s._session.close(4000, 'bye')
  assert.equal(sessions.size, 0)
  const last = await local.find(req() as unknown as IncomingMessage, ask({ sid: s.id }))
  assert.deepEqual((last as string[]).slice(1), ['s1', 'mabc', closeFrame(4000, 'bye')])
  assert.equal(total(), 3, 'the bytes of its messages stay counted')
})

test('after close no session is made, and every one ends with the code given', async () => {
  const { local, sessions } = setup()
  const s = await open(local, ask())
  const codes: number[] = []
  s._session.on('close', (code) => codes.push(code))
  local.close(1001, 'server shutting down')
  assert.deepEqual(codes, [1001])
  assert.equal(sessions.size, 0)
  const got = await local.find(req() as unknown as IncomingMessage, ask())
  assert.deepEqual(got, [closeFrame(1001, 'server shutting down')])
})

test('broadcast reaches only sessions whose client has spoken', async () => {
  const { local, confirmed } = setup()
  const heard = await open(local, ask())
  await open(local, ask())
  const link = new MemLink()
  heard._attach(link, 0)
  heard._receive(['s1'], link)
  assert.deepEqual(confirmed, [heard._session])
  assert.equal(local.broadcast('all'), 1)
  assert.equal(heard.bufferedAmount, 3)
})
