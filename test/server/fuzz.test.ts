// The server fed garbage over real sockets: generated frames over WebSocket, generated bodies
// in POSTs, and malformed WebSocket framing written byte by byte. The server stays up, a bad
// frame closes only the session that sent it, with 1002 (1009 when too big), and a
// well-behaved session on the same server carries on after every run.
import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { encode, Parser } from '../../src/protocol/envelope'
import { num, type Frame } from '../../src/protocol/frames'
import { frameRun, anyFrame } from '../support/garbage'
import { start, ws, req, tcp, until, wsSession, pollSession, stopAll, type Running } from './raw'

after(stopAll)

const runs = {
  numRuns: Number(process.env.PROPERTY_RUNS || 40),
  seed: process.env.PROPERTY_SEED ? +process.env.PROPERTY_SEED : undefined,
}

/** Codes a session may end with: protocol error, too big, or a valid code its own `c` frame gave. */
function allowed(frames: Frame[]): number[] {
  const asked = frames
    .filter((f): f is string => typeof f == 'string' && f[0] == 'c')
    .map((f) => +(f.slice(1).split(' ')[0] || 1005))
  return [1002, 1009, ...asked]
}

/** The close code of session `sid`, once it closes (undefined while it lives). */
function watch(r: Running, sid: string) {
  const got: { code?: number } = {}
  r.ll.sessions.get(sid)!.on('close', (code) => (got.code = code))
  return got
}

async function bystander(r: Running) {
  const c = await wsSession(r.port)
  let n = 0
  return async () => {
    c.sock.send('mok ' + ++n)
    await c.until((f) => f === 'mok ' + n)
  }
}

// a session ends only with 1002, 1009 or the code it sent
test('WebSocket: generated frames never take the server down', async () => {
  const r = await start({ maxMessageSize: 1000 })
  const check = await bystander(r)
  await fc.assert(
    fc.asyncProperty(frameRun, async (frames) => {
      const c = ws(r.port)
      const { sid } = await c.hello()
      const end = watch(r, sid)
      for (const f of frames) c.sock.send(f)
      c.sock.send('pEND')
      // Everything before it was handled once the pong is back, or the socket closed.
      await Promise.race([c.until((f) => f === 'qEND', 5000), c.closed])
      if (end.code !== undefined) assert.ok(allowed(frames).includes(end.code), 'closed with ' + end.code)
      c.sock.terminate()
      await check()
    }),
    runs,
  )
  await r.stop()
})

/**
 * Whether a body's first record reads as an upload later than the first (`s2` and on): a damaged
 * `s1` can, and the server then parks it for the uploads before it, which never come.
 */
function early(bytes: Buffer): boolean {
  const frames: Frame[] = []
  try {
    new Parser((f) => frames.push(f), 4000).push(bytes)
  } catch {
    // only the first record matters
  }
  const first = frames[0]
  return typeof first == 'string' && first[0] == 's' && num(first) > 1
}

// never a hang or a crash; 503 only for a body that reads as early (refused after requestTimeout)
test('POST bodies: generated frames, random bytes or damaged envelopes get 200, 400, 413 or 503', async () => {
  const r = await start({ maxMessageSize: 1000, maxPostBytes: 4000, requestTimeout: 500 })
  const check = await bystander(r)
  const body = fc.oneof(
    fc.array(anyFrame, { maxLength: 10 }).map((fs) => Buffer.from(encode(['s1', ...fs]))),
    fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
    fc
      .tuple(fc.array(anyFrame, { minLength: 1, maxLength: 5 }), fc.nat(), fc.integer({ min: 0, max: 255 }))
      .map(([fs, at, byte]) => {
        const b = Buffer.from(encode(['s1', ...fs]))
        b[at % b.length] = byte
        return b.subarray(0, b.length - (at % 3))
      }),
  )
  await fc.assert(
    fc.asyncProperty(body, async (bytes) => {
      const sid = await pollSession(r.port)
      const end = watch(r, sid)
      const res = await req(r.port, 'POST', `v=2&t=polling&sid=${sid}&ack=0`, bytes)
      assert.ok([200, 400, 413, ...(early(bytes) ? [503] : [])].includes(res.status), 'status ' + res.status)
      if (res.status == 400) assert.ok([1002, 1009].includes(end.code!), 'closed with ' + end.code)
      if (end.code !== undefined && res.status == 200)
        assert.ok(end.code == 1000 || end.code == 1005 || end.code >= 3000, 'closed with ' + end.code)
      r.ll.sessions.get(sid)?.close()
      await check()
    }),
    runs,
  )
  await r.stop()
})

