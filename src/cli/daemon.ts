/** Running the node daemon: start-up, the ready log line, graceful shutdown (PROTOCOL.md §7.9). */
import { createNode } from '../node/index.js'
import type { DaemonConfig } from './config.js'
import { createLogger } from './logger.js'
import { createPassphraseSource } from './passphrase.js'
import { onShutdownSignal } from './signals.js'

export async function runDaemon(config: DaemonConfig): Promise<void> {
  const log = createLogger(config.logLevel, 'egregore')
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
  const keepAlive = setInterval(() => undefined, 1 << 30) // until the node's servers are up
  try {
    const node = await createNode(config.node, {
      log,
      getPassphrase: createPassphraseSource(process.env),
    })
    try {
      await node.start()
    } catch (err) {
      await node.stop()
      throw err
    }
    clearInterval(keepAlive)
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
