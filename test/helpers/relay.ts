/**
 * Helpers for relay tests: an in-process relay on 127.0.0.1 with ports 0 and a temp data dir,
 * signed registration and settings requests, and a node home directory that outlives restarts.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { timestampFromMillis } from '../../src/codec/index.js'
import type { Identity } from '../../src/crypto/index.js'
import type { Logger } from '../../src/log.js'
import {
  createNode,
  type EgregoreNode,
  type NodeConfig,
  type NodeDeps,
} from '../../src/node/index.js'
import {
  createRelay,
  createSignedRequest,
  type Relay,
  type RelayConfig,
  type RelayDeps,
} from '../../src/relay/index.js'
import { postJson, type HttpResult } from './http.js'

/** The network key relay tests share. */
export const RELAY_TEST_NETWORK_KEY = 'egregore-relay-test'

/** A relay data directory that survives restarts within a test. */
export interface RelayHome {
  readonly dataDir: string
  /**
   * Create and start a relay on this data dir (stop the previous one first): HTTP and gossip on
   * 127.0.0.1, ports 0, one verify thread.
   */
  start(config?: Partial<Omit<RelayConfig, 'dataDir'>>, deps?: RelayDeps): Promise<Relay>
}

/**
 * A fresh relay data dir. Teardown stops every relay started on it (stop is idempotent), then
 * removes the directory.
 */
export function relayHome(t: TestContext): RelayHome {
  const dataDir = mkdtempSync(join(tmpdir(), 'egregore-relay-'))
  const relays: Relay[] = []
  t.after(async () => {
    for (const relay of relays) await relay.stop()
    rmSync(dataDir, { recursive: true, force: true, maxRetries: 5 })
  })
  return {
    dataDir,
    async start(config = {}, deps = {}) {
      const relay = await createRelay(
        {
          port: 0,
          bind: '127.0.0.1',
          gossipPort: 0,
          gossipBind: '127.0.0.1',
          networkKey: RELAY_TEST_NETWORK_KEY,
          verifyThreads: 1,
          version: '0.0.0-test',
          ...config,
          dataDir,
        },
        deps,
      )
      relays.push(relay)
      await relay.start()
      return relay
    },
  }
}

/** A started relay (see `relayHome`) on a fresh data dir, stopped and removed after the test. */
export async function startTestRelay(
  t: TestContext,
  config: Partial<Omit<RelayConfig, 'dataDir'>> = {},
  deps: RelayDeps = {},
): Promise<Relay & { readonly dataDir: string }> {
  const home = relayHome(t)
  const relay = await home.start(config, deps)
  return Object.assign(relay, { dataDir: home.dataDir })
}

export interface SignedBodyOptions {
  readonly nickname?: string | null
  readonly private?: boolean
  /** Receipt clock offset of the timestamp, in ms (negative: in the past). */
  readonly offsetMs?: number
  /** Sign with another identity than the one named in `public_id`. */
  readonly signer?: Identity
}

/** A signed register or settings body for `identity`, as `egregore relay register` sends it. */
export function signedBody(
  kind: 'register' | 'settings',
  identity: Identity,
  options: SignedBodyOptions = {},
): Record<string, unknown> {
  const ts = timestampFromMillis(Date.now() + (options.offsetMs ?? 0))
  const fields = createSignedRequest(options.signer ?? identity, kind, ts)
  return {
    ...fields,
    public_id: identity.id,
    ...(options.nickname === undefined ? {} : { nickname: options.nickname }),
    ...(options.private === undefined ? {} : { private: options.private }),
  }
}

/** POST a signed registration of `identity` to the relay on `port`. */
export function register(
  port: number,
  identity: Identity,
  options: SignedBodyOptions = {},
): Promise<HttpResult> {
  return postJson(port, '/v1/register', JSON.stringify(signedBody('register', identity, options)))
}

/** POST a signed settings change of `identity` to the relay on `port`. */
export function settings(
  port: number,
  identity: Identity,
  options: SignedBodyOptions = {},
): Promise<HttpResult> {
  return postJson(port, '/v1/settings', JSON.stringify(signedBody('settings', identity, options)))
}

export interface NodeHome {
  readonly dataDir: string
  /** Create and start a node on this data dir (stop the previous one first). */
  start(config: Omit<NodeConfig, 'dataDir' | 'passphrase'>, deps?: NodeDeps): Promise<EgregoreNode>
}

/**
 * A node data directory that survives restarts within a test. Teardown stops every node started
 * on it (stop is idempotent), then removes the directory.
 */
export function nodeHome(t: TestContext): NodeHome {
  const dataDir = mkdtempSync(join(tmpdir(), 'egregore-node-'))
  const nodes: EgregoreNode[] = []
  t.after(async () => {
    for (const node of nodes) await node.stop()
    rmSync(dataDir, { recursive: true, force: true, maxRetries: 5 })
  })
  return {
    dataDir,
    async start(config, deps = {}) {
      const node = await createNode(
        { passphrase: false, port: 0, verifyThreads: 1, ...config, dataDir },
        deps,
      )
      nodes.push(node)
      await node.start()
      return node
    },
  }
}

/** One log call a recording logger kept: level, merged bindings and fields, message. */
export interface LogLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error'
  readonly fields: Record<string, unknown>
  readonly msg: string
}

/** A logger that keeps every line (children share the list and add their bindings). */
export function recordingLogger(
  lines: LogLine[] = [],
  bindings: Record<string, unknown> = {},
): Logger & { readonly lines: LogLine[] } {
  const at =
    (level: LogLine['level']) =>
    (obj: object, msg = ''): void =>
      void lines.push({ level, fields: { ...bindings, ...obj }, msg })
  return {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (more) => recordingLogger(lines, { ...bindings, ...more }),
  }
}
