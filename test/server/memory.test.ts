// What a session keeps in memory while idle (issue 7: memory per session). Real sockets on loopback.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import type { ServerResponse } from 'node:http'
import { start, ws, req, hello, until, stopAll } from './raw'

after(stopAll)

test('an idle session makes no parked-upload map, held-message list or control-frame queue until it needs one', async () => {
  const r = await start({}, false)
  const c = ws(r.port)
  const s = r.ll.sessions.get((await c.hello()).sid)!
  c.sock.send('u1')
  c.sock.send('s1')
  c.sock.send('mone')
  await until(() => r.received.get(s)?.length == 1)
  assert.deepEqual([s._parked, s._later, (s as unknown as { _held: unknown })._held], [undefined, undefined, undefined])
  // Paused: the held list exists while it holds something, and goes once delivered.
  s.pause()
  c.sock.send('mtwo')
  c.sock.send('mthree')
  await until(() => (s as unknown as { _held?: unknown[] })._held?.length == 2)
  s.resume()
  assert.deepEqual(r.received.get(s), ['one', 'two', 'three'])
  assert.equal((s as unknown as { _held: unknown })._held, undefined)
  await c.until((f) => f === 'a3')
  await r.stop()
})
