// Numbered messages for the flows of test/proxy/*.test.ts: each side checks that it gets 0..n-1
// exactly once, in order (the server side is `record` in test/support/fixtures.mjs).
import type { Lifeline } from '../../src/client/index'

export type Kind = 'text' | 'binary' | 'mixed' | 'padded'

/**
 * Message `i` of a numbered flow: text `n:<i>:` (`padded`: with x to `max` bytes), or binary whose first 4 bytes are
 * i (sizes vary for `mixed`).
 */
export function numbered(i: number, kind: Kind, max: number): string | Uint8Array {
  const size = kind == 'mixed' ? [0, 10, 100, 1000, 10000, max][i % 6] : 0
  if (kind == 'padded') return `n:${i}:`.padEnd(max, 'x')
  if (kind == 'text' || (kind == 'mixed' && i % 2)) return `n:${i}:` + 'x'.repeat(Math.max(0, size - 20))
  const b = new Uint8Array(Math.max(4, size))
  new DataView(b.buffer).setUint32(0, i)
  for (let k = 4; k < b.length; k++) b[k] = (i + k) & 255
  return b
}

/** The number a message carries: -1 when it has none, -2 when a binary one is corrupt. */
export async function numberOf(d: unknown): Promise<number> {
  if (typeof d == 'string') return +(/^n:(\d+):/.exec(d) || [0, -1])[1]
  const b = new Uint8Array(d as ArrayBuffer)
  for (let k = 4; k < b.length; k++) if (b[k] != ((new DataView(b.buffer).getUint32(0) + k) & 255)) return -2
  return new DataView(b.buffer).getUint32(0)
}

/** Check incoming numbered messages: exactly 0..n-1, in order. */
export function receiver(ll: Lifeline) {
  const st = { next: 0, violations: [] as string[] }
  ll.binaryType = 'arraybuffer'
  ll.on('message', async (e) => {
    const i = await numberOf(e.data)
    if (i != st.next && st.violations.length < 10) st.violations.push(`expected ${st.next}, got ${i}`)
    st.next = i + 1
  })
  return st
}
