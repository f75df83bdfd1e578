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
    wire(client, upstream)
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: server.address().port,
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
 * `fault-delay`: every chunk, either way, is delivered `delayMs` after it arrived, in order; an
 * end is delayed the same, so it never overtakes data (a long, fat pipe).
 */
export function delay(upstreamPort, { delayMs = 100 } = {}) {
  const later = (from, to) => {
    const queue = []
    let timer
    const flush = () => {
      timer = undefined
      const now = Date.now()
      while (queue.length && queue[0].at <= now) {
        const { chunk } = queue.shift()
        if (chunk) to.write(chunk)
        else to.end()
      }
      if (queue.length) timer = setTimeout(flush, queue[0].at - now)
    }
    const push = (chunk) => {
      queue.push({ at: Date.now() + delayMs, chunk })
      if (!timer) timer = setTimeout(flush, delayMs)
    }
    from.on('data', push)
    from.on('end', () => push(null))
    from.on('close', () => clearTimeout(timer))
    to.on('close', () => clearTimeout(timer))
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
  return tcpProxy(upstreamPort, (client, upstream) => {
    pipeBoth(client, upstream)
    const timer = setTimeout(() => (client.destroy(), upstream.destroy()), cutAfterMs)
    client.on('close', () => clearTimeout(timer))
  })
}
