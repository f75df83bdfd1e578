// The origin rule (src/server/origin.ts) at its edges, on request headers as a browser and the
// proxies in front of the server write them: host names compared, not ports nor schemes;
// forwarded hosts only from trusted proxies; every refusal explained once in the log and in a
// close reason that fits a close frame. The same rule over real sockets: test/server/access.test.ts.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { IncomingMessage } from 'node:http'
import { SERVER_DEFAULTS, type ServerOptions, type ServerResolved } from '../../src/server/options'
import { MAX_LOGGED_ORIGINS, OriginGate, hostName } from '../../src/server/origin'

function gate(opts: ServerOptions = {}) {
  const logged: string[] = []
  const g = new OriginGate({ ...SERVER_DEFAULTS, ...opts } as ServerResolved, (level, ...args) =>
    logged.push(level + ' ' + args.join(' ')),
  )
  /** The refusal of a page at `origin` asking with `headers`, or 'ok'. */
  const ask = (origin: string, headers: Record<string, string>) =>
    g.refusal({ headers } as unknown as IncomingMessage, origin) || 'ok'
  return { ask, logged }
}

test('the default compares host names: other ports and schemes of the same host pass', () => {
  const { ask } = gate()
  for (const [origin, host] of [
    ['http://127.0.0.1:8080', '127.0.0.1:8080'],
    // nginx `proxy_set_header Host $host;` drops the port
    ['http://127.0.0.1:8080', '127.0.0.1'],
    ['https://app.example', 'app.example'],
    ['https://app.example:8443', 'app.example'],
    // TLS ended at the proxy, plain HTTP behind it
    ['https://app.example', 'app.example:3000'],
    ['http://app.example', 'app.example:443'],
    ['http://localhost:5173', 'localhost:3000'],
  ])
    assert.equal(ask(origin, { host }), 'ok', `${origin} with Host ${host}`)
})

// cross-site WebSocket hijacking: another site's page must never pass
test('the default refuses every other host name, however close', () => {
  const { ask } = gate()
  for (const [origin, host] of [
    ['https://evil.example', 'app.example'],
    ['https://app.example.evil.example', 'app.example'],
    ['https://evilapp.example', 'app.example'],
    ['https://example', 'app.example'],
    ['http://localhost:3000', '127.0.0.1:3000'],
    ['http://127.0.0.1:3000', 'localhost:3000'],
    ['http://127.0.0.2:3000', '127.0.0.1:3000'],
    // userinfo in a Host header is not a host: nothing after the @ counts
    ['https://app.example', 'evil.example@app.example'],
    ['https://app.example', 'app.example/path'],
    ['https://app.example', 'app.example app.example'],
    ['https://app.example', ''],
  ])
    assert.match(
      ask(origin, { host }),
      /^origin not allowed: not the Host; forward Host/,
      `${origin} with Host ${host}`,
    )
  assert.match(ask('https://app.example', {}), /^origin not allowed/, 'no Host at all')
})

test('upper case, a trailing dot and IPv6 are compared as the same host they name', () => {
  const { ask } = gate()
  assert.equal(ask('https://app.example', { host: 'APP.Example:443' }), 'ok')
  assert.equal(ask('https://app.example.', { host: 'app.example' }), 'ok', 'nginx $host drops the dot')
  assert.equal(ask('https://app.example', { host: 'app.example.:8080' }), 'ok')
  assert.equal(ask('http://[::1]:5173', { host: '[::1]:3000' }), 'ok')
  assert.equal(ask('http://[::1]:5173', { host: '[::1]' }), 'ok')
  assert.equal(ask('http://[::1]:5173', { host: '[0:0:0:0:0:0:0:1]:3000' }), 'ok', 'the same address')
  assert.equal(ask('http://[::ffff:7f00:1]', { host: '[::ffff:127.0.0.1]' }), 'ok')
  assert.match(ask('http://[::2]:5173', { host: '[::1]:5173' }), /^origin not allowed/)
  assert.match(ask('http://[::1]', { host: '127.0.0.1' }), /^origin not allowed/)
  assert.match(ask('https://app.example..', { host: 'app.example' }), /^origin not allowed/, 'one dot only')
  assert.equal(hostName('[::1]:80'), '[::1]')
  assert.equal(hostName('EXAMPLE.com.'), 'example.com')
  assert.equal(hostName('bücher.example'), '', 'a Host header is ASCII (punycode), as Origin is')
})

test('a "null" origin (sandboxed frame, file: page) or garbage is refused, saying how to list it', () => {
  const { ask } = gate()
  for (const origin of ['null', 'not a url', 'file://', 'https://'])
    assert.match(
      ask(origin, { host: 'app.example' }),
      /^origin not allowed: .*has no host; list it in origins$/,
      origin,
    )
  assert.equal(gate({ origins: ['null'] }).ask('null', { host: 'app.example' }), 'ok', 'listed, it passes')
})

