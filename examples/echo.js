// The smallest Lifeline page: connect, show the state, echo what you type.
const ll = new Lifeline('/rt')
const $ = (id) => document.getElementById(id)
ll.on('state', (e) => ($('status').textContent = e.current))
ll.on('transport', (e) => ($('transport').textContent = e.name + ' (' + e.reason + ')'))
ll.onmessage = (e) => ($('log').textContent = 'echo: ' + e.data + '\n' + $('log').textContent)
$('f').onsubmit = (e) => {
  e.preventDefault()
  ll.send($('msg').value)
}