/** A client WebSocket frame, masked unless told otherwise, with the header fields a test wants wrong. */
function wsFrame(
  opcode: number,
  payload: Buffer,
  o: { fin?: boolean; rsv?: number; mask?: boolean; len?: bigint } = {},
): Buffer {
  const len = o.len ?? BigInt(payload.length)
  const head = [((o.fin ?? true) ? 0x80 : 0) | ((o.rsv || 0) << 4) | opcode]
  const m = (o.mask ?? true) ? 0x80 : 0
  if (len < 126n) head.push(m | Number(len))
  else if (len < 65536n) head.push(m | 126, Number(len >> 8n), Number(len & 255n))
  else head.push(m | 127, ...Array.from({ length: 8 }, (_, i) => Number((len >> BigInt(56 - 8 * i)) & 255n)))
  const key = Buffer.from([1, 2, 3, 4])
  const body = (o.mask ?? true) ? Buffer.from(payload.map((b, i) => b ^ key[i & 3])) : payload
  return Buffer.concat([Buffer.from(head), (o.mask ?? true) ? key : Buffer.alloc(0), body])
}

// each ends its session (1002, or 1009 for a length over the limit) and nothing else
test('corpus of broken WebSocket framing', async () => {
  const r = await start({ maxMessageSize: 1000 })
  const check = await bystander(r)
  const cases: Array<[string, Buffer, number]> = [
    ['invalid UTF-8 in a text frame', wsFrame(1, Buffer.from([0x6d, 0xc3, 0x28])), 1002],
    ['text cut inside a UTF-8 sequence', wsFrame(1, Buffer.from('m€').subarray(0, 3)), 1002],
    ['reserved opcode 3', wsFrame(3, Buffer.from('x')), 1002],
    ['RSV bits without an extension', wsFrame(1, Buffer.from('mx'), { rsv: 4 }), 1002],
    ['unmasked client frame', wsFrame(1, Buffer.from('mx'), { mask: false }), 1002],
    ['continuation with nothing to continue', wsFrame(0, Buffer.from('mx')), 1002],
    ['fragmented ping', wsFrame(9, Buffer.from('x'), { fin: false }), 1002],
    ['ping over 125 bytes', wsFrame(9, Buffer.alloc(126)), 1002],
    ['length of 2^62 announced', wsFrame(2, Buffer.alloc(0), { len: 1n << 62n }), 1009],
    ['length just over maxMessageSize + 64 KiB', wsFrame(2, Buffer.alloc(0), { len: 1000n + 65537n }), 1009],
  ]
  for (const [what, bytes, code] of cases) {
    const c = tcp(r.port)
    await c.opened
    c.sock.write(
      'GET /rt?v=2&t=websocket&ack=0&o=1 HTTP/1.1\r\nHost: x\r\n' +
        'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    )
    await until(() => /"sid":"([^"]{22})"/.test(c.text()), 5000, 'hello')
    const sid = /"sid":"([^"]{22})"/.exec(c.text())![1]
    const end = watch(r, sid)
    c.sock.write(bytes)
    await c.closed
    await until(() => end.code !== undefined, 2000, what + ': session closed')
    assert.equal(end.code, code, what)
    await check()
  }
  await r.stop()
})
