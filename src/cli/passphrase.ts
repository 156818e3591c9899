/**
 * Where `--passphrase` mode gets its passphrase: `EGREGORE_PASSPHRASE`, else a prompt with echo
 * off on the controlling terminal. PROTOCOL.md §2.4 (prompts).
 */
import { closeSync, openSync } from 'node:fs'
import { isatty, ReadStream, WriteStream } from 'node:tty'
import { EgregoreError } from '../errors.js'

export type PassphrasePurpose = 'unlock' | 'create'

export interface PassphraseIo {
  /** Terminal device to prompt on (default `/dev/tty`); tests point it elsewhere. */
  readonly ttyPath?: string
}

const PROMPTS: Record<PassphrasePurpose, string> = {
  unlock: 'Enter passphrase: ',
  create: 'Set passphrase for new identity: ',
}
const NO_TERMINAL =
  'no terminal to read the passphrase from: set EGREGORE_PASSPHRASE for non-interactive use'
const CANCELLED = 'passphrase entry cancelled'

/**
 * A passphrase source for `loadOrCreateIdentity`. `EGREGORE_PASSPHRASE`, when set (even to the
 * empty string, which the caller then rejects), is used without a prompt. Rejects with
 * `IDENTITY_ERROR` when there is no terminal or the user presses Ctrl-C.
 */
export function createPassphraseSource(
  env: NodeJS.ProcessEnv,
  io: PassphraseIo = {},
): (purpose: PassphrasePurpose) => Promise<string> {
  return async (purpose) => {
    const fromEnv = env['EGREGORE_PASSPHRASE']
    if (fromEnv !== undefined) return fromEnv
    return await promptHidden(PROMPTS[purpose], io.ttyPath ?? '/dev/tty')
  }
}

/** Result of applying typed input to the line being edited. */
export interface LineEdit {
  readonly chars: string[]
  readonly outcome: 'typing' | 'enter' | 'cancel'
}

/**
 * Apply one chunk of raw-mode terminal input to `chars` (one entry per code point): Enter or
 * Ctrl-D ends, Ctrl-C cancels, Backspace deletes one, Ctrl-U clears; other control characters
 * and cursor-key escape sequences are ignored. Pure, for tests.
 */
export function applyKeys(chars: readonly string[], chunk: string): LineEdit {
  const next = [...chars]
  for (const ch of chunk.replace(/\u001b(\[[0-9;]*[@-~]|O.)?/g, '')) {
    if (ch === '\r' || ch === '\n' || ch === '\u0004') return { chars: next, outcome: 'enter' }
    if (ch === '\u0003') return { chars: next, outcome: 'cancel' }
    if (ch === '\u007f' || ch === '\b') next.pop()
    else if (ch === '\u0015') next.length = 0
    else if (ch >= ' ') next.push(ch)
  }
  return { chars: next, outcome: 'typing' }
}

function promptHidden(prompt: string, ttyPath: string): Promise<string> {
  // Separate descriptors for reading and writing: each stream closes its own fd on destroy, so
  // the same number is never closed twice.
  const inFd = openTerminal(ttyPath, 'r')
  let outFd: number
  try {
    outFd = openTerminal(ttyPath, 'w')
  } catch (err) {
    closeSync(inFd)
    throw err
  }
  const input = new ReadStream(inFd)
  const output = new WriteStream(outFd)
  return new Promise<string>((resolve, reject) => {
    let chars: string[] = []
    let done = false
    const finish = (error?: EgregoreError): void => {
      if (done) return
      done = true
      input.off('data', onData)
      try {
        input.setRawMode(false)
      } catch {
        // After a read error the stream has already closed its handle; nothing to restore through it.
      }
      output.write('\n')
      input.destroy()
      output.destroy()
      if (error) reject(error)
    }
    const onData = (chunk: string): void => {
      const edit = applyKeys(chars, chunk)
      chars = edit.chars
      if (edit.outcome === 'enter') {
        resolve(chars.join(''))
        finish()
      } else if (edit.outcome === 'cancel') {
        finish(new EgregoreError('IDENTITY_ERROR', CANCELLED))
      }
    }
    input.once('end', () => finish(new EgregoreError('IDENTITY_ERROR', CANCELLED)))
    input.once('error', (err) => {
      finish(
        new EgregoreError('IDENTITY_ERROR', `cannot read the passphrase: ${err.message}`, {
          cause: err,
        }),
      )
    })
    output.write(prompt)
    input.setRawMode(true)
    input.setEncoding('utf8')
    input.on('data', onData)
  })
}

/** Open the terminal device, or throw the no-terminal error if it is missing or not a tty. */
function openTerminal(ttyPath: string, flags: 'r' | 'w'): number {
  let fd: number
  try {
    fd = openSync(ttyPath, flags)
  } catch (err) {
    throw new EgregoreError('IDENTITY_ERROR', NO_TERMINAL, { cause: err })
  }
  if (!isatty(fd)) {
    closeSync(fd)
    throw new EgregoreError('IDENTITY_ERROR', NO_TERMINAL)
  }
  return fd
}
