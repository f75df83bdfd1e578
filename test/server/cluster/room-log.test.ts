// Rooms as logs in Redis (src/server/cluster/room-log.ts) against a real redis-server: offsets
// from one script per append, concurrent appends gapless and published in offset order, history
// by count and age, a room made afresh above its old offsets.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createClient } from 'redis'
import { startRedis } from '../../support/redis.mjs'
import { until } from '../../support/processes.mjs'
import { fromNodeRedis, type RedisLink } from '../../../src/server/cluster/redis'
import { ClusterRoomLogs } from '../../../src/server/cluster/room-log'

let redis: Awaited<ReturnType<typeof startRedis>>
const links: RedisLink[] = []
before(async () => {
  redis = await startRedis()
})
after(async () => {
  await Promise.all(links.map((l) => l.quit().catch(() => {})))
  await redis.remove()
})

async function logs(size?: number, age?: number) {
  const client = createClient({ url: redis.url })
  client.on('error', () => {})
  await client.connect()
  const link = fromNodeRedis(client)
  links.push(link)
  return { link, logs: new ClusterRoomLogs(link, 'test:', size, age) }
}

test('appends take consecutive offsets from the room’s head; reads give them back from any offset', async () => {
  const { logs: l } = await logs()
  const start = await l.head('news')
  assert.ok(start > Date.now() * 100 - 1e7, 'a new room starts at the time in ms x 100')
  assert.equal(await l.head('news'), start, 'the head stays until a message')
  assert.deepEqual(await l.append('news', ['a', Buffer.from([1, 2])]), { first: start, last: start + 1 })
  assert.deepEqual(await l.append('news', ['c']), { first: start + 2, last: start + 2 })
  const ok = (upto: number, first: number, messages: unknown[]) => ({
    status: 'ok',
    next: start + 3,
    upto,
    runs: messages.length ? [{ first, messages }] : [],
  })
  assert.deepEqual(await l.read('news', start), ok(start + 2, start, ['a', Buffer.from([1, 2]), 'c']))
  assert.deepEqual(await l.read('news', start + 2, 10), ok(start + 2, start + 2, ['c']))
  assert.deepEqual(await l.read('news', start + 3), ok(start + 2, 0, []))
  assert.deepEqual(await l.read('news', start, 2), ok(start + 1, start, ['a', Buffer.from([1, 2])]))
})

test('concurrent appends from two connections are gapless, and published in offset order', async () => {
  const [x, y, z] = [await logs(), await logs(), await logs()]
  const heard: Array<[number, string]> = []
  await z.logs.follow('fx', (offset, m) => heard.push([offset, String(m)]))
  const start = await x.logs.head('fx')
  const sent = await Promise.all(
    Array.from({ length: 100 }, (_, i) => (i % 2 ? x : y).logs.append('fx', ['m' + i, 'n' + i])),
  )
  const offsets = sent.flatMap((r) => [r.first, r.last]).sort((p, q) => p - q)
  assert.deepEqual(
    offsets,
    Array.from({ length: 200 }, (_, i) => start + i),
  )
  await until(() => heard.length == 200, 5000)
  assert.deepEqual(
    heard.map(([o]) => o),
    offsets,
    'the channel carries them in offset order',
  )
  const r = await x.logs.read('fx', start, 1000)
  assert.equal(r.status, 'ok')
  assert.deepEqual(
    r.status == 'ok' && r.runs.flatMap((run) => run.messages),
    heard.map(([, m]) => m),
  )
})

test('latest values: a read keeps only the newest of each key it covers, in runs of consecutive offsets', async () => {
  const { logs: l } = await logs()
  const start = await l.head('ticker')
  await l.append('ticker', ['EUR 1', 'GBP 1', 'note', 'EUR 2', 'room 1'], ['EUR', 'GBP', undefined, 'EUR', ''])
  await l.append('ticker', ['room 2', 'EUR 3'], ['', 'EUR'])
  assert.deepEqual(await l.read('ticker', start), {
    status: 'ok',
    next: start + 7,
    upto: start + 6,
    runs: [
      { first: start + 1, messages: ['GBP 1', 'note'] },
      { first: start + 5, messages: ['room 2', 'EUR 3'] },
    ],
  })
  assert.deepEqual(await l.read('ticker', start + 4, 2), {
    status: 'ok',
    next: start + 7,
    upto: start + 5,
    runs: [{ first: start + 5, messages: ['room 2'] }],
  })
})

