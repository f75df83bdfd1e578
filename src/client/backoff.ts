/** The reconnect policy's numbers (see `LifelineOptions`). */
export interface BackoffPolicy {
  minDelay: number
  maxDelay: number
  factor: number
  jitter: boolean
}

/**
 * Delay before reconnect attempt `attempt` (0-based): exponential growth capped at `maxDelay`,
 * with full jitter (a uniform pick in [0, cap]) so clients cut off together do not return
 * together.
 *
 * @example
 * backoff(3, { minDelay: 500, maxDelay: 30000, factor: 2, jitter: false }) // 4000
 */
export function backoff(attempt: number, p: BackoffPolicy, random: () => number = Math.random): number {
  const cap = Math.min(p.maxDelay, p.minDelay * Math.pow(p.factor, attempt))
  return Math.round(p.jitter ? random() * cap : cap)
}
