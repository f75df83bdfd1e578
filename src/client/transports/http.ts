import { encode, HEADER, Parser } from '../../protocol/envelope'
import { FrameType, type Frame } from '../../protocol/frames'
import { POST_BYTES, POST_FRAMES, POSTS_IN_FLIGHT } from '../../protocol/limits'
import { utf8Length } from '../../protocol/utf8'
import { Transport, type TransportContext } from './transport'

type Abort = () => void

/**
 * Upload bodies are binary envelopes labelled as text: CORS-simple (no preflight), and in a
 * charset where every byte is a character, so a body parser the app put in front (`express.text()`)
 * hands back the exact bytes.
 */
const UPLOAD_TYPE = 'text/plain;charset=iso-8859-1'

/** An upload lost on the network is sent this many times in all before the transport gives up. */
const UPLOAD_TRIES = 3

/**
 * What the two HTTP transports share: uploads as POSTs, one at a time, with everything sent
 * meanwhile batched into the next; every request a CORS "simple request" (no custom headers,
 * `text/plain`), so cross-origin endpoints cost no preflight; downloads parsed from the
 * envelope as bytes arrive.
 */
export abstract class HttpTransport extends Transport {
  /** Upload bodies waiting for their POST: frames, and their bytes once enveloped. */
  private _bodies: { frames: Frame[]; bytes: number }[] = []
  /** Uploads in flight (their aborts). */
  private _posts: Abort[] = []
  /** The download in flight. @internal */
  _get?: Abort
  private _closing?: boolean

  static isSupported(ctx: TransportContext): boolean {
    return !!ctx.fetch || typeof XMLHttpRequest != 'undefined'
  }

  send(frames: Frame[], seq: number): void {
    let bytes = 0
    for (const f of frames) bytes += HEADER + (typeof f == 'string' ? utf8Length(f) : f.length)
    // Each POST names the sequence number of its first message, so a repeated or reordered POST
    // can be deduplicated by the server (PROTOCOL.md §4.5). A full body takes no more, nor one
    // these frames would take past the server's `maxPostBytes` (PROTOCOL.md §5.1).
    let body = this._bodies[this._bodies.length - 1]
    if (!body || body.bytes > POST_BYTES || body.frames.length > POST_FRAMES || body.bytes + bytes > this._maxPost!) {
      // Counted with room for the `s` record.
      body = { frames: [FrameType.Seq + seq], bytes: 32 }
      this._bodies.push(body)
    }
    body.frames.push(...frames)
    body.bytes += bytes
    if (this._posts.length < POSTS_IN_FLIGHT) this._post()
  }

  override end(frames: Frame[], seq: number): void {
    this.send(frames, seq)
    this._closing = true
  }

  /**
   * POST `body`, the next waiting one unless given; `tries` so far. One that failed on the network
   * before the server answered it (a cut, a reset, an answer lost on the way) goes again on a new
   * request, up to {@link UPLOAD_TRIES} times in all: the server drops what it already has of it
   * (PROTOCOL.md §4.5), and the download, which works, is kept.
   */
  private _post(body = this._bodies.shift()!, tries = 1): void {
    let taken = false
    // The server answers only once it has taken the whole body: the next POST may go when the
    // answer's headers are in, not after its body (acks, pongs) is read, which in Chromium comes
    // later than a reply on the stream and held the reply back (issue 19).
    const next = () => {
      if (taken || this._done) return
      taken = true
      this._posts.splice(this._posts.indexOf(abort), 1)
      if (this._bodies.length) this._post()
      else if (this._closing && !this._posts.length) this.close()
    }
    const abort = this._req(
      this._ctx.url(this),
      encode(body.frames),
      (ok, got, status) => {
        if (ok) return next()
        if (status || taken || tries >= UPLOAD_TRIES) return this._end('upload-' + (status || 'failed'))
        this._posts.splice(this._posts.indexOf(abort), 1)
        this._post(body, tries + 1)
      },
      false,
      undefined,
      next,
    )
    this._posts.push(abort)
  }

