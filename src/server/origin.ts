import type { IncomingMessage } from 'node:http'
import type { ServerResolved } from './options'
import type { SessionHost } from './session'

/**
 * Refused origins logged, at most; past it one line says the rest go unlogged, so a client making
 * up a new `Origin` per request cannot grow the set or flood the log.
 * @internal
 */
export const MAX_LOGGED_ORIGINS = 100

/** A close frame's reason is at most 123 bytes (RFC 6455 §5.5: 125 for the body, 2 of them the code). */
const MAX_REASON_BYTES = 123

/**
 * A `Host` value as a browser or proxy writes it: a name or IPv4 address, or a bracketed IPv6 one,
 * then an optional port. Anything else (`@`, `/`, spaces) is not a host and matches nothing.
 */
const HOST_PORT = /^(\[[0-9a-f:.]+\]|[a-z0-9_.-]+)(?::\d{1,5})?$/i

/**
 * Who may use the server: the `origins` option, applied to a request's `Origin`. A refusal is
 * logged once per origin at `warn` and explained in the close reason the client gets.
 * @internal
 */
export class OriginGate {
  private _logged = new Set<string>()

  constructor(
    private _o: ServerResolved,
    private _log: SessionHost['log'],
  ) {}

  /**
   * Undefined when a page at `origin` may use the server (no `Origin` at all is a non-browser
   * client, which could send any), else the close reason to refuse it with.
   */
  refusal(req: IncomingMessage, origin: string): string | undefined {
    const allow = this._o.origins
    if (!origin || allow == '*') return
    if (typeof allow == 'function') {
      try {
        if (allow(origin, req) === true) return
      } catch (e) {
        // The app's bug refuses rather than taking the server down.
        this._log('warn', 'origins function threw:', e)
      }
      return this._refuse(
        origin,
        `origin refused by the origins function: ${JSON.stringify(origin)}`,
        'origin not allowed by the origins function',
      )
    }
    if (Array.isArray(allow)) {
      if (allow.some((entry) => entryMatches(entry, origin))) return
      return this._refuse(
        origin,
        `origin refused: ${JSON.stringify(origin)} is not in origins ${JSON.stringify(allow)}`,
        fit(`origin not allowed: ${origin} is not in origins`, 'origin not allowed: not in origins'),
      )
    }
    return this._sameSite(req, origin)
  }

  /**
   * The default: the page's host name must be the server's own, as the request names it. Ports
   * and schemes are not compared (Phoenix's `check_origin` does the same), because proxies drop
   * the port from `Host` (nginx `$host`) and terminate TLS. The server's name is the `Host`
   * header's or, with `trustProxy` and forwarded hosts present, the `X-Forwarded-Host` and
   * `Forwarded: host=` values the trusted proxies wrote: then `Host` is the proxy's choice (the
   * upstream's own address behind Apache's default) and does not count. A browser cannot forge
   * `Host`, nor, cross-site, those headers.
   */
  private _sameSite(req: IncomingMessage, origin: string): string | undefined {
    const page = originHost(origin)
    const host = String(req.headers.host || '')
    const trusted = trustCount(this._o.trustProxy)
    const xfh = list(req.headers['x-forwarded-host'])
    const fwd = forwardedHosts(String(req.headers.forwarded || ''))
    // Each trusted proxy appended one entry: those are the last `trusted` of each list.
    const forwarded = trusted ? [...xfh.slice(xfh.length - trusted), ...fwd.slice(fwd.length - trusted)] : []
    const names = forwarded.length ? forwarded : [host]
    if (page && names.some((name) => hostName(name) == page)) return
    const quoted = JSON.stringify(origin)
    if (!page)
      return this._refuse(
        origin,
        `origin refused: ${quoted} has no host name to compare (a sandboxed or file: page); ` +
          `if it is yours, list it: origins: [${quoted}]`,
        fit(
          `origin not allowed: ${origin} has no host; list it in origins`,
          'origin not allowed: no host; see origins',
        ),
      )
    const seen = [`Host ${JSON.stringify(host)}${forwarded.length ? ' (not compared: forwarded hosts are)' : ''}`]
    const trust = trusted ? ` (the last ${trusted} trusted)` : ' (ignored: trustProxy is off)'
    if (xfh.length) seen.push(`X-Forwarded-Host ${JSON.stringify(xfh.join(', '))}${trust}`)
    if (fwd.length) seen.push(`Forwarded host ${JSON.stringify(fwd.join(', '))}${trust}`)
    // The one change most likely to fix it, for the close reason.
    let fix = 'not the Host; forward Host, or'
    if (forwarded.length) fix = 'not the forwarded host; set'
    else if (xfh.length || fwd.length) fix = 'X-Forwarded-Host untrusted; set trustProxy, or'
    return this._refuse(
      origin,
      `origin refused: the page's host ${JSON.stringify(page)} (${quoted}) is not the server's: ${seen.join(', ')}; ` +
        'ports and schemes are not compared. If the page is yours: behind a proxy, pass the public Host on ' +
        '(nginx proxy_set_header Host $host; Apache ProxyPreserveHost On) or set trustProxy if the proxy ' +
        `sends X-Forwarded-Host or Forwarded; or list the page: origins: [${quoted}]`,
      fit(`origin not allowed: ${fix} origins: ['${origin}']`, `origin not allowed: ${fix} origins`),
    )
  }

