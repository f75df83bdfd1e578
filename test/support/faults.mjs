// Fault-injecting TCP proxies in plain Node, for what nginx cannot be told to do: swallow a
// WebSocket after its handshake, slow every byte down, or cut every connection on a timer.
// Each listens on a fresh loopback port and forwards to 127.0.0.1:upstreamPort.
import net from 'node:net'

/**
 * A TCP proxy whose connections are shaped by `wire(client, upstream)`; by default bytes flow
 * through untouched. Resolves once listening.
 * @returns {Promise<{ port: number, stop(): Promise<void> }>}
 */
export function tcpProxy(upstreamPort, wire = pipeBoth) {
  const sockets = new Set()
  /** What the proxy did, for tests to check that a fault really happened. */
  const stats = { connections: 0, cut: 0 }
  // Half-open allowed on both sides, so an end travels like any byte and is the wire's to pass.
  const server = net.createServer({ noDelay: true, allowHalfOpen: true }, (client) => {
    const upstream = net.connect({ host: '127.0.0.1', port: upstreamPort, noDelay: true, allowHalfOpen: true })
    const both = () => (client.destroy(), upstream.destroy())
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
      // A reset or refused upstream is an expected event here, not a crash of the test run.
      s.on('error', both)
    }
    stats.connections++
    wire(client, upstream, stats)
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: server.address().port,
        stats,
        stop: () =>
          new Promise((done) => {
            for (const s of sockets) s.destroy()
            server.close(() => done())
          }),
      }),
    )
  })
}

function pipeBoth(client, upstream) {
  client.pipe(upstream)
  upstream.pipe(client)
}

const HEAD_END = '\r\n\r\n'
const MAX_HEAD = 65536

/**
 * `fault-blackhole`: plain HTTP passes through, but once a WebSocket handshake has been answered
 * with 101 the response head is delivered and every later byte, either way, is dropped while
 * both connections stay open (a proxy or antivirus that lets the upgrade through, then eats
 * the frames). Browsers open a fresh connection for each WebSocket, so only a connection's first
 * request is looked at.
 */
export function blackhole(upstreamPort) {
  return tcpProxy(upstreamPort, (client, upstream) => {
    let asked = '' // the first request head, until complete
    let upgrade = false
    let holed = false
    let answer = Buffer.alloc(0) // the response head, while an upgrade waits for it
    client.on('data', (d) => {
      if (holed) return
      if (asked != null) {
        asked += d.toString('latin1')
        const end = asked.indexOf(HEAD_END)
        if (end >= 0 || asked.length > MAX_HEAD) {
          upgrade = /^upgrade:\s*websocket\s*$/im.test(asked.slice(0, end))
          asked = null
        }
      }
      upstream.write(d)
    })
    upstream.on('data', (d) => {
      if (holed) return
      if (!upgrade) return void client.write(d)
      answer = Buffer.concat([answer, d])
      const end = answer.indexOf(HEAD_END)
      if (end < 0 && answer.length < MAX_HEAD) return
      if (end >= 0 && /^HTTP\/1\.1 101 /.test(answer.toString('latin1', 0, 16))) {
        holed = true
        client.write(answer.subarray(0, end + HEAD_END.length))
      } else {
        upgrade = false
        client.write(answer)
      }
      answer = Buffer.alloc(0)
    })
    // Teardown still passes: the proxy eats data, it does not hold connections open by itself.
    client.on('end', () => upstream.end())
    upstream.on('end', () => client.end())
  })
}

/**
 * A lane `ms` long: each job runs `ms` after it was queued, in the order queued (at once when
 * `ms` is 0 and nothing waits). `stop()` drops what is still queued.
 */
export function lane(ms) {
  const queue = []
  let timer
  const flush = () => {
    timer = undefined
    const now = Date.now()
    while (queue.length && queue[0].at <= now) queue.shift().job()
    if (queue.length) timer = setTimeout(flush, queue[0].at - now)
  }
  const push = (job) => {
    if (!ms && !queue.length) return job()
    queue.push({ at: Date.now() + ms, job })
    if (!timer) timer = setTimeout(flush, ms)
  }
  push.stop = () => clearTimeout(timer)
  return push
}

/**
 * `fault-delay`: every chunk, either way, is delivered `delayMs` after it arrived, in order; an
 * end is delayed the same, so it never overtakes data (a long, fat pipe).
 */
export function delay(upstreamPort, { delayMs = 100 } = {}) {
  const later = (from, to) => {
    const push = lane(delayMs)
    from.on('data', (chunk) => push(() => to.write(chunk)))
    from.on('end', () => push(() => to.end()))
    from.on('close', push.stop)
    to.on('close', push.stop)
  }
  return tcpProxy(upstreamPort, (client, upstream) => {
    later(client, upstream)
    later(upstream, client)
  })
}

/**
 * `fault-cut`: bytes pass untouched, but each connection is destroyed, both sides at once,
 * `cutAfterMs` after it was accepted (a NAT or load balancer with a hard connection lifetime).
 */
export function cut(upstreamPort, { cutAfterMs = 3000 } = {}) {
  return tcpProxy(upstreamPort, (client, upstream, stats) => {
    pipeBoth(client, upstream)
    const timer = setTimeout(() => (stats.cut++, client.destroy(), upstream.destroy()), cutAfterMs)
    client.on('close', () => clearTimeout(timer))
  })
}

