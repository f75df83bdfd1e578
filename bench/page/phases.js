// The measurements, each on a connection of the shape clients.js gives. Times come from
// performance.now(), which has 5 us resolution on the cross-origin-isolated bench page.

export const now = () => performance.now()

/** `p`, or a rejection naming `what` after `ms`. */
export function deadline(p, ms, what) {
  let t
  const late = new Promise(
    (_, reject) => (t = setTimeout(() => reject(new Error(what + ': nothing within ' + ms + ' ms')), ms)),
  )
  return Promise.race([p, late]).finally(() => clearTimeout(t))
}

export async function connects(openIt, plan) {
  const ms = []
  for (let i = 0; i < plan.connects; i++) {
    const t0 = now()
    const c = await deadline(openIt(), 10000, 'connect')
    ms.push(now() - t0)
    await c.close()
  }
  return { ms }
}

/** One echo of a 32-byte text on `c`, with a deadline. */
export function echo(c) {
  return deadline(new Promise((r) => ((c.onmessage = r), c.send('ping'.padEnd(32, '.')))), 5000, 'echo')
}

export async function roundTrips(c, plan) {
  for (let i = 0; i < plan.rttWarmup; i++) await echo(c)
  const ms = []
  const end = now() + plan.rttBoxMs
  while (ms.length < plan.rtts && now() < end) {
    const t0 = now()
    await echo(c)
    ms.push(now() - t0)
  }
  return { ms }
}

/**
 * Round trips alternating with a raw WebSocket in the same page, which goes first every other
 * time: both see the same machine state, so their ratio holds still while each alone drifts
 * between runs (loopback round trips switch between ~0.15 and ~0.45 ms here).
 */
export async function pairedRoundTrips(c, openRaw, plan) {
  const raw = await deadline(openRaw(), 10000, 'connect raw')
  const self = [],
    ref = []
  const timed = async (conn, into) => {
    const t0 = now()
    await echo(conn)
    into.push(now() - t0)
  }
  for (let i = 0; i < plan.rttWarmup; i++) (await echo(raw), await echo(c))
  const end = now() + plan.rttBoxMs
  for (let i = 0; i < plan.rtts && now() < end; i++) {
    if (i % 2) (await timed(c, self), await timed(raw, ref))
    else (await timed(raw, ref), await timed(c, self))
  }
  await raw.close()
  return { ms: self, rawMs: ref }
}

/**
 * Send `n` messages, at most `window` not yet echoed: the first `window` in one tight loop of
 * send(), then one more per echo. Message i carries i, so loss and reordering show. Ends early
 * when the connection closes or no echo has come for `stallMs`.
 */
async function pump(c, { n, window, make, index, boxMs, stallMs }) {
  let got = 0,
    sent = 0,
    last = -1,
    inOrder = true,
    tLast = 0,
    failure = null,
    done
  const all = new Promise((r) => (done = r))
  // A pure burst sends prebuilt messages, so the loop measures send() alone; a windowed stream
  // builds each message as it goes (1,600 x 64 KB prebuilt would be 100 MB of page memory).
  const prebuilt = window >= n ? Array.from({ length: n }, (_, i) => make(i)) : null
  const msg = (i) => (prebuilt ? prebuilt[i] : make(i))
  c.onmessage = (d) => {
    const i = index(d)
    if (i != last + 1) inOrder = false
    last = i
    got++
    tLast = now()
    if (sent < n) c.send(msg(sent++))
    if (got == n) done()
  }
  c.onclose = (why) => ((failure = why), done())
  const cpu0 = await (await fetch('/cpu')).json()
  const t0 = now()
  // A stall ends the round early rather than waiting out the whole time box.
  const watch = setInterval(
    () => now() - (tLast || t0) > stallMs && ((failure = `stalled: no echo for ${stallMs} ms`), done()),
    250,
  )
  let sendMs = 0
  try {
    while (sent < Math.min(n, window)) c.send(msg(sent++))
    sendMs = now() - t0
    await deadline(all, boxMs, 'echoes')
  } catch (e) {
    failure = failure || e.message
  }
  clearInterval(watch)
  const cpu1 = await (await fetch('/cpu')).json()
  const ms = got == n ? tLast - t0 : now() - t0
  return {
    n,
    window,
    sent,
    got,
    inOrder,
    failure,
    ms,
    sendMs,
    cpuUserUs: cpu1.user - cpu0.user,
    cpuSystemUs: cpu1.system - cpu0.system,
  }
}