test('forwarded hosts count only with trustProxy, and only the entries the trusted proxies wrote', () => {
  const apache = { host: '127.0.0.1:3000', 'x-forwarded-host': 'app.example:8080' }
  const untrusted = gate()
  assert.equal(
    untrusted.ask('http://app.example:8080', apache),
    "origin not allowed: X-Forwarded-Host untrusted; set trustProxy, or origins: ['http://app.example:8080']",
  )
  assert.match(untrusted.logged[0], /X-Forwarded-Host "app\.example:8080" \(ignored: trustProxy is off\)/)
  const trusted = gate({ trustProxy: true })
  assert.equal(trusted.ask('http://app.example:8080', apache), 'ok')
  assert.equal(trusted.ask('https://app.example', apache), 'ok', 'scheme and port differ, the name is the same')
  assert.match(trusted.ask('https://evil.example', apache), /^origin not allowed: not the forwarded host/)
  // A client can send its own X-Forwarded-Host; the trusted proxy appends the real one after it.
  const forged = { host: '127.0.0.1:3000', 'x-forwarded-host': 'evil.example, app.example' }
  assert.equal(trusted.ask('https://app.example', forged), 'ok')
  assert.match(trusted.ask('https://evil.example', forged), /^origin not allowed/, 'not the entry before the proxy')
  assert.equal(gate({ trustProxy: 2 }).ask('https://evil.example', forged), 'ok', 'two proxies trusted: both entries')
  // RFC 7239: one element per proxy, host= quoted when it has a port.
  const rfc = { host: 'backend:3000', forwarded: 'for=192.0.2.60;proto=https;host="App.Example:8443";by=10.0.0.1' }
  assert.equal(trusted.ask('https://app.example:8443', rfc), 'ok')
  assert.match(untrusted.ask('https://app.example', rfc), /untrusted; set trustProxy/)
  const two = { host: 'backend:3000', forwarded: 'host=evil.example;for="[2001:db8::1]:4711", host=app.example' }
  assert.equal(trusted.ask('https://app.example', two), 'ok')
  assert.match(trusted.ask('https://evil.example', two), /^origin not allowed/)
  // Behind a trusted proxy that forwarded a host, Host is the proxy's choice (Apache: the upstream's
  // own address), so a page there is not the site: a cross-site page on 127.0.0.1 must not pass.
  assert.equal(
    trusted.ask('http://127.0.0.1:5173', apache),
    "origin not allowed: not the forwarded host; set origins: ['http://127.0.0.1:5173']",
  )
  assert.match(trusted.logged.join('\n'), /Host "127\.0\.0\.1:3000" \(not compared: forwarded hosts are\)/)
  assert.match(
    trusted.ask('https://app.example', { host: 'app.example', 'x-forwarded-host': 'other.example' }),
    /not the forwarded host/,
  )
  // No forwarded host at all (nginx passing Host on): Host counts, trustProxy or not.
  assert.equal(trusted.ask('https://app.example:8443', { host: 'app.example' }), 'ok')
})

test('an allow-list compares whole origins, however written; //host allows that host on any scheme and port', () => {
  const { ask } = gate({
    origins: ['https://App.Example:443/', '//b.example', '//c.example:8443', '//d.example:80', 'capacitor://localhost'],
  })
  const host = { host: 'unrelated:1' }
  for (const origin of [
    'https://app.example',
    'http://b.example',
    'https://b.example:9',
    'https://c.example:8443',
    'http://d.example',
  ])
    assert.equal(ask(origin, host), 'ok', origin)
  assert.equal(ask('capacitor://localhost', host), 'ok', 'custom schemes by their exact string')
  for (const origin of [
    'http://app.example',
    'https://app.example:8443',
    'https://app.example.',
    'https://c.example',
    'http://c.example:8444',
    'https://d.example',
    'http://d.example:8080',
    'https://sub.b.example',
    'null',
    'capacitor://other',
  ])
    assert.equal(ask(origin, host), `origin not allowed: ${origin} is not in origins`, origin)
  // With an allow-list the Host header is not a reason to pass.
  assert.match(ask('https://unrelated', { host: 'unrelated' }), /not in origins/)
})

test('each refused origin is logged once, at warn, up to MAX_LOGGED_ORIGINS; reasons fit a close frame', () => {
  const { ask, logged } = gate()
  for (let i = 0; i < 3; i++) ask('https://evil.example', { host: 'app.example' })
  assert.equal(logged.length, 1)
  const compared = `the page's host "evil.example" ("https://evil.example") is not the server's: Host "app.example";`
  assert.ok(
    logged[0].startsWith('warn origin refused: ' + compared + ' ports and schemes are not compared.'),
    logged[0],
  )
  assert.match(logged[0], /proxy_set_header Host \$host.*trustProxy.*origins: \["https:\/\/evil\.example"\]/)
  for (let i = 0; i < MAX_LOGGED_ORIGINS * 2; i++) ask(`https://e${i}.example`, { host: 'app.example' })
  assert.equal(logged.length, MAX_LOGGED_ORIGINS + 1, 'capped, then one line saying so')
  assert.match(logged[logged.length - 1], /further refused origins are not logged/)
  const long = 'https://' + 'x'.repeat(200) + '.example'
  const reason = ask(long, { host: 'app.example' })
  assert.equal(reason, 'origin not allowed: not the Host; forward Host, or origins')
  assert.ok(Buffer.byteLength(gate({ origins: ['x'] }).ask(long, {})) <= 123)
  assert.ok(Buffer.byteLength(gate().ask('null' + 'é'.repeat(100), {})) <= 123)
})

test('an origins function decides alone; one that throws refuses and is logged', () => {
  const { ask, logged } = gate({
    origins: (o) => {
      if (o == 'https://boom.example') throw new Error('app bug')
      return o == 'https://app.example'
    },
  })
  assert.equal(ask('https://app.example', {}), 'ok')
  assert.equal(ask('https://boom.example', { host: 'boom.example' }), 'origin not allowed by the origins function')
  assert.match(logged.join('\n'), /origins function threw: Error: app bug/)
  assert.equal(gate().ask('', { host: 'x' }), 'ok', 'no Origin: not a browser, nothing to check')
})
