/**
 * Request/response on top of messages (`lifeline-rt/request` and the server's `onRequest`): text
 * messages that start with a control character no app text is expected to begin with, then a
 * kind, the request's number and a space (PROTOCOL.md §11). Anything else is an app message.
 */
export const enum RequestFrame {
  /** `\u0001q<id> <data>`: a request, client to server. */
  Request = '\u0001q',
  /** `\u0001r<id> <data>`: its reply. */
  Reply = '\u0001r',
  /** `\u0001e<id> <message>`: the server's handler failed. */
  Failure = '\u0001e',
}

/** The marker's first character, tested before anything is parsed. */
export const REQUEST_MARK = 1

/** `[kind, id, data]` of a request-layer message, or null for an app message. */
export function parseRequestFrame(m: string): [string, number, string] | null {
  if (m.charCodeAt(0) != REQUEST_MARK) return null
  const space = m.indexOf(' ')
  const id = +m.slice(2, space)
  return space > 2 && id > 0 ? [m.slice(0, 2), id, m.slice(space + 1)] : null
}
