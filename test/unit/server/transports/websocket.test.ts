// A session's WebSocket (src/server/transports/websocket.ts) over a fake socket: a frame shared by
// many links goes out whole through ws's frame writer when there is one and no extension is on,
// and as a plain send otherwise; either way the socket's backlog is bounded.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import type { WebSocket } from 'ws'
import { WebSocketLink } from '../../../../src/server/transports/websocket'
import { SharedFrame } from '../../../../src/server/shared-frame'
import type { LinkOwner } from '../../../../src/server/link'

function fake(o: { sender?: boolean; extensions?: string; buffered?: number } = {}) {
  const sent: unknown[] = []
  const whole: Buffer[][] = []
  const ended: number[] = []
  const ws = Object.assign(new EventEmitter(), {
    readyState: 1,
    extensions: o.extensions || '',
    bufferedAmount: o.buffered || 0,
    send: (d: unknown) => void sent.push(d),
    terminate: () => {},
    _sender: o.sender ? { sendFrame: (list: Buffer[]) => void whole.push(list) } : undefined,
  })
  const session = {
    closed: false,
    _host: { o: { maxBufferedAmount: 100 } },
    _attach: () => {},
    _detach: () => {},
    _receive: () => {},
    _end: (code: number) => void ended.push(code),
  } as unknown as LinkOwner
  const link = new WebSocketLink(ws as unknown as WebSocket, session, 0)
  return { link, sent, whole, ended }
}

test('a shared frame goes out whole through ws’s frame writer, the same bytes for every link', () => {
  const f = SharedFrame.message('hi')
  const a = fake({ sender: true })
  const b = fake({ sender: true })
  a.link.writeShared(f)
  b.link.writeShared(f)
  assert.deepEqual(a.sent, [])
  assert.equal(a.whole[0][0], b.whole[0][0], 'one buffer for both')
  assert.deepEqual([...a.whole[0][0]], [0x81, 3, ...Buffer.from('mhi')])
})

test('without ws’s frame writer, or with an extension on, a shared frame is sent as any frame', () => {
  const f = SharedFrame.message('hi')
  const none = fake()
  none.link.writeShared(f)
  assert.deepEqual(none.sent, ['mhi'])
  const deflate = fake({ sender: true, extensions: 'permessage-deflate' })
  deflate.link.writeShared(f)
  assert.deepEqual([deflate.sent, deflate.whole], [['mhi'], []])
})

test('past maxBufferedAmount in the socket, a shared write ends the session with 3900, once', () => {
  const over = fake({ sender: true, buffered: 101 })
  over.link.writeShared(SharedFrame.message('x'))
  over.link.writeShared(SharedFrame.message('y'))
  assert.deepEqual(over.ended, [3900])
  const at = fake({ sender: true, buffered: 100 })
  at.link.writeShared(SharedFrame.message('x'))
  assert.deepEqual(at.ended, [])
})
