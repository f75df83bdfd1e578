// One poll (src/server/transports/polling.ts) over a fake response: answered with what is written,
// at once, or after the last hold on it is released (cluster mode gathers one answer from several reads).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import type { ServerResponse } from 'node:http'
import { PollLink } from '../../../../src/server/transports/polling'
import { Parser } from '../../../../src/protocol/envelope'
import type { Frame } from '../../../../src/protocol/frames'
import type { LinkOwner } from '../../../../src/server/link'
import { FakeClock } from '../../../support/fake-clock'

/** A poll on a fake response; `answers` are the bodies it ended with, as frames. */
function poll(hold = 60000) {
  const answers: Frame[][] = []
  const res = Object.assign(new EventEmitter(), {
    writableEnded: false,
    writeHead: () => res,
    end(body: Uint8Array) {
      const frames: Frame[] = []
      new Parser((f) => frames.push(f), 1 << 20).push(body)
      answers.push(frames)
      res.writableEnded = true
    },
  })
  const detached: unknown[] = []
  const clock = new FakeClock()
  const owner = { _host: { o: { clock } }, _detach: (l: unknown) => void detached.push(l) } as unknown as LinkOwner
  const link = new PollLink(res as unknown as ServerResponse, owner, hold, [], {})
  return { link, answers, detached, clock }
}

test('a write answers at once; a later one is dropped', () => {
  const { link, answers, detached } = poll()
  link.write(['s1', 'ma'])
  link.write(['mb'])
  assert.deepEqual(answers, [['s1', 'ma']])
  assert.equal(link.ready(), false)
  assert.deepEqual(detached, [link])
})

test('held: what is written meanwhile is one answer, after the last release', () => {
  const { link, answers } = poll()
  link.hold()
  link.hold()
  link.write(['s1', 'mown'])
  assert.equal(link.ready(), true, 'still open: more may come')
  link.write(['r7 news', 'mroom'])
  link.release()
  assert.deepEqual(answers, [])
  link.release()
  assert.deepEqual(answers, [['s1', 'mown', 'r7 news', 'mroom']])
  link.release()
  assert.equal(answers.length, 1)
})

test('held with nothing written: the poll stays open; the hold time passing answers after the release', async () => {
  const { link, answers, clock } = poll(5000)
  link.hold()
  link.release()
  assert.deepEqual(answers, [], 'nothing to say: it waits')
  await clock.tick(4999)
  assert.deepEqual(answers, [], 'held until the hold time')
  link.hold()
  await clock.tick(1)
  assert.deepEqual(answers, [])
  link.release()
  assert.deepEqual(answers, [[]])
})

test('end() answers with what was held, at once', () => {
  const { link, answers } = poll()
  link.hold()
  link.write(['s1', 'ma'])
  link.end()
  assert.deepEqual(answers, [['s1', 'ma']])
})
