/** Options both binaries take with the same meaning (PROTOCOL.md §7.9, §9.2). */
import { Option } from 'commander'
import { LOG_LEVELS } from './logger.js'

export const logLevelOption = (): Option =>
  new Option('--log-level <level>', 'log level (default: info, or EGREGORE_LOG)').choices(
    LOG_LEVELS,
  )

export const syncOption = (): Option =>
  new Option(
    '--sync <mode>',
    'commit durability: normal survives process crashes, full also power loss (default: normal)',
  ).choices(['normal', 'full'])
