/**
 * `npm run bench`: the figures each issue asks for, measured on this machine.
 * `npm run bench -- <section>` runs one section: ingest, publish, search, http, sse, throughput,
 * handshake, coldsync, propagation, relaylatency, relayfan.
 */
import { execFileSync } from 'node:child_process'
import { cpus } from 'node:os'
import { runApiBenchmarks } from './api-bench.js'
import { runFeedBenchmarks, type Figure } from './feed-bench.js'
import { runRelayBenchmarks } from './relay-bench.js'
import { runReplicationBenchmarks } from './replication-bench.js'
import { runTransportBenchmarks } from './transport-bench.js'

// Daemons run from dist/ exactly as `npm start` does (no tsx loader in their memory or CPU).
execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' })

const only = process.argv[2]
console.log(
  `egregore benchmarks — node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown cpu'})`,
)
const figures: Figure[] = [
  ...(await runFeedBenchmarks(only)),
  ...(await runApiBenchmarks(only)),
  ...(await runTransportBenchmarks(only)),
  ...(await runReplicationBenchmarks(only)),
  ...(await runRelayBenchmarks(only)),
]
console.log('')
for (const f of figures) {
  console.log(
    `${f.name}\n    ${f.value}${f.target === undefined ? '' : `   [target: ${f.target}]`}`,
  )
}
