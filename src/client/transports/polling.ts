import type { Frame } from '../../protocol/frames'
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

  override get pollsCursor(): boolean {
    return true
  }

  open(): void {
    this._poll(true)
  }

  private _poll(first?: boolean): void {
    const frames: Frame[] = []
    const done = (ok: boolean, got: boolean, status?: number) => {
      // Refused or cut: what came still counts (a close frame says why), then the end, which names
      // the HTTP status of a refusal that is not Lifeline's.
      if (!ok) {
        for (const f of frames) this._frame(f)
        return this._end('' + (status || 'failed'))
      }
      // An opening poll's answer has the hello: one without (an empty 200 from a proxy, or an
      // answer cut after its headers) opened nothing, and a later poll's messages would come
      // before any hello.
      if (first && !frames.length) return this._end('empty')
      if (first) this.emit('open')
      // The next poll goes out before the app's handlers run, so a reply they send finds it
      // already at the server (issue 19); its cursor counts this answer's messages.
      if (frames.length && !this._done) this.emit('batch', frames, () => this._done || this._poll())
      else this._poll()
    }
    this._get = this._req(this._ctx.url(this, first), null, done, false, frames)
  }
}
