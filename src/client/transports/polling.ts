import { HttpTransport } from './http'

/**
 * HTTP long-polling: a GET the server holds until it has frames (then answers with all of them)
 * or the hold time passes; the next poll goes out at once. Uploads are POSTs. Works through
 * proxies that buffer whole responses, since each response is complete when sent.
 *
 * @example
 * new Lifeline('/rt', { transports: [PollingTransport] })
 */
export class PollingTransport extends HttpTransport {
  // A getter, not a static field: a field would compile to an assignment that defeats tree-shaking.
  static get transportName(): 'polling' {
    return 'polling'
  }
  declare readonly name: 'polling'

  open(): void {
    this._poll(true)
  }

  private _poll(first?: boolean): void {
    this._get = this._req(this._ctx.url(this, first), null, (ok) => {
      if (!ok) return this._end('failed')
      if (first) this.emit('open')
      this._poll()
    })
  }
}