const textOf = (size) => (i) => String(i).padEnd(size, '.')

/** 100-byte texts, all sent in one tight loop (window = n). */
export function small(c, plan) {
  return pump(c, {
    n: plan.small,
    window: plan.small,
    make: textOf(plan.smallBytes),
    index: (d) => parseInt(d, 10),
    boxMs: plan.boxMs,
    stallMs: plan.stallMs,
  })
}

/** 64 KB binary messages (texts of the same length for sockjs), `bigWindow` in flight. */
export function big(c, plan) {
  const size = plan.bigBytes
  const binary = (i) => {
    const b = new ArrayBuffer(size)
    new DataView(b).setUint32(0, i)
    return b
  }
  const index = (d) =>
    typeof d == 'string' ? parseInt(d, 10) : d.byteLength == size ? new DataView(d).getUint32(0) : -1
  return pump(c, {
    n: plan.big,
    window: plan.bigWindow,
    make: c.textOnly ? textOf(size) : binary,
    index,
    boxMs: plan.boxMs,
    stallMs: plan.stallMs,
  })
}

const PING = 'ping'.padEnd(32, '.')

/**
 * Reply-from-handler round trips (the way a chat or a game answers): each echo's handler sends
 * the next message synchronously, inside the library's message event, so the library sees the
 * send before its own code after the delivery has run. Hops go round `conns` in turn (one
 * connection, or a raw WebSocket and the one measured, so both see the same machine state); hop
 * times per connection, after `rttWarmup` rounds.
 */
export async function handlerRoundTrips(conns, plan) {
  const ms = conns.map(() => [])
  const warm = plan.rttWarmup * conns.length
  const total = warm + plan.handlerRtts * conns.length
  const box = now() + plan.handlerBoxMs
  let hop = 0,
    t0 = 0,
    done
  const all = new Promise((r) => (done = r))
  const next = () => {
    if (hop >= total || now() > box) return done()
    t0 = now()
    conns[hop % conns.length].send(PING)
  }
  conns.forEach((c, k) => {
    c.onmessage = () => {
      const dt = now() - t0
      if (hop >= warm) ms[k].push(dt)
      hop++
      next()
    }
  })
  next()
  await deadline(all, plan.handlerBoxMs + 5000, 'handler echoes')
  return ms
}

/** One burst of `handlerBig` fresh 64 KiB buffers sent in one loop; resolves to MiB/s at the last echo. */
function burst(c, plan) {
  const size = plan.bigBytes
  const k = plan.handlerBig
  return new Promise((resolve, reject) => {
    let got = 0
    c.onmessage = () => ++got == k && resolve((k * size) / 1048576 / ((now() - t0) / 1000))
    c.onclose = (why) => reject(new Error(why))
    const t0 = now()
    for (let i = 0; i < k; i++) c.send(c.textOnly ? String(i).padEnd(size, '.') : new ArrayBuffer(size))
  })
}

/**
 * 1 MiB as 16 x 64 KiB: sent in one loop, each a fresh buffer (so no client can be handed one the
 * app reuses), timed to the last echo; `handlerBigRounds` times after one to warm up. With `raw`,
 * a raw WebSocket's burst alternates with each, going first every other time (as pairedRoundTrips).
 */
export async function bigBursts(c, plan, raw) {
  const rounds = []
  const rawRounds = []
  let failure = null
  try {
    await deadline(
      (async () => {
        for (let i = 0; i <= plan.handlerBigRounds; i++) {
          const ours = () => burst(c, plan).then((r) => i && rounds.push(r))
          const theirs = () => burst(raw, plan).then((r) => i && rawRounds.push(r))
          if (!raw) await ours()
          else if (i % 2) await ours().then(theirs)
          else await theirs().then(ours)
        }
      })(),
      plan.boxMs,
      'big bursts',
    )
  } catch (e) {
    failure = e.message
  }
  return { rounds, rawRounds, failure, n: plan.handlerBigRounds, got: rounds.length }
}
