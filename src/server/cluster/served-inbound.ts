// The client frames a session served on this node takes (PROTOCOL.md §6), in cluster mode: on a
// WebSocket here, or in a POST body. Messages are kept in Redis before anything is acknowledged,
// then acks, `u`, pings and the close are done; what Redis answers shows a gap, a bound crossed,
// or a Redis that lost what it had acknowledged (3901). What one process does in inbound.ts; the
// frames are read in served-body.ts.
import { Code, FrameType, closeFrame, type Frame } from '../../protocol/frames'
import { Inbox } from '../../protocol/inbox'
import { ACK_DELAY } from '../../protocol/limits'
import type { Link } from '../link'
import { Bad, readBody, type Body } from './served-body'
import type { ServedHost } from './served'

/** What the client frames need of the session served here (served.ts). @internal */
export interface InboundHost {
  readonly id: string
  readonly _host: ServedHost
  readonly _links: Partial<Record<Link['name'], Link>>
  /** Whether the client acknowledges and resumes. */
  readonly _reliable: boolean
  /** Protocol version the client speaks (for close codes). */
  readonly _version: number
  _lastIn: number
  /** The client closed the session: its links end without a close frame. */
  _byClient: boolean
  /** The active link changed: "kind node". */
  _switched(active: string, node: string): void
  /** The session ended: tell every link here and let them go. */
  _bye(code: number, reason: string): void
  /** End the session in Redis, then here. */
  _end(code: number, reason: string): void
  /** Write what the log has beyond what the active link here has written. */
  pump(): Promise<void>
  /** A store write failed: every link here ends. */
  _oops(e: unknown): void
}

/**
 * A POST whose first message is beyond what Redis has is tried again after each body kept here,
 * and at the latest this long after its last try (ms), doubling up to GAP_WAIT_MAX: the one it
 * waits for may reach another node.
 */
const GAP_WAIT = 20
const GAP_WAIT_MAX = 500
/**
 * How long such a POST waits at most, ms (or `requestTimeout`, when less). Shorter than one
 * process's `requestTimeout`: a gap that does not fill may be Redis having lost messages it
 * acknowledged, which only the client's next connection shows (its first upload, `u<k>`), and the
 * client makes one when the POST is refused (served.test.ts: a reset within 10 s).
 */
const GAP_HOLD = 2000

/** @internal */
export class ServedInbound {
  /** Client frames are handled one batch after another, in order. */
  private _chain: Promise<unknown> = Promise.resolve()
  /**
   * Client messages kept in Redis as far as this node knows (never more than the client sent), and
   * what it acknowledged: counted by the receivers' one rule, an `Inbox`, for when an `a` is due
   * (128 messages or about 1 MiB). Redis numbers them, and judges gaps: it takes every number.
   */
  private readonly _count = new Inbox(false)
  /** Whether this node has recorded the session's first frame (it confirms the session). */
  private _confirmed = false
  private _ackT?: unknown
  /** POST bodies waiting here for the one before them (`_post`). */
  private _parked = 0
  /** What they wait on besides their timers: a body kept here (it may be the one before them). */
  private _kept: Array<() => void> = []

  constructor(private readonly _s: InboundHost) {}

  /**
   * Frames on a WebSocket here. Those still queued when their link has gone (a store write under
   * it failed, a new link replaced it) are dropped: the link numbered them past what Redis may
   * have kept, and the client sends again, on its next link, all that was not acknowledged. Kept,
   * they made a gap, and the session ended with 1002 after a Redis restart (issue 26).
   */
  _receive(frames: Frame[], via: Link): void {
    this._s._lastIn = this._s._host.o.clock.now()
    this._chain = this._chain
      .then(() => this._s._links[via.name] == via && this._frames(frames, via.name, via))
      .catch((e) => this._s._oops(e))
  }

