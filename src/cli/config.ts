/**
 * Daemon configuration (PROTOCOL.md §7.9): command-line flags override the environment, which
 * overrides the YAML config file (`--config`, else `<data-dir>/config.yaml` when present), which
 * overrides the defaults. Every value is validated here; a bad one is a CONFIG_ERROR at start-up.
 */
import { existsSync, readFileSync } from 'node:fs'
import { isIPv4 } from 'node:net'
import { join } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { requireAddress } from '../api/index.js'
import { DEFAULT_DISCOVERY_PORT } from '../codec/index.js'
import { EgregoreError } from '../errors.js'
import { validateWebhookUrl } from '../events/index.js'
import type { NodeConfig } from '../node/index.js'
import { LOG_LEVELS, type LogLevel } from './logger.js'

/** The keys accepted in the YAML file and as flags (kebab-case, without the dashes). */
export const CONFIG_KEYS = [
  'data-dir',
  'port',
  'gossip-port',
  'gossip-bind',
  'network-key',
  'gossip-interval-secs',
  'push',
  'passphrase',
  'peer',
  'lan-discovery',
  'discovery-port',
  'discovery-address',
  'hook-on-message',
  'hook-webhook-url',
  'hook-filter-type',
  'hook-webhook-secret',
  'api-token',
  'max-sse-clients',
  'log-level',
  'sync',
] as const
export type ConfigKey = (typeof CONFIG_KEYS)[number]
export type RawConfig = Partial<Record<ConfigKey, unknown>>

export interface DaemonConfig {
  readonly node: NodeConfig
  readonly logLevel: LogLevel
  /** Where the config file came from, if any. */
  readonly configFile: string | null
}

function configError(message: string): EgregoreError {
  return new EgregoreError('CONFIG_ERROR', message)
}

/** Read and shape-check a YAML config file. */
export function readConfigFile(path: string): RawConfig {
  let doc: unknown
  try {
    doc = parseYaml(readFileSync(path, 'utf8'))
  } catch (err) {
    throw configError(`cannot read config file ${path}: ${(err as Error).message}`)
  }
  if (doc === null || doc === undefined) return {}
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw configError(`config file ${path} must be a mapping of keys to values`)
  const out: RawConfig = {}
  for (const [key, value] of Object.entries(doc)) {
    if (!(CONFIG_KEYS as readonly string[]).includes(key)) {
      throw configError(
        `config file ${path}: unknown key '${key}' (known: ${CONFIG_KEYS.join(', ')})`,
      )
    }
    out[key as ConfigKey] = value
  }
  return out
}

const str = (key: string, v: unknown): string | undefined => {
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'string' || v === '') throw configError(`${key} must be a non-empty string`)
  return v
}

const int = (key: string, v: unknown, min: number, max: number): number | undefined => {
  if (v === undefined || v === null) return undefined
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN
  if (!Number.isInteger(n) || n < min || n > max)
    throw configError(`${key} must be an integer from ${min} to ${max}`)
  return n
}

const bool = (key: string, v: unknown): boolean | undefined => {
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'boolean') throw configError(`${key} must be true or false`)
  return v
}

