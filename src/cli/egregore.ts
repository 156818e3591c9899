/**
 * The `egregore` command line (PROTOCOL.md §7.9): the node daemon (default command) and client
 * subcommands that talk to a running node's API. Exit codes: 0 ok, 1 failure, 2 bad usage.
 */
import { readFileSync } from 'node:fs'
import { Command } from 'commander'
import { registerClientCommands } from './client-commands.js'
import { resolveDaemonConfig, type RawConfig } from './config.js'
import { runDaemon } from './daemon.js'
import { logLevelOption, syncOption } from './common-options.js'
import { runProgram } from './run-program.js'

/** The package version, read once from package.json. */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string
  }
  return pkg.version
}

/** Commander names options in camelCase (`dataDir`); config keys are the flag names (`data-dir`). */
function toRawConfig(opts: Record<string, unknown>): RawConfig & { config?: string } {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(opts)) {
    // `--no-push` defaults `push` to true; only an explicit false may override the config file.
    if (key === 'push' && value === true) continue
    if (value !== undefined) out[key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)] = value
  }
  return out
}

const collect = (value: string, previous: string[] | undefined): string[] => [
  ...(previous ?? []),
  value,
]

/** Build the commander program (exported for tests and --help checks). */
export function buildProgram(): Command {
  const program = new Command('egregore')
    .description('Egregore node: signed append-only feeds with gossip replication')
    .version(packageVersion())
    .option('--data-dir <dir>', 'identity keys and SQLite database (default: ./data)')
    .option('--port <port>', 'HTTP API port on 127.0.0.1; 0 lets the OS choose (default: 7654)')
    .option(
      '--passphrase',
      'keep the secret key encrypted at rest (Argon2id); prompts, or reads EGREGORE_PASSPHRASE',
    )
    .option('--peer <host:port>', 'static gossip peer, synced every cycle (repeatable)', collect)
    .option('--gossip-port <port>', 'gossip TCP port; 0 lets the OS choose (default: 7655)')
    .option(
      '--gossip-bind <addr>',
      'gossip listen address (default: 0.0.0.0, reachable from other hosts; 127.0.0.1 keeps it local)',
    )
    .option(
      '--network-key <string>',
      'network isolation key; nodes on other keys cannot connect (default: egregore-network-v1)',
    )
    .option('--gossip-interval-secs <n>', 'seconds between sync cycles (default: 300)')
    .option('--no-push', 'no persistent push links: replicate by pull sync only (default: push on)')
    .option('--lan-discovery', 'announce this node and find peers on the LAN by UDP broadcast')
    .option('--discovery-port <port>', 'UDP LAN discovery port (default: 7656)')
    .option(
      '--discovery-address <ipv4>',
      'where LAN announcements are sent (default: 255.255.255.255)',
    )
    .option(
      '--hook-on-message <path>',
      'executable run for each stored message, message JSON on stdin (no shell)',
    )
    .option('--hook-webhook-url <url>', 'POST each stored message to this http(s) URL')
    .option('--hook-filter-type <type>', 'run hooks only for messages of this content type')
    .option(
      '--hook-webhook-secret <secret>',
      'HMAC-SHA256 key for the X-Egregore-Signature webhook header',
    )
    .option(
      '--api-token <token>',
      'require "Authorization: Bearer <token>" on every HTTP route (or EGREGORE_API_TOKEN)',
    )
    .option('--max-sse-clients <n>', 'concurrent /v1/events subscribers (default: 1024)')
    .option(
      '--config <path>',
      'YAML config file with the same keys (default: <data-dir>/config.yaml if present)',
    )
    .addOption(logLevelOption())
    .addOption(syncOption())
    .action(async (opts: Record<string, unknown>) => {
      const config = resolveDaemonConfig(toRawConfig(opts), process.env, packageVersion())
      await runDaemon(config)
    })
  registerClientCommands(program)
  program.exitOverride()
  return program
}

/** Run the CLI; operational errors print one line and exit 1, usage errors exit 2. */
export function main(argv: readonly string[]): Promise<void> {
  return runProgram('egregore', buildProgram(), argv)
}
