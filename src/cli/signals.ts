/** Graceful shutdown: the first SIGINT/SIGTERM runs the handler once; a second one exits at once. */

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
