import typescript from '@rollup/plugin-typescript'
import resolve from '@rollup/plugin-node-resolve'
import { minify } from 'terser'
import { fileURLToPath } from 'node:url'
import { readFileSync } from 'node:fs'
import commonjs from '@rollup/plugin-commonjs'
import { dts } from 'rollup-plugin-dts'

// Members named `_x` are internal: the builds rename them (PROTOCOL and options keep their names
// because they never start with `_`). Every build shares one table of the names given, so the
// script-tag add-ons (lifeline.diagnose.min.js, lifeline.plain.min.js, lifeline.request.min.js)
// reach the same members of the classes they take from the global `Lifeline`. Kept: what a custom
// transport implements or calls (transport.ts), so a subclass written outside this package still
// works.
/** The package's name, as apps import it. */
const PACKAGE = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')).name

const nameCache = {}
const properties = { regex: /^_/, reserved: ['_ctx', '_frame', '_end', '_stop', '_last', '_done'] }
const minifyOptions = {
  ecma: 2017,
  compress: { passes: 3, pure_getters: true, unsafe_arrows: true, inline: 1, hoist_vars: true },
  // The global `Lifeline` keeps its name: with a name cache terser would rename top-level names too.
  toplevel: false,
  mangle: { properties, reserved: ['Lifeline'] },
  format: { comments: false },
}
// The ESM and CommonJS builds are for bundlers, minified as the script tag is (a bundler's own
// minifier leaves `_` names alone and compresses less), keeping each export its own top-level
// declaration and the annotations tree-shaking relies on (test/size: unused transports drop out).
const moduleOptions = {
  ...minifyOptions,
  module: true,
  compress: { ...minifyOptions.compress, hoist_vars: false, module: true },
  format: { comments: false, preserve_annotations: true },
}

/** terser in this process (not a worker), so that every build shares `nameCache`. */
const terse = (options) => ({
  name: 'terse',
  async renderChunk(code) {
    const out = await minify(code, { ...options, nameCache, sourceMap: { asObject: true } })
    return { code: out.code, map: out.map }
  },
})

const ts = () => typescript({ tsconfig: './tsconfig.json', sourceMap: true, inlineSources: false, declaration: false })

/**
 * The cluster's Lua scripts are files (src/server/cluster/lua/*.lua). lua.ts reads them when the
 * server runs from source (tests, tsx); in the server bundle each `lua('a', 'b')` call is replaced
 * by the text it would read, so the bundle reads no file. The text is one line (JSON), so no line
 * moves and the source map stays right.
 */
const LUA_MODULE = fileURLToPath(new URL('./src/server/cluster/lua.ts', import.meta.url))
const inlineLua = {
  name: 'inline-lua',
  transform(code, id) {
    if (id != LUA_MODULE) return null
    let calls = 0
    const text = (name) => readFileSync(new URL(`./src/server/cluster/lua/${name}.lua`, import.meta.url), 'utf8')
    const out = code.replace(/\blua\(((?:\s*'[\w-]+'\s*,?)+)\)/g, (_, args) => {
      calls++
      return JSON.stringify([...args.matchAll(/'([\w-]+)'/g)].map((m) => text(m[1])).join('\n'))
    })
    if (!calls) this.error('inline-lua: no lua() call in ' + id)
    return { code: out, map: null }
  },
}

// Declarations: `tsc -p tsconfig.types.json` writes one .d.ts per module to .tmp/types, and each
// entry's are bundled into one file, written twice: `.d.ts` for `import` and `.d.cts` for
// `require`. TypeScript takes a declaration's module format from its extension and the package's
// "type": "module", so CommonJS users need the `.d.cts` (attw: "masquerading as ESM" without it),
// and one self-contained file per entry leaves no extensionless relative import for node16 to
// reject. Client and server are bundled separately, each with its own copy of what they share:
// a shared chunk would be one format imported from both.
const types = (entry, name, input = `.tmp/types/${entry}/index.d.ts`) => ({
  input,
  external: (id) => !id.startsWith('.') && !id.startsWith('/'),
  output: [
    { file: `dist/${name}.d.ts`, format: 'es' },
    { file: `dist/${name}.d.cts`, format: 'es' },
  ],
  plugins: [dts(), namedEmitter],
})

