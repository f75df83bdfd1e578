import { Code, FrameType, isAppCloseCode, isHello, num, splitFrame, type Frame, type Hello } from './frames'

/**
 * Reading frames (PROTOCOL.md §2), one set of rules for both sides: {@link read} checks a frame
 * and calls the visitor's method of its kind. The server reads the client's frames with it, one
 * process and cluster mode alike (gateway mode is a server session like any other). The client does
 * not yet: it reads the server's frames with its own dispatch (client/receive.ts), since moving it
 * here cost the script tag about 96 B gzip. Until it does, the server's half (`From.Server`,
 * `_hello`, `_error`) is used by the unit tests alone, and a change to a server frame's rules goes
 * into receive.ts as well as here. What a frame means to a side is that side's method; what makes
 * it well formed, and which side may send it, is here.
 */

/**
 * What a side does with each kind of frame both sides send; `On` is what the frames came on,
 * handed to each method, and `R` what the methods return (the read returns it).
 */
export interface FrameVisitor<On, R> {
  /** `m<text>` or a binary frame: one application message. */
  _message(on: On, data: string | Uint8Array): R
  /** `M<JSON array of strings>`: several text messages in order. */
  _messages(on: On, list: string[]): R
  /**
   * A number and, for `r` and `x`, a room (`room` is empty for the others): `s<n>` (the next message
   * on this connection is n), `a<n>` (everything up to n has arrived); from a client `u<k>` (use
   * this connection); from a server `w<n>` (it has messages up to n for the client), `r<n> <room>`
   * (the next is room `room`'s offset n; `r0`: not in the room) and `x<n> <room>` (the room goes on
   * from n). `s` and `u` count from 1.
   */
  _number(on: On, type: Numbered, n: number, room: string): R
  /** `p<token>`: answer with `q<token>`. */
  _ping(on: On, token: string): R
  /** `q<token>`. */
  _pong(on: On): R
  /** `c<code> <reason>`; a frame without a code is 1005 (no status). */
  _close(on: On, code: number, reason: string): R
  /** A malformed frame, or one of a kind the other side does not send. */
  _bad(on: On, frame: string): R
}

/** The frames whose body is a number (and for `r` and `x`, a room). */
export type Numbered =
  FrameType.Seq | FrameType.Use | FrameType.Ack | FrameType.Owed | FrameType.Room | FrameType.RoomReset

/** What a client does with a server's frames: those of both sides, and the server's own. */
export interface ServerFrameVisitor<On, R> extends FrameVisitor<On, R> {
  /** `o<JSON>`, a hello {@link isHello} takes. */
  _hello(on: On, h: Hello): R
  /** `e<CODE> <text>`: an error report. */
  _error(on: On, code: string, text: string): R
}

/** Who sent the frames being read. */
export const enum From {
  Client,
  Server,
}

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
 * Read frame `f`, sent by `from`, and call `v`'s method of its kind with `on`; return what it
 * returns. The rules: numbers are 1-15 digits and nothing else, `s` and `u` count from 1 (PROTOCOL.md §6.1,
 * §6.3), only `r` and `x` name a room, a batch is a JSON array of strings, a hello is one
 * {@link isHello} takes, a close code is a number. A client may close only with an application's
 * code or none (1005): any other would reach the app's close handler as if a client could say it.
 *
 * @example
 * read('s5', receiver, connection, From.Server) // receiver._number(connection, 's', 5, '')
 */
export function read<On, R>(f: Frame, v: ServerFrameVisitor<On, R>, on: On, from: From.Server): R
export function read<On, R>(f: Frame, v: FrameVisitor<On, R>, on: On, from: From.Client): R
export function read<On, R>(f: Frame, visitor: FrameVisitor<On, R>, on: On, from: From): R {
  const v = visitor as ServerFrameVisitor<On, R>
  if (typeof f != 'string') return v._message(on, f)
  const type = f[0]
  const body = f.slice(1)
  // Frames only a server sends: `o`, `e`, `w`, `r` and `x`; only a client: `u` (PROTOCOL.md §2).
  const byServer = from == From.Server
  if (type == FrameType.Message) return v._message(on, body)
  if (type == FrameType.Ping) return v._ping(on, body)
  if (type == FrameType.Pong) return v._pong(on)
  if (type == FrameType.Batch || type == FrameType.Open) {
    let x: unknown
    try {
      x = JSON.parse(body)
    } catch (e) {
      // Malformed: below.
    }
    if (type == FrameType.Batch && Array.isArray(x) && x.every((m) => typeof m == 'string')) return v._messages(on, x)
    if (type == FrameType.Open && byServer && isHello(x)) return v._hello(on, x)
    return v._bad(on, f)
  }
  // A close or error frame: a code, then a reason; `r` and `x`: a number, then a room.
  const [head, tail] = splitFrame(f)
  if (type == FrameType.Error) return byServer ? v._error(on, head, tail) : v._bad(on, f)
  if (type == FrameType.Close) {
    const code = head ? num(type + head) : Code.NO_STATUS
    const allowed = byServer || code == Code.NO_STATUS || isAppCloseCode(code)
    return code >= 0 && allowed ? v._close(on, code, tail) : v._bad(on, f)
  }
  const n = num(type + head)
  const counted = type == FrameType.Seq || type == FrameType.Use
  const inRoom = type == FrameType.Room || type == FrameType.RoomReset
  const ours = byServer ? type != FrameType.Use : !inRoom && type != FrameType.Owed
  const numbered = counted || inRoom || type == FrameType.Ack || type == FrameType.Owed
  if (numbered && ours && n >= (counted ? 1 : 0) && (inRoom ? tail : head == body))
    return v._number(on, type as Numbered, n, tail)
  return v._bad(on, f)
}
