// One page API over the engines, for what a page cannot do to itself: freeze and wake, go offline.
// Chromium through playwright-core (CDP), Firefox ESR through puppeteer-core (WebDriver BiDi),
// WebKitGTK and WPE WebKit through selenium-webdriver (their WebDriver), each started as the karma
// launchers start it (test/support/launchers/).
//
//   const browser = await launch('firefox')
//   const page = await browser.newPage(url)   // page.evaluate(fn, arg), page.freeze(), page.wake()
//   await page.close(); await browser.close()
import engineList from '../support/engines.cjs'
import launchers from '../support/launchers/launcher.cjs'
import webkit from '../support/launchers/webkit.cjs'
import firefox from '../support/launchers/firefox.cjs'
import { launch as launchChromium } from './chromium.mjs'

/** The engines to run in: all, or those LIFELINE_ENGINES names (as for the karma suite). */
export const ENGINES = (process.env.LIFELINE_ENGINES || Object.keys(engineList.ENGINES).join(',')).split(',')

const POLL_MS = 20

/**
 * Stop or continue `pids` with a signal. Suspending a web content process is what iOS does to a
 * backgrounded app's WebContent process: no script runs, no timer fires, while the network
 * process keeps the sockets and queues what arrives.
 */
function signal(pids, sig) {
  if (!pids.length) throw new Error('no web content process to ' + sig)
  for (const pid of pids) process.kill(pid, sig)
}

/** Chromium: the page's script paused in the debugger (a headless page cannot be frozen by lifecycle). */
async function chromium() {
  const browser = await launchChromium()
  return {
    offline: true,
    async newPage(url) {
      const context = await browser.newContext()
      const page = await context.newPage()
      await page.goto(url)
      const cdp = await context.newCDPSession(page)
      return {
        evaluate: (fn, arg) => page.evaluate(fn, arg),
        // Pausing takes hold at the next statement; any timer or message brings it on.
        freeze: async () => {
          await cdp.send('Debugger.enable')
          await cdp.send('Debugger.pause')
        },
        wake: async () => {
          await cdp.send('Debugger.resume')
          await cdp.send('Debugger.disable')
        },
        setOffline: (offline) => context.setOffline(offline),
        close: () => context.close(),
      }
    },
    close: () => browser.close(),
  }
}

/** Firefox: offline emulation over BiDi; freezing suspends its web content ("tab") processes. */
async function gecko() {
  const { browser, pid, close } = await firefox.startFirefox()
  const contentProcesses = () =>
    launchers
      .descendants(pid)
      .filter((p) => /^\S+ -contentproc .* tab$/.test(p.command))
      .map((p) => p.pid)
  return {
    offline: true,
    async newPage(url) {
      const context = await browser.createBrowserContext()
      const page = await context.newPage()
      await page.goto(url)
      let frozen = []
      return {
        evaluate: (fn, arg) => page.evaluate(fn, arg),
        freeze: async () => signal((frozen = contentProcesses()), 'SIGSTOP'),
        wake: async () => signal(frozen.splice(0), 'SIGCONT'),
        setOffline: (offline) => page.setOfflineMode(offline),
        // A test that failed while the page was frozen must not leave the browser stopped.
        close: async () => {
          if (frozen.length) signal(frozen.splice(0), 'SIGCONT')
          await context.close()
        },
      }
    },
    close,
  }
}

/**
 * WebKitGTK or WPE WebKit: one session per driver, so one page at a time; freezing suspends its
 * web content processes (WebKitWebProcess, WPEWebProcess).
 */
const webkitPort = (port) => async () => {
  const { driver, driverPid, close } = await webkit.startWebKit(port)
  const contentProcesses = () =>
    launchers
      .descendants(driverPid)
      .filter((p) => /^\S*(WebKit|WPE)WebProcess\b/.test(p.command))
      .map((p) => p.pid)
  return {
    // WebKitWebDriver has no network emulation, and the network process takes "online" from the
    // system's network monitor, which a test cannot switch for one browser.
    offline: false,
    async newPage(url) {
      await driver.get(url)
      let frozen = []
      return {
        evaluate: (fn, arg) => driver.executeScript(`return (${fn}).apply(null, arguments)`, arg),
        freeze: async () => signal((frozen = contentProcesses()), 'SIGSTOP'),
        wake: async () => signal(frozen.splice(0), 'SIGCONT'),
        close: async () => {
          if (frozen.length) signal(frozen.splice(0), 'SIGCONT')
          await driver.get('about:blank')
        },
      }
    },
    close,
  }
}

const START = { chromium, firefox: gecko, webkit: webkitPort('gtk'), wpe: webkitPort('wpe') }

/**
 * A browser of `engine` ('chromium' | 'webkit' | 'wpe' | 'firefox'): `{ offline, newPage(url), close() }`;
 * `offline` says whether its pages can `setOffline(bool)`.
 */
export function launch(engine) {
  if (!START[engine]) throw new Error('unknown engine ' + engine)
  return START[engine]()
}

/** Wait for `fn(arg)` in the page to be truthy, polling every 20 ms, failing after `ms`. */
export async function until(page, fn, arg, ms = 10000) {
  const end = Date.now() + ms
  while (!(await page.evaluate(fn, arg))) {
    if (Date.now() > end) throw new Error(`page condition not met within ${ms} ms: ${fn}`)
    await new Promise((r) => setTimeout(r, POLL_MS))
  }
}
