/**
 * Numbers of the protocol both sides use, in one place (PROTOCOL.md cites each). Options that a
 * user may change (`maxMessageSize`, `maxBufferedAmount`...) are not here: they are in each side's
 * `DEFAULTS`.
 */

/** An `M` batch carries at most about this many characters of message text (PROTOCOL.md §2). */
export const BATCH_CHARS = 16384

/** A receiver acknowledges at once when this many messages are unacknowledged (PROTOCOL.md §6.2). */
export const ACK_MESSAGES = 128

/** ... or when about this many bytes (characters, for text on the client) arrived since its last ack. */
export const ACK_BYTES = 1048576

/** How long a receiver lets a lone acknowledgement wait for company, ms (PROTOCOL.md §6.2). */
export const ACK_DELAY = 100

/** ... except the client over HTTP streaming, where each `a` is a whole POST. */
export const STREAM_ACK_DELAY = 5000

/**
 * An HTTP upload body takes no more once past this many bytes or frames: what follows waits for
 * a POST of its own (PROTOCOL.md §4.5). Even all in 3-byte UTF-8, a body stays under 1.5 MiB plus
 * one hand-over, within the server's `maxPostBytes` and `maxFramesPerPost` defaults.
 */
export const POST_BYTES = 524288
export const POST_FRAMES = 4000

/**
 * A client has at most this many POSTs in flight; each names its first message, so the server
 * takes them in order whichever comes first (PROTOCOL.md §4.5, `maxParkedPosts`).
 */
export const POSTS_IN_FLIGHT = 2

/** The client hands a transport at most about this many bytes, or messages, at a time. */
export const HANDOVER_BYTES = 262144
export const HANDOVER_MESSAGES = 1000

/** Longest close reason, bytes of UTF-8 (RFC 6455 §5.5: a control frame's 125 bytes less the code). */
export const MAX_REASON_BYTES = 123

/**
 * A poll the server holds answers within its heartbeat interval (PROTOCOL.md §4.3): one not
 * answered this long after that, ms, is taken as lost (a response dropped on the way), and the
 * client connects again rather than wait for `heartbeatTimeout`.
 */
export const POLL_GRACE = 5000

/**
 * Liveness with data in flight (PROTOCOL.md §8.3): a side that has waited this many round trips,
 * and at least {@link MIN_PATIENCE} ms, for an acknowledgement with nothing heard sends a ping; one
 * that hears nothing for as long again gives the connection up.
 */
export const PATIENCE_RTTS = 4
export const MIN_PATIENCE = 1000

/**
 * ... plus the time the oldest message waiting takes to send on a slow uplink (50 KB/s, a poor
 * mobile link): a big message on a slow but live link is not mistaken for a dead one.
 */
export const SLOW_LINK_BYTES_PER_MS = 50
