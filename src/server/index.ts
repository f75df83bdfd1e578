/**
 * Lifeline's reference server (`lifeline-rt/server`): what users may import.
 * @packageDocumentation
 */
export { LifelineServer } from './server'
export type { ServerEvents, RoomTarget, RoomSendOptions } from './server'
export { ServerSession } from './session'
export type { ServerSessionEvents, MessageMeta, SessionData } from './session-api'
export type { Json } from '../client/events'
export { SERVER_DEFAULTS } from './options'
export type { ServerOptions, AuthResult, Upstream, UpstreamTarget, ServerLogger, TransportName } from './options'
export type { Logger, LogLevel } from '../protocol/log'
export { FORWARDED_HEADERS } from './gateway'
export { onRequest } from './reply'
export type { ServerStats } from './stats'
export type { RequestHandler } from './reply'
export { LifelineError } from '../protocol/errors'
export type { ErrorCode } from '../protocol/errors'
export { CloseCode } from '../protocol/frames'
