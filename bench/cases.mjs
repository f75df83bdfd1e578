// What is measured: one case per client and transport. `kind` groups transports that do the
// same job, so Lifeline is compared with the best peer of its own kind; `server` names the echo
// server in servers.mjs the case talks to. The page (page/clients.js) knows each `name`.

export const CASES = [
  { name: 'raw', label: 'raw WebSocket', kind: 'websocket', server: 'ws', lib: 'raw' },
  { name: 'lifeline-websocket', label: 'Lifeline websocket', kind: 'websocket', server: 'lifeline', lib: 'lifeline' },
  // The same with `send(data, { transfer: true })`: the page's binary messages are fresh buffers
  // it never touches again.
  {
    name: 'lifeline-websocket-transfer',
    label: 'Lifeline ws, transfer',
    kind: 'websocket',
    server: 'lifeline',
    lib: 'lifeline',
  },
  { name: 'lifeline-stream', label: 'Lifeline stream', kind: 'streaming', server: 'lifeline', lib: 'lifeline' },
  { name: 'lifeline-polling', label: 'Lifeline polling', kind: 'polling', server: 'lifeline', lib: 'lifeline' },
  { name: 'eio-websocket', label: 'engine.io websocket', kind: 'websocket', server: 'engine.io', lib: 'peer' },
  { name: 'eio-polling', label: 'engine.io polling', kind: 'polling', server: 'engine.io', lib: 'peer' },
  { name: 'sockjs-websocket', label: 'sockjs websocket', kind: 'websocket', server: 'sockjs', lib: 'peer' },
  { name: 'sockjs-xhr-streaming', label: 'sockjs xhr-streaming', kind: 'streaming', server: 'sockjs', lib: 'peer' },
  { name: 'sockjs-xhr-polling', label: 'sockjs xhr-polling', kind: 'polling', server: 'sockjs', lib: 'peer' },
]

/** The figures, in table order. `better` says which direction wins. */
export const METRICS = [
  { key: 'connectMs', label: 'connect, median', unit: 'ms', better: 'lower' },
  { key: 'rttP50', label: 'round trip p50', unit: 'ms', better: 'lower' },
  { key: 'rttP99', label: 'round trip p99', unit: 'ms', better: 'lower' },
  { key: 'hRttP50', label: 'reply-from-handler round trip p50', unit: 'ms', better: 'lower' },
  { key: 'hRttP99', label: 'reply-from-handler round trip p99', unit: 'ms', better: 'lower' },
  { key: 'smallRate', label: '100 B echo throughput', unit: 'msg/s', better: 'higher' },
  { key: 'bigRate', label: '64 KB echo throughput', unit: 'MB/s', better: 'higher' },
  { key: 'burstRate', label: '1 MiB as 16 x 64 KiB, from the handler', unit: 'MiB/s', better: 'higher' },
  { key: 'cpuPer10k', label: 'server CPU per 10k msgs', unit: 'ms', better: 'lower' },
  { key: 'memRss', label: 'server RSS per 1k idle', unit: 'MB', better: 'lower' },
  { key: 'memHeap', label: 'server heap per 1k idle', unit: 'MB', better: 'lower' },
]

/** Size of each measurement; small enough for the whole run to stay well under 10 minutes. */
export const PLAN = {
  connects: 30,
  rttWarmup: 20,
  rtts: 500,
  rttBoxMs: 8000,
  small: 20000,
  smallBytes: 100,
  smallRounds: 5,
  big: 1600,
  bigBytes: 65536,
  // 4 MiB in flight: Lifeline's HTTP transports put everything queued into one POST, and the
  // server refuses bodies over maxMessageSize + 1 MiB (5 MiB by default). See README.
  bigWindow: 64,
  boxMs: 10000,
  stallMs: 3000,
  // Reply-from-handler: sequential echoes (as many as fit in the time box), and 1 MiB bursts.
  handlerRtts: 2000,
  handlerBoxMs: 10000,
  handlerBig: 16,
  handlerBigRounds: 40,
  idle: 1000,
}
