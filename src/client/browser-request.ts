// lifeline.request.min.js, loaded after lifeline.min.js: adds `Lifeline.request(ll, data, options)`,
// `lifeline-rt/request`'s `request` for script-tag pages. Its errors are the global's
// `Lifeline.LifelineError` (the build maps that module to it), and it reaches the instance's
// internals by the names the main build gave them (rollup.config.mjs).
import { request } from './request'

declare const Lifeline: { request?: typeof request }

Lifeline.request = request
