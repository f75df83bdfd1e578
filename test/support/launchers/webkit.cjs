// WebKit (JavaScriptCore and WebCore, Safari's engine) through its WebDriver and selenium-webdriver,
// in two ports: WebKitGTK's MiniBrowser on an Xvfb display of its own, and WPE WebKit's cog
// (an older WebKit, embedded-style, headless). `plugins` are the karma launchers `WebKitGTK` and
// `WPEWebKit`, `startWebKit(port)` the same browsers for the e2e tests. Each start runs its own
// driver (one session per driver) and Xvfb where needed, and `close()` stops them by pid.
const { Builder } = require('selenium-webdriver')
const { launcher, child, freePort, answering, within, CLOSE_DEADLINE_MS } = require('./launcher.cjs')
const { miniBrowser } = require('../engines.cjs')

/** Per port: its driver, whether it needs X, and the capabilities that start its browser. */
const PORTS = {
  gtk: {
    name: 'WebKitGTK',
    driver: 'WebKitWebDriver',
    display: true,
    capabilities: () => ({
      browserName: 'MiniBrowser',
      'webkitgtk:browserOptions': { binary: miniBrowser(), args: ['--automation'] },
    }),
  },
  wpe: {
    name: 'WPEWebKit',
    driver: 'WPEWebDriver',
    display: false,
    capabilities: () => ({
      browserName: 'cog',
      'wpe:browserOptions': { binary: '/usr/bin/cog', args: ['--automation', '--platform=headless'] },
    }),
  },
}

const DISPLAY_DEADLINE_MS = 10000
const DRIVER_DEADLINE_MS = 15000

/** An Xvfb server on the first free display; resolves once it is ready, to `{ display, stop }`. */
async function xvfb() {
  // -displayfd: Xvfb picks a free display and writes its number to fd 3 once it accepts clients.
  const server = child('Xvfb', ['-displayfd', '3', '-screen', '0', '1280x1024x24', '-nolisten', 'tcp'], {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
  })
  const display = await new Promise((resolve, reject) => {
    let text = ''
    const timer = setTimeout(
      () => reject(new Error('Xvfb gave no display within ' + DISPLAY_DEADLINE_MS)),
      DISPLAY_DEADLINE_MS,
    )
    server.proc.stdio[3].on('data', (d) => {
      text += d
      if (!text.includes('\n')) return
      clearTimeout(timer)
      resolve(':' + text.trim())
    })
    server.proc.on('exit', (code) => reject(new Error(`Xvfb exited (${code}): ${server.stderr()}`)))
  }).catch(async (e) => {
    await server.stop()
    throw e
  })
  return { display, server }
}

/**
 * A WebKit session of `port` ('gtk' or 'wpe'): `{ driver, driverPid, close }`. `crashed(why)`
 * hears Xvfb or the driver exiting on their own.
 *
 * @example
 *   const { driver, close } = await startWebKit('gtk')
 *   await driver.get('http://127.0.0.1:8080/')
 *   await close()
 */
async function startWebKit(port, { log = { debug() {} }, crashed = () => {} } = {}) {
  const spec = PORTS[port]
  const stops = []
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop()
  }
  try {
    const env = { ...process.env }
    if (spec.display) {
      const { display, server } = await xvfb()
      stops.push(() => server.stop())
      server.onExit(crashed)
      env.DISPLAY = display
    }
    const driverPort = await freePort()
    const driverProcess = child(spec.driver, ['--host=127.0.0.1', '--port=' + driverPort], { env })
    stops.push(() => driverProcess.stop())
    driverProcess.onExit(crashed)
    await answering(`http://127.0.0.1:${driverPort}/status`, DRIVER_DEADLINE_MS)
    const driver = await new Builder()
      .usingServer(`http://127.0.0.1:${driverPort}`)
      // The TLS tests use a certificate the test run made for 127.0.0.1.
      .withCapabilities({ ...spec.capabilities(), acceptInsecureCerts: true })
      .build()
    stops.push(() => within(driver.quit(), CLOSE_DEADLINE_MS))
    log.debug(`${spec.name}: ${spec.driver} pid ${driverProcess.pid} on port ${driverPort}, DISPLAY ${env.DISPLAY}`)
    return { driver, driverPid: driverProcess.pid, close: stopAll }
  } catch (e) {
    await stopAll()
    throw e
  }
}

/** The karma launcher of `port`: a session at karma's capture URL. */
const open = (port) => async (url, options) => {
  const webkit = await startWebKit(port, options)
  try {
    await webkit.driver.get(url)
  } catch (e) {
    await webkit.close()
    throw e
  }
  return webkit
}

module.exports = {
  plugins: Object.entries(PORTS).map(([port, spec]) => launcher(spec.name, open(port))),
  startWebKit,
}
