// Browser tests: real browsers (headless Chromium, WebKitGTK, WPE WebKit, Firefox ESR) against real
// Lifeline servers started on loopback by the control server (test/support/fixtures.mjs). `npm test`
// runs this through test/run.mjs, once per engine; KARMA_ENGINE names it (test/support/engines.cjs).

const { CHROMIUM_FLAGS } = require('./test/support/chromium.cjs')
const { ENGINES } = require('./test/support/engines.cjs')

// The TLS tests use a certificate the test run makes for 127.0.0.1.
const CHROME_FLAGS = [...CHROMIUM_FLAGS, '--ignore-certificate-errors']

const engine = process.env.KARMA_ENGINE || 'chromium'
if (!ENGINES[engine]) throw new Error(`KARMA_ENGINE=${engine}: not one of ${Object.keys(ENGINES).join(', ')}`)

/**
 * Prints, per browser, one machine-readable line the runner sums up:
 * `KARMA_RESULT {"browser":"WebKitGTK ...","passed":..}`, and each failure and slow spec with the
 * browser's name.
 */
function SummaryReporter(baseReporterDecorator) {
  baseReporterDecorator(this)
  const byBrowser = new Map()
  const of = (browser) => {
    if (!byBrowser.has(browser.id))
      byBrowser.set(browser.id, { browser: browser.name, passed: 0, failed: 0, skipped: 0, failures: [] })
    return byBrowser.get(browser.id)
  }
  this.onSpecComplete = (browser, r) => {
    const counts = of(browser)
    const name = r.suite.join(' > ') + ' > ' + r.description
    if (r.time > 3000) process.stdout.write(`slow (${(r.time / 1000).toFixed(1)} s, ${engine}): ${name}\n`)
    if (r.skipped) counts.skipped++
    else if (r.success) counts.passed++
    else {
      counts.failed++
      counts.failures.push(name + '\n    ' + r.log.join('\n    '))
    }
  }
  this.onBrowserError = (browser, error) => {
    const counts = of(browser)
    counts.failed++
    counts.failures.push('browser error: ' + JSON.stringify(error))
  }
  this.onRunComplete = () => {
    for (const { failures, ...counts } of byBrowser.values()) {
      for (const f of failures) process.stdout.write(`FAIL (${engine}) ${f}\n`)
      process.stdout.write('KARMA_RESULT ' + JSON.stringify(counts) + '\n')
    }
  }
}
SummaryReporter.$inject = ['baseReporterDecorator']

module.exports = (config) => {
  const files = (process.env.KARMA_FILES || 'test/browser/**/*.test.ts,test/proxy/**/*.test.ts').split(',')
  config.set({
    basePath: __dirname,
    frameworks: ['mocha'],
    files: files.map((pattern) => ({ pattern, watched: false })),
    preprocessors: Object.fromEntries(files.map((f) => [f, ['esbuild']])),
    esbuild: { target: 'es2017', sourcemap: true, define: { 'process.env.NODE_ENV': '"test"' } },
    plugins: [
      'karma-mocha',
      'karma-chrome-launcher',
      'karma-esbuild',
      ...require('./test/support/launchers/webkit.cjs').plugins,
      require('./test/support/launchers/firefox.cjs').plugin,
      { 'reporter:summary': ['type', SummaryReporter] },
    ],
    reporters: ['summary'],
    hostname: '127.0.0.1',
    listenAddress: '127.0.0.1',
    port: Number(process.env.KARMA_PORT || 9876),
    browsers: [ENGINES[engine].launcher],
    customLaunchers: {
      ChromiumHeadless: { base: 'ChromeHeadless', flags: CHROME_FLAGS },
    },
    client: {
      mocha: { timeout: 30000, reporter: 'html' },
      lifeline: {
        control: 'http://127.0.0.1:' + process.env.LIFELINE_CONTROL_PORT,
        proxies: JSON.parse(process.env.LIFELINE_PROXIES || '{}'),
        // The randomized network's seeds (test/proxy/random.test.ts): fresh ones unless set.
        netSeed: process.env.LL_NET_SEED || '',
      },
      captureConsole: !!process.env.KARMA_CONSOLE,
    },
    browserNoActivityTimeout: 300000,
    browserDisconnectTimeout: 30000,
    captureTimeout: 60000,
    singleRun: true,
    logLevel: config.LOG_WARN,
  })
}
