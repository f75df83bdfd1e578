// How Chromium is started here, in one place for karma, playwright and the bench: Debian's
// Chromium, as root (no sandbox), quiet on a closed network, never throttling background timers.
module.exports.CHROMIUM = process.env.CHROME_BIN || '/usr/bin/chromium'

module.exports.CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  // Without these, Chromium keeps trying Google's hosts on a network that refuses them.
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  // Timers must not be throttled in tests and benchmarks; the throttling tests fake the clock.
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
]
