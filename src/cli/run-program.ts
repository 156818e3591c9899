/** Exit codes of both binaries (PROTOCOL.md §7.9): 0 done, 1 operational failure, 2 usage error. */
import { CommanderError, type Command } from 'commander'
import { isEgregoreError } from '../errors.js'

/** Parse and run `program`; every failure prints one line prefixed with `name`. */
export async function runProgram(
  name: string,
  program: Command,
  argv: readonly string[],
): Promise<void> {
  try {
    await program.parseAsync(argv)
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with exit code 0; usage errors were already printed.
      process.exitCode = err.exitCode === 0 ? 0 : 2
      return
    }
    if (isEgregoreError(err)) {
      console.error(`${name}: ${err.message}`)
      process.exitCode = err.code === 'CONFIG_ERROR' ? 2 : 1
      return
    }
    // e.g. a port in use (EADDRINUSE): one line; the details are in the log
    console.error(`${name}: ${err instanceof Error ? err.message : String(err)}`)
    process.exitCode = 1
  }
}
