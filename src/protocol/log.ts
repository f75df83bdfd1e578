/** Where Lifeline writes what it does, on either side; `console` fits. */
export interface Logger {
  debug(...args: unknown[]): void
  info(...args: unknown[]): void
  warn(...args: unknown[]): void
  error(...args: unknown[]): void
}

/**
 * How much goes to the logger: `debug` every decision, `info` state changes, `warn` what an
 * operator should hear of (on the client a fallback forced by the network, a refusal by the
 * server, a reset, giving up; on the server a throw from the app's handlers, a refused origin,
 * body or session), `error` errors and misconfigurations, `silent` nothing.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent'

/** {@link LogLevel}s by rank. @internal */
export const enum Level {
  Debug,
  Info,
  Warn,
  Error,
}

/** Level names by rank; `silent` ranks above every level. @internal */
export const LEVELS: LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent']

/**
 * Write `args` to `logger` (nowhere if null) at `level`, if `threshold` lets that level through.
 * @internal
 */
export function say(logger: Logger | null, threshold: LogLevel, level: Level, args: unknown[]): void {
  if (logger && level >= LEVELS.indexOf(threshold)) logger[LEVELS[level] as 'warn']('[lifeline]', ...args)
}
