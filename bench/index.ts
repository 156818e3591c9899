/**
 * `npm run bench`: the figures each issue asks for, measured on this machine.
 * `npm run bench -- ingest` (or publish, search) runs one section.
 */
import { cpus } from 'node:os'
import { runFeedBenchmarks } from './feed-bench.js'

const only = process.argv[2]
console.log(
  `egregore benchmarks — node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown cpu'})`,
)
const figures = await runFeedBenchmarks(only)
console.log('')
for (const f of figures) {
  console.log(
    `${f.name}\n    ${f.value}${f.target === undefined ? '' : `   [target: ${f.target}]`}`,
  )
}
