// `npm run screenshot`: docs/ticker.png, the ticker example as the README shows it. Starts the
// examples' server on a free loopback port, opens the ticker in headless Chromium
// (test/e2e/chromium.mjs), places a trade, runs Diagnose, waits for both and for a few ticks, and shoots.
import { fileURLToPath } from 'node:url'
import { start } from '../examples/serve.mjs'
import { launch, until } from '../test/e2e/chromium.mjs'

const out = fileURLToPath(new URL('ticker.png', import.meta.url))
const app = await start({ port: 0 })
const browser = await launch()
try {
  const page = await browser.newPage({ viewport: { width: 820, height: 600 } })
  await page.goto(`http://127.0.0.1:${app.port}/ticker/`)
  await until(page, () => document.querySelectorAll('#rates tbody tr').length == 6)
  await page.selectOption('#trade [name=pair]', 'GBP/USD')
  await page.click('#trade button')
  await until(page, () => /confirmed/.test(document.querySelector('#trades li').textContent))
  await page.click('#status button')
  await until(page, () => /^best:/.test(document.querySelector('#status pre').textContent))
  // Let a few ticks land, so the arrows show both directions.
  await page.waitForFunction(
    () => document.querySelectorAll('#rates tr.up').length && document.querySelectorAll('#rates tr.down').length,
    null,
    { timeout: 10000 },
  )
  await page.screenshot({ path: out, fullPage: true })
  console.log('wrote', out)
} finally {
  await browser.close()
  await app.close()
}
