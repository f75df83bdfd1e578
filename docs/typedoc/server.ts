// Doc-only entry point for `npm run docs`: names the module as users import it.
/**
 * The reference server for Node ≥ 20: `import { LifelineServer } from 'lifeline-rt/server'`.
 * @module lifeline-rt/server
 */
export * from '../../src/server/index'
