import typescript from '@rollup/plugin-typescript'
import resolve from '@rollup/plugin-node-resolve'
import terser from '@rollup/plugin-terser'
import commonjs from '@rollup/plugin-commonjs'

// Members named `_x` are internal: the minified build renames them (PROTOCOL and options keep
// their names because they never start with `_`).
const minify = terser({
  ecma: 2017,
  compress: { passes: 3, pure_getters: true, unsafe_arrows: true, inline: 1, hoist_vars: true },
  mangle: { properties: { regex: /^_/ } },
  format: { comments: false },
})
const ts = () => typescript({ tsconfig: './tsconfig.json', sourceMap: true, inlineSources: false, declaration: false })

export default [
  {
    input: 'src/client/index.ts',
    external: ['eventemitter3'],
    output: [
      { file: 'dist/lifeline.mjs', format: 'es', sourcemap: true },
      { file: 'dist/lifeline.cjs', format: 'cjs', sourcemap: true, exports: 'named' },
    ],
    plugins: [ts()],
  },
  {
    input: 'src/client/browser.ts',
    output: { file: 'dist/lifeline.min.js', format: 'iife', name: 'Lifeline', sourcemap: true, exports: 'default' },
    plugins: [resolve({ browser: true }), commonjs({ strictRequires: false, defaultIsModuleExports: true }), ts(), minify],
  },
  {
    input: 'src/server/index.ts',
    external: (id) => /^(ws|eventemitter3|node:.*|http|https|net|crypto|events|url|stream|zlib)$/.test(id),
    output: [
      { file: 'dist/server.mjs', format: 'es', sourcemap: true },
      { file: 'dist/server.cjs', format: 'cjs', sourcemap: true, exports: 'named' },
    ],
    plugins: [ts()],
  },
]
