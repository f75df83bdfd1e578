// The chat: plain ES modules, no framework. With a bundler the import below is the same line;
// without one, the page's import map says where 'lifeline-rt' is.
import { Lifeline } from 'lifeline-rt'
import { statusPanel } from '../status/status.js'

const $ = (sel) => document.querySelector(sel)
// A name per tab (sessionStorage is per tab), kept across reloads.
const me = sessionStorage.getItem('name') || 'guest-' + Math.floor(1000 + Math.random() * 9000)
sessionStorage.setItem('name', me)
$('#me').textContent = me

// `tab` only serves the demo's drop button (../drop.mjs): a query on the endpoint URL is sent
// with every request Lifeline makes, so the demo server can tell this page's connections apart.
const tab = me + '-' + Math.random().toString(36).slice(2, 8)
const ll = new Lifeline('/rt/chat?tab=' + encodeURIComponent(tab))
statusPanel(ll, $('#status'))

const line = (text, kind) => Object.assign($('#line'), { textContent: text, className: 'line ' + (kind || '') })
// A reset is followed at once by `transport` and `open`, so its note rides on the next line.
let note = ''
ll.on('transport', (e) => {
  line(`connected via ${e.name}` + note, note && 'warn')
  note = ''
})
ll.on('reconnecting', (e) =>
  line(`connection lost (${e.cause}); reconnecting, attempt ${e.attempt}. Keep typing: messages wait.`, 'warn'),
)
// The server lost this session (it restarted, or the page slept past its TTL). Messages it never
// acknowledged may or may not have gone out: send them again; ids make a second copy harmless.
ll.on('reset', (e) => {
  e.unacked.forEach((m) => ll.send(m))
  note = ` (new session after a reset; ${e.unacked.length} unconfirmed message(s) sent again)`
})

// Our own messages show at once, grey, until the server's broadcast brings them back.
const mine = {}
const seen = new Set()
let sent = 0
ll.onmessage = (e) => {
  const m = JSON.parse(e.data)
  if (seen.has(m.id)) return
  seen.add(m.id)
  const li = mine[m.id] || $('#messages').appendChild(document.createElement('li'))
  li.className = ''
  li.replaceChildren(Object.assign(document.createElement('b'), { textContent: m.from }), m.text)
  delete mine[m.id]
}

$('#say').onsubmit = (e) => {
  e.preventDefault()
  const input = e.target.elements.text
  const id = tab + '.' + ++sent
  const li = (mine[id] = $('#messages').appendChild(document.createElement('li')))
  li.className = 'pending'
  li.replaceChildren(Object.assign(document.createElement('b'), { textContent: me }), input.value)
  ll.send(JSON.stringify({ id, from: me, text: input.value }))
  input.value = ''
}

// The network goes away for 5 s (the server cuts and refuses this page's connections), then
// comes back. A browser fires `online` when its network returns; here we fire it ourselves, so
// Lifeline retries at once instead of waiting out its backoff.
$('#drop').onclick = async () => {
  $('#drop').disabled = true
  await fetch('/debug/drop?ms=5000&tab=' + encodeURIComponent(tab), { method: 'POST' })
  setTimeout(() => {
    $('#drop').disabled = false
    window.dispatchEvent(new Event('online'))
  }, 5000)
}
