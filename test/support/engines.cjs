// The browser engines the karma suite runs in, in one place for karma.conf.cjs, the launchers and
// test/run.mjs: which Debian packages bring each one, where its binaries are, and its karma
// launcher. Environment variables override the paths (CHROME_BIN, WEBKIT_MINIBROWSER, FIREFOX_BIN).
const { existsSync, readdirSync } = require('node:fs')
const { join } = require('node:path')
const { CHROMIUM } = require('./chromium.cjs')

/** WebKitGTK's MiniBrowser lives under the multiarch directory: /usr/lib/<arch>/webkit2gtk-4.1/. */
function miniBrowser() {
  if (process.env.WEBKIT_MINIBROWSER) return process.env.WEBKIT_MINIBROWSER
  const arches = existsSync('/usr/lib') ? readdirSync('/usr/lib') : []
  const found = arches.map((a) => join('/usr/lib', a, 'webkit2gtk-4.1', 'MiniBrowser')).find((p) => existsSync(p))
  return found || '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser'
}

const onPath = (cmd) => (process.env.PATH || '').split(':').some((dir) => dir && existsSync(join(dir, cmd)))

const ENGINES = {
  chromium: {
    packages: ['chromium'],
    launcher: 'ChromiumHeadless',
    installed: () => existsSync(CHROMIUM),
  },
  webkit: {
    packages: ['webkit2gtk-driver', 'xvfb', 'xauth', 'fonts-dejavu-core'],
    launcher: 'WebKitGTK',
    installed: () =>
      onPath('WebKitWebDriver') &&
      existsSync(miniBrowser()) &&
      onPath('Xvfb') &&
      onPath('xauth') &&
      existsSync('/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf'),
  },
  wpe: {
    packages: ['wpewebkit-driver', 'cog'],
    launcher: 'WPEWebKit',
    installed: () => onPath('WPEWebDriver') && existsSync('/usr/bin/cog'),
  },
  firefox: {
    packages: ['firefox-esr'],
    launcher: 'FirefoxESR',
    installed: () => existsSync(firefox()),
  },
}

function firefox() {
  return process.env.FIREFOX_BIN || '/usr/bin/firefox-esr'
}

module.exports = { ENGINES, miniBrowser, firefox }
