// The script-tag build: the global `Lifeline` is the constructor, with the rest hung on it.
import { Lifeline, LifelineCore, LifelineError, WebSocketTransport, StreamTransport, PollingTransport, CloseCode } from './index'

export default Object.assign(Lifeline, { Lifeline, LifelineCore, LifelineError, WebSocketTransport, StreamTransport, PollingTransport, CloseCode })
