/**
 * One run of the hook executable for one message (PROTOCOL.md §7.8): no shell, wire text on stdin,
 * stdout and stderr drained, the child's whole process group killed on timeout or abort.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import type { Readable } from 'node:stream'

/** How a hook run ended. Every way a run can go wrong is a value here, never an exception. */
export type HookOutcome =
  | { readonly kind: 'exited'; readonly code: number }
  | { readonly kind: 'signaled'; readonly signal: string }
  | { readonly kind: 'timed-out' }
  | { readonly kind: 'aborted' }
  | { readonly kind: 'spawn-failed'; readonly error: Error }

/** The outcome plus the start of what the hook printed (at most `maxOutputBytes` of each). */
export interface HookRun {
  readonly outcome: HookOutcome
  readonly stdout: string
  readonly stderr: string
  /** Total bytes the hook wrote to each stream, kept or not. */
  readonly stdoutBytes: number
  readonly stderrBytes: number
}

export interface HookProcessOptions {
  /** Run time before the process group is killed. */
  readonly timeoutMs: number
  /** Bytes of stdout and of stderr kept for the caller's debug log. */
  readonly maxOutputBytes: number
  /** Aborting kills the process group and resolves with `aborted`. */
  readonly signal: AbortSignal
}

/**
 * After the child exits, how long to wait for its pipes to close. A background grandchild that
 * inherited them may hold them open indefinitely; it must not hold up the next message.
 */
const PIPE_GRACE_MS = 100

interface Capture {
  text(): string
  readonly bytes: number
}

/** Read `stream` to the end so the child never blocks on a full pipe; keep its first bytes. */
function capture(stream: Readable, maxBytes: number): Capture {
  const kept: Uint8Array[] = []
  let keptBytes = 0
  let total = 0
  stream.on('data', (chunk: Uint8Array) => {
    total += chunk.byteLength
    if (keptBytes < maxBytes) {
      const part = chunk.subarray(0, maxBytes - keptBytes)
      kept.push(part)
      keptBytes += part.byteLength
    }
  })
  // A read error only ends the capture; the exit status is what decides the outcome.
  stream.on('error', () => undefined)
  const decoder = new TextDecoder()
  return {
    text: () => kept.map((c) => decoder.decode(c, { stream: true })).join('') + decoder.decode(),
    get bytes() {
      return total
    },
  }
}

/** SIGKILL the child's process group (it leads one: spawned detached), else the child alone. */
function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return
  try {
    process.kill(-child.pid, 'SIGKILL')
  } catch {
    // ESRCH: the group is already gone. Fall back to the child itself in case it never led one.
    try {
      child.kill('SIGKILL')
    } catch {
      // Already exited; nothing left to kill.
    }
  }
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err))
}

/** Spawn `path` with no arguments, write `input` to its stdin, and wait for it to finish. */
export function runHookProcess(
  path: string,
  input: string,
  options: HookProcessOptions,
): Promise<HookRun> {
  const empty = { stdout: '', stderr: '', stdoutBytes: 0, stderrBytes: 0 }
  if (options.signal.aborted) return Promise.resolve({ outcome: { kind: 'aborted' }, ...empty })
  let child: ChildProcess
  try {
    // detached: the child leads a new process group, so a timeout can kill its descendants too.
    child = spawn(path, [], { detached: true, stdio: ['pipe', 'pipe', 'pipe'] })
  } catch (err) {
    // Synchronous failures are invalid arguments (e.g. a NUL byte in the path).
    return Promise.resolve({ outcome: { kind: 'spawn-failed', error: toError(err) }, ...empty })
  }
  return new Promise<HookRun>((resolve) => {
    const { stdin, stdout, stderr } = child
    const out = stdout === null ? null : capture(stdout, options.maxOutputBytes)
    const err = stderr === null ? null : capture(stderr, options.maxOutputBytes)
    let killedFor: 'timed-out' | 'aborted' | null = null
    let graceTimer: NodeJS.Timeout | undefined
    let settled = false

    const kill = (why: 'timed-out' | 'aborted'): void => {
      killedFor ??= why
      killGroup(child)
    }
    const timer = setTimeout(() => kill('timed-out'), options.timeoutMs)
    const onAbort = (): void => kill('aborted')
    options.signal.addEventListener('abort', onAbort, { once: true })

    const finish = (outcome: HookOutcome): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      clearTimeout(graceTimer)
      options.signal.removeEventListener('abort', onAbort)
      stdin?.destroy()
      stdout?.destroy()
      stderr?.destroy()
      resolve({
        outcome,
        stdout: out?.text() ?? '',
        stderr: err?.text() ?? '',
        stdoutBytes: out?.bytes ?? 0,
        stderrBytes: err?.bytes ?? 0,
      })
    }

    child.on('error', (error) => {
      // Without a pid the process never started (ENOENT, EACCES …): no 'exit' will follow.
      if (child.pid === undefined) finish({ kind: 'spawn-failed', error })
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      const outcome: HookOutcome =
        killedFor !== null
          ? { kind: killedFor }
          : code !== null
            ? { kind: 'exited', code }
            : { kind: 'signaled', signal: signal ?? 'unknown' }
      child.once('close', () => finish(outcome))
      graceTimer = setTimeout(() => finish(outcome), PIPE_GRACE_MS)
    })

    if (stdin !== null) {
      // EPIPE when the hook exits without reading its input: not a failure by itself.
      stdin.on('error', () => undefined)
      stdin.end(input)
    }
  })
}
