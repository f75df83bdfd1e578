// The chat's server half: every message goes to every open page; a page that joins gets the
// last 20 (kept per process). Mounted by ../serve.mjs at PATH. `options` are more LifelineServer
// options: `npm run demo:cluster` gives `cluster`, and the broadcast reaches every node's pages.
import { LifelineServer } from '../../dist/server.mjs'

export const PATH = '/rt/chat'

export function chat(options = {}) {
  const ll = new LifelineServer({ path: PATH, ...options })
  const history = []
  ll.on('connection', (session) => {
    for (const m of history) session.send(m)
    session.on('message', (data) => {
      let m
      try {
        m = JSON.parse(data)
      } catch {
        return
      }
      if (typeof m.text != 'string' || typeof m.from != 'string') return
      const out = JSON.stringify({
        id: String(m.id),
        from: m.from.slice(0, 40),
        text: m.text.slice(0, 2000),
        at: Date.now(),
      })
      history.push(out)
      if (history.length > 20) history.shift()
      // To every session, the sender's own included: that copy is its delivery receipt.
      ll.broadcast(out)
    })
  })
  return { ll, stop: () => ll.close() }
}