/** Merge flags, environment and file, validate, and produce the node's configuration. */
export function resolveDaemonConfig(
  flags: RawConfig & { config?: string },
  env: NodeJS.ProcessEnv,
  version: string,
): DaemonConfig {
  const dataDirFlag = str('--data-dir', flags['data-dir'])
  const defaultFile = join(dataDirFlag ?? './data', 'config.yaml')
  const configFile = flags.config ?? (existsSync(defaultFile) ? defaultFile : null)
  const file = configFile === null ? {} : readConfigFile(configFile)
  const pick = (key: ConfigKey, envValue?: string): unknown => flags[key] ?? envValue ?? file[key]

  const peersRaw = pick('peer')
  const peerList =
    peersRaw === undefined ? [] : Array.isArray(peersRaw) ? (peersRaw as unknown[]) : [peersRaw]
  const peers = peerList.map((p) => {
    try {
      return requireAddress(p)
    } catch {
      throw configError(`--peer ${String(p)}: address must be in host:port format`)
    }
  })
  const webhookUrl = str('--hook-webhook-url', pick('hook-webhook-url'))
  if (webhookUrl !== undefined) validateWebhookUrl(webhookUrl)
  const logLevel = str('--log-level', pick('log-level', env['EGREGORE_LOG'])) ?? 'info'
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw configError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`)
  }
  const sync = str('--sync', pick('sync')) ?? 'normal'
  if (sync !== 'normal' && sync !== 'full') throw configError('--sync must be normal or full')
  const hookPath = str('--hook-on-message', pick('hook-on-message'))
  const webhookSecret = str('--hook-webhook-secret', pick('hook-webhook-secret'))
  const filterType = str('--hook-filter-type', pick('hook-filter-type'))
  const apiToken = str('--api-token', pick('api-token', env['EGREGORE_API_TOKEN']))

  const port = int('--port', pick('port'), 0, 65535) ?? 7654
  const gossipPort = int('--gossip-port', pick('gossip-port'), 0, 65535) ?? 7655
  if (port !== 0 && port === gossipPort) throw configError('--port and --gossip-port must differ')
  const gossipBind = str('--gossip-bind', pick('gossip-bind')) ?? '0.0.0.0'
  if (!/^[0-9a-fA-F.:]+$/.test(gossipBind)) throw configError('--gossip-bind must be an IP address')
  const networkKey = str('--network-key', pick('network-key')) ?? 'egregore-network-v1'
  const intervalSecs = int('--gossip-interval-secs', pick('gossip-interval-secs'), 1, 86400) ?? 300
  const lanDiscovery = resolveLanDiscovery(pick, port, gossipPort)

  const node: NodeConfig = {
    dataDir: dataDirFlag ?? str('data-dir', file['data-dir']) ?? './data',
    passphrase: bool('--passphrase', pick('passphrase')) ?? false,
    port,
    gossip: {
      bind: gossipBind,
      port: gossipPort,
      networkKey,
      intervalSecs,
      push: bool('--no-push', pick('push')) ?? true,
      ...(lanDiscovery === undefined ? {} : { lanDiscovery }),
    },
    syncIntervalSecs: intervalSecs,
    peers,
    maxSseClients: int('--max-sse-clients', pick('max-sse-clients'), 1, 1_000_000) ?? 1024,
    sync,
    version,
    hooks: {
      ...(hookPath === undefined ? {} : { hookPath }),
      ...(webhookUrl === undefined ? {} : { webhookUrl }),
      ...(webhookSecret === undefined ? {} : { webhookSecret }),
      ...(filterType === undefined ? {} : { filterType }),
    },
    ...(apiToken === undefined ? {} : { apiToken }),
  }
  return { node, logLevel: logLevel as LogLevel, configFile }
}

/**
 * `--lan-discovery`, `--discovery-port` (default 7656) and `--discovery-address` (an IPv4
 * address, default 255.255.255.255), §7.9. The port is checked against the other two only when
 * discovery is on; the address is validated either way, so a typo shows at once.
 */
function resolveLanDiscovery(
  pick: (key: ConfigKey) => unknown,
  port: number,
  gossipPort: number,
): { port: number; address: string } | undefined {
  const on = bool('--lan-discovery', pick('lan-discovery')) ?? false
  const discoveryPort =
    int('--discovery-port', pick('discovery-port'), 0, 65535) ?? DEFAULT_DISCOVERY_PORT
  const address = str('--discovery-address', pick('discovery-address')) ?? '255.255.255.255'
  if (!isIPv4(address)) throw configError('--discovery-address must be an IPv4 address')
  if (!on) return undefined
  if (discoveryPort !== 0 && (discoveryPort === port || discoveryPort === gossipPort)) {
    throw configError('--discovery-port must differ from --port and --gossip-port')
  }
  return { port: discoveryPort, address }
}
