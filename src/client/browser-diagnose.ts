// lifeline.diagnose.min.js, loaded after lifeline.min.js: adds `Lifeline.diagnose(url, options)`.
import { diagnose, type DiagnoseClient, type DiagnoseReport } from './diagnose'
import type { LifelineOptions } from './options'

declare const Lifeline: DiagnoseClient & { diagnose?: (url: string, o?: LifelineOptions) => Promise<DiagnoseReport> }

Lifeline.diagnose = (url, options) => diagnose(Lifeline, url, options)
