// The HTTP round trip of a reply sent from inside the message handler (issue 19), in Chromium
// against the real server: what goes out when, seen through the client's `fetch` option.
import { assert, cleanup, connect, equal, messages, next, server, until } from './helpers'

const real = (url: RequestInfo | URL, init?: RequestInit) => fetch(url, init)

interface Call {
  method: string
  url: string
  at: number
  headAt?: number
  bodyAt?: number
}

/** A fetch that logs every call; `change(call, res)` may stand in for a response. */
function logged(change?: (c: Call, res: Response) => Promise<Response>) {
  const calls: Call[] = []
  const f = (url: RequestInfo | URL, init: RequestInit = {}) => {
    const c: Call = { method: init.method || 'GET', url: String(url), at: performance.now() }
    calls.push(c)
    return real(url, init).then((res) => {
      c.headAt = performance.now()
      return change ? change(c, res) : res
    })
  }
  return { calls, fetch: f as typeof fetch }
}

/** POST answers whose body comes `ms` after their headers. */
const slowBodies = (ms: number) =>
  logged(async (c, res) => {
    if (c.method != 'POST') return res
    const bytes = new Uint8Array(await res.arrayBuffer())
    const body = new ReadableStream<Uint8Array>({
      start(ctrl) {
        setTimeout(() => {
          c.bodyAt = performance.now()
          ctrl.enqueue(bytes)
          ctrl.close()
        }, ms)
      },
    })
    return new Response(body, { status: res.status, headers: res.headers })
  })

const posts = (calls: Call[]) => calls.filter((c) => c.method == 'POST')
const settled = (calls: Call[]) => until(() => posts(calls).every((c) => c.bodyAt), 5000, 'POSTs answered')

describe('HTTP round trip (issue 19)', function () {
  afterEach(cleanup)

  it("polling: the next poll is out before the app's handler runs, its cursor counting what it is handed", async () => {
    const s = await server()
    const { calls, fetch } = logged()
    const ll = connect(s.url, 'polling', { fetch })
    await next(ll, 'open')
    const polls: string[] = []
    ll.onmessage = () => polls.push(calls.filter((c) => c.method == 'GET').pop()!.url)
    ll.send('x')
    await until(() => polls.length == 1, 5000, 'the echo')
    assert(/[?&]ack=1(&|$)/.test(polls[0]), 'the poll out when the handler ran: ' + polls[0])
  })

  for (const t of ['stream', 'polling'] as const) {
    it(`${t}: the next POST goes when the last one's answer headers are in, before its body is read`, async () => {
      const s = await server()
      const { calls, fetch } = slowBodies(400)
      const ll = connect(s.url, t, { fetch })
      await next(ll, 'open')
      await settled(calls)
      const from = posts(calls).length
      const got = messages(ll, 3)
      // Two POSTs in flight, each in its own task, their answers' bodies held back.
      ll.send('a')
      await until(() => posts(calls).length == from + 1, 5000, 'POST a')
      ll.send('b')
      await until(
        () =>
          posts(calls)
            .slice(from)
            .every((c) => c.headAt) && posts(calls).length == from + 2,
      )
      ll.send('c')
      await until(() => posts(calls).length == from + 3, 5000, 'POST c')
      const [a, b, c] = posts(calls).slice(from)
      assert(!a.bodyAt && !b.bodyAt, 'c went while the bodies of a and b were still held')
      assert(c.at > b.headAt!)
      equal(await got, ['a', 'b', 'c'])
    })

    it(`${t}: at most 2 POSTs in flight; a third waits for one of them, and order holds`, async () => {
      const s = await server()
      let open: () => void = () => {}
      const gate = new Promise<void>((r) => (open = r))
      let held = false
      const { calls, fetch } = logged((c, res) => (held && c.method == 'POST' ? gate.then(() => res) : res))
      const ll = connect(s.url, t, { fetch })
      await next(ll, 'open')
      await until(() => posts(calls).every((c) => c.headAt), 5000, 'POSTs answered')
      held = true
      const from = posts(calls).length
      const got = messages(ll, 3)
      for (const m of ['a', 'b', 'c']) {
        ll.send(m)
        await new Promise((r) => setTimeout(r, 0))
      }
      await until(() => posts(calls).length == from + 2, 5000, 'two POSTs')
      // Nothing to wait for but time: the third must not go while two are held (5 tasks' worth).
      for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 20))
      equal(posts(calls).length, from + 2, 'two in flight, no more')
      held = false
      open()
      equal(await got, ['a', 'b', 'c'])
      equal(posts(calls).length, from + 3)
    })
  }
})
