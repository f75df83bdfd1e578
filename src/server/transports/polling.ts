import type { OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { encode } from '../../protocol/envelope'
import { BODY } from '../access'
import type { Frame } from '../../protocol/frames'
import type { Link, LinkOwner } from '../link'

/**
 * One poll: answered with every frame there is as soon as there is any, or empty when the
 * hold time passes. The next poll replaces it. @internal
 */
export class PollLink implements Link {
  readonly name = 'polling'
  inSeq = 0
  private _timer: unknown
  /** Holds on its answer (`hold()`), and what was written while one was on: the answer, once released. */
  private _holds = 0
  private _held?: Frame[]

  constructor(
    private _res: ServerResponse,
    private _session: LinkOwner,
    hold: number,
    /** Frames to put first in the response (the hello); they make it answer at once. */
    private _pre: Frame[],
    /** Its answer's headers, written with it: a poll held before then keeps no header text (~1 KB). */
    private _head: OutgoingHttpHeaders,
  ) {
    this._timer = _session._host.o.clock.setTimeout(() => this.write([]), hold)
    _res.on('close', () => this._done())
  }

  ready(): boolean {
    return !this._res.writableEnded
  }

  write(frames: Frame[]): void {
    if (this._res.writableEnded) return
    // Any write answers, even an empty one (the hold time passed): after the last release.
    if (this._holds) return void (this._held = (this._held || []).concat(frames))
    const body = encode(this._pre.concat(frames))
    // A length rather than chunks: the client reads exactly that far and needs no end-of-body mark.
    this._res.writeHead(200, { ...this._head, ...BODY, 'Content-Length': body.length }).end(body)
    this._done()
  }

  end(): void {
    this._holds = 0
    this._answerHeld()
    this.write([])
  }

  hold(): void {
    this._holds++
  }

  release(): void {
    if (this._holds && !--this._holds) this._answerHeld()
  }

  private _answerHeld(): void {
    const held = this._held
    this._held = undefined
    if (held) this.write(held)
  }

  private _done(): void {
    this._session._host.o.clock.clearTimeout(this._timer)
    this._session._detach(this)
  }
}
