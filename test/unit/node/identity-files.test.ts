/** Identity files in `<dataDir>/identity/`: creation, modes, loading and refusals (PROTOCOL.md §2.3, §2.4). */
import assert from 'node:assert/strict'
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test, type TestContext } from 'node:test'
import { decryptKeyFile, identityFromSeed } from '../../../src/crypto/index.js'
import { isEgregoreError } from '../../../src/errors.js'
import { loadOrCreateIdentity } from '../../../src/node/identity-files.js'

function tempDataDir(t: TestContext): string {
  const root = mkdtempSync(join(tmpdir(), 'egregore-'))
  t.after(() => rmSync(root, { recursive: true, force: true }))
  return join(root, 'data') // not created yet: loadOrCreateIdentity must create it
}

const plaintext = {
  encrypted: false,
  getPassphrase: (): Promise<string> => {
    throw new Error('getPassphrase must not be called in plaintext mode')
  },
}

function encrypted(passphrase: string, calls: string[] = []) {
  return {
    encrypted: true,
    getPassphrase: (purpose: 'unlock' | 'create'): Promise<string> => {
      calls.push(purpose)
      return Promise.resolve(passphrase)
    },
  }
}

function identityError(fragment: string) {
  return (err: unknown): boolean => {
    assert.ok(isEgregoreError(err, 'IDENTITY_ERROR'), `expected IDENTITY_ERROR, got ${String(err)}`)
    assert.ok(
      err.message.includes(fragment),
      `message ${JSON.stringify(err.message)} lacks ${JSON.stringify(fragment)}`,
    )
    return true
  }
}

const mode = (path: string): number => statSync(path).mode & 0o777

test('first plaintext run creates the data dir, identity/ 0700, secret.key 0600 and public.key', async (t) => {
  const dataDir = tempDataDir(t)
  const { identity, created } = await loadOrCreateIdentity(dataDir, plaintext)
  assert.equal(created, true)
  const dir = join(dataDir, 'identity')
  assert.equal(mode(dir), 0o700)
  const secret = readFileSync(join(dir, 'secret.key'))
  assert.equal(secret.length, 32)
  assert.equal(mode(join(dir, 'secret.key')), 0o600)
  assert.deepEqual(identityFromSeed(secret).id, identity.id)
  assert.equal(readFileSync(join(dir, 'public.key'), 'utf8'), identity.id)
  assert.deepEqual(
    readdirSync(dir).sort(),
    ['public.key', 'secret.key'],
    'no temp files left behind',
  )
})

test('second plaintext run loads the same identity', async (t) => {
  const dataDir = tempDataDir(t)
  const first = await loadOrCreateIdentity(dataDir, plaintext)
  const second = await loadOrCreateIdentity(dataDir, plaintext)
  assert.equal(second.created, false)
  assert.equal(second.identity.id, first.identity.id)
  assert.deepEqual(second.identity.seed, first.identity.seed)
})

test('plaintext mode never asks for a passphrase, on create or on load', async (t) => {
  const dataDir = tempDataDir(t)
  let calls = 0
  const options = {
    encrypted: false,
    getPassphrase: () => {
      calls++
      return Promise.resolve('unused')
    },
  }
  await loadOrCreateIdentity(dataDir, options)
  await loadOrCreateIdentity(dataDir, options)
  assert.equal(calls, 0)
})

test('refuses a secret.key readable by group or others, naming the file and chmod 600', async (t) => {
  const dataDir = tempDataDir(t)
  await loadOrCreateIdentity(dataDir, plaintext)
  const keyPath = join(dataDir, 'identity', 'secret.key')
  for (const broad of [0o644, 0o620, 0o604]) {
    chmodSync(keyPath, broad)
    await assert.rejects(
      loadOrCreateIdentity(dataDir, plaintext),
      identityError(`chmod 600 ${keyPath}`),
    )
  }
  chmodSync(keyPath, 0o400) // owner-only but read-only is fine
  assert.equal((await loadOrCreateIdentity(dataDir, plaintext)).created, false)
})

