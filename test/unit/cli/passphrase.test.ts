/** Passphrase source for `--passphrase` mode: environment variable and terminal prompt (PROTOCOL.md §2.4). */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { applyKeys, createPassphraseSource } from '../../../src/cli/passphrase.js'
import { isEgregoreError } from '../../../src/errors.js'

const NO_TERMINAL =
  'no terminal to read the passphrase from: set EGREGORE_PASSPHRASE for non-interactive use'
const missingTty = { ttyPath: join(tmpdir(), 'egregore-no-such-tty', 'tty') }

function isIdentityError(message: string) {
  return (err: unknown): boolean => {
    assert.ok(isEgregoreError(err, 'IDENTITY_ERROR'), `expected IDENTITY_ERROR, got ${String(err)}`)
    assert.equal(err.message, message)
    return true
  }
}

test('uses EGREGORE_PASSPHRASE without opening a terminal, for both purposes', async () => {
  const source = createPassphraseSource({ EGREGORE_PASSPHRASE: 'hunter2' }, missingTty)
  assert.equal(await source('unlock'), 'hunter2')
  assert.equal(await source('create'), 'hunter2')
})

test('an empty EGREGORE_PASSPHRASE counts as set and is returned as is', async () => {
  const source = createPassphraseSource({ EGREGORE_PASSPHRASE: '' }, missingTty)
  assert.equal(await source('create'), '')
})

test('without the variable and without a terminal, rejects with the no-terminal error', async () => {
  const source = createPassphraseSource({}, missingTty)
  await assert.rejects(source('unlock'), isIdentityError(NO_TERMINAL))
  await assert.rejects(source('create'), isIdentityError(NO_TERMINAL))
})

test('a tty path that is not a terminal gives the no-terminal error', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'egregore-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const notATty = join(dir, 'plain-file')
  writeFileSync(notATty, '')
  await assert.rejects(
    createPassphraseSource({}, { ttyPath: notATty })('unlock'),
    isIdentityError(NO_TERMINAL),
  )
})

test('line editing: typing, backspace, Ctrl-U, Enter, Ctrl-C, escape sequences', () => {
  assert.deepEqual(applyKeys([], 'abc'), { chars: ['a', 'b', 'c'], outcome: 'typing' })
  assert.deepEqual(applyKeys(['a', 'b'], '\u007fc\r'), { chars: ['a', 'c'], outcome: 'enter' })
  assert.deepEqual(applyKeys(['a'], '\b\b\bx\n'), { chars: ['x'], outcome: 'enter' })
  assert.deepEqual(applyKeys(['a', 'b'], '\u0015z'), { chars: ['z'], outcome: 'typing' })
  assert.deepEqual(applyKeys(['a'], 'b\u0003c'), { chars: ['a', 'b'], outcome: 'cancel' })
  assert.deepEqual(applyKeys([], 'x\u001b[A\u001b[3~\u001bOHy\t'), {
    chars: ['x', 'y'],
    outcome: 'typing',
  })
  assert.deepEqual(applyKeys([], 'pw\u0004'), { chars: ['p', 'w'], outcome: 'enter' })
  // one entry per code point, so Backspace removes a whole astral character
  assert.deepEqual(applyKeys([], 'é😀\u007f'), { chars: ['é'], outcome: 'typing' })
})
