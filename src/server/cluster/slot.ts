// Redis Cluster's hash slot of a key (the cluster spec, "Keys distribution model"): CRC16 (XMODEM)
// of the key, or of its hash tag (what is between the first `{` and the next `}`, when not
// empty), modulo 16384. The room fan-out and the renewal of sessions group them by it: a script
// keeps to one slot.

/** Slots in a Redis Cluster. */
const SLOTS = 16384
/** CRC16-CCITT (XMODEM) polynomial, as the cluster spec's reference code. */
const POLY = 0x1021

/** CRC16 (XMODEM) of each byte value after the high byte of the remainder, computed once. */
const TABLE = (() => {
  const t = new Uint16Array(256)
  for (let i = 0; i < 256; i++) {
    let c = i << 8
    for (let bit = 0; bit < 8; bit++) c = c & 0x8000 ? (c << 1) ^ POLY : c << 1
    t[i] = c & 0xffff
  }
  return t
})()

function crc16(bytes: Buffer): number {
  let crc = 0
  for (const b of bytes) crc = ((crc << 8) ^ TABLE[((crc >> 8) ^ b) & 0xff]) & 0xffff
  return crc
}

/**
 * The hash slot of `key` in a Redis Cluster.
 *
 * @example
 * keySlot('ll:s:{abc}') == keySlot('ll:s:{abc}:o') // one session, one slot
 */
export function keySlot(key: string): number {
  const open = key.indexOf('{')
  if (open >= 0) {
    const close = key.indexOf('}', open + 1)
    if (close > open + 1) key = key.slice(open + 1, close)
  }
  return crc16(Buffer.from(key)) % SLOTS
}

/**
 * `items` in groups of `chunk` at most, for one script each: on a Redis Cluster (`cluster`) each
 * group's keys (`keyOf`) are of one hash slot; on one server any items go together.
 *
 * @example
 * slotGroups(sids, (sid) => 'll:s:{' + sid + '}', 200, link.cluster) // [[sid, ...], ...]
 */
export function slotGroups<T>(items: T[], keyOf: (item: T) => string, chunk: number, cluster?: boolean): T[][] {
  const groups: T[][] = []
  const put = (some: T[]) => {
    for (let i = 0; i < some.length; i += chunk) groups.push(some.slice(i, i + chunk))
  }
  if (!cluster) put(items)
  else {
    const bySlot = new Map<number, T[]>()
    for (const item of items) {
      const slot = keySlot(keyOf(item))
      const same = bySlot.get(slot)
      if (same) same.push(item)
      else bySlot.set(slot, [item])
    }
    for (const some of bySlot.values()) put(some)
  }
  return groups
}