  /**
   * A POST body here (its `ack` first); resolves to the response's frames. A body that overtook
   * the one before it (two requests on two connections, maybe two nodes) waits here, unanswered,
   * as in one process (PROTOCOL.md §4.5): tried again after each body kept here and every
   * GAP_WAIT ms or more, out of the session's chain so that the one it waits for can be taken
   * meanwhile. Past `maxParkedPosts` waiting, past the server's `maxTotalBuffered` (their frames
   * count), or after GAP_HOLD, it is refused (HTTP 503), and the client, which keeps it until
   * acknowledged, sends it again. Answered 200 instead, it freed the client's slot for the
   * next body, a gap too, and the messages were never sent again (issue 25).
   */
  async _post(frames: Frame[], ask: { ack: number; t: string }): Promise<Frame[] | null> {
    const host = this._s._host
    const o = host.o
    const clock = o.clock
    const deadline = clock.now() + Math.min(o.requestTimeout, GAP_HOLD)
    let parked = 0
    try {
      for (let wait = GAP_WAIT; ; wait = Math.min(2 * wait, GAP_WAIT_MAX)) {
        try {
          return await this._postOnce(frames, ask)
        } catch (e) {
          if (!(e instanceof Early)) throw e
          if (!parked) {
            if (this._parked >= o.maxParkedPosts)
              throw new Error('more than maxParkedPosts ' + o.maxParkedPosts + ' uploads waiting')
            const bytes = frames.reduce<number>((n, f) => n + f.length, 0)
            if (!host.reserve(bytes)) throw new Error('server over maxTotalBuffered')
            parked = bytes
            this._parked++
          }
          if (clock.now() >= deadline) throw e
          await new Promise<void>((wake) => {
            const timer = clock.setTimeout(wake, Math.min(wait, deadline - clock.now()))
            this._kept.push(() => (clock.clearTimeout(timer), wake()))
          })
        }
      }
    } finally {
      if (parked) {
        this._parked--
        host.reserve(-parked)
      }
    }
  }

  /** One try of a POST body: its frames, in the session's chain. */
  private _postOnce(frames: Frame[], ask: { ack: number; t: string }): Promise<Frame[] | null> {
    const replies: Frame[] = []
    const kind = ask.t as Link['name']
    const done = this._chain
      .then(() => this._s._host.store.ackOutgoing(this._s.id, ask.ack))
      .then(() => this._frames(frames, kind, undefined, replies))
      // A body that broke the protocol or a bound ended the session: HTTP 400, as in one process.
      .then((ok) => (ok ? replies : null))
    // A body refused for a gap is the client's to send again: nothing here went wrong.
    this._chain = done.catch((e) => e instanceof Early || this._s._oops(e))
    return done
  }

