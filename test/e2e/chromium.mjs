// Real Chromium driven by playwright-core, for what a page cannot do to itself: freeze and
// resume, go offline, take screenshots. Debian's Chromium; playwright never downloads one.
import { chromium } from 'playwright-core'

import flags from '../support/chromium.cjs'

export const CHROMIUM_ARGS = flags.CHROMIUM_FLAGS

/** A headless Chromium; close it with `browser.close()`. */
export function launch() {
  return chromium.launch({ executablePath: flags.CHROMIUM, args: CHROMIUM_ARGS, headless: true })
}

/** Wait for `fn()` in the page to be truthy, with a deadline. */
export async function until(page, fn, arg, ms = 10000) {
  await page.waitForFunction(fn, arg, { timeout: ms, polling: 20 })
}
