/**
 * The `egregore-relay` command line (PROTOCOL.md §9.2): flags → a validated RelayConfig, then
 * the relay daemon. Exit codes as for the node: 0 ok, 1 failure, 2 bad usage.
 */
import { Command, Option } from 'commander'
import {
  RELAY_DEFAULT_GOSSIP_PORT,
  RELAY_DEFAULT_HTTP_PORT,
  RELAY_DEFAULT_MAX_FEED_BYTES,
  RELAY_DEFAULT_MAX_PEERS,
  RELAY_DEFAULT_TTL_DAYS,
  RELAY_MAX_PUSH_LINKS,
} from '../codec/index.js'
import { DEFAULT_NETWORK_KEY } from '../crypto/index.js'
import { EgregoreError } from '../errors.js'
import type { RelayConfig } from '../relay/index.js'
import { packageVersion } from './egregore.js'
import { LOG_LEVELS, type LogLevel } from './logger.js'
import { runRelayDaemon, type RelayDaemonConfig } from './relay-daemon.js'
import { logLevelOption, syncOption } from './common-options.js'
import { runProgram } from './run-program.js'

/** The relay's flags as commander gives them (all strings; validated by `resolveRelayConfig`). */
export interface RelayFlags {
  dataDir?: string
  port?: string
  bind?: string
  gossipPort?: string
  gossipBind?: string
  networkKey?: string
  maxPeers?: string
  maxLinks?: string
  ttlDays?: string
  maxFeedBytes?: string
  logLevel?: string
  sync?: string
}

function configError(message: string): EgregoreError {
  return new EgregoreError('CONFIG_ERROR', message)
}

function int(flag: string, value: string | undefined, min: number, max: number, def: number) {
  if (value === undefined) return def
  const n = /^\d+$/.test(value) ? Number(value) : NaN
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw configError(`${flag} must be an integer from ${min} to ${max}`)
  return n
}

function address(flag: string, value: string | undefined): string {
  const v = value ?? '0.0.0.0'
  if (!/^[0-9a-fA-F.:]+$/.test(v)) throw configError(`${flag} must be an IP address`)
  return v
}

/** Validate the flags and environment and apply the defaults of §9.2. */
export function resolveRelayConfig(
  flags: RelayFlags,
  env: NodeJS.ProcessEnv,
  version: string,
): RelayDaemonConfig {
  const port = int('--port', flags.port, 0, 65535, RELAY_DEFAULT_HTTP_PORT)
  const gossipPort = int('--gossip-port', flags.gossipPort, 0, 65535, RELAY_DEFAULT_GOSSIP_PORT)
  if (port !== 0 && port === gossipPort) throw configError('--port and --gossip-port must differ')
  if (flags.dataDir === '') throw configError('--data-dir must be a non-empty string')
  const networkKey = flags.networkKey ?? DEFAULT_NETWORK_KEY
  if (networkKey === '') throw configError('--network-key must be a non-empty string')
  const logLevel = flags.logLevel ?? env['EGREGORE_LOG'] ?? 'info'
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel))
    throw configError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`)
  const sync = flags.sync ?? 'normal'
  if (sync !== 'normal' && sync !== 'full') throw configError('--sync must be normal or full')
  const relay: RelayConfig = {
    dataDir: flags.dataDir ?? './relay-data',
    port,
    bind: address('--bind', flags.bind),
    gossipPort,
    gossipBind: address('--gossip-bind', flags.gossipBind),
    networkKey,
    maxPeers: int('--max-peers', flags.maxPeers, 0, 1e9, RELAY_DEFAULT_MAX_PEERS),
    maxLinks: int('--max-links', flags.maxLinks, 0, 1e6, RELAY_MAX_PUSH_LINKS),
    ttlDays: int('--ttl-days', flags.ttlDays, 0, 36500, RELAY_DEFAULT_TTL_DAYS),
    maxFeedBytes: int(
      '--max-feed-bytes',
      flags.maxFeedBytes,
      0,
      Number.MAX_SAFE_INTEGER,
      RELAY_DEFAULT_MAX_FEED_BYTES,
    ),
    sync,
    version,
  }
  return { relay, logLevel: logLevel as LogLevel }
}

/** Build the commander program (exported for tests and --help checks). */
export function buildRelayProgram(): Command {
  return new Command('egregore-relay')
    .description(
      'Egregore relay: an always-on gossip server that stores and forwards the feeds of registered nodes',
    )
    .version(packageVersion())
    .option('--data-dir <dir>', 'identity key and SQLite database (default: ./relay-data)')
    .option(
      '--port <port>',
      `HTTP API port; 0 lets the OS choose (default: ${RELAY_DEFAULT_HTTP_PORT})`,
    )
    .option(
      '--bind <addr>',
      'HTTP API listen address (default: 0.0.0.0; the relay API is public by design)',
    )
    .option(
      '--gossip-port <port>',
      `gossip TCP port, on 0.0.0.0; 0 lets the OS choose (default: ${RELAY_DEFAULT_GOSSIP_PORT})`,
    )
    .addOption(new Option('--gossip-bind <addr>', 'gossip listen address (tests)').hideHelp())
    .option(
      '--network-key <string>',
      `network isolation key; must match the nodes' (default: ${DEFAULT_NETWORK_KEY})`,
    )
    .option(
      '--max-peers <n>',
      `most registered peers; 0 = unlimited (default: ${RELAY_DEFAULT_MAX_PEERS})`,
    )
    .option('--max-links <n>', `most persistent push links (default: ${RELAY_MAX_PUSH_LINKS})`)
    .option(
      '--ttl-days <n>',
      `delete messages received more than n days ago; 0 = keep forever (default: ${RELAY_DEFAULT_TTL_DAYS})`,
    )
    .option(
      '--max-feed-bytes <n>',
      `stored bytes per author feed before it is capped; 0 = unlimited (default: ${RELAY_DEFAULT_MAX_FEED_BYTES})`,
    )
    .addOption(logLevelOption())
    .addOption(syncOption())
    .action(async (flags: RelayFlags) => {
      await runRelayDaemon(resolveRelayConfig(flags, process.env, packageVersion()))
    })
    .exitOverride()
}

/** Run the relay CLI; operational errors print one line and exit 1, usage errors exit 2. */
export function mainRelay(argv: readonly string[]): Promise<void> {
  return runProgram('egregore-relay', buildRelayProgram(), argv)
}
