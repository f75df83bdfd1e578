import { HttpTransport } from './http'

/**
 * HTTP streaming: one long response carries server frames as they happen (read with `fetch`
 * and a `ReadableStream`, or XHR progress events where fetch cannot stream); uploads are POSTs.
 * When the server ends a response (it recycles them after `streamMaxBytes`), the next one opens
 * at once from the current cursor, so nothing is lost or repeated.
 *
 * @example
 * new Lifeline('/rt', { transports: [StreamTransport] })
 */
export class StreamTransport extends HttpTransport {
  // A getter, not a static field: a field would compile to an assignment that defeats tree-shaking.
  static get transportName(): 'stream' {
    return 'stream'
  }
  declare readonly name: 'stream'

  /** Opens a response; when one ends (the server recycles them), the next. */
  open(): void {
    this._get = this._req(
      this._ctx.url(this, true),
      null,
      (ok, got, status) => (ok && got ? this.open() : this._end(ok ? 'empty' : '' + (status || 'failed'))),
      true,
    )
  }
}
