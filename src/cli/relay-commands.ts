/**
 * Node-side relay commands (PROTOCOL.md §9.4, §9.5): `egregore relay register <url>` and
 * `egregore relay settings <url>` sign a request with the node's own identity (read from its
 * data directory, never created here) and send it to the relay's HTTP API.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { Command } from 'commander'
import {
  RELAY_DEFAULT_GOSSIP_PORT,
  parseJson,
  timestampFromMillis,
  type JsonObject,
} from '../codec/index.js'
import { wipe, type Identity } from '../crypto/index.js'
import { EgregoreError } from '../errors.js'
import { loadOrCreateIdentity } from '../node/index.js'
import { createSignedRequest, type SignedRequestKind } from '../relay/index.js'
import { printJson } from './client.js'
import { createPassphraseSource } from './passphrase.js'

/** Time allowed for one request to the relay. */
const RELAY_REQUEST_TIMEOUT_MS = 15000

interface RelayOptions {
  dataDir?: string
  json?: boolean
}

/**
 * The node's existing identity in `dataDir`: plaintext `secret.key`, else the passphrase-
 * encrypted `secret.key.enc` (passphrase from EGREGORE_PASSPHRASE or the terminal). Never
 * creates one: registering a fresh key would register an identity no node uses.
 */
export async function loadExistingIdentity(dataDir: string): Promise<Identity> {
  const dir = join(dataDir, 'identity')
  const plain = existsSync(join(dir, 'secret.key'))
  if (!plain && !existsSync(join(dir, 'secret.key.enc'))) {
    throw new EgregoreError(
      'IDENTITY_ERROR',
      `no identity in ${dir}: give the node's --data-dir (or start the node once to create one)`,
    )
  }
  const { identity } = await loadOrCreateIdentity(dataDir, {
    encrypted: !plain,
    getPassphrase: createPassphraseSource(process.env),
  })
  return identity
}

/** A relay base URL: http(s) only. */
function relayUrl(url: string): URL {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new EgregoreError('CONFIG_ERROR', `relay URL must look like http://relay-host:7660`)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new EgregoreError('CONFIG_ERROR', 'relay URL must start with http:// or https://')
  return parsed
}

/** POST a JSON body to the relay; returns the envelope's `data` or throws with its error. */
export function postToRelay(base: URL, path: string, body: string): Promise<JsonObject> {
  return requestRelay(base, path, body)
}

/** GET (no body) or POST (a JSON body) to the relay; the envelope's `data`, or its error. */
async function requestRelay(base: URL, path: string, body?: string): Promise<JsonObject> {
  const target = new URL(path.replace(/^\//, ''), base.href.endsWith('/') ? base : `${base.href}/`)
  let res: Response
  try {
    res = await fetch(target, {
      method: body === undefined ? 'GET' : 'POST',
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body }),
      signal: AbortSignal.timeout(RELAY_REQUEST_TIMEOUT_MS),
    })
  } catch (err) {
    throw new EgregoreError('API_ERROR', `cannot reach the relay at ${base.href}`, { cause: err })
  }
  const text = await res.text()
  let envelope: JsonObject
  try {
    envelope = parseJson(text) as JsonObject
  } catch {
    throw new EgregoreError('API_ERROR', `unexpected response from the relay (HTTP ${res.status})`)
  }
  if (envelope['success'] !== true) {
    const error = envelope['error'] as JsonObject | undefined
    const code = typeof error?.['code'] === 'string' ? error['code'] : `HTTP ${res.status}`
    const message = typeof error?.['message'] === 'string' ? error['message'] : ''
    const retry = res.headers.get('retry-after')
    throw new EgregoreError(
      'API_ERROR',
      `${code}: ${message}${retry === null ? '' : ` (retry after ${retry} s)`}`,
    )
  }
  return (envelope['data'] ?? {}) as JsonObject
}

/** Sign `kind` with the node's identity now; the key is wiped once signed. */
async function signedBody(
  dataDir: string,
  kind: SignedRequestKind,
  extra: Record<string, unknown>,
): Promise<{ id: string; body: string }> {
  const identity = await loadExistingIdentity(dataDir)
  try {
    const fields = createSignedRequest(identity, kind, timestampFromMillis(Date.now()))
    return { id: identity.id, body: JSON.stringify({ ...fields, ...extra }) }
  } finally {
    wipe(identity.secretKey)
    wipe(identity.seed)
  }
}

