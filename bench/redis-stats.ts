// Redis's own figures for the room benches (bench/cluster-room.ts, bench/rooms-vs-socketio.ts),
// read from `INFO` through the bench's own client: its CPU time and its memory in use.

/** Redis's INFO text for a section. */
export type Info = (section: string) => Promise<string>

/** A numeric field of an INFO section's text. */
export const infoField = (text: string, name: string) =>
  Number(new RegExp('^' + name + ':([\\d.]+)', 'm').exec(text)![1])

/** CPU Redis has used since it started, user + system (all its threads), ms. */
export async function redisCpuMs(info: Info): Promise<number> {
  const t = await info('cpu')
  return (infoField(t, 'used_cpu_sys') + infoField(t, 'used_cpu_user')) * 1000
}

/** `used_memory`, bytes. */
export async function usedMemory(info: Info): Promise<number> {
  return infoField(await info('memory'), 'used_memory')
}

/** How often `settledMemory` reads used_memory, how many equal readings settle it, for how long at most. */
const SETTLE = { everyMs: 100, same: 3, maxMs: 5000 }

/** `used_memory` once it has stopped changing (3 equal readings 100 ms apart, at most 5 s), bytes. */
export async function settledMemory(info: Info): Promise<number> {
  let last = await usedMemory(info)
  for (let same = 0, t = Date.now(); same < SETTLE.same && Date.now() - t < SETTLE.maxMs;) {
    await new Promise((r) => setTimeout(r, SETTLE.everyMs))
    const m = await usedMemory(info)
    same = m == last ? same + 1 : 0
    last = m
  }
  return last
}

/** Calls per command since Redis started (`INFO commandstats`), by command name. */
export async function commandCalls(info: Info): Promise<Record<string, number>> {
  const calls: Record<string, number> = {}
  for (const m of (await info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[m[1]] = +m[2]
  return calls
}

/** The commands called between two `commandCalls` readings, most called first. */
export function callsBetween(before: Record<string, number>, after: Record<string, number>): Array<[string, number]> {
  return Object.entries(after)
    .map(([name, n]): [string, number] => [name, n - (before[name] || 0)])
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1])
}
