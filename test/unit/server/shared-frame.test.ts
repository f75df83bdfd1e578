// A frame encoded once for many links (src/server/shared-frame.ts): the WebSocket frame it makes
// is byte for byte what ws itself sends, at each length encoding's edge, and ws's reader reads it
// back as the same message.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as ws from 'ws'
import { SharedFrame, webSocketFrame } from '../../../src/server/shared-frame'

// Not in ws's published types; exported by its ES module all the same.
const { Sender, Receiver } = ws as typeof ws & {
  Sender: { frame(data: Buffer, o: object): Buffer[] }
  Receiver: new (o: object) => NodeJS.WritableStream & { on(e: 'message', f: (d: Buffer, bin: boolean) => void): void }
}
/** ws's own frame of `data`, as a server sends it (unmasked, whole). */
const wsOwn = (data: Buffer, binary: boolean) =>
  Buffer.concat(Sender.frame(data, { fin: true, rsv1: false, opcode: binary ? 2 : 1, mask: false, readOnly: false }))

test('the frame is ws’s own, text and binary, at 0, 125, 126, 65535 and 65536 bytes', () => {
  for (const n of [0, 1, 125, 126, 127, 65535, 65536, 70000]) {
    const text = 'x'.repeat(n)
    assert.ok(webSocketFrame(text).equals(wsOwn(Buffer.from(text), false)), 'text ' + n)
    const bytes = Buffer.alloc(n, 7)
    assert.ok(webSocketFrame(bytes).equals(wsOwn(bytes, true)), 'binary ' + n)
  }
})

test('ws reads it back: a text message of multi-byte characters, and bytes', async () => {
  const got: Array<[string, boolean]> = []
  const r = new Receiver({ isServer: false, skipUTF8Validation: false })
  r.on('message', (d, binary) => void got.push([binary ? d.toString('hex') : d.toString(), binary]))
  const text = SharedFrame.message('é'.repeat(100))
  const bytes = SharedFrame.message(Buffer.from([1, 2, 3]))
  r.write(Buffer.concat([text.wire, bytes.wire]))
  assert.deepEqual(got, [
    ['m' + 'é'.repeat(100), false],
    ['010203', true],
  ])
  assert.equal(text.wire, text.wire, 'made once')
})
