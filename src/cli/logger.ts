/** pino logger for the binaries: JSON lines on stderr, so stdout stays free for command output. */
import { pino } from 'pino'
import type { Logger } from '../log.js'

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
export const LOG_LEVELS: readonly LogLevel[] = [
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'silent',
]

/** Create the process logger. */
export function createLogger(level: LogLevel, name: string): Logger & { flush(): void } {
  return pino({ name, level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: false }))
}
