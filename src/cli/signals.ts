/** Graceful shutdown: the first SIGINT/SIGTERM runs the handler once; a second one exits at once. */
import type { Logger } from '../log.js'

export function onShutdownSignal(handler: (signal: NodeJS.Signals) => Promise<void>): void {
  let stopping = false
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      console.error(`egregore: second ${signal}, exiting immediately`)
      process.exit(130)
    }
    stopping = true
    handler(signal).then(
      () => {
        process.off('SIGINT', onSignal)
        process.off('SIGTERM', onSignal)
      },
      (err: unknown) => {
        console.error('egregore: error during shutdown', err)
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
}

/** A service a daemon runs: started once, stopped at the first shutdown signal. */
export interface Service {
  start(): Promise<void>
  stop(): Promise<void>
}

/**
 * The daemon lifecycle shared by `egregore` and `egregore-relay` (PROTOCOL.md §7.9): signals are
 * handled before anything starts (a SIGTERM during start-up stops the service once it is up) and
 * before `ready` logs the ready line (supervisors may signal as soon as they see it); a failed
 * start stops what did start; the first signal stops the service cleanly.
 */
export async function runUntilSignal<S extends Service>(
  log: Logger & { flush(): void },
  open: () => Promise<S>,
  ready: (service: S) => void,
): Promise<void> {
  let signalled: (signal: NodeJS.Signals) => void = () => undefined
  const stopRequested = new Promise<NodeJS.Signals>((resolve) => (signalled = resolve))
  let done: () => void = () => undefined
  const finished = new Promise<void>((resolve) => (done = resolve))
  onShutdownSignal(async (signal) => {
    signalled(signal)
    await finished
  })
  const keepAlive = setInterval(() => undefined, 1 << 30) // until the service's servers are up
  try {
    const service = await open()
    try {
      await service.start()
    } catch (err) {
      await service.stop()
      throw err
    }
    clearInterval(keepAlive)
    ready(service)
    const signal = await stopRequested
    log.info({ signal }, 'shutting down')
    await service.stop()
    log.info({}, 'stopped cleanly')
  } finally {
    clearInterval(keepAlive)
    log.flush()
    done()
  }
}
