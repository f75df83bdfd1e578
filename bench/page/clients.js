// One adapter per case: each opens a connection with the library's own public API and gives back
// the same small shape, so the phases in bench.js measure every client the same way.
//
//   const c = await open('lifeline-stream', ports)   // resolves on the library's `open` event
//   c.onmessage = (data) => ...                      // string or ArrayBuffer
//   c.onclose = (why) => ...                         // the connection ended (not by close())
//   c.send(data); c.alive(); c.transport(); await c.close()

const host = '127.0.0.1'
const scripts = { lifeline: '/dist/lifeline.min.js', eio: '/vendor/engine.io.min.js', sockjs: '/vendor/sockjs.min.js' }

let report = () => {}
/** Where adapters report surprises (the page passes its logger). */
export function onSurprise(fn) {
  report = fn
}

/** Load the library a case needs (a classic script from the bench server, once). */
export function load(name) {
  const lib = name.startsWith('lifeline') ? 'lifeline' : name.split('-')[0]
  if (!scripts[lib] || document.querySelector(`script[data-lib="${lib}"]`)) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const s = document.createElement('script')
    s.src = scripts[lib]
    s.dataset.lib = lib
    s.onload = resolve
    s.onerror = () => reject(new Error('could not load ' + s.src))
    document.head.appendChild(s)
  })
}

/** Resolve when the close event that `listen` subscribes to fires, or after `ms` anyway. */
function closed(listen, ms = 3000) {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms)
    listen(() => (clearTimeout(t), resolve()))
  })
}

/**
 * The common shape. `close` waits one macrotask first: sockjs-client starts its next poll
 * request in a setTimeout(0), and a close() in the same task cannot abort it, so the request goes
 * out after the close and holds one of Chromium's 6 connections per host until the server gives
 * up on it (seen here: the 7th sockjs xhr-polling connect of a page hung 8 s in /info).
 */
function conn(impl) {
  const c = { onmessage() {}, onclose() {}, ...impl }
  c.close = () => {
    c.onclose = () => {}
    return new Promise((r) => setTimeout(r, 0)).then(impl.close)
  }
  return c
}

function opened(c, wire) {
  return new Promise((resolve, reject) => wire(() => resolve(c), reject))
}

const adapters = {
  raw(ports) {
    const ws = new WebSocket(`ws://${host}:${ports.ws}/`)
    ws.binaryType = 'arraybuffer'
    const c = conn({
      send: (d) => ws.send(d),
      alive: () => ws.readyState == 1,
      transport: () => 'websocket',
      close: () => (ws.close(), closed((f) => ws.addEventListener('close', f))),
    })
    ws.onmessage = (e) => c.onmessage(e.data)
    ws.onclose = (e) => c.onclose('closed ' + e.code)
    return opened(c, (ok, fail) => ((ws.onopen = ok), (ws.onerror = () => fail(new Error('WebSocket error')))))
  },

  lifeline(ports, kind) {
    const [transport, transfer] = kind.split('-')
    const ll = new Lifeline(`http://${host}:${ports.lifeline}/rt`, { transports: [transport], storage: null })
    const how = transfer ? { transfer: true } : undefined
    ll.binaryType = 'arraybuffer'
    const c = conn({
      send: (d) => ll.send(d, how),
      alive: () => ll.readyState == 1,
      transport: () => ll.transport,
      close: () => (ll.close(), closed((f) => ll.on('close', f))),
    })
    ll.onmessage = (e) => c.onmessage(e.data)
    // Anything unexpected goes to the bench log: it is what a report on Lifeline needs.
    ll.on('error', (e) => report('lifeline error: ' + e.message))
    ll.on('reconnecting', (e) => report('lifeline reconnecting: ' + e.cause))
    ll.on('close', (e) => c.onclose(`closed ${e.code} ${e.reason}`))
    return opened(
      c,
      (ok, fail) => (ll.on('open', ok), ll.on('close', (e) => fail(new Error('closed ' + e.code + ' ' + e.reason)))),
    )
  },

  eio(ports, transport) {
    const s = eio(`http://${host}:${ports['engine.io']}`, { transports: [transport], upgrade: false })
    s.binaryType = 'arraybuffer'
    const c = conn({
      send: (d) => s.send(d),
      alive: () => s.readyState == 'open',
      transport: () => s.transport && s.transport.name,
      close: () => {
        const p = closed((f) => s.on('close', f))
        s.close()
        return p
      },
    })
    s.on('message', (d) => c.onmessage(d))
    s.on('close', (why) => c.onclose('closed: ' + why))
    return opened(
      c,
      (ok, fail) => (s.on('open', ok), s.on('error', (e) => fail(e instanceof Error ? e : new Error(String(e))))),
    )
  },

  // sockjs carries text only: binary cases send strings of the same length.
  sockjs(ports, transport) {
    const s = new SockJS(`http://${host}:${ports.sockjs}/sockjs`, null, { transports: [transport] })
    const c = conn({
      send: (d) => s.send(d),
      alive: () => s.readyState == 1,
      transport: () => s.transport,
      close: () => (s.close(), closed((f) => s.addEventListener('close', f))),
      textOnly: true,
    })
    s.onmessage = (e) => c.onmessage(e.data)
    s.addEventListener('close', (e) => c.onclose(`closed ${e.code} ${e.reason}`))
    return opened(
      c,
      (ok, fail) => (
        (s.onopen = ok),
        s.addEventListener('close', (e) => fail(new Error('closed ' + e.code + ' ' + e.reason)))
      ),
    )
  },
}

/** Open one connection for a case name such as `sockjs-xhr-streaming`. */
export function open(name, ports) {
  const [lib, ...rest] = name.split('-')
  return adapters[lib](ports, rest.join('-'))
}