  /** Log `detail` the first time `origin` is refused; returns `reason`, the close frame's. */
  private _refuse(origin: string, detail: string, reason: string): string {
    const logged = this._logged
    if (!logged.has(origin) && logged.size < MAX_LOGGED_ORIGINS) {
      logged.add(origin)
      this._log('warn', detail + ' (logged once per origin)')
      if (logged.size == MAX_LOGGED_ORIGINS)
        this._log('warn', `${MAX_LOGGED_ORIGINS} origins refused; further refused origins are not logged`)
    }
    return reason
  }
}

/**
 * `full`, or `short` when `full` passes the 123 bytes a close reason may have (an origin is
 * whatever the client sent, of any length).
 */
function fit(full: string, short: string): string {
  return Buffer.byteLength(full) <= MAX_REASON_BYTES ? full : short
}

/**
 * Whether an `origins` entry allows `origin`: the same string (`'null'`, `capacitor://localhost`),
 * the same http(s) origin however the entry is written (`https://App.example:443/`), or for an
 * entry `//host` or `//host:port` (Phoenix's form) that host, on any scheme, on any port or that one.
 */
function entryMatches(entry: string, origin: string): boolean {
  if (entry === origin) return true
  const page = webUrl(origin)
  if (!page) return false
  if (entry.slice(0, 2) == '//') {
    const listed = webUrl('http:' + entry)
    const port = /:(\d+)$/.exec(entry)
    const pagePort = +page.port || (page.protocol == 'https:' ? 443 : 80)
    return !!listed && listed.hostname == page.hostname && (!port || +port[1] == pagePort)
  }
  const listed = webUrl(entry)
  return !!listed && listed.origin == page.origin
}

/** `s` as an http(s) URL, or undefined (custom schemes' origins are `'null'` to `URL`: never compared so). */
function webUrl(s: string): URL | undefined {
  try {
    const u = new URL(s)
    return u.protocol == 'http:' || u.protocol == 'https:' ? u : undefined
  } catch (e) {
    // Not a URL (`null`, garbage): nothing to compare.
    return undefined
  }
}

/** The host name of a page origin, normalised as {@link hostName}; undefined for `null` and the like. */
function originHost(origin: string): string | undefined {
  try {
    const u = new URL(origin)
    return u.host ? hostName(u.host) : undefined
  } catch (e) {
    return undefined
  }
}

/**
 * A `host[:port]` value's host name: lower case, IPv6 and IPv4 written as `URL` writes them, one
 * trailing dot dropped (nginx's `$host` drops it, a browser's `Origin` keeps it). Empty when it is
 * not a host.
 */
export function hostName(value: string): string {
  const v = value.trim()
  if (!HOST_PORT.test(v)) return ''
  try {
    return new URL('http://' + v).hostname.replace(/\.$/, '')
  } catch (e) {
    return ''
  }
}

/** A comma-separated header's entries, trimmed, empty ones left out. */
function list(value: string | string[] | undefined): string[] {
  return String(value || '')
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean)
}

/** The `host=` of each element of a `Forwarded` header (RFC 7239 §4), in the order written. */
function forwardedHosts(header: string): string[] {
  const hosts: string[] = []
  for (const element of splitOutsideQuotes(header, ',')) {
    for (const pair of splitOutsideQuotes(element, ';')) {
      const eq = pair.indexOf('=')
      if (eq < 0 || pair.slice(0, eq).trim().toLowerCase() != 'host') continue
      const value = pair.slice(eq + 1).trim()
      hosts.push(value[0] == '"' ? value.slice(1, -1).replace(/\\(.)/g, '$1') : value)
    }
  }
  return hosts
}

/** `s` split at each `sep` that is not inside a quoted string. */
function splitOutsideQuotes(s: string, sep: string): string[] {
  const parts: string[] = []
  let quoted = false
  let start = 0
  for (let i = 0; i < s.length; i++) {
    if (s[i] == '\\' && quoted) i++
    else if (s[i] == '"') quoted = !quoted
    else if (s[i] == sep && !quoted) {
      parts.push(s.slice(start, i))
      start = i + 1
    }
  }
  parts.push(s.slice(start))
  return parts.filter((p) => p.trim())
}

/** How many proxies `trustProxy` trusts: `true` is one. */
function trustCount(trust: boolean | number | undefined): number {
  const n = trust === true ? 1 : +(trust || 0)
  return n >= 1 ? Math.floor(n) : 0
}