/**
 * `--data-dir` of the command, or of the daemon's root program: commander gives an option the
 * root also defines to the root, wherever it appears on the line.
 */
const dataDirOption = (cmd: Command): string =>
  cmd.optsWithGlobals<RelayOptions>().dataDir ?? './data'

/** Add `relay register` and `relay settings` to the `egregore` program. */
export function registerRelayCommands(program: Command): void {
  const relay = program
    .command('relay')
    .description('register this node with a relay, or change its settings there')

  relay
    .command('register')
    .description("register this node's identity with a relay (signed with its key)")
    .argument('<url>', 'relay HTTP API, e.g. http://relay-host:7660')
    .option('--data-dir <dir>', "the node's data directory (default: ./data)")
    .option('--nickname <name>', 'shown in the relay directory (at most 64 UTF-8 bytes)')
    .option('--private', 'hide this node from the relay directory')
    .option('--json', 'print the response data as JSON')
    .action(
      async (
        url: string,
        o: RelayOptions & { nickname?: string; private?: boolean },
        cmd: Command,
      ) => {
        const base = relayUrl(url)
        const { id, body } = await signedBody(dataDirOption(cmd), 'register', {
          ...(o.nickname === undefined ? {} : { nickname: o.nickname }),
          private: o.private === true,
        })
        const data = await postToRelay(base, '/v1/register', body)
        if (o.json === true) return printJson(data)
        console.log(`registered ${id} with ${base.href}`)
        const gossip = `${base.hostname}:${RELAY_DEFAULT_GOSSIP_PORT}`
        console.log(
          `now add the relay's gossip address as a peer, e.g. --peer ${gossip} ` +
            `or: egregore peers add ${gossip}`,
        )
      },
    )

  relay
    .command('settings')
    .description("change this node's settings on a relay (signed with its key)")
    .argument('<url>', 'relay HTTP API, e.g. http://relay-host:7660')
    .option('--data-dir <dir>', "the node's data directory (default: ./data)")
    .option('--private', 'hide this node from the relay directory')
    .option('--public', 'list this node in the relay directory')
    .option('--json', 'print the response data as JSON')
    .action(
      async (
        url: string,
        o: RelayOptions & { private?: boolean; public?: boolean },
        cmd: Command,
      ) => {
        if (o.private === true && o.public === true)
          throw new EgregoreError('CONFIG_ERROR', 'give --private or --public, not both')
        const base = relayUrl(url)
        const priv = o.private === true ? true : o.public === true ? false : undefined
        const { id, body } = await signedBody(
          dataDirOption(cmd),
          'settings',
          priv === undefined ? {} : { private: priv },
        )
        const data = await postToRelay(base, '/v1/settings', body)
        if (o.json === true) return printJson(data)
        console.log(`updated ${id} on ${base.href}`)
      },
    )

  relay
    .command('status')
    .description(
      "the relay's status, and whether it still accepts this node's feed (its storage quota)",
    )
    .argument('<url>', 'relay HTTP API, e.g. http://relay-host:7660')
    .option('--data-dir <dir>', "the node's data directory (default: ./data)")
    .option('--json', 'print the relay status as JSON')
    .action(async (url: string, o: RelayOptions, cmd: Command) => {
      const base = relayUrl(url)
      const identity = await loadExistingIdentity(dataDirOption(cmd))
      const id = identity.id
      wipe(identity.secretKey)
      wipe(identity.seed)
      const data = await requestRelay(base, '/v1/status')
      const capped = Array.isArray(data['capped_feeds']) ? data['capped_feeds'] : []
      if (o.json === true) printJson(data)
      else {
        const field = (key: string): string => {
          const v = data[key]
          return typeof v === 'string' || typeof v === 'bigint' || typeof v === 'number'
            ? String(v)
            : '?'
        }
        console.log(
          `relay ${field('identity')}: ${field('authorized_peers')} registered peers, ` +
            `${field('message_count')} messages in ${field('feed_count')} feeds`,
        )
      }
      if (capped.includes(id)) {
        // The quota error reaches the peer here: the wire protocol has no error document (§9.5).
        throw new EgregoreError(
          'QUOTA_EXCEEDED',
          `the relay holds the most it accepts of ${id} (--max-feed-bytes): it no longer ` +
            'requests or stores new messages of this feed; direct peers still replicate it',
        )
      }
      if (o.json !== true) console.log(`this node's feed ${id} is within the relay's quota`)
    })
}
