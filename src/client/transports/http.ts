import { encode, Parser } from '../../protocol/envelope'
import { T, type Frame } from '../../protocol/frames'
import { Transport, type TransportContext } from './transport'

type Abort = () => void

/**
 * What the two HTTP transports share: uploads as POSTs, one at a time, with everything sent
 * meanwhile batched into the next; every request a CORS "simple request" (no custom headers,
 * `text/plain`), so cross-origin endpoints cost no preflight; downloads parsed from the
 * envelope as bytes arrive.
 */
export abstract class HttpTransport extends Transport {
  private _bodies: { f: Frame[]; n: number }[] = []
  private _posting?: Abort
  /** The download in flight. @internal */
  _get?: Abort
  private _closing?: boolean

  static isSupported(ctx: TransportContext): boolean {
    return !!ctx.fetch || typeof XMLHttpRequest != 'undefined'
  }

  send(frames: Frame[], seq: number): void {
    // Each POST names the sequence number of its first message, so a repeated or reordered POST
    // can be deduplicated by the server (PROTOCOL.md "Uploads"). A body past 512 KiB takes no
    // more: what follows waits for a POST of its own.
    let b = this._bodies[this._bodies.length - 1]
    // Frames are capped too. Even all in 3-byte UTF-8, a body stays under 1.5 MiB plus what one
    // hand-over adds: the server's maxPostBytes and maxFramesPerPost defaults leave room for it.
    if (!b || b.n > 524288 || b.f.length > 4000) this._bodies.push((b = { f: [T.Seq + seq], n: 0 }))
    for (const f of frames) {
      b.f.push(f)
      b.n += 5 + f.length
    }
    if (!this._posting) this._post()
  }

  override end(frames: Frame[], seq: number): void {
    this.send(frames, seq)
    this._closing = true
  }

  private _post(): void {
    const body = this._bodies.shift()!
    this._posting = this._req(this._ctx.url(this), encode(body.f), (ok) => {
      this._posting = undefined
      if (!ok) this._end('upload-failed')
      else if (this._bodies.length) this._post()
      else if (this._closing) this.close()
    })
  }

  /**
   * One HTTP request; `done(ok)` runs once at the end. Bytes of the response body are parsed
   * into frames as they arrive.
   * @internal
   */
  _req(url: string, body: Uint8Array | null, done: (ok: boolean, got: boolean) => void, stream?: boolean): Abort {
    const ctx = this._ctx
    const parser = new Parser((f) => this._frame(f), ctx.maxMessageSize + 64)
    let got = false
    let over = false
    const bytes = (b: Uint8Array) => {
      if (over || this._done) return
      got = true
      this._last = ctx.clock.now()
      try {
        parser.push(b)
      } catch (e) {
        over = true
        this._end('protocol', e as Error)
      }
    }
    const finish = (ok: boolean) => {
      if (over) return
      over = true
      // Only an answer counts as life: a failed request must leave the idle time measurable, so
      // a proxy's read timeout can be learned from it.
      if (ok) this._last = ctx.clock.now()
      if (!this._done) done(ok && !parser.pending, got)
    }
    const fetch = ctx.fetch
    const canStream = typeof ReadableStream != 'undefined' && typeof Response != 'undefined' && 'body' in Response.prototype
    if (fetch && (!stream || canStream)) {
      const ac = typeof AbortController != 'undefined' ? new AbortController() : undefined
      let reader: ReadableStreamDefaultReader<Uint8Array> | undefined
      fetch(url, {
        method: body ? 'POST' : 'GET',
        body: body as BodyInit | null,
        signal: ac && ac.signal,
        credentials: ctx.withCredentials ? 'include' : 'same-origin',
        cache: 'no-store',
        headers: body ? { 'Content-Type': 'text/plain' } : {},
      })
        .then((res) => {
          const ok = res.ok
          if (ok && stream) {
            this.emit('open')
            reader = res.body!.getReader()
            const pump = (): Promise<void> =>
              reader!.read().then((r) => {
                if (r.done) return finish(true)
                bytes(r.value)
                if (!over) return pump()
              })
            return pump()
          }
          // A refusal may explain itself with a close frame (PROTOCOL.md "Errors"). A missing
          // header tests as "null": no match.
          return ok || /octet/.test(res.headers.get('Content-Type')!) ? res.arrayBuffer().then((b) => (bytes(new Uint8Array(b)), finish(ok))) : finish(false)
        })
        .catch(() => finish(false))
      return () => {
        over = true
        if (ac) ac.abort()
        else if (reader) reader.cancel().catch(() => {})
      }
    }
    // XMLHttpRequest, for webviews without fetch streaming. The x-user-defined charset maps each
    // response byte to one character, so bytes can be read as they arrive (XHR spec, "text response").
    const xhr = new XMLHttpRequest()
    let seen = 0
    const read = () => {
      const text = xhr.responseText
      const b = new Uint8Array(text.length - seen)
      for (let i = 0; i < b.length; i++) b[i] = text.charCodeAt(seen + i) & 0xff
      seen = text.length
      if (b.length) bytes(b)
    }
    xhr.open(body ? 'POST' : 'GET', url)
    xhr.withCredentials = ctx.withCredentials
    xhr.overrideMimeType('text/plain; charset=x-user-defined')
    xhr.onprogress = () => {
      if (xhr.status == 200) {
        if (!seen && stream) this.emit('open')
        read()
      }
    }
    xhr.onload = () => {
      if (xhr.status == 200 || /octet/.test(xhr.getResponseHeader('Content-Type')!)) read()
      finish(xhr.status == 200)
    }
    xhr.onerror = xhr.onabort = () => finish(false)
    xhr.send(body && new Blob([body as BlobPart], { type: 'text/plain' }))
    return () => {
      over = true
      xhr.abort()
    }
  }

  /** @internal */
  protected _stop(): void {
    for (const a of [this._get, this._posting]) if (a) a()
  }
}