  /**
   * Client frames (PROTOCOL.md §6): messages kept in Redis first, then acks, `u`, pings, the close.
   * Whether the frames were taken: false when they ended the session (a protocol error, a bound).
   */
  private async _frames(frames: Frame[], kind: Link['name'], link?: Link, replies?: Frame[]): Promise<boolean> {
    const s = this._s
    const store = s._host.store
    let b: Body
    try {
      b = readBody(frames, link ? link.inSeq : 0, s._host.o.maxMessageSize)
    } catch (e) {
      if (!(e instanceof Bad)) throw e
      return this._ended(e.code, e.message)
    }
    const { _seq: seq, _first: first, _msgs: msgs, _kept: kept } = b
    if (link) link.inSeq = seq
    // Messages, or the first frame of all (it confirms the session), are kept before anything is
    // acknowledged; a connection's first upload asks what Redis has even without messages.
    if (msgs.length || !this._confirmed || kept) {
      const r = await store.recordIncoming(s.id, first || seq || 1, msgs)
      // Redis has fewer messages than the client was told it kept: it lost some. Found here, not
      // by the gap the next upload makes: a node that never saw Redis keep more took that for an
      // upload that overtook the one before it, and refused it with 503 again and again (issue 26).
      if ((r.status == 'ok' || r.status == 'gap') && s._reliable && r.received < kept - 1)
        return this._lost(LOST + ' (it has ' + r.received + ')', replies)
      if (r.status == 'gap') {
        // A POST may have overtaken the one before it; Redis with less than it had before has lost some.
        if (replies && r.received >= this._count._received)
          throw new Early('upload before the one it follows, which did not come')
        // A WebSocket's frames are taken in order, and a client rewinds from what it was told
        // Redis has: a gap means Redis lost messages it had acknowledged (docs/scaling.md).
        return this._lost(LOST + ' (it has ' + r.received + ')', replies)
      }
      if (r.status == 'overflow')
        return this._ended(Code.BUFFER_OVERFLOW, 'buffer overflow: inbox over maxBufferedAmount')
      if (r.status != 'ok') {
        // Gone or ended meanwhile: the links here hear how.
        await s.pump()
        return true
      }
      // Not 1 for a first frame without messages (`u1`, `s1`): an `a1` would acknowledge a message
      // the client never sent, and it would end the connection (ack beyond what was sent).
      this._confirmed = true
      let bytes = 0
      for (const m of msgs.slice(msgs.length - r.fresh)) bytes += typeof m == 'string' ? Buffer.byteLength(m) : m.length
      this._count._arrive(r.received, bytes)
      // Bodies waiting for one before them try again (after this one, in the chain).
      for (const wake of this._kept.splice(0)) wake()
      s._host.received(s.id, r.received - r.fresh + 1, msgs.slice(msgs.length - r.fresh))
      if (!replies) this._ackLater()
    }
    for (const later of b._after) {
      if (later[0] == FrameType.Ack) {
        // The client has messages Redis no longer knows it sent: their numbers would be used again.
        if ((await store.ackOutgoing(s.id, later[1])).status == 'ahead') return this._lost(LOST, replies)
      } else if (later[0] == FrameType.Ping) {
        const pong = FrameType.Pong + later[1]
        if (replies) replies.push(pong)
        else if (link && link.ready()) link.write([pong])
      } else if (later[0] == FrameType.Use) {
        const r = await store.activate(s.id, kind, later[1])
        if (r.status == 'active') s._switched(kind + ' ' + r.holder, store.node)
      } else if (later[0] == FrameType.Close) {
        const [, code, reason] = later
        // As in one process: the client said it; nothing is said back (nor on the `e` hint it brings).
        s._byClient = true
        await store.close(s.id, null, code, reason, false)
        s._bye(code, reason)
      }
    }
    if (replies) {
      // What the app sent in answer, if it runs here, goes out on the download before the POST
      // is answered, as in one process (issue 19): the client may hold the reply before it
      // reads the answer.
      await s._host.queued(s.id)
      // The acknowledgement last, after the pongs, as in one process.
      replies.push(FrameType.Ack + this._count._ack())
    }
    return true
  }

  /** End the session for what the client sent; its frames were not taken. */
  private _ended(code: number, reason: string): false {
    this._s._end(code, reason)
    return false
  }

  /**
   * End the session with 3901: Redis lost what it had acknowledged. A POST is answered with the
   * close (200, as for a session gone), not refused as a protocol error.
   */
  private _lost(reason: string, replies?: Frame[]): boolean {
    this._s._end(Code.SESSION_EXPIRED, reason)
    if (!replies) return false
    replies.push(closeFrame(Code.SESSION_EXPIRED, reason, this._s._version))
    return true
  }

  /** `a<received>` on the WebSocket after 128 messages or about 1 MiB, or 100 ms, as in one process. */
  private _ackLater(): void {
    if (this._count._due()) this._ackNow()
    else if (!this._ackT) this._ackT = this._s._host.o.clock.setTimeout(() => this._ackNow(), ACK_DELAY)
  }

  private _ackNow(): void {
    this._s._host.o.clock.clearTimeout(this._ackT)
    this._ackT = undefined
    const l = this._s._links.websocket
    if (l && l.ready() && this._count._pending()) l.write([FrameType.Ack + this._count._ack()])
  }

  /** The session is over here: no `a` is written any more. */
  _stop(): void {
    this._s._host.o.clock.clearTimeout(this._ackT)
  }
}

/**
 * Why a session ends with 3901 when Redis lost writes it had acknowledged (durable or not): what
 * the client has and what Redis has no longer agree, and resuming would lose or double messages.
 */
const LOST = 'session lost: Redis lost acknowledged messages'

/** A POST body whose first message is beyond what Redis has, after waiting for the one before it. */
class Early extends Error {}
