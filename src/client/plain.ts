import type { Data, SendData } from './events'
import { LifelineCore } from './lifeline'
import type { LifelineOptions } from './options'
import { PlainTransport } from './transports/plain'

/**
 * Plain mode: Lifeline's API, send queue and reconnection over a plain WebSocket server that knows
 * nothing of Lifeline (any `ws://` endpoint). There is no fallback and no resume, since a plain
 * server has neither (README "Plain mode"). Its own class, so that bundles not using it ship none
 * of it; the script tag gets it from `lifeline.plain.min.js` as `Lifeline.Plain`.
 *
 * @example
 * import { LifelinePlain } from 'lifeline-rt'
 * const ll = new LifelinePlain('wss://legacy.example.com/socket', { plainPing: '{"type":"ping"}' })
 */
export class LifelinePlain<In extends Data = Data, Out extends SendData = SendData> extends LifelineCore<In, Out> {
  constructor(url: string, options: LifelineOptions = {}) {
    super(url, Object.assign({}, options, { transports: [PlainTransport], resume: false, storage: null }))
  }
}
