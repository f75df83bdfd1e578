// What an owner hands its app of what the client sent (src/server/cluster/owned-inbox.ts), over a
// fake store: once and in order, what arrived here at once, a gap read from the inbox, nothing while
// paused or past its lease by its own clock, and the receipt committed with an append or on its own.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { OwnedInbox, type InboxHost } from '../../../../src/server/cluster/owned-inbox'
import type { ClusterStore } from '../../../../src/server/cluster/store'
import type { StoredMessage } from '../../../../src/server/cluster/records'
import { serverClock } from '../../../../src/server/clock'

/** A session whose inbox in Redis holds `kept` (seq 1..), and what its app was handed. */
function session(kept: StoredMessage[], delivered = 0) {
  const handed: string[] = []
  const reads: number[] = []
  const commits: number[] = []
  let held = true
  const store = {
    readIncoming: async (_sid: string, _fence: number, from: number) => {
      reads.push(from)
      return { status: 'ok', first: from, received: kept.length, messages: kept.slice(from - 1) }
    },
    deliveredIncoming: async (_sid: string, _fence: number, n: number) => {
      commits.push(n)
      return { status: 'ok', delivered: n }
    },
  } as unknown as ClusterStore
  const host: InboxHost = {
    id: 'sid',
    _fence: 1,
    closed: false,
    _host: {
      o: { clock: serverClock } as never,
      store,
      held: () => held,
      stats: { in: () => {} } as never,
      log: () => {},
    },
    _heardAt: 0,
    _confirm: () => {},
    _emitMessage: (d, _binary, seq) => void handed.push(seq + ':' + d),
    _refused: () => assert.fail('refused'),
    _write: (op) => op(),
  }
  const inbox = new OwnedInbox(host, delivered, 0)
  return { inbox, handed, reads, commits, unheld: () => (held = false) }
}

const settled = () => new Promise((r) => setImmediate(r))

test('what arrives here next is handed at once, each once; past a gap the inbox is read from the next', async () => {
  const { inbox, handed, reads } = session(['a', 'b', 'c', 'd'])
  inbox._arrived(1, ['a', 'b'])
  inbox._arrived(2, ['b', 'c'])
  assert.deepEqual(handed, ['1:a', '2:b', '3:c'], 'no read back; b once')
  assert.deepEqual(reads, [])
  inbox._arrived(5, ['e'])
  await settled()
  assert.deepEqual(reads, [4], 'the gap: read from what the app has not had')
  assert.deepEqual(handed, ['1:a', '2:b', '3:c', '4:d'])
})

test('paused: nothing is handed until resume, which reads the inbox; a node past its lease hands nothing', async () => {
  const { inbox, handed, reads } = session(['a', 'b'])
  inbox._pause()
  inbox._arrived(1, ['a'])
  await settled()
  assert.deepEqual(handed, [])
  inbox._resume()
  await settled()
  assert.deepEqual([reads, handed], [[1], ['1:a', '2:b']])
  const frozen = session(['a'])
  frozen.unheld()
  frozen.inbox._arrived(1, ['a'])
  assert.deepEqual(frozen.handed, [])
})

test('the receipt rides with an append, or is committed on its own a little later', async () => {
  const { inbox, handed, commits } = session(['a', 'b', 'c'], 1)
  assert.equal(inbox._receipt(), undefined, 'nothing handed here yet')
  inbox._arrived(2, ['b'])
  assert.equal(inbox._receipt(), 2)
  inbox._committedTo(2)
  assert.equal(inbox._receipt(), undefined, 'carried by an append')
  inbox._arrived(3, ['c'])
  const deadline = Date.now() + 2000
  while (!commits.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
  assert.deepEqual(commits, [3])
  assert.equal(inbox._receipt(), undefined)
  assert.deepEqual(handed, ['2:b', '3:c'], 'from what was delivered before')
  inbox._stop()
})
