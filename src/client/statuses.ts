import type { ErrorCode } from '../protocol/errors'
import { Code } from '../protocol/frames'
import { Level } from '../protocol/log'
import type { TransportClass } from './transports/transport'

/** A 404 from every HTTP transport this many times, and nothing greeted since, ends the session. */
const NOT_FOUND_TRIES = 3

/** What {@link Statuses} needs of the session. */
export interface StatusHost {
  /** The endpoint, absolute. */
  readonly _url: string
  readonly _classes: TransportClass[]
  _say(level: Level, args: unknown[]): void
  _error(code: ErrorCode, message: string, level?: Level): void
  _finish(code: number, reason: string, wasClean: boolean): void
}

/**
 * @internal
 * HTTP statuses that are not Lifeline's own refusals (those carry a close frame, PROTOCOL.md §4.2):
 * an app's 404 for a wrong path, a proxy's 403 or 502, a body parser's 413. Each names its cause
 * (`polling-404`), told at `warn` once. A refused upload (`stream-upload-413`) is an `error` each
 * time, and a 413 ends the session: the same body would be refused again, forever. A browser's
 * WebSocket never shows the status of a refused upgrade, so a wrong path is judged by the HTTP
 * transports: a 404 from each, {@link NOT_FOUND_TRIES} times with no hello since, ends the session.
 */
export class Statuses {
  /** Causes told already. */
  private _told: { [cause: string]: 1 } = {}
  /** 404s per transport since the last hello. */
  _missing: { [name: string]: number } = {}

  constructor(private readonly _s: StatusHost) {}

  /** A connection of transport `name` ended for `why`: a status (`404`) or an upload's (`upload-413`). */
  _heard(name: string, why: string): void {
    const s = this._s
    const status = +why.slice(-3)
    const cause = name + '-' + why
    if (why[0] == 'u') {
      s._error(
        'LL_ERR_UPLOAD_REFUSED',
        cause + (status == 413 ? ': a body parser in front of Lifeline, or maxPostBytes?' : ''),
        Level.Warn,
      )
      if (status == 413) s._finish(Code.MESSAGE_TOO_BIG, cause, false)
      return
    }
    if (!this._told[cause]) s._say(Level.Warn, [cause + ':', s._url])
    this._told[cause] = 1
    if (status == 404) this._missing[name] = (this._missing[name] || 0) + 1
  }

  /** The reason to give up with when every HTTP transport keeps answering 404: the path is wrong. */
  _wrongPath(): string | undefined {
    const names = this._s._classes.map((C) => C.transportName).filter((n) => n != 'websocket')
    if (names.length && names.every((n) => this._missing[n] >= NOT_FOUND_TRIES))
      return 'wrong path? 404: ' + this._s._url
  }
}