test('a secret.key that is not 32 bytes is an error naming the file', async (t) => {
  const dataDir = tempDataDir(t)
  await loadOrCreateIdentity(dataDir, plaintext)
  const keyPath = join(dataDir, 'identity', 'secret.key')
  for (const length of [0, 31, 33, 64]) {
    writeFileSync(keyPath, new Uint8Array(length), { mode: 0o600 })
    await assert.rejects(loadOrCreateIdentity(dataDir, plaintext), identityError(keyPath))
  }
})

test('plaintext mode refuses when only secret.key.enc exists and creates nothing', async (t) => {
  const dataDir = tempDataDir(t)
  const dir = join(dataDir, 'identity')
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  writeFileSync(join(dir, 'secret.key.enc'), '{}', { mode: 0o600 })
  await assert.rejects(
    loadOrCreateIdentity(dataDir, plaintext),
    identityError(`found ${join(dir, 'secret.key.enc')} but --passphrase was not given`),
  )
  assert.equal(existsSync(join(dir, 'secret.key')), false)
  assert.deepEqual(readdirSync(dir), ['secret.key.enc'])
})

test('passphrase mode refuses when only secret.key exists and never asks for a passphrase', async (t) => {
  const dataDir = tempDataDir(t)
  await loadOrCreateIdentity(dataDir, plaintext)
  const dir = join(dataDir, 'identity')
  const calls: string[] = []
  await assert.rejects(
    loadOrCreateIdentity(dataDir, encrypted('pw', calls)),
    identityError(`found ${join(dir, 'secret.key')} but --passphrase was given`),
  )
  assert.deepEqual(calls, [])
  assert.deepEqual(readdirSync(dir).sort(), ['public.key', 'secret.key'])
})

test('passphrase mode: create, reload, wrong passphrase, broad mode', async (t) => {
  const dataDir = tempDataDir(t)
  const dir = join(dataDir, 'identity')
  const encPath = join(dir, 'secret.key.enc')
  const calls: string[] = []

  const created = await loadOrCreateIdentity(dataDir, encrypted('correct horse', calls))
  assert.equal(created.created, true)
  assert.deepEqual(calls, ['create'])
  assert.equal(mode(dir), 0o700)
  assert.equal(mode(encPath), 0o600)
  assert.deepEqual(
    decryptKeyFile(readFileSync(encPath, 'utf8'), 'correct horse'),
    created.identity.seed,
  )
  assert.equal(readFileSync(join(dir, 'public.key'), 'utf8'), created.identity.id)
  assert.deepEqual(readdirSync(dir).sort(), ['public.key', 'secret.key.enc'])

  const reloaded = await loadOrCreateIdentity(dataDir, encrypted('correct horse', calls))
  assert.equal(reloaded.created, false)
  assert.equal(reloaded.identity.id, created.identity.id)
  assert.deepEqual(calls, ['create', 'unlock'])

  const before = readFileSync(encPath, 'utf8')
  await assert.rejects(
    loadOrCreateIdentity(dataDir, encrypted('battery staple')),
    identityError('decryption failed (wrong passphrase?)'),
  )
  assert.deepEqual(readdirSync(dir).sort(), ['public.key', 'secret.key.enc'], 'no new files')
  assert.equal(readFileSync(encPath, 'utf8'), before, 'key file untouched')

  chmodSync(encPath, 0o640)
  await assert.rejects(
    loadOrCreateIdentity(dataDir, encrypted('correct horse')),
    identityError(`chmod 600 ${encPath}`),
  )
})

test('an empty passphrase for a new identity is refused before anything is written', async (t) => {
  const dataDir = tempDataDir(t)
  await assert.rejects(
    loadOrCreateIdentity(dataDir, encrypted('')),
    identityError('passphrase must not be empty'),
  )
  assert.equal(existsSync(dataDir), false)
})

test('a failing passphrase source leaves no files behind', async (t) => {
  const dataDir = tempDataDir(t)
  const options = { encrypted: true, getPassphrase: () => Promise.reject(new Error('cancelled')) }
  await assert.rejects(loadOrCreateIdentity(dataDir, options), /cancelled/)
  assert.equal(existsSync(dataDir), false)
})
