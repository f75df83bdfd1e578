// Doc-only entry point for `npm run docs`: names the module as users import it. The package's
// real export list is src/client/index.ts; `export *` here only mirrors it.
/**
 * The browser client: `import { Lifeline } from 'lifeline-rt'`, or the global `Lifeline` from
 * `lifeline.min.js`. See the README for options, events and how transports are chosen.
 * @module lifeline-rt
 */
export * from '../../src/client/index'
