import { useEffect, useRef, useState } from 'react'
import { Lifeline } from 'lifeline-rt'

/**
 * One Lifeline for the component that calls it (the root of a tree: pass `ll` down as a prop or
 * through a context), closed when it unmounts or `url` changes. `onMessage(data)` gets each message.
 */
export function useLifeline(url, onMessage) {
  const [conn, setConn] = useState({ ll: null, state: 'connecting' })
  const handler = useRef(onMessage)
  handler.current = onMessage
  useEffect(() => {
    const ll = new Lifeline(url)
    ll.on('message', (e) => handler.current(e.data))
    ll.on('state', (e) => setConn({ ll, state: e.current }))
    setConn({ ll, state: ll.state })
    return () => ll.close()
  }, [url])
  return conn
}
