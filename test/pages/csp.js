// Runs under script-src 'self': connects on each transport, echoes, and reports to the parent.
const violations = []
document.addEventListener('securitypolicyviolation', (e) => violations.push(e.violatedDirective + ' ' + e.blockedURI))
const url = decodeURIComponent(location.hash.slice(1))
const results = {}
function one(t) {
  return new Promise((resolve) => {
    const ll = new Lifeline(url, { transports: [t], storage: null })
    const timer = setTimeout(() => resolve('timeout'), 10000)
    ll.onmessage = (e) => {
      clearTimeout(timer)
      ll.close()
      resolve(e.data)
    }
    ll.send('csp ' + t)
  })
}
;(async () => {
  for (const t of ['websocket', 'stream', 'polling']) results[t] = await one(t)
  parent.postMessage({ lifelineCsp: results, violations }, '*')
})()
