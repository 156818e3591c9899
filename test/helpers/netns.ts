/**
 * A private LAN for discovery tests: two network namespaces joined by a veth pair, so broadcast
 * datagrams never reach a real network (PROTOCOL.md §8.2). Needs root (or CAP_NET_ADMIN) and
 * `ip`; `createLan` says why when namespaces are unavailable, so the test can skip.
 */
import { execFileSync } from 'node:child_process'
import type { TestContext } from 'node:test'
import { runTs, type Proc } from './process.js'

export interface LanHost {
  /** The namespace's name, for `ip netns exec`. */
  readonly ns: string
  /** Its address on the veth link. */
  readonly ip: string
}

export interface Lan {
  readonly a: LanHost
  readonly b: LanHost
  /** The subnet's broadcast address. */
  readonly broadcast: string
  /** Delete both namespaces (and with them the veth pair); never throws. */
  remove(): void
}

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10000 })
}

function reason(err: unknown): string {
  const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim()
  return stderr !== undefined && stderr !== '' ? stderr : (err as Error).message
}

/** The command prefix that runs a program inside `ns`. */
export function inNamespace(ns: string): string[] {
  return ['ip', 'netns', 'exec', ns]
}

/**
 * Create namespaces `<label>-a-<pid>` and `<label>-b-<pid>` with `lo` up and a veth pair on
 * 10.231.0.0/24 (.1 and .2). Returns the reason as a string if the first namespace cannot be
 * created (no permission, no netns support); a later failure removes what exists and throws.
 */
export function createLan(label: string): Lan | string {
  const a = { ns: `${label}-a-${process.pid}`, ip: '10.231.0.1' }
  const b = { ns: `${label}-b-${process.pid}`, ip: '10.231.0.2' }
  try {
    ip(['netns', 'add', a.ns])
  } catch (err) {
    return reason(err)
  }
  const remove = (): void => {
    for (const ns of [a.ns, b.ns]) {
      try {
        ip(['netns', 'del', ns])
      } catch {
        // Already gone, or never created.
      }
    }
  }
  try {
    ip(['netns', 'add', b.ns])
    // Created inside the namespaces: the pair never appears in the host's namespace.
    ip(['-n', a.ns, 'link', 'add', 'veth0', 'type', 'veth', 'peer', 'name', 'veth1', 'netns', b.ns])
    for (const [host, dev] of [
      [a, 'veth0'],
      [b, 'veth1'],
    ] as const) {
      ip(['-n', host.ns, 'addr', 'add', `${host.ip}/24`, 'brd', '+', 'dev', dev])
      ip(['-n', host.ns, 'link', 'set', dev, 'up'])
      ip(['-n', host.ns, 'link', 'set', 'lo', 'up'])
    }
  } catch (err) {
    remove()
    throw new Error(`setting up the namespaces failed: ${reason(err)}`, { cause: err })
  }
  return { a, b, broadcast: '10.231.0.255', remove }
}

export interface NamespaceHttp {
  readonly proc: Proc
  /** One HTTP request to 127.0.0.1:<port> inside the namespace. */
  request(
    method: string,
    port: number,
    path: string,
    body?: string,
  ): Promise<{ status: number; text: string }>
}

/** Start an HTTP relay process inside `ns` (see netns-agent.ts); killed when the test ends. */
export async function startNamespaceHttp(t: TestContext, ns: string): Promise<NamespaceHttp> {
  const proc = runTs(t, 'test/helpers/netns-agent.ts', [], {}, inNamespace(ns))
  await proc.waitForLine(/"ready":true/, 'stdout')
  let nextId = 1
  return {
    proc,
    async request(method, port, path, body) {
      const id = nextId++
      proc.child.stdin.write(`${JSON.stringify({ id, port, method, path, body })}\n`)
      const line = await proc.waitForLine(new RegExp(`^\\{"id":${id},`), 'stdout', 10000)
      const answer = JSON.parse(line) as { status: number; text: string; error?: string }
      if (answer.error !== undefined) throw new Error(`${method} ${path}: ${answer.error}`)
      return { status: answer.status, text: answer.text }
    },
  }
}
