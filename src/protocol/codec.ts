import { Code, FrameType, isAppCloseCode, num, splitFrame, type Frame, type Hello } from './frames'

/**
 * Reading a client's frames (PROTOCOL.md §2): {@link read} checks a frame and calls the visitor's
 * method of its kind. The server reads every client frame with it, one process and cluster mode
 * alike (gateway mode is a server session like any other). What a frame means is the visitor's;
 * what makes it well formed, and that a client may send it, is here. The client reads the server's
 * frames with its own dispatch (client/receive.ts): moving it here cost the script tag about 96 B
 * gzip, and a reader of server frames here that only tests used was a second copy of its rules.
 */

/**
 * What the server does with each kind of frame a client sends; `On` is what the frames came on,
 * handed to each method, and `R` what the methods return (the read returns it).
 */
export interface FrameVisitor<On, R> {
  /** `m<text>` or a binary frame: one application message. */
  _message(on: On, data: string | Uint8Array): R
  /** `M<JSON array of strings>`: several text messages in order. */
  _messages(on: On, list: string[]): R
  /**
   * A number: `s<n>` (the next message on this connection is n), `a<n>` (everything up to n has
   * arrived), `u<k>` (use this connection). `s` and `u` count from 1.
   */
  _number(on: On, type: Numbered, n: number): R
  /** `p<token>`: answer with `q<token>`. */
  _ping(on: On, token: string): R
  /** `q<token>`. */
  _pong(on: On): R
  /** `c<code> <reason>`; a frame without a code is 1005 (no status). */
  _close(on: On, code: number, reason: string): R
  /** A malformed frame, or one of a kind a client does not send. */
  _bad(on: On, frame: string): R
}

/** The frames of a client's whose body is a number. */
export type Numbered = FrameType.Seq | FrameType.Use | FrameType.Ack

/** What is wrong with a client's frame that went to `_bad`: the reason of the 1002 it ends its session with. */
export function badClientFrame(f: string): string {
  if (f[0] == FrameType.Close) return 'bad close code ' + JSON.stringify(splitFrame(f)[0].slice(0, 16))
  return f[0] == FrameType.Batch ? 'malformed batch' : 'unknown frame ' + JSON.stringify(f.slice(0, 16))
}

/** The `o` frame for hello `h` (PROTOCOL.md §5.1). */
export function encodeHello(h: Hello): string {
  return FrameType.Open + JSON.stringify(h)
}

/**
 * Read frame `f`, sent by a client, and call `v`'s method of its kind with `on`; return what it
 * returns. The rules: numbers are 1-15 digits and nothing else, `s` and `u` count from 1 (PROTOCOL.md
 * §6.1, §6.3), a batch is a JSON array of strings, a close code is a number, and a client may close
 * only with an application's code or none (1005): any other would reach the app's close handler as
 * if a client could say it. The frames only a server sends (`o`, `e`, `w`, `r`, `x`) are bad here.
 *
 * @example
 * read('s5', inbound, link) // inbound._number(link, 's', 5)
 */
export function read<On, R>(f: Frame, v: FrameVisitor<On, R>, on: On): R {
  if (typeof f != 'string') return v._message(on, f)
  const type = f[0]
  const body = f.slice(1)
  if (type == FrameType.Message) return v._message(on, body)
  if (type == FrameType.Ping) return v._ping(on, body)
  if (type == FrameType.Pong) return v._pong(on)
  if (type == FrameType.Batch) {
    let x: unknown
    try {
      x = JSON.parse(body)
    } catch (e) {
      // Malformed: below.
    }
    return Array.isArray(x) && x.every((m) => typeof m == 'string') ? v._messages(on, x) : v._bad(on, f)
  }
  // A close frame: a code, then a reason.
  const [head, tail] = splitFrame(f)
  if (type == FrameType.Close) {
    const code = head ? num(type + head) : Code.NO_STATUS
    return code >= 0 && (code == Code.NO_STATUS || isAppCloseCode(code)) ? v._close(on, code, tail) : v._bad(on, f)
  }
  const n = num(type + head)
  const counted = type == FrameType.Seq || type == FrameType.Use
  if ((counted || type == FrameType.Ack) && n >= (counted ? 1 : 0) && head == body)
    return v._number(on, type as Numbered, n)
  return v._bad(on, f)
}