// eventemitter3's types are CommonJS (its package.json has no "type"), and an ES module's
// default import of CommonJS is the whole `module.exports` under node16/nodenext: `extends
// EventEmitter` would extend the namespace and lose `on`/`off` (the types test compiles it). Its
// named export is the class in every resolution mode, in the types as in its ESM build.
const namedEmitter = {
  name: 'named-emitter',
  renderChunk: (code) =>
    code.replace("import EventEmitter from 'eventemitter3';", "import { EventEmitter } from 'eventemitter3';"),
}

/** An add-on entry's types, naming the client's by the package. */
const byPackageName = (name) => ({
  ...types(`client/${name}`, name, `.tmp/types/client/${name}.d.ts`),
  external: (id) => id.startsWith('.') && !id.endsWith(`${name}.d.ts`),
  plugins: [
    dts(),
    {
      name: 'by-package-name',
      renderChunk: (code) => code.replace(/from '\.\/[^']*'/g, `from '${PACKAGE}'`),
    },
  ],
})

const here = (file) => fileURLToPath(new URL(file, import.meta.url))
/** Modules an add-on takes from the global `Lifeline` (which carries their exports) instead of bundling them again. */
const fromGlobal = {
  [here('./src/client/lifeline.ts')]: 'Lifeline',
  [here('./src/client/transports/websocket.ts')]: 'Lifeline',
}
/** The request add-on takes only `LifelineError` from the global: one class, so `instanceof` holds. */
const errorsFromGlobal = { [here('./src/protocol/errors.ts')]: 'Lifeline' }
const script = (input, file, extra = {}) => ({
  input,
  output: { file, format: 'iife', sourcemap: true, ...extra.output },
  external: extra.external,
  plugins: [
    resolve({ browser: true }),
    commonjs({ strictRequires: false, defaultIsModuleExports: true }),
    ts(),
    terse(minifyOptions),
  ],
})

export default [
  {
    input: { lifeline: 'src/client/index.ts', diagnose: 'src/client/diagnose.ts', request: 'src/client/request.ts' },
    external: ['eventemitter3'],
    output: [
      // What entries share (LifelineError) is a chunk of the same format and extension: a `.js`
      // file would be ESM to Node here ("type": "module"), a CommonJS one included.
      { dir: 'dist', entryFileNames: '[name].mjs', chunkFileNames: '[name].mjs', format: 'es', sourcemap: true },
      {
        dir: 'dist',
        entryFileNames: '[name].cjs',
        chunkFileNames: '[name].cjs',
        format: 'cjs',
        sourcemap: true,
        exports: 'named',
      },
    ],
    plugins: [ts(), terse(moduleOptions)],
  },
  // In this order: the add-ons use the names the main build gave.
  script('src/client/browser.ts', 'dist/lifeline.min.js', { output: { name: 'Lifeline', exports: 'default' } }),
  script('src/client/browser-diagnose.ts', 'dist/lifeline.diagnose.min.js'),
  script('src/client/browser-plain.ts', 'dist/lifeline.plain.min.js', {
    external: Object.keys(fromGlobal),
    output: { globals: fromGlobal },
  }),
  script('src/client/browser-request.ts', 'dist/lifeline.request.min.js', {
    external: Object.keys(errorsFromGlobal),
    output: { globals: errorsFromGlobal },
  }),
  {
    input: 'src/server/index.ts',
    external: (id) =>
      /^(ws|eventemitter3|redis|@redis\/.*|node:.*|http|https|net|crypto|events|url|stream|zlib)$/.test(id),
    output: [
      { file: 'dist/server.mjs', format: 'es', sourcemap: true },
      { file: 'dist/server.cjs', format: 'cjs', sourcemap: true, exports: 'named' },
    ],
    plugins: [inlineLua, ts()],
  },
  types('client', 'lifeline'),
  // The diagnose entry's types name the client's by the package, so that an app sees one
  // `Lifeline` class (a second copy, inlined, would not be the same class to the compiler).
  byPackageName('diagnose'),
  byPackageName('request'),
  types('server', 'server'),
  // lifeline-rt/global: the script tag's global for a page's TypeScript, written by hand (it names
  // the package's types by the package), as .d.ts and .d.cts like the rest; node10 resolution finds
  // global/index.d.ts itself.
  { ...types('global', 'global', 'global/index.d.ts'), plugins: [dts()] },
]