  /**
   * One HTTP request; `done(ok)` runs once at the end, with the HTTP `status` of a refusal that
   * is not Lifeline's (no frames in it: an app's 404, a body parser's 413, a proxy's 502). Bytes
   * of the response body are parsed into frames as they arrive, and delivered, or kept in `into`
   * for `done` to deliver. `headers` runs when a 200's headers are in.
   * @internal
   */
  _req(
    url: string,
    body: Uint8Array | null,
    done: (ok: boolean, got: boolean, status?: number) => void,
    stream?: boolean,
    into?: Frame[],
    headers?: () => void,
  ): Abort {
    const ctx = this._ctx
    const parser = new Parser((f) => (into ? into.push(f) : this._frame(f, !!body)), ctx.maxMessageSize + 64)
    let got = false
    let over = false
    const bytes = (b: Uint8Array) => {
      if (over || this._done) return
      got = true
      if (!body) this._last = ctx.clock.now()
      try {
        parser.push(b)
      } catch (e) {
        over = true
        this._end('protocol', e as Error)
      }
    }
    const finish = (ok: boolean, status?: number) => {
      if (over) return
      over = true
      // Only an answer counts as life: a failed request must leave the idle time measurable, so
      // a proxy's read timeout can be learned from it. And only a download's: answered uploads
      // said nothing of a poll or stream that stalled (issue 25).
      if (ok && !body) this._last = ctx.clock.now()
      if (!this._done) done(ok && !parser.pending, got, status)
    }
    const fetch = ctx.fetch
    const canStream =
      typeof ReadableStream != 'undefined' && typeof Response != 'undefined' && 'body' in Response.prototype
    if (fetch && (!stream || canStream)) {
      const ac = typeof AbortController != 'undefined' ? new AbortController() : undefined
      let reader: ReadableStreamDefaultReader<Uint8Array> | undefined
      fetch(url, {
        method: body ? 'POST' : 'GET',
        body: body as BodyInit | null,
        signal: ac && ac.signal,
        credentials: ctx.withCredentials ? 'include' : 'same-origin',
        cache: 'no-store',
        headers: body ? { 'Content-Type': UPLOAD_TYPE } : {},
      })
        .then((res) => {
          const ok = res.ok
          if (ok && headers) headers()
          if (ok && stream) this.emit('open')
          if (ok && canStream && res.body) {
            reader = res.body.getReader()
            // A poll's answer is whole at its Content-Length: read that far rather than to the
            // stream's end, which Chromium reports a task or two later (issue 19).
            const length = stream ? -1 : +(res.headers.get('Content-Length') || -1)
            let seen = 0
            const pump = (): Promise<void> =>
              reader!.read().then((r) => {
                // Ended short of its Content-Length: cut, though the browser may call it done.
                if (r.done) return finish(length < 0 || seen == length)
                bytes(r.value)
                if ((seen += r.value.length) == length) return finish(true)
                if (!over) return pump()
              })
            return pump()
          }
          // A refusal may explain itself with a close frame (PROTOCOL.md "Errors"). A missing
          // header tests as "null": no match.
          return ok || /octet/.test(res.headers.get('Content-Type')!)
            ? res.arrayBuffer().then((b) => (bytes(new Uint8Array(b)), finish(ok)))
            : finish(false, res.status)
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
    xhr.onreadystatechange = () => {
      if (xhr.readyState == 2 && xhr.status == 200 && headers) headers()
    }
    xhr.onprogress = () => {
      if (xhr.status == 200) {
        if (!seen && stream) this.emit('open')
        read()
      }
    }
    xhr.onload = () => {
      const ok = xhr.status == 200
      const framed = ok || /octet/.test(xhr.getResponseHeader('Content-Type')!)
      if (framed) read()
      finish(ok, framed ? 0 : xhr.status)
    }
    xhr.onerror = xhr.onabort = () => finish(false)
    xhr.send(body && new Blob([body as BlobPart], { type: UPLOAD_TYPE }))
    return () => {
      over = true
      xhr.abort()
    }
  }

  /** @internal */
  protected _stop(): void {
    for (const a of [this._get, ...this._posts]) if (a) a()
  }
}
