// Tomcat 10 and gateways in front of it, through the control server (test/support/fixtures.mjs).
import { ctl } from './helpers'

export interface Tomcat {
  available: boolean
  /** Why not, when not available (Java or Tomcat could not be installed). */
  why?: string
  port: number
  /** ws:// URL of the examples' EchoAnnotation endpoint. */
  echoUrl: string
}

/** Tomcat with its examples, started on first use and shared by the run; skips the suite when it cannot run. */
export async function tomcat(ctx: { timeout(ms: number): unknown; skip(): void }): Promise<Tomcat> {
  ctx.timeout(90000)
  const t = await ctl<Tomcat>('tomcat')
  if (!t.available) {
    console.warn('SKIPPED: ' + t.why)
    ctx.skip()
  }
  return t
}

export const stopTomcat = () => ctl('tomcatStop')
export const restartTomcat = () => ctl<Tomcat>('tomcatRestart')

export interface Gateway {
  id: number
  port: number
  url: string
  stop(): Promise<unknown>
}

/** A gateway LifelineServer on a fresh port whose upstream is Tomcat's echo endpoint (or `upstream`). */
export async function gateway(opts: Record<string, unknown> = {}): Promise<Gateway> {
  const g = await ctl<{ available: boolean; why?: string; id: number; port: number }>('gateway', opts)
  if (!g.available) throw new Error('no gateway: ' + g.why)
  return { id: g.id, port: g.port, url: `http://127.0.0.1:${g.port}/rt`, stop: () => ctl('forget', { id: g.id }) }
}
