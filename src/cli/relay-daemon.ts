/** Running the relay: start-up, the ready log line, graceful shutdown (PROTOCOL.md §9.2, §7.9). */
import { createRelay, type RelayConfig } from '../relay/index.js'
import { createLogger, type LogLevel } from './logger.js'
import { runUntilSignal } from './signals.js'

/** What `egregore-relay` runs with, after its flags are validated. */
export interface RelayDaemonConfig {
  readonly relay: RelayConfig
  readonly logLevel: LogLevel
}

export async function runRelayDaemon(config: RelayDaemonConfig): Promise<void> {
  const log = createLogger(config.logLevel, 'egregore-relay')
  const { relay: rc } = config
  await runUntilSignal(
    log,
    () => createRelay(rc, { log }),
    (relay) => {
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
    },
  )
}
