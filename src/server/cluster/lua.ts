// The Lua scripts of the cluster store, each a file in ./lua/ that opens by naming its KEYS and
// ARGV slots and its reply. Each runs atomically in Redis, so a sequence number is assigned, a
// bound checked and a fencing token compared in one step with the write they guard. Every script
// touches the keys of one hash slot only, so a Redis Cluster runs them: a session's keys are
// `{sid}`-tagged, a room's `{room}`-tagged, and the room fan-out runs once per slot of its members
// (docs/cluster-design.md). Hints to nodes are plain PUBLISH, which names no key. Redis 7.0 only:
// nothing newer, so Valkey runs them too.
import { readFileSync } from 'node:fs'
import { Script } from './redis'

/**
 * The text of ./lua/<name>.lua for each name, joined. Read from the files when the server runs
 * from source (tests, tsx); the build inlines each call's text (rollup.config.mjs, `inlineLua`),
 * so the bundle reads no file.
 */
function lua(...names: string[]): string {
  return names.map((name) => readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), 'utf8')).join('\n')
}

// A node's lease (lease.ts).
export const RENEW = new Script('renew', lua('lease-renew'))

// A session's state (store.ts). Each but these four opens with the helpers of common.lua.
export const CREATE = new Script('create', lua('create'))
export const HEARTBEAT = new Script('heartbeat', lua('heartbeat'))
export const BIND = new Script('bind', lua('bind'))
export const DETACH = new Script('detach', lua('detach'))
export const SESSION = new Script('session', lua('common', 'session'))
export const CLAIM = new Script('claim', lua('common', 'claim'))
export const RELEASE = new Script('release', lua('common', 'release'))
export const APPEND = new Script('append', lua('common', 'append'))
export const ACK = new Script('ack', lua('common', 'ack'))
export const READ = new Script('read', lua('common', 'read'))
export const RECORD = new Script('record', lua('common', 'record'))
export const INBOX = new Script('inbox', lua('common', 'inbox'))
export const DELIVERED = new Script('delivered', lua('common', 'delivered'))
export const ACTIVATE = new Script('activate', lua('common', 'activate'))
export const CLOSE = new Script('close', lua('common', 'close'))
export const TOUCH = new Script('touch', lua('common', 'touch'))

// Which nodes hold a link of a session: its keys' life (holds.ts).
export const HOLD = new Script('hold', lua('common', 'hold'))
export const LET_GO = new Script('let-go', lua('let-go'))

// Rooms: a member's own rooms, and fan-out into members' own logs (rooms.ts).
export const MEMBER = new Script('member', lua('common', 'member'))
export const SESSION_ROOM = new Script('session-room', lua('common', 'session-room'))
export const FANOUT = new Script('fanout', lua('common', 'fanout'))

// Rooms as logs (room-log.ts), on Redis's clock.
export const ROOM_APPEND = new Script('room-append', lua('time', 'room-common', 'room-append'))
export const ROOM_HEAD = new Script('room-head', lua('time', 'room-common', 'room-head'))
export const ROOM_MEMBER = new Script('room-member', lua('time', 'room-common', 'room-member'))
export const ROOM_READ = new Script('room-read', lua('time', 'room-common', 'room-read'))

// The cluster's session counts (census.ts), on Redis's clock.
export const CENSUS_ADMIT = new Script('census-admit', lua('time', 'census-common', 'census-admit'))
export const CENSUS_RENEW = new Script('census-renew', lua('time', 'census-common', 'census-renew'))
export const CENSUS_LEAVE = new Script('census-leave', lua('census-leave'))
export const CENSUS_COUNT = new Script('census-count', lua('time', 'census-count'))
