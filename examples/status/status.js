// A status panel any example can include: what the connection is doing and why.
//
//   import { statusPanel } from '/status/status.js'   // plus /status/status.css
//   statusPanel(ll, document.getElementById('status'))
//
// It shows the state, the transport and why it was chosen (the `transport` event's reason), the
// round trip measured when that transport proved itself (`ll.rtt`), reconnect attempts and
// resets, and a button that runs `diagnose` (`lifeline-rt/diagnose`, loaded only when pressed):
// every transport tried on its own. Call it right after `new Lifeline(...)`, before the first event
// can arrive.
const FIELDS = ['state', 'transport', 'why', 'round trip', 'reconnects', 'resets']

export function statusPanel(ll, el) {
  el.classList.add('ll-status')
  el.innerHTML =
    '<dl>' +
    FIELDS.map((f) => `<dt>${f}</dt><dd data-k="${f}">-</dd>`).join('') +
    '</dl>' +
    '<button type="button">Diagnose</button> ' +
    '<span class="muted">tries each transport on its own</span><pre hidden></pre>'
  const set = (k, v) => (el.querySelector(`[data-k="${k}"]`).textContent = v)
  let reconnects = 0
  let resets = 0
  const show = () => {
    set('state', ll.state)
    set('transport', ll.transport || '-')
    set('round trip', ll.transport ? ll.rtt + ' ms' : '-')
  }
  ll.on('state', show)
  ll.on('transport', (e) => {
    set('why', e.reason + (e.previous ? ` (was ${e.previous})` : ''))
    show()
  })
  ll.on('reconnecting', (e) => set('reconnects', `${++reconnects}: attempt ${e.attempt} in ${e.delay} ms, ${e.cause}`))
  ll.on('reset', (e) => set('resets', `${++resets}: ${e.unacked.length} unacknowledged handed back`))
  ll.on('close', (e) => set('state', `closed ${e.code} ${e.reason}`))
  show()

  const button = el.querySelector('button')
  const out = el.querySelector('pre')
  button.onclick = async () => {
    button.disabled = true
    out.hidden = false
    out.textContent = 'trying each transport…'
    // Its own module, loaded when asked for; `ll.constructor` is Lifeline, whether it came from a
    // script tag or an import. (A bundled app writes `import { diagnose } from 'lifeline-rt/diagnose'`.)
    const { diagnose } = await import('/dist/diagnose.mjs')
    const report = await diagnose(ll.constructor, ll.url)
    out.textContent =
      `best: ${report.best || 'none'}\n` +
      report.results
        .map(
          (r) =>
            `${r.transport.padEnd(10)} ${r.ok ? 'ok    ' : 'failed'} ${String(r.ms).padStart(5)} ms  ` +
            (r.ok ? `rtt ${r.rtt} ms` : r.reason),
        )
        .join('\n')
    button.disabled = false
  }
}
