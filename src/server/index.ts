/**
 * Lifeline's reference server (`lifeline/server`): what users may import.
 * @packageDocumentation
 */
export { LifelineServer } from './server'
export type { ServerEvents } from './server'
export { ServerSession } from './session'
export type { ServerSessionEvents } from './session'
export { SERVER_DEFAULTS } from './options'
export type { ServerOptions, AuthResult, Upstream, UpstreamTarget, ServerLogger } from './options'
export { FORWARDED_HEADERS } from './gateway'
export { LifelineError } from '../protocol/errors'
export type { ErrorCode } from '../protocol/errors'
export { CloseCode } from '../protocol/frames'
