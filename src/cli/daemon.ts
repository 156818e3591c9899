/** Running the node daemon: start-up, the ready log line, graceful shutdown (PROTOCOL.md §7.9). */
import { createNode } from '../node/index.js'
import type { DaemonConfig } from './config.js'
import { createLogger } from './logger.js'
import { createPassphraseSource } from './passphrase.js'
import { runUntilSignal } from './signals.js'

export async function runDaemon(config: DaemonConfig): Promise<void> {
  const log = createLogger(config.logLevel, 'egregore')
  await runUntilSignal(
    log,
    () => createNode(config.node, { log, getPassphrase: createPassphraseSource(process.env) }),
    (node) => {
      if (config.node.apiToken === undefined) {
        log.info({}, 'HTTP API has no token: any local process can use it (see --api-token)')
      }
      log.info(
        {
          identity: node.identity.id,
          dataDir: config.node.dataDir,
          http: `127.0.0.1:${node.httpPort()}`,
          gossip:
            node.gossip === undefined
              ? null
              : `${config.node.gossip?.bind ?? ''}:${node.gossip.port()}`,
          configFile: config.configFile,
          created: node.createdIdentity,
          ...node.store.counts(),
        },
        node.createdIdentity ? 'new identity generated; node ready' : 'node ready',
      )
    },
  )
}
