// The script-tag build: the global `Lifeline` is the constructor, with the rest hung on it (what
// lifeline.diagnose.min.js and lifeline.plain.min.js build on).
import { Lifeline, LifelineCore, LifelineError, WebSocketTransport } from './index'

export default Object.assign(Lifeline, { Lifeline, LifelineCore, LifelineError, WebSocketTransport })
