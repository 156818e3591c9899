/**
 * The `egregore` command line: the node daemon (default command). Client subcommands that talk
 * to a running node arrive with the HTTP API (issue #3).
 */
import { readFileSync } from 'node:fs'
import { Command, InvalidArgumentError, Option } from 'commander'
import { isEgregoreError } from '../errors.js'
import { createNode } from '../node/index.js'
import { createLogger, LOG_LEVELS, type LogLevel } from './logger.js'
import { createPassphraseSource } from './passphrase.js'
import { onShutdownSignal } from './signals.js'

/** The package version, read once from package.json. */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string
  }
  return pkg.version
}

interface DaemonOptions {
  dataDir: string
  passphrase: boolean
  logLevel: LogLevel
  sync: 'normal' | 'full'
}

function choice<T extends string>(values: readonly T[]) {
  return (value: string): T => {
    if (!(values as readonly string[]).includes(value)) {
      throw new InvalidArgumentError(`expected one of ${values.join(', ')}`)
    }
    return value as T
  }
}

/** Build the commander program (exported for tests and --help checks). */
export function buildProgram(): Command {
  const program = new Command('egregore')
    .description('Egregore node: signed append-only feeds with gossip replication')
    .version(packageVersion())
    .addOption(
      new Option('--data-dir <dir>', 'identity keys and SQLite database').default('./data'),
    )
    .addOption(
      new Option(
        '--passphrase',
        'keep the secret key encrypted at rest (Argon2id); prompts, or reads EGREGORE_PASSPHRASE',
      ).default(false),
    )
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info'))
    .addOption(
      new Option(
        '--sync <mode>',
        'commit durability: normal survives process crashes, full also power loss',
      )
        .argParser(choice(['normal', 'full'] as const))
        .default('normal'),
    )
    .action(async (opts: DaemonOptions) => {
      await runDaemon(opts)
    })
  return program
}

async function runDaemon(opts: DaemonOptions): Promise<void> {
  const log = createLogger(opts.logLevel, 'egregore')
  // Handle signals before anything starts (a SIGTERM during start-up stops the node once it is
  // up) and before "node ready" is printed (supervisors may signal as soon as they see it).
  let signalled: (signal: NodeJS.Signals) => void = () => undefined
  const stopRequested = new Promise<NodeJS.Signals>((resolve) => (signalled = resolve))
  let done: () => void = () => undefined
  const finished = new Promise<void>((resolve) => (done = resolve))
  onShutdownSignal(async (signal) => {
    signalled(signal)
    await finished
  })
  // Keep the event loop alive until a signal arrives; the servers of later issues replace this.
  const keepAlive = setInterval(() => undefined, 1 << 30)
  try {
    const node = await createNode(
      { dataDir: opts.dataDir, passphrase: opts.passphrase, sync: opts.sync },
      { log, getPassphrase: createPassphraseSource(process.env) },
    )
    await node.start()
    const counts = node.store.counts()
    log.info(
      {
        identity: node.identity.id,
        dataDir: opts.dataDir,
        created: node.createdIdentity,
        ...counts,
      },
      node.createdIdentity ? 'new identity generated; node ready' : 'node ready',
    )
    const signal = await stopRequested
    log.info({ signal }, 'shutting down')
    await node.stop()
    log.info({}, 'stopped cleanly')
  } finally {
    clearInterval(keepAlive)
    log.flush()
    done()
  }
}

/** Run the CLI; exits non-zero with a one-line message on operational errors. */
export async function main(argv: readonly string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv)
  } catch (err) {
    if (isEgregoreError(err)) {
      console.error(`egregore: ${err.message}`)
      process.exitCode = 1
      return
    }
    throw err
  }
}
