// Debug only, for the chat's "drop my connection" button: cut one page's connections and refuse
// its requests for a while, as a network that goes away would. The page names itself with a
// `tab` query parameter on its Lifeline URL, which every request it makes carries.
//
//   POST /debug/drop?tab=<tab>&ms=5000
//
// Lifeline has no public call that drops a session's connection without ending the session, so
// this works at the socket level. Do not expose it outside a demo.
const tabOf = (req) => new URL(req.url, 'http://x').searchParams.get('tab')

export function dropper() {
  const sockets = new Map() // socket -> tab of the last request it carried
  const blocked = new Map() // tab -> refused until (ms since epoch)
  return {
    /** Refuse (destroy) a request of a page that is "offline"; otherwise note its socket. */
    refuses(req, socket = req.socket) {
      const tab = tabOf(req)
      if (!tab) return false
      if (blocked.get(tab) > Date.now()) return (socket.destroy(), true)
      if (!sockets.has(socket)) socket.once('close', () => sockets.delete(socket))
      sockets.set(socket, tab)
      return false
    },
    /** The debug endpoint; false for any other request. */
    handle(req, res) {
      const url = new URL(req.url, 'http://x')
      if (url.pathname != '/debug/drop' || req.method != 'POST') return false
      const tab = url.searchParams.get('tab')
      const ms = Math.min(Number(url.searchParams.get('ms')) || 5000, 60000)
      blocked.set(tab, Date.now() + ms)
      res.writeHead(204).end()
      for (const [socket, t] of sockets) if (t == tab && socket != req.socket) socket.destroy()
      return true
    },
  }
}
