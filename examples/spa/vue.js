import { onUnmounted, shallowRef } from 'vue'
import { Lifeline } from 'lifeline-rt'

/**
 * In a component's `setup()`: one Lifeline for that component (the root of a tree: `provide()` it
 * to the rest), closed when it unmounts. `onMessage(data)` gets each message; `state` is a ref.
 */
export function useLifeline(url, onMessage) {
  const ll = new Lifeline(url)
  const state = shallowRef(ll.state)
  ll.on('message', (e) => onMessage(e.data))
  ll.on('state', (e) => (state.value = e.current))
  onUnmounted(() => ll.close())
  return { ll, state }
}
