// A session owner in a process of its own, for the fencing test (durability.test.ts): it makes a
// session, then appends a numbered message every few ms with its fencing token and renews its
// node lease, printing every answer as a JSON line. It never checks its own lease first: the test
// is that Redis refuses its writes once another node took the session over. On `fenced` it drops
// the session (prints, exits), as a node drops the connections of a session it lost.
//
//   node --import tsx owner-child.ts <redis url> <sid> <node lease ms>
import { createClient } from 'redis'
import { fromNodeRedis } from '../../../src/server/cluster/redis'
import { ClusterStore } from '../../../src/server/cluster/store'

const [url, sid, lease] = process.argv.slice(2)
const say = (line: object) => process.stdout.write(JSON.stringify(line) + '\n')
const client = createClient({ url })
client.on('error', () => {})
await client.connect()
const store = new ClusterStore(fromNodeRedis(client), { node: 'frozen-owner', prefix: 'test:', nodeLease: +lease })
await store.lease.heartbeat()
const made = await store.createSession(sid, { origin: '', address: '127.0.0.1', reliable: true })
say({ made: made.status })
let i = 0
const renew = setInterval(async () => say({ renewed: await store.lease.heartbeat() }), Math.floor(+lease / 3))
const write = setInterval(async () => {
  const n = ++i
  const r = await store.appendOutgoing(sid, 1, ['A' + n])
  say({ n, status: r.status, seq: r.status == 'ok' ? r.first : 0 })
  if (r.status == 'fenced') {
    clearInterval(write)
    clearInterval(renew)
    // What its own renewal says now (the test checks that it reports the lapse): the interval's
    // next one, overdue after SIGCONT as the writes were, could be answered after this exit.
    say({ renewed: await store.lease.heartbeat() })
    await store.link.quit()
    process.exit(0)
  }
}, 5)
