// A Vue app using the recipe of docs/frameworks.md (examples/spa/vue.js), with render functions
// (the runtime-only build compiles no templates).
import { createApp, h, ref } from 'vue'
import { useLifeline } from '../../../examples/spa/vue.js'

const Chat = {
  setup() {
    const lines = ref([])
    const { ll, state } = useLifeline('/rt', (data) => lines.value.push(data))
    return () =>
      h('div', [
        h('p', { id: 'state' }, state.value),
        h('button', { id: 'send', onClick: () => ll.send('hello from vue') }, 'send'),
        h(
          'ul',
          { id: 'lines' },
          lines.value.map((line) => h('li', line)),
        ),
      ])
  },
}

const app = createApp(Chat)
app.mount('#app')
window.unmount = () => app.unmount()
