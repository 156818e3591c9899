/**
 * The node's identity files in `<dataDir>/identity/`: load or generate the key, plaintext
 * (`secret.key`) or passphrase-encrypted (`secret.key.enc`). PROTOCOL.md §2.3 and §2.4.
 */
import { constants } from 'node:fs'
import { link, lstat, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import {
  decryptKeyFile,
  encryptKeyFile,
  identityFromSeed,
  randomBytes,
  wipe,
  type Identity,
} from '../crypto/index.js'
import { EgregoreError } from '../errors.js'

export interface IdentityFileOptions {
  /** Passphrase mode (`--passphrase`): use `secret.key.enc` instead of `secret.key`. */
  readonly encrypted: boolean
  /** Called only in passphrase mode: 'create' for a new identity, 'unlock' for an existing one. */
  readonly getPassphrase: (purpose: 'unlock' | 'create') => Promise<string>
}

const PLAINTEXT_FILE = 'secret.key'
const ENCRYPTED_FILE = 'secret.key.enc'
const PUBLIC_FILE = 'public.key'
const SEED_BYTES = 32

/**
 * Load the identity of `dataDir`, or generate one if neither key file exists (`created: true`).
 * Throws `IDENTITY_ERROR` when only the other mode's key file exists, a key file is readable or
 * writable by group/others, the key is malformed, or the passphrase is wrong or empty.
 */
export async function loadOrCreateIdentity(
  dataDir: string,
  options: IdentityFileOptions,
): Promise<{ identity: Identity; created: boolean }> {
  const dir = join(dataDir, 'identity')
  const plainPath = join(dir, PLAINTEXT_FILE)
  const encPath = join(dir, ENCRYPTED_FILE)
  const [plainExists, encExists] = await Promise.all([exists(plainPath), exists(encPath)])

  if (options.encrypted) {
    if (encExists) {
      return { identity: await loadEncrypted(encPath, options.getPassphrase), created: false }
    }
    if (plainExists) {
      throw new EgregoreError(
        'IDENTITY_ERROR',
        `found ${plainPath} but --passphrase was given: start without --passphrase to use that ` +
          'identity (refusing to create a second identity)',
      )
    }
    return { identity: await createEncrypted(dataDir, dir, options.getPassphrase), created: true }
  }
  if (plainExists) return { identity: await loadPlaintext(plainPath), created: false }
  if (encExists) {
    throw new EgregoreError(
      'IDENTITY_ERROR',
      `found ${encPath} but --passphrase was not given: start with --passphrase to use that ` +
        'identity (refusing to create a second identity)',
    )
  }
  return { identity: await createPlaintext(dataDir, dir), created: true }
}

async function loadPlaintext(path: string): Promise<Identity> {
  const seed = await readKeyFile(path)
  try {
    if (seed.length !== SEED_BYTES) {
      throw new EgregoreError(
        'IDENTITY_ERROR',
        `${path} is not a ${SEED_BYTES}-byte key (got ${seed.length} bytes); restore it from a backup`,
      )
    }
    return identityFromSeed(seed)
  } finally {
    wipe(seed)
  }
}

async function loadEncrypted(
  path: string,
  getPassphrase: IdentityFileOptions['getPassphrase'],
): Promise<Identity> {
  const text = new TextDecoder().decode(await readKeyFile(path))
  // decryptKeyFile's errors (wrong passphrase, malformed file) propagate unchanged: a key that
  // cannot be opened must stop the start, never lead to a new identity.
  const seed = decryptKeyFile(text, await getPassphrase('unlock'))
  try {
    return identityFromSeed(seed)
  } finally {
    wipe(seed)
  }
}

async function createPlaintext(dataDir: string, dir: string): Promise<Identity> {
  const seed = randomBytes(SEED_BYTES)
  try {
    const identity = identityFromSeed(seed)
    await makeIdentityDir(dataDir, dir)
    await writeFileAtomic(dir, PLAINTEXT_FILE, seed, 0o600)
    await writeFileAtomic(dir, PUBLIC_FILE, Buffer.from(identity.id, 'utf8'), 0o644)
    return identity
  } finally {
    wipe(seed)
  }
}

async function createEncrypted(
  dataDir: string,
  dir: string,
  getPassphrase: IdentityFileOptions['getPassphrase'],
): Promise<Identity> {
  // Ask before touching the disk, so a cancelled prompt leaves nothing behind.
  const passphrase = await getPassphrase('create')
  if (passphrase === '') throw new EgregoreError('IDENTITY_ERROR', 'passphrase must not be empty')
  const seed = randomBytes(SEED_BYTES)
  try {
    const identity = identityFromSeed(seed)
    const text = encryptKeyFile(seed, passphrase)
    await makeIdentityDir(dataDir, dir)
    await writeFileAtomic(dir, ENCRYPTED_FILE, Buffer.from(text, 'utf8'), 0o600)
    await writeFileAtomic(dir, PUBLIC_FILE, Buffer.from(identity.id, 'utf8'), 0o644)
    return identity
  } finally {
    wipe(seed)
  }
}

/** Read a key file after checking that only its owner can read or write it. */
async function readKeyFile(path: string): Promise<Uint8Array> {
  try {
    const info = await stat(path)
    // Windows has no POSIX permission bits; stat reports 0o666 there for every writable file.
    if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
      const mode = (info.mode & 0o777).toString(8).padStart(3, '0')
      throw new EgregoreError(
        'IDENTITY_ERROR',
        `${path} is accessible by group or others (mode ${mode}); run: chmod 600 ${path}`,
      )
    }
    return await readFile(path)
  } catch (err) {
    if (err instanceof EgregoreError) throw err
    throw new EgregoreError('IDENTITY_ERROR', `cannot read ${path}: ${errorMessage(err)}`, {
      cause: err,
    })
  }
}

