/** The `egregore` daemon as a user runs it: identity on first start, passphrase modes, shutdown. */
import assert from 'node:assert/strict'
import { chmodSync, existsSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { runTs, tempDir } from '../helpers/process.js'

const BIN = 'src/bin/egregore.ts'

async function startAndStop(
  t: Parameters<typeof tempDir>[0],
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<string> {
  const proc = runTs(t, BIN, args, env)
  const ready = await proc.waitForLine(/node ready/)
  proc.child.kill('SIGTERM')
  assert.equal(await proc.exited, 0, proc.output().stderr)
  assert.match(proc.output().stderr, /stopped cleanly/)
  return (JSON.parse(ready) as { identity: string }).identity
}

test('first start creates a 0600 secret key and the database; restart keeps the identity', async (t) => {
  const dir = tempDir(t)
  const id = await startAndStop(t, ['--data-dir', dir])
  const secret = join(dir, 'identity', 'secret.key')
  assert.equal(statSync(secret).mode & 0o777, 0o600)
  assert.equal(statSync(secret).size, 32)
  assert.equal(statSync(join(dir, 'identity')).mode & 0o777, 0o700)
  assert.equal(readFileSync(join(dir, 'identity', 'public.key'), 'utf8'), id)
  assert.ok(existsSync(join(dir, 'egregore.db')))
  assert.equal(await startAndStop(t, ['--data-dir', dir]), id)
})

test('refuses a secret key readable by others, naming the fix', async (t) => {
  const dir = tempDir(t)
  await startAndStop(t, ['--data-dir', dir])
  chmodSync(join(dir, 'identity', 'secret.key'), 0o644)
  const proc = runTs(t, BIN, ['--data-dir', dir])
  assert.equal(await proc.exited, 1)
  assert.match(proc.output().stderr, /chmod 600/)
})

test('--passphrase encrypts the key at rest; the wrong passphrase never mints a new identity', async (t) => {
  const dir = tempDir(t)
  const env = { EGREGORE_PASSPHRASE: 'correct horse battery staple' }
  const id = await startAndStop(t, ['--data-dir', dir, '--passphrase'], env)
  assert.ok(existsSync(join(dir, 'identity', 'secret.key.enc')))
  assert.ok(!existsSync(join(dir, 'identity', 'secret.key')))
  assert.equal(await startAndStop(t, ['--data-dir', dir, '--passphrase'], env), id)

  const wrong = runTs(t, BIN, ['--data-dir', dir, '--passphrase'], { EGREGORE_PASSPHRASE: 'wrong' })
  assert.equal(await wrong.exited, 1)
  assert.match(wrong.output().stderr, /decryption failed \(wrong passphrase\?\)/)

  const plain = runTs(t, BIN, ['--data-dir', dir])
  assert.equal(await plain.exited, 1)
  assert.match(plain.output().stderr, /secret\.key\.enc/)
  assert.match(plain.output().stderr, /--passphrase/)
  assert.ok(!existsSync(join(dir, 'identity', 'secret.key')))
})

test('--passphrase without a terminal or EGREGORE_PASSPHRASE fails with a clear message', async (t) => {
  const dir = tempDir(t)
  const env: NodeJS.ProcessEnv = { EGREGORE_PASSPHRASE: undefined }
  const proc = runTs(t, BIN, ['--data-dir', dir, '--passphrase'], env)
  proc.child.stdin.end()
  // runTs starts children in a new session, without a controlling terminal.
  assert.equal(await proc.exited, 1)
  assert.match(proc.output().stderr, /EGREGORE_PASSPHRASE/)
})

test('rejects an invalid flag value with a clear error', async (t) => {
  const proc = runTs(t, BIN, ['--data-dir', tempDir(t), '--sync', 'sometimes'])
  assert.notEqual(await proc.exited, 0)
  assert.match(proc.output().stderr, /expected one of normal, full/)
})
