// startProxy's own promises: a port that answers when it resolves, and nothing left behind
// (process, port, temp dir) once stopped.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import { KINDS, startProxy, stopAllProxies } from '../support/proxies.mjs'
import { upstream } from './upstream.mjs'

let up
before(async () => (up = await upstream()))
after(async () => {
  await stopAllProxies()
  await up.close()
})

const accepts = (port) =>
  new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => (s.destroy(), resolve(true)))
    s.on('error', () => resolve(false))
  })

/** The upstream's answer to `GET /` through `p`, over TLS for nginx-tls (its certificate is self-made). */
const answer = (p) =>
  new Promise((resolve, reject) =>
    (p.scheme == 'https' ? https : http)
      .get({ host: '127.0.0.1', port: p.port, path: '/', rejectUnauthorized: false }, (res) => {
        let body = ''
        res.on('data', (d) => (body += d))
        res.on('end', () => resolve(body))
      })
      .on('error', reject),
  )

const alive = (pid) => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return false
  }
}

describe('startProxy', () => {
  it('starts every kind on its own port, answering as soon as it resolves', async () => {
    // fault-random with only clean passes: its other fates are shown in randomnet.node.test.mjs.
    const all = await Promise.all(
      KINDS.map((k) => startProxy(k, up.port, k == 'fault-random' ? { odds: { pass: 1 } } : {})),
    )
    assert.equal(new Set(all.map((p) => p.port)).size, KINDS.length)
    for (const p of all) assert.equal(await answer(p), 'ok', p.kind)
    await stopAllProxies()
    for (const p of all) assert.equal(await accepts(p.port), false, `${p.kind} still listens`)
  })

  for (const kind of ['nginx', 'apache', 'haproxy-rewrite', 'haproxy-tcp'])
    it(`stop() ends ${kind} by its pid and removes its temp dir; a second stop() is harmless`, async () => {
      const p = await startProxy(kind, up.port)
      assert.ok(p.pid > 0 && alive(p.pid))
      assert.ok(existsSync(p.dir))
      await p.stop()
      assert.equal(alive(p.pid), false, `${kind} exited`)
      assert.equal(existsSync(p.dir), false, 'temp dir removed')
      assert.equal(await accepts(p.port), false)
      await p.stop()
    })

  it('refuses unknown kinds and bad ports, naming what it takes', async () => {
    await assert.rejects(startProxy('squid', up.port), /unknown kind "squid"; use one of nginx, /)
    await assert.rejects(startProxy('nginx', 0), /bad upstream port/)
  })
})
