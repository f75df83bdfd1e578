import http from 'node:http'
import { LifelineServer } from 'lifeline-rt/server'

// The page: the script-tag build (the server below serves it), then what prints each message.
const page = `<!doctype html>
<title>Hello, Lifeline</title>
<script src="/rt/lifeline.min.js"></script>
<script>
  const ll = new Lifeline('/rt')
  ll.onmessage = (e) => document.body.append(e.data, document.createElement('br'))
  ll.send('hello from the page')
</script>`

const server = http.createServer((req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(page))
const ll = new LifelineServer({ server, path: '/rt' })
ll.on('connection', (session) => {
  session.send('welcome: the server pushed this when you connected') // unprompted
  session.on('message', (text) => session.send('the server heard: ' + text))
})
server.listen(process.env.PORT || 8080, () => console.log(`open http://localhost:${server.address().port}`))