/** lstat, not stat: a dangling symlink counts as present, so it is never replaced by a new key. */
async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path)
    return true
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return false
    throw new EgregoreError('IDENTITY_ERROR', `cannot check ${path}: ${errorMessage(err)}`, {
      cause: err,
    })
  }
}

async function makeIdentityDir(dataDir: string, dir: string): Promise<void> {
  try {
    await mkdir(dataDir, { recursive: true })
    await mkdir(dir, { mode: 0o700 })
  } catch (err) {
    if (errorCode(err) === 'EEXIST') return
    throw new EgregoreError('IDENTITY_ERROR', `cannot create ${dir}: ${errorMessage(err)}`, {
      cause: err,
    })
  }
}

/**
 * Write `name` in `dir` so that it either has all of `data` or does not exist: a fresh temp file
 * created with `mode` from the start (the umask can only narrow it), fsynced, moved into place,
 * then the directory fsynced so the move survives a crash. Secret keys are moved with `link`,
 * which fails if the key appeared meanwhile (two nodes starting on one empty data dir), so an
 * existing key is never replaced.
 */
async function writeFileAtomic(
  dir: string,
  name: string,
  data: Uint8Array,
  mode: number,
  exclusive = mode === 0o600,
): Promise<void> {
  const target = join(dir, name)
  const temp = join(dir, `.${name}.${Buffer.from(randomBytes(6)).toString('hex')}.tmp`)
  try {
    const file = await open(temp, 'wx', mode)
    try {
      await file.writeFile(data)
      await file.sync()
    } finally {
      await file.close()
    }
    if (exclusive) {
      await link(temp, target)
      await unlink(temp)
    } else {
      await rename(temp, target)
    }
    await syncDir(dir)
  } catch (err) {
    await unlink(temp).catch(() => undefined) // best effort: it may not exist (never made, or renamed)
    throw new EgregoreError('IDENTITY_ERROR', `cannot write ${target}: ${errorMessage(err)}`, {
      cause: err,
    })
  }
}

async function syncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return // directories cannot be opened for fsync on Windows
  const handle = await open(dir, constants.O_RDONLY)
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

function errorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string'
    ? err.code
    : undefined
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
