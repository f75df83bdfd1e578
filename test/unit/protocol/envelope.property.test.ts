// Properties of the envelope parser (server POST bodies, client stream and poll responses) on
// generated input: valid bodies split anywhere parse back exactly; arbitrary, mutated or
// truncated bytes either parse or throw RangeError / TypeError, never anything else, never hold
// more than one record's worth, never hand over a frame over the limit, and never take long.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { encode, Parser, HEADER } from '../../../src/protocol/envelope'
import type { Frame } from '../../../src/protocol/frames'

const runs = {
  numRuns: Number(process.env.PROPERTY_RUNS || 300),
  seed: process.env.PROPERTY_SEED ? +process.env.PROPERTY_SEED : undefined,
}

/** Frames as senders make them: text without lone surrogates (they become U+FFFD), or bytes. */
const frame: fc.Arbitrary<Frame> = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 300 }),
  fc.uint8Array({ maxLength: 300 }),
)

/** Cut `bytes` at the given points (sorted, deduplicated) into chunks. */
function cut(bytes: Uint8Array, points: number[]): Uint8Array[] {
  const at = [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b)
  const out: Uint8Array[] = []
  let from = 0
  for (const p of [...at, bytes.length]) {
    out.push(bytes.subarray(from, p))
    from = p
  }
  return out
}

/** Feed chunks; returns the frames and the error, checking the bounds after every push. */
function feed(chunks: Uint8Array[], max: number): { frames: Frame[]; error?: unknown } {
  const frames: Frame[] = []
  const p = new Parser((f) => frames.push(f), max)
  const t0 = performance.now()
  try {
    for (const c of chunks) {
      p.push(c)
      assert.ok(p.pending <= max + HEADER, `holds ${p.pending} bytes, limit ${max}`)
    }
  } catch (error) {
    return { frames, error }
  } finally {
    assert.ok(performance.now() - t0 < 500, 'no input takes long')
    for (const f of frames)
      assert.ok((typeof f == 'string' ? Buffer.byteLength(f) : f.length) <= max, 'no frame over the limit')
  }
  return { frames }
}

test('valid bodies split at any points parse back to exactly the frames sent', () => {
  fc.assert(
    fc.property(fc.array(frame, { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 30 }), (frames, points) => {
      const r = feed(cut(encode(frames), points), 1 << 20)
      assert.equal(r.error, undefined)
      assert.deepEqual(r.frames, frames)
    }),
    runs,
  )
})

test('arbitrary bytes in arbitrary chunks: parsed or refused with RangeError or TypeError, within bounds', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 2000 }),
      fc.array(fc.nat(), { maxLength: 20 }),
      fc.integer({ min: 0, max: 1000 }),
      (bytes, points, max) => {
        const r = feed(cut(bytes, points), max)
        if (r.error) assert.ok(r.error instanceof RangeError || r.error instanceof TypeError, String(r.error))
      },
    ),
    runs,
  )
})

// parsed or refused, within the same bounds
test('valid bodies damaged (bytes changed, cut short, lengths made huge, UTF-8 broken)', () => {
  const damage = fc.record({
    at: fc.nat(),
    byte: fc.integer({ min: 0, max: 255 }),
    kind: fc.constantFrom('flip', 'truncate', 'huge-length', 'bad-utf8'),
  })
  fc.assert(
    fc.property(
      fc.array(frame, { minLength: 1, maxLength: 10 }),
      fc.array(damage, { maxLength: 4 }),
      fc.array(fc.nat(), { maxLength: 10 }),
      (frames, damages, points) => {
        let body = Uint8Array.from(encode(frames))
        for (const d of damages) {
          const i = d.at % body.length
          if (d.kind == 'flip') body[i] = d.byte
          else if (d.kind == 'truncate') body = body.subarray(0, i)
          else if (d.kind == 'huge-length' && i + HEADER <= body.length) body.set([0, 0xff, 0xff, 0xff, 0xff], i)
          else if (d.kind == 'bad-utf8') body[i] = 0xc0 | (d.byte & 1)
          if (!body.length) return
        }
        const r = feed(cut(body, points), 1 << 16)
        if (r.error) assert.ok(r.error instanceof RangeError || r.error instanceof TypeError, String(r.error))
        for (const f of r.frames) assert.ok(typeof f == 'string' || f instanceof Uint8Array)
      },
    ),
    runs,
  )
})

test('corpus: oversized lengths, every bad kind, truncated UTF-8 at each position', () => {
  for (const len of [0x7fffffff, 0x80000000, 0xffffffff, 1001])
    assert.ok(
      feed([Uint8Array.of(0, len >>> 24, (len >> 16) & 255, (len >> 8) & 255, len & 255)], 1000).error instanceof
        RangeError,
      String(len),
    )
  for (let kind = 2; kind < 256; kind++)
    assert.ok(feed([Uint8Array.of(kind, 0, 0, 0, 0)], 1000).error instanceof RangeError, String(kind))
  const euro = Buffer.from('m€😀')
  for (let n = 1; n < euro.length; n++) {
    if (n == 1 || n == 4) continue
    const r = feed([Uint8Array.of(0, 0, 0, 0, n), euro.subarray(0, n)], 1000)
    assert.ok(r.error instanceof TypeError, 'cut after ' + n + ' bytes')
  }
  // A header in pieces, then a length one over the limit: refused as soon as the header is whole.
  assert.ok(feed([Uint8Array.of(1, 0), Uint8Array.of(0, 3), Uint8Array.of(0xe9)], 1000).error instanceof RangeError)
})
