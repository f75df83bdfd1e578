// The randomized fault test's own parts (test/support/chaos.ts, relay.mjs): the schedule a seed
// draws, a checker that fails on each broken invariant (and only then), and the relay's cut.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { check, parseHanded, schedule, type FlowRecord, type Handed } from '../../support/chaos'
import { startRelay } from '../../support/relay.mjs'

test('a seed draws the same schedule every time; faults mid-flow, in order, of every kind over seeds', () => {
  const o = { lease: 1000, nodes: 3, peers: 6 }
  assert.deepEqual(schedule(42, o), schedule(42, o))
  assert.notDeepEqual(schedule(42, o), schedule(43, o))
  const kinds = new Set<string>()
  const spans = new Set<string>()
  for (let seed = 1; seed <= 200; seed++) {
    const faults = schedule(seed, o)
    assert.ok(faults.length >= 2 && faults.length <= 4)
    faults.forEach((f, i) => {
      kinds.add(f.kind)
      if (f.span) spans.add(f.span)
      assert.ok(f.at >= 0.1 && f.at < 0.8 && (i == 0 || f.at > faults[i - 1].at), 'in order: ' + JSON.stringify(faults))
      assert.ok(f.peer >= 0 && f.peer < 6)
      assert.equal(f.node == undefined, f.kind == 'redis')
      if (f.span == 'short') assert.ok(f.ms < 1000)
      if (f.span == 'long') assert.ok(f.ms > 1000)
    })
  }
  assert.deepEqual([...kinds].sort(), ['cut', 'freeze', 'kill', 'redis'])
  assert.deepEqual([...spans].sort(), ['equal', 'long', 'short'])
})

const SID = 'A'.repeat(22)
const flow = (list: string[], more: Partial<FlowRecord> = {}): FlowRecord => ({
  transport: 'websocket',
  sid: SID,
  n: 3,
  list,
  closed: '',
  inTime: true,
  ...more,
})
const h = (seq: number, redelivered = false, t = seq, node = 'n1'): Handed => ({ node, sid: SID, seq, redelivered, t })
const owner = { sid: SID, own: 'x', live: true, waiting: 0 }
const clean = { flows: [flow(['1', '2', '3'])], handed: [h(1), h(2), h(3)], owners: [owner] }

test('the checker passes a clean record, and one where a taken-over message comes again flagged', () => {
  assert.deepEqual(check(clean), [])
  const again = [h(1), h(2), h(2, true, 2.5, 'n2'), h(3, false, 4, 'n2')]
  assert.deepEqual(check({ ...clean, handed: again }), [])
  // A session with nothing waiting may keep a dead owner (no work, no takeover needed).
  assert.deepEqual(check({ ...clean, owners: [{ ...owner, live: false }] }), [])
})

test('the checker fails on each broken invariant, saying which', () => {
  const one = (record: Partial<typeof clean>, want: RegExp) => {
    const problems = check({ ...clean, ...record })
    assert.equal(problems.length, 1, problems.join('; '))
    assert.match(problems[0], want)
  }
  one(
    { handed: [h(1), h(2), h(2, false, 2.5, 'n2'), h(3)] },
    /1 messages handed again without redelivered: 2 \(n1, then n2\)/,
  )
  one({ handed: [h(1), h(3, false, 2), h(2, false, 3)] }, /out of order: 3 after 1/)
  one({ handed: [h(1), h(2)] }, /1 of 3 messages never handed to the app: 3/)
  one({ flows: [flow(['1', '2', '2'])] }, /1 echoes delivered to the client twice/)
  one({ flows: [flow(['1', '3', '2'])] }, /out of order or missing at client seq 2,3/)
  one({ flows: [flow(['1', '2', '3'], { inTime: false })] }, /stuck/)
  one({ flows: [flow(['1', '2', '3'], { closed: 'c3901 x' })] }, /closed by the server: c3901/)
  one({ owners: [{ ...owner, live: false, waiting: 5 }] }, /5 messages waiting and no live owner/)
})

test("parseHanded reads cluster-node.mjs's lines and nothing else", () => {
  const log =
    `n2 took a session over\nn2 handed 7 true ${SID} 1700000000000.125\n` +
    `n2 handed 8 false ${SID} 1700000000001.500\n`
  assert.deepEqual(parseHanded(log), [
    { node: 'n2', sid: SID, seq: 7, redelivered: true, t: 1700000000000.125 },
    { node: 'n2', sid: SID, seq: 8, redelivered: false, t: 1700000000001.5 },
  ])
})

test('the relay carries bytes both ways; cut resets its connections and refuses new ones until mended', async () => {
  const echo = net.createServer((s) => s.on('error', () => {}).pipe(s)).listen(0, '127.0.0.1')
  await new Promise((r) => echo.once('listening', r))
  const relay = await startRelay((echo.address() as net.AddressInfo).port)
  const talk = () =>
    new Promise<{ socket: net.Socket; echoed: Promise<string> }>((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port: relay.port }, () => {
        const echoed = new Promise<string>((r) => socket.once('data', (d) => r(String(d))))
        socket.write('ping')
        resolve({ socket, echoed })
      })
      socket.once('error', reject)
    })
  try {
    const first = await talk()
    assert.equal(await first.echoed, 'ping')
    const gone = new Promise<string>((r) => first.socket.once('error', (e: NodeJS.ErrnoException) => r(e.code!)))
    await relay.cut()
    assert.equal(await gone, 'ECONNRESET')
    assert.ok(relay.isCut)
    await assert.rejects(talk(), /ECONNREFUSED/)
    await relay.mend()
    const second = await talk()
    assert.equal(await second.echoed, 'ping')
    second.socket.destroy()
  } finally {
    await relay.close()
    echo.close()
  }
})
