// The fault tests' own parts (test/support/chaos.ts, strike.ts, relay.mjs): the schedule a seed
// draws, a checker that fails on each broken invariant (and only then), faults struck on a flow's
// progress and undone, the owner as the nodes' logs tell it, and the relay's cut.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import {
  check,
  parseHanded,
  parseOwning,
  schedule,
  type Fault,
  type FlowRecord,
  type Handed,
} from '../../support/chaos'
import { holder, onProgress } from '../../support/strike'
import { Received } from '../../support/peers'
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
  // n1 was frozen; n2 took the session at t 2.2 and handed 3 again, flagged; n1 ran again and handed 3 too.
  const taken = [o('n1', 0.5), o('n2', 2.2)]
  one(
    { handed: [h(1), h(2), h(3, true, 2.5, 'n2'), h(3, true, 2.6, 'n1')], owning: taken },
    /1 handed by a node after another took it over: 3 by n1, 0 ms after n2 took it/,
  )
})

const o = (node: string, t: number) => ({ node, sid: SID, t })

test('the checker passes handing by each owner in its turn, the first again once it took the session back', () => {
  const owning = [o('n1', 0.5), o('n2', 2.2), o('n1', 3.5)]
  const handed = [h(1), h(2), h(2, true, 2.5, 'n2'), h(3, false, 4, 'n1')]
  assert.deepEqual(check({ ...clean, handed, owning }), [])
  // Another session's owners say nothing of this one.
  assert.deepEqual(check({ ...clean, owning: [{ ...o('n2', 0.1), sid: 'B'.repeat(22) }] }), [])
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

test("parseOwning reads cluster-node.mjs's owns lines; holder names the node last given a session", () => {
  const logs = [
    `n1 owns ${SID} 100.5\nn1 handed 1 false ${SID} 101\n`,
    `n2 took a session over\nn2 owns ${SID} 200.25\n`,
    '',
  ]
  assert.deepEqual(parseOwning(logs[0]), [{ node: 'n1', sid: SID, t: 100.5 }])
  assert.deepEqual(parseOwning(logs[1]), [{ node: 'n2', sid: SID, t: 200.25 }])
  assert.equal(holder(logs, SID), 1)
  assert.equal(holder(logs.slice(0, 1), SID), 0)
  assert.equal(holder(logs, 'B'.repeat(22)), -1)
})

test("faults strike in turn, each at its peer's mark, aimed then, undone; stop() waits for the undo", async () => {
  const did: string[] = []
  const nodes = {
    kill: async (i: number) => void did.push('kill ' + i),
    start: async (i: number) => void did.push('start ' + i),
    freeze: (i: number) => void did.push('freeze ' + i),
    thaw: (i: number) => void did.push('thaw ' + i),
  }
  const got = [new Received(), new Received()]
  got[1].sid = SID
  const faults: Fault[] = [
    { kind: 'kill', node: 0, at: 0.5, peer: 0, ms: 1 },
    { kind: 'freeze', at: 0.25, peer: 1, ms: 50, span: 'short' },
    { kind: 'kill', node: 2, at: 0.9, peer: 0, ms: 1 },
  ]
  const aims: string[] = []
  const striking = onProgress(faults, {
    n: 4,
    got,
    targets: { nodes },
    aim: (f, sid) => (aims.push(sid), f.node == undefined ? { ...f, node: 1 } : f),
  })
  const wait = () => new Promise((r) => setTimeout(r, 60))
  got[1].list.push('1')
  await wait()
  assert.deepEqual(did, [], 'the first fault waits for its own peer')
  got[0].list.push('1', '2')
  for (const end = Date.now() + 2000; !did.includes('freeze 1') && Date.now() < end;)
    await new Promise((r) => setTimeout(r, 5))
  const struck = await striking.stop()
  assert.deepEqual(did, ['kill 0', 'start 0', 'freeze 1', 'thaw 1'], 'the second had its mark already; undone')
  got[0].list.push('3', '4')
  await wait()
  assert.equal(did.length, 4, 'nothing strikes after stop()')
  assert.deepEqual(aims, ['', SID])
  assert.deepEqual(
    struck.map((s) => s.fault.node),
    [0, 1],
  )
  assert.ok(struck[1].to - struck[1].from >= 49, 'frozen for its time: ' + (struck[1].to - struck[1].from))
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
