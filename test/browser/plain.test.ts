// Plain mode (`LifelinePlain`): a Lifeline client straight to a plain WebSocket server, here
// Tomcat 10's Jakarta WebSocket echo example, a server that knows nothing of Lifeline.
import { LifelinePlain } from '../../src/client/index'
import { assert, bytesOf, equal, messages, next } from './helpers'
import { restartTomcat, stopTomcat, tomcat, type Tomcat } from './tomcat'

describe('plain mode against Tomcat 10 (Jakarta WebSocket examples)', function () {
  let tc: Tomcat
  const clients: LifelinePlain[] = []
  const open = (url: string) => {
    const ll = new LifelinePlain(url, { minDelay: 50, maxDelay: 400 })
    ll.binaryType = 'arraybuffer'
    clients.push(ll)
    return ll
  }

  before(async function () {
    tc = await tomcat(this)
  })
  afterEach(() => {
    for (const c of clients.splice(0)) if (c.readyState < 2) c.close()
  })

  it('connects and echoes text and binary', async () => {
    const ll = open(tc.echoUrl)
    await next(ll, 'open', 10000)
    ll.send('plain hello')
    ll.send(new Uint8Array([1, 2, 3, 250]))
    const got = await messages(ll, 2)
    equal(got[0], 'plain hello')
    assert(got[1] instanceof ArrayBuffer, 'binary stays binary')
    equal(await bytesOf(got[1]), [1, 2, 3, 250])
  })

  it('reconnects after Tomcat restarts; messages queued while it was down arrive once it is back', async () => {
    const ll = open(tc.echoUrl)
    await next(ll, 'open', 10000)
    ll.send('before')
    equal(await messages(ll, 1), ['before'])
    const reconnecting = next(ll, 'reconnecting', 15000)
    await stopTomcat()
    await reconnecting
    ll.send('while down 1')
    ll.send('while down 2')
    const got = messages(ll, 2, 20000)
    await restartTomcat()
    equal(await got, ['while down 1', 'while down 2'])
  })
})
