// Doc-only entry point for `npm run docs`: names the module as users import it.
/**
 * The reference server for Node ≥ 20: `import { LifelineServer } from 'lifeline/server'`.
 * @module lifeline/server
 */
export * from '../../src/server/index'
