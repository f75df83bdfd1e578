// Free loopback ports for what the tests start on a port of its own (redis-server, HAProxy, nginx,
// Lifeline node processes, relays, WebDriver, karma). One implementation, for the ESM helpers
// (processes.mjs), the karma launchers (CommonJS) and test/run.mjs.
const { createServer } = require('node:net')
const { readFileSync } = require('node:fs')

/** The first local port the kernel gives outgoing connections (Linux's default: 32768). */
function ephemeralStart() {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32768
  } catch {
    return 32768
  }
}

/**
 * Ports are drawn at random from [LOW, HIGH), below the kernel's ephemeral range. A port the kernel
 * picked (`listen(0)`) is one it also gives outgoing connections: between the check and the use,
 * or while what a test started there restarts (a node after kill -9, Redis), any process's
 * outgoing connection could take it as its local port, and the listen failed with EADDRINUSE
 * (chaos seed 5, with the server suite two files at a time). A Redis Cluster node's bus port
 * (port + 10000) stays below the range too.
 */
const LOW = 15000
const HIGH = Math.max(LOW + 1000, Math.min(ephemeralStart(), 65536) - 10000)

/** Whether 127.0.0.1:`port` can be listened on now. */
function bindable(port) {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/** A free loopback port: random below the ephemeral range, or any the kernel gives if none is found there. */
async function freePort() {
  for (let i = 0; i < 50; i++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW))
    if (await bindable(port)) return port
  }
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
    server.on('error', reject)
  })
}

module.exports = { freePort, LOW, HIGH }
