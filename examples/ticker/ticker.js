// The exchange-rate ticker. `Lifeline` is the global defined by <script src="lifeline.min.js">;
// this file is a module only to import the status panel (without that import it runs as a plain
// script). All the JavaScript is in files, so the page runs under `script-src 'self'`.
import { statusPanel } from '../status/status.js'

const ll = new Lifeline('/rt/ticker')
statusPanel(ll, document.getElementById('status'))
const $ = (sel) => document.querySelector(sel)
const line = (text, kind) => Object.assign($('#line'), { textContent: text, className: 'line ' + (kind || '') })

// What the user needs to know about the connection, in one line.
// A reset is followed at once by `transport` and `open`, so its note rides on the next line.
let note = ''
ll.on('transport', (e) => {
  line(`live, via ${e.name}` + note, note && 'warn')
  note = ''
})
ll.on('reconnecting', (e) =>
  line(`reconnecting (attempt ${e.attempt})… trades placed now are sent when it is back`, 'warn'),
)
ll.on('close', (e) => line(`disconnected for good: ${e.code} ${e.reason}`, 'bad'))
// The server lost this session (it restarted, or the page slept past its TTL): a new one starts.
// Trades it never acknowledged may or may not have been booked; they carry an id, so sending
// them again cannot book one twice.
ll.on('reset', (e) => {
  e.unacked.forEach((t) => ll.send(t))
  note = ` (new session after a reset; ${e.unacked.length} unconfirmed trade(s) sent again)`
})

const rows = {}
const trades = {}
ll.onmessage = (e) => {
  const msg = JSON.parse(e.data)
  if (msg.type == 'rates') for (const pair in msg.rates) showRate(pair, msg.rates[pair])
  if (msg.type == 'trade' && trades[msg.id]) {
    trades[msg.id].className = ''
    trades[msg.id].textContent = `${msg.side} ${msg.amount} ${msg.pair} at ${fmt(msg.pair, msg.price)}: confirmed`
  }
}

function showRate(pair, mid) {
  let row = rows[pair]
  if (!row) {
    row = rows[pair] = $('#rates tbody').insertRow()
    for (let i = 0; i < 4; i++) row.insertCell()
    row.cells[0].textContent = pair
    $('#trade [name=pair]').add(new Option(pair))
  }
  const spread = mid * 0.0001
  const up = mid >= (row.mid || mid)
  row.mid = mid
  row.cells[1].textContent = fmt(pair, mid - spread / 2)
  row.cells[2].textContent = fmt(pair, mid + spread / 2)
  row.cells[3].textContent = up ? '▲' : '▼'
  row.className = up ? 'up' : 'down'
}

const fmt = (pair, n) => n.toFixed(/JPY/.test(pair) ? 3 : 5)

$('#trade').onsubmit = (e) => {
  e.preventDefault()
  const f = e.target.elements
  const t = {
    type: 'trade',
    id: Date.now().toString(36) + Math.random().toString(36).slice(2, 8),
    side: f.side.value,
    amount: +f.amount.value,
    pair: f.pair.value,
  }
  const li = (trades[t.id] = document.createElement('li'))
  li.className = 'pending'
  li.textContent = `${t.side} ${t.amount} ${t.pair}: sent…`
  $('#trades').prepend(li)
  // Queued while disconnected, resent after a reconnect until the server acknowledges it.
  ll.send(JSON.stringify(t))
}
