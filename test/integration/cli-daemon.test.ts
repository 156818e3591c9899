/** The `egregore` daemon as a user runs it: identity on first start, passphrase modes, shutdown. */
import assert from 'node:assert/strict'
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { runTs, tempDir } from '../helpers/process.js'

const BIN = 'src/bin/egregore.ts'

async function startAndStop(
  t: Parameters<typeof tempDir>[0],
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<string> {
  // Port 0: tests run in parallel and must not collide on the default 7654.
  const proc = runTs(
    t,
    BIN,
    [...args, '--port', '0', '--gossip-port', '0', '--gossip-bind', '127.0.0.1'],
    env,
  )
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

test('rejects invalid flag values with exit code 2 and a clear error', async (t) => {
  const sync = runTs(t, BIN, ['--data-dir', tempDir(t), '--sync', 'sometimes'])
  assert.equal(await sync.exited, 2)
  assert.match(sync.output().stderr, /Allowed choices are normal, full/)
  const port = runTs(t, BIN, ['--data-dir', tempDir(t), '--port', '70000'])
  assert.equal(await port.exited, 2)
  assert.match(port.output().stderr, /--port must be an integer from 0 to 65535/)
  const url = runTs(t, BIN, ['--data-dir', tempDir(t), '--hook-webhook-url', 'ftp://x'])
  assert.equal(await url.exited, 2)
  assert.match(url.output().stderr, /http:\/\/ or https:\/\//)
})

test('reads a YAML config file; flags override it; unknown keys are refused', async (t) => {
  const dir = tempDir(t)
  writeFileSync(
    join(dir, 'config.yaml'),
    'port: 0\ngossip-port: 0\ngossip-bind: 127.0.0.1\nlog-level: info\nmax-sse-clients: 3\n',
  )
  const proc = runTs(t, BIN, ['--data-dir', dir])
  const ready = JSON.parse(await proc.waitForLine(/node ready/)) as {
    configFile: string
    http: string
  }
  assert.equal(ready.configFile, join(dir, 'config.yaml'))
  assert.notEqual(ready.http, '127.0.0.1:7654', 'port 0 from the file was used')
  proc.child.kill('SIGTERM')
  assert.equal(await proc.exited, 0)
  writeFileSync(join(dir, 'bad.yaml'), 'colour: blue\n')
  const bad = runTs(t, BIN, ['--data-dir', dir, '--config', join(dir, 'bad.yaml')])
  assert.equal(await bad.exited, 2)
  assert.match(bad.output().stderr, /unknown key 'colour'/)
})
