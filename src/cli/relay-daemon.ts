/** Running the relay: start-up, the ready log line, graceful shutdown (PROTOCOL.md §9.2, §7.9). */
import { createRelay, type RelayConfig } from '../relay/index.js'
import { createLogger, type LogLevel } from './logger.js'
import { onShutdownSignal } from './signals.js'

/** What `egregore-relay` runs with, after its flags are validated. */
export interface RelayDaemonConfig {
  readonly relay: RelayConfig
  readonly logLevel: LogLevel
}

export async function runRelayDaemon(config: RelayDaemonConfig): Promise<void> {
  const log = createLogger(config.logLevel, 'egregore-relay')
  // As in daemon.ts: signals are handled before anything starts and before "relay ready".
  let signalled: (signal: NodeJS.Signals) => void = () => undefined
  const stopRequested = new Promise<NodeJS.Signals>((resolve) => (signalled = resolve))
  let done: () => void = () => undefined
  const finished = new Promise<void>((resolve) => (done = resolve))
  onShutdownSignal(async (signal) => {
    signalled(signal)
    await finished
  })
  const keepAlive = setInterval(() => undefined, 1 << 30) // until the relay's servers are up
  const { relay: rc } = config
  try {
    const relay = await createRelay(rc, { log })
    try {
      await relay.start()
    } catch (err) {
      await relay.stop()
      throw err
    }
    clearInterval(keepAlive)
    log.info(
      { bind: rc.bind },
      'the relay HTTP API is public by design: anyone who can reach it can register a key they hold',
    )
    log.info(
      {
        identity: relay.identity.id,
        dataDir: rc.dataDir,
        http: `${rc.bind ?? ''}:${relay.httpPort()}`,
        gossip: `${rc.gossipBind ?? ''}:${relay.gossipPort()}`,
        created: relay.createdIdentity,
        maxPeers: rc.maxPeers,
        maxLinks: rc.maxLinks,
        ttlDays: rc.ttlDays,
        maxFeedBytes: rc.maxFeedBytes,
        authorizedPeers: relay.registry.authorizedCount(),
        messageCount: relay.store.counts().messageCount,
        feedCount: relay.store.counts().feedCount,
      },
      relay.createdIdentity ? 'new identity generated; relay ready' : 'relay ready',
    )
    const signal = await stopRequested
    log.info({ signal }, 'shutting down')
    await relay.stop()
    log.info({}, 'stopped cleanly')
  } finally {
    clearInterval(keepAlive)
    log.flush()
    done()
  }
}
