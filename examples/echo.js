// The smallest Lifeline page: connect, show the state, echo what you type.
const ll = new Lifeline('/rt')
const $ = (id) => document.getElementById(id)
const log = (line) => ($('log').textContent = line + '\n' + $('log').textContent)
ll.on('state', (e) => ($('status').textContent = e.current))
ll.on('transport', (e) => ($('transport').textContent = e.name + ' (' + e.reason + ')'))
ll.onmessage = (e) => log('echo: ' + e.data)
$('f').onsubmit = (e) => {
  e.preventDefault()
  ll.send($('msg').value)
}
