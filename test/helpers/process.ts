/** Helpers for tests that run real processes: spawn with tsx, wait for output lines, temp dirs. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { TestContext } from 'node:test'
import {
  createNode,
  type EgregoreNode,
  type NodeConfig,
  type NodeDeps,
} from '../../src/node/index.js'

const ROOT = new URL('../../', import.meta.url).pathname

/** A fresh temp dir removed when the test ends. */
export function tempDir(t: TestContext, label = 'egregore'): string {
  const dir = mkdtempSync(join(tmpdir(), `${label}-`))
  t.after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 5 }))
  return dir
}

/**
 * A node on a fresh temp data dir, HTTP on an ephemeral port, started. One teardown stops the
 * node and then removes its directory (in that order: a running node may still write there).
 * `deps` (a capturing logger, a clock) go to `createNode`; `dataDir` lets a test open the database.
 */
export async function startTestNodeIn(
  t: TestContext,
  config: Omit<NodeConfig, 'dataDir' | 'passphrase'>,
  deps: NodeDeps = {},
): Promise<EgregoreNode & { readonly dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'egregore-node-'))
  const node = await createNode(
    {
      passphrase: false,
      port: 0,
      verifyThreads: 1,
      ...config,
      dataDir,
    },
    deps,
  )
  t.after(async () => {
    await node.stop()
    rmSync(dataDir, { recursive: true, force: true, maxRetries: 5 })
  })
  await node.start()
  return Object.assign(node, { dataDir })
}

export interface Proc {
  readonly child: ChildProcessWithoutNullStreams
  /** Resolves with the first stdout/stderr line matching `pattern`; rejects on exit or timeout. */
  waitForLine(pattern: RegExp, stream?: 'stdout' | 'stderr', timeoutMs?: number): Promise<string>
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>
  /** Everything printed so far. */
  output(): { stdout: string; stderr: string }
}

/**
 * Run a TypeScript entry point of this repository under tsx. Killed at test end if still running.
 * `prefix` is a command that execs node in its place, e.g. `['ip', 'netns', 'exec', ns]`.
 */
export function runTs(
  t: TestContext,
  entry: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  prefix: readonly string[] = [],
): Proc {
  const argv = [...prefix, process.execPath, '--import', 'tsx', join(ROOT, entry), ...args]
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
    // A new session has no controlling terminal, so passphrase prompts fail instead of waiting.
    detached: true,
  })
  const lines: Record<'stdout' | 'stderr', string[]> = { stdout: [], stderr: [] }
  const waiters: { pattern: RegExp; stream: 'stdout' | 'stderr'; resolve: (l: string) => void }[] =
    []
  for (const stream of ['stdout', 'stderr'] as const) {
    createInterface({ input: child[stream] }).on('line', (line) => {
      lines[stream].push(line)
      for (const w of [...waiters]) {
        if (w.stream === stream && w.pattern.test(line)) {
          waiters.splice(waiters.indexOf(w), 1)
          w.resolve(line)
        }
      }
    })
  }
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1))
  })
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  return {
    child,
    exited,
    output: () => ({ stdout: lines.stdout.join('\n'), stderr: lines.stderr.join('\n') }),
    waitForLine(pattern, stream = 'stderr', timeoutMs = 20000) {
      const seen = lines[stream].find((l) => pattern.test(l))
      if (seen !== undefined) return Promise.resolve(seen)
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `timed out waiting for ${String(pattern)}; stderr:\n${lines.stderr.join('\n')}`,
              ),
            ),
          timeoutMs,
        )
        const done = (l: string): void => {
          clearTimeout(timer)
          resolve(l)
        }
        waiters.push({ pattern, stream, resolve: done })
        void exited.then((code) => {
          clearTimeout(timer)
          reject(
            new Error(
              `process exited (${String(code)}) before printing ${String(pattern)}; stderr:\n${lines.stderr.join('\n')}`,
            ),
          )
        })
      })
    },
  }
}

/**
 * A started node with gossip on 127.0.0.1 (OS-chosen port) whose sync cycles run only when the
 * test calls `gossip.syncOnce()`.
 */
export function startGossipNodeIn(
  t: TestContext,
  opts: { peers?: string[]; networkKey: string; push?: boolean },
): Promise<EgregoreNode> {
  return startTestNodeIn(t, {
    peers: opts.peers ?? [],
    gossip: {
      bind: '127.0.0.1',
      port: 0,
      networkKey: opts.networkKey,
      intervalSecs: 3600,
      manualSync: true,
      ...(opts.push === undefined ? {} : { push: opts.push }),
    },
  })
}
