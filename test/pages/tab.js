// One "tab": its own session; sends numbered messages tagged with its name and reports what came back.
const [name, url, transport] = decodeURIComponent(location.hash.slice(1)).split('|')
const ll = new Lifeline(url, { transports: [transport], storage: null })
const got = []
ll.onmessage = (e) => {
  got.push(e.data)
  if (got.length == 20) parent.postMessage({ tab: name, got, sid: ll.sessionId }, '*')
}
for (let i = 0; i < 20; i++) ll.send(name + ':' + i)