test('a member joining is counted in the room’s slot and told where it starts; leaving takes it out', async () => {
  const { link, logs: l } = await logs()
  const set = 'test:rg:{club}'
  const start = await l.member('club', set, 'sid1', true)
  assert.equal(start, await l.head('club'))
  await l.append('club', ['a'])
  assert.equal(await l.member('club', set, 'sid2', true), start + 1, 'after the message: from the next')
  const members = ((await link.command(['SMEMBERS', set])) as Buffer[]).map(String).sort()
  assert.deepEqual(members, ['sid1', 'sid2'])
  await l.member('club', set, 'sid1', false)
  assert.equal(await link.command(['SCARD', set]), 1)
})

test('history keeps `size` messages: an older offset reads as a reset with the next offset', async () => {
  const { logs: l } = await logs(3)
  const start = await l.head('small')
  for (const m of ['a', 'b', 'c', 'd', 'e']) await l.append('small', [m])
  assert.deepEqual(await l.read('small', start + 1), { status: 'reset', next: start + 5 })
  assert.deepEqual(await l.read('small', start + 2), {
    status: 'ok',
    next: start + 5,
    upto: start + 4,
    runs: [{ first: start + 2, messages: ['c', 'd', 'e'] }],
  })
})

test('history keeps messages `age` ms: an offset older reads as a reset, and the next append trims them', async () => {
  const { link, logs: l } = await logs(100, 200)
  const start = await l.head('aging')
  await l.append('aging', ['old'])
  const t = Date.now()
  await until(() => Date.now() - t > 250, 1000)
  assert.deepEqual(await l.read('aging', start), { status: 'reset', next: start + 1 })
  await l.append('aging', ['new'])
  assert.equal(await link.command(['XLEN', l.keys('aging')[1]]), 1, 'the old one is gone from the stream')
  assert.deepEqual(await l.read('aging', start + 1), {
    status: 'ok',
    next: start + 2,
    upto: start + 1,
    runs: [{ first: start + 1, messages: ['new'] }],
  })
})

test('past its age by under a step (age / 8) a message stays in the stream, yet a read of it is a reset', async () => {
  const age = 2000
  const { link, logs: l } = await logs(100, age)
  const start = await l.head('steps')
  await l.append('steps', ['old'])
  const stream = l.keys('steps')[1]
  // Redis' clock, as the scripts read it: the entry's `t` against TIME.
  const since = async () => {
    const [sec, us] = (await link.command(['TIME'])) as unknown as [string, string]
    const [[, fields]] = (await link.command(['XRANGE', stream, '-', '+', 'COUNT', '1'])) as unknown as [
      [string, string[]],
    ]
    return Number(sec) * 1000 + Math.floor(Number(us) / 1000) - Number(String(fields[3]))
  }
  assert.ok(await until(async () => (await since()) > age + 20, 5000))
  await l.append('steps', ['within'])
  const aged = await since()
  assert.ok(aged < age + age / 8, `the append came ${aged} ms after the old one: within the step`)
  assert.equal(await link.command(['XLEN', stream]), 2, 'not trimmed yet: an append reads one entry until a step')
  assert.deepEqual(await l.read('steps', start), { status: 'reset', next: start + 2 }, 'never served')
  assert.ok(await until(async () => (await since()) > age + age / 8 + 20, 5000))
  await l.append('steps', ['next'])
  assert.equal(await link.command(['XLEN', stream]), 2, 'past the step: what is older than `age` is gone')
  assert.deepEqual(await l.read('steps', start + 1), {
    status: 'ok',
    next: start + 3,
    upto: start + 2,
    runs: [{ first: start + 1, messages: ['within', 'next'] }],
  })
})

test('a room whose log was lost starts above its old offsets; a position in the old one reads as a reset', async () => {
  const { link, logs: l } = await logs()
  const start = await l.head('lost')
  await l.append('lost', ['a', 'b'])
  await link.command(['DEL', ...l.keys('lost')])
  const r = await l.read('lost', start + 2)
  assert.equal(r.status, 'reset')
  assert.ok(r.next > start + 2, 'above every offset the lost log gave out')
  assert.deepEqual(await l.append('lost', ['c']), { first: r.next, last: r.next })
})

test('the keys and channel of a room are tagged with its name: one hash slot, none of a session’s', () => {
  const l = new ClusterRoomLogs({} as RedisLink, 'test:')
  assert.deepEqual(
    [...l.keys('a room'), l.channel('a room')],
    ['test:rh:{a room}', 'test:rl:{a room}', 'test:rc:{a room}'],
  )
})
