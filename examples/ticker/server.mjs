// The ticker's server half: exchange rates pushed to every page four times a second, and trades
// acknowledged. Mounted by ../serve.mjs at PATH.
import { LifelineServer } from '../../dist/server.mjs'

export const PATH = '/rt/ticker'
const START = {
  'EUR/USD': 1.085,
  'GBP/USD': 1.27,
  'USD/JPY': 151.2,
  'USD/CHF': 0.905,
  'AUD/USD': 0.655,
  'USD/CAD': 1.36,
}

export function ticker() {
  const ll = new LifelineServer({ path: PATH })
  const rates = { ...START }
  // A random walk, broadcast to every session: one message per tick with all the pairs.
  const timer = setInterval(() => {
    for (const pair in rates) rates[pair] *= 1 + (Math.random() - 0.5) * 0.0006
    ll.broadcast(JSON.stringify({ type: 'rates', at: Date.now(), rates }))
  }, 250)

  // Trades carry an id from the page. A page that lost its session (server restart) resends what
  // was never acknowledged; a trade seen before is confirmed again, not booked twice. (Kept in
  // memory here; a real service keeps booked ids where a restart cannot lose them.)
  const booked = new Map()
  ll.on('connection', (session) => {
    session.on('message', (data) => {
      let t
      try {
        t = JSON.parse(data)
      } catch {
        return
      }
      if (t.type != 'trade' || !rates[t.pair] || !(t.amount > 0) || typeof t.id != 'string') return
      if (!booked.has(t.id)) {
        booked.set(t.id, {
          type: 'trade',
          id: t.id,
          pair: t.pair,
          side: t.side == 'sell' ? 'sell' : 'buy',
          amount: t.amount,
          price: rates[t.pair],
          at: Date.now(),
        })
        if (booked.size > 10000) booked.delete(booked.keys().next().value)
      }
      session.send(JSON.stringify(booked.get(t.id)))
    })
  })
  return { ll, stop: () => (clearInterval(timer), ll.close()) }
}
