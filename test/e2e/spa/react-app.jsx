// A React app using the recipe of docs/frameworks.md (examples/spa/react.jsx), under StrictMode,
// whose development build mounts, unmounts and mounts again: the first Lifeline must be closed.
import { StrictMode, useState } from 'react'
import { createRoot } from 'react-dom/client'
import { useLifeline } from '../../../examples/spa/react.jsx'

function Chat() {
  const [lines, setLines] = useState([])
  const { ll, state } = useLifeline('/rt', (data) => setLines((l) => [...l, data]))
  return (
    <div>
      <p id="state">{state}</p>
      <button id="send" onClick={() => ll.send('hello from react')}>
        send
      </button>
      <ul id="lines">
        {lines.map((line, i) => (
          <li key={i}>{line}</li>
        ))}
      </ul>
    </div>
  )
}

const root = createRoot(document.getElementById('app'))
root.render(
  <StrictMode>
    <Chat />
  </StrictMode>,
)
window.unmount = () => root.unmount()
