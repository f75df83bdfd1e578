// Debian's Firefox ESR (Gecko) started headless by puppeteer-core over WebDriver BiDi (no
// geckodriver is packaged): `plugin` is the karma launcher `FirefoxESR`, `startFirefox()` the same
// browser for the e2e tests. Puppeteer makes a fresh profile and removes it on close; if the
// browser does not close in time its process is killed by pid.
const puppeteer = require('puppeteer-core')
const { launcher, within, CLOSE_DEADLINE_MS } = require('./launcher.cjs')
const { firefox } = require('../engines.cjs')

/**
 * A headless Firefox ESR: `{ browser, pid, close }`, `browser` being puppeteer's. `crashed(why)`
 * hears it going away on its own.
 *
 * @example
 *   const { browser, close } = await startFirefox()
 *   await (await browser.newPage()).goto('http://127.0.0.1:8080/')
 *   await close()
 */
async function startFirefox({ log = { debug() {} }, crashed = () => {} } = {}) {
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: firefox(),
    headless: true,
    // The TLS tests use a certificate the test run made for 127.0.0.1.
    acceptInsecureCerts: true,
  })
  const pid = browser.process() && browser.process().pid
  let closing = false
  browser.on('disconnected', () => closing || crashed('disconnected'))
  const close = async () => {
    closing = true
    await within(browser.close(), CLOSE_DEADLINE_MS)
    const proc = browser.process()
    if (proc && proc.exitCode == null && proc.signalCode == null) process.kill(pid, 'SIGKILL')
  }
  log.debug(`Firefox pid ${pid}`)
  return { browser, pid, close }
}

/** The karma launcher: Firefox's first tab at karma's capture URL. */
async function open(url, options) {
  const session = await startFirefox(options)
  try {
    const [page] = await session.browser.pages()
    await (page || (await session.browser.newPage())).goto(url)
  } catch (e) {
    await session.close()
    throw e
  }
  return session
}

module.exports = { plugin: launcher('FirefoxESR', open), startFirefox }
