// `lifeline-rt/global`: the script-tag build's global `Lifeline`, for a page's TypeScript.
//   /// <reference types="lifeline-rt/global" />
// or "types": ["lifeline-rt/global"] in tsconfig.json. Types only: nothing is loaded.
// (Only namespace imports: a named one would be renamed to the global's own name when bundled.)
import type * as Entry from 'lifeline-rt'
import type * as Diagnose from 'lifeline-rt/diagnose'
import type * as Request from 'lifeline-rt/request'

declare global {
  /** `lifeline.min.js`: the constructor, with the rest hung on it. */
  const Lifeline: typeof Entry.Lifeline & {
    Lifeline: typeof Entry.Lifeline
    LifelineCore: typeof Entry.LifelineCore
    LifelineError: typeof Entry.LifelineError
    WebSocketTransport: typeof Entry.WebSocketTransport
    /** With `lifeline.diagnose.min.js` loaded after it. */
    diagnose(url: string, options?: Entry.LifelineOptions): Promise<Diagnose.DiagnoseReport>
    /** With `lifeline.request.min.js` loaded after it. */
    request: typeof Request.request
    /** With `lifeline.plain.min.js` loaded after it: plain mode. */
    Plain: typeof Entry.LifelinePlain
  }
  /** An instance of the global `Lifeline`. */
  type Lifeline<In extends Entry.Data = Entry.Data, Out extends Entry.SendData = Entry.SendData> = Entry.Lifeline<
    In,
    Out
  >
  namespace Lifeline {
    /** The global's `LifelineError`, for `catch (e) { if (e instanceof Lifeline.LifelineError) … }`. */
    type LifelineError = Entry.LifelineError
  }
}
