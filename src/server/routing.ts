// Which requests are a LifelineServer's, and how it gets them first on a server it attaches to.
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http'
import type { Server as HttpsServer } from 'node:https'
import { CLIENT_FILES } from './client-script'

/** What {@link routeOf} says for a request to the endpoint itself. @internal */
export const ENDPOINT = '.'

/**
 * The paths a request may be for, without the query: as the client sent it, which Express and
 * Connect keep in `originalUrl` when a mount (`app.use('/rt', handler)`) strips its prefix from
 * `url`, and `url` as it reaches us (a handler mounted under a prefix with `path` set to the rest).
 * @internal
 */
export function requestPaths(req: IncomingMessage): string[] {
  const original = (req as { originalUrl?: unknown }).originalUrl
  const urls = typeof original == 'string' && original != req.url ? [original, req.url || ''] : [req.url || '']
  return urls.map((url) => {
    const q = url.indexOf('?')
    return q < 0 ? url : url.slice(0, q)
  })
}

/**
 * What a request is for: the endpoint at `path` ({@link ENDPOINT}), with `serveClient` the name
 * of one of the client files under it, or '' when it is not ours.
 * @internal
 */
export function routeOf(req: IncomingMessage, path: string, serveClient: boolean | undefined): string {
  const base = path.replace(/\/$/, '') + '/'
  for (const p of requestPaths(req)) {
    if (p == path) return ENDPOINT
    if (serveClient && p.startsWith(base) && CLIENT_FILES[p.slice(base.length)]) return p.slice(base.length)
  }
  return ''
}

/**
 * Give `handle` each of the server's requests before any 'request' listener sees it, whether
 * that listener was added before or after (an app that answers every request would otherwise
 * answer Lifeline's a second time); those it takes (it returns true) reach no listener. The
 * listeners stay where they are, so `server.off` keeps working, and what takes them over later
 * (engine.io's `attach`, another LifelineServer) finds the app's own.
 * @internal
 */
export function takeRequestsFirst(
  server: HttpServer | HttpsServer,
  handle: (req: IncomingMessage, res: ServerResponse) => boolean,
): void {
  const emit = server.emit
  server.emit = function (this: typeof server, event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'request' && handle(args[0] as IncomingMessage, args[1] as ServerResponse)) return true
    return emit.apply(this, [event, ...args] as Parameters<typeof emit>)
  } as typeof emit
}