/**
 * Watches a connection's first request: `onHead(head, isUpgrade)` once its head is complete, then
 * `onSwitched()` once the upstream answered an upgrade with `101` (its head already passed on).
 * Bytes pass both ways unless `drop(direction)` says otherwise (`'up'`: client to server,
 * `'down'`: server to client); an end passes only where bytes still do. With `hold`, the
 * request head is kept back until `onHead` returns true (false: it is never forwarded).
 */
function watchUpgrade(client, upstream, { onHead = () => true, onSwitched = () => {}, drop, hold = false }) {
  let asked = '' // the first request head, until complete
  let held = [] // chunks kept back while `hold` waits for the head
  let upgrade = false
  let answer = Buffer.alloc(0) // the response head, while an upgrade waits for it
  let switched = false
  client.on('data', (d) => {
    if (drop('up')) return
    if (asked != null) {
      asked += d.toString('latin1')
      if (hold) held.push(d)
      const end = asked.indexOf(HEAD_END)
      if (end < 0 && asked.length <= MAX_HEAD) return
      upgrade = /^upgrade:\s*websocket\s*$/im.test(asked.slice(0, Math.max(end, 0)))
      asked = null
      const go = onHead(upgrade)
      if (hold) {
        if (go) for (const c of held) upstream.write(c)
        held = null
        return
      }
    }
    upstream.write(d)
  })
  upstream.on('data', (d) => {
    if (drop('down')) return
    if (!upgrade || switched) return void client.write(d)
    answer = Buffer.concat([answer, d])
    const end = answer.indexOf(HEAD_END)
    if (end < 0 && answer.length < MAX_HEAD) return
    const ok = end >= 0 && /^HTTP\/1\.1 101 /.test(answer.toString('latin1', 0, 16))
    client.write(answer)
    answer = Buffer.alloc(0)
    if (ok) {
      switched = true
      onSwitched()
    } else upgrade = false
  })
  client.on('end', () => !drop('up') && upstream.end())
  upstream.on('end', () => !drop('down') && client.end())
}

/**
 * `fault-oneway`: once a WebSocket's upgrade has been answered with 101, every byte from the
 * client to the server (its FIN too) is silently dropped, while the server's bytes keep reaching
 * the client and both connections stay open: the hello arrives, nothing the client sends does (a
 * broken NAT or middlebox that lost one direction of the flow). Plain HTTP passes untouched:
 * a path that eats request bodies and still answers is not one that browsers meet.
 */
export function oneway(upstreamPort) {
  return tcpProxy(upstreamPort, (client, upstream, stats) => {
    let holed = false
    watchUpgrade(client, upstream, {
      onSwitched: () => {
        holed = true
        stats.holed = (stats.holed || 0) + 1
      },
      drop: (direction) => holed && direction == 'up',
    })
  })
}

/**
 * `fault-midsession`: a WebSocket works for `afterMs` after its upgrade; then every WebSocket
 * through the proxy goes silent both ways (no FIN, no RST, both sockets kept open) and from that
 * moment every new upgrade is answered `403 Forbidden` by the proxy itself, while plain HTTP,
 * streams included, keeps passing (a network whose WebSocket path died mid-session, say a
 * middlebox that lost its state and now filters upgrades). `stats.trippedAt` is when it happened.
 */
export function midsession(upstreamPort, { afterMs = 2000 } = {}) {
  const sockets = new Set() // every upgraded connection, to silence together
  let tripped = false
  const trip = (stats) => {
    if (tripped) return
    tripped = true
    stats.trippedAt = Date.now()
    for (const hole of sockets) hole()
  }
  return tcpProxy(upstreamPort, (client, upstream, stats) => {
    let holed = false
    let timer
    const hole = () => {
      holed = true
      stats.holed = (stats.holed || 0) + 1
    }
    watchUpgrade(client, upstream, {
      hold: true,
      onHead: (upgrade) => {
        if (!(upgrade && tripped)) return true
        stats.refused = (stats.refused || 0) + 1
        client.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
        upstream.destroy()
        return false
      },
      onSwitched: () => {
        if (tripped) return hole()
        sockets.add(hole)
        timer = setTimeout(() => trip(stats), afterMs)
      },
      drop: () => holed,
    })
    client.on('close', () => (clearTimeout(timer), sockets.delete(hole)))
  }).then((p) => Object.assign(p, { tripped: () => tripped }))
}

/**
 * `fault-cutrandom`: bytes pass untouched, but each connection is destroyed, both sides at once,
 * at a random `minMs`–`maxMs` (200–700 ms) after it was accepted: a link where nothing lives a
 * second, page loads included if the page comes through it.
 */
export function cutRandom(upstreamPort, { minMs = 200, maxMs = 700 } = {}) {
  return tcpProxy(upstreamPort, (client, upstream, stats) => {
    pipeBoth(client, upstream)
    const lifetime = minMs + Math.random() * (maxMs - minMs)
    const timer = setTimeout(() => (stats.cut++, client.destroy(), upstream.destroy()), lifetime)
    client.on('close', () => clearTimeout(timer))
  })
}
