/** Shared helpers for the benchmarks: temp dirs, timing, percentiles, synthetic content. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'

export function tempDir(label: string): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), `egregore-bench-${label}-`))
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) }
}

export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[i] as number
}

/** Deterministic PRNG (mulberry32) so runs are comparable. */
export function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const SYLLABLES = [
  'ka',
  'lo',
  'mi',
  'ra',
  'ten',
  'sha',
  'vo',
  'din',
  'el',
  'qua',
  'pri',
  'zu',
  'nor',
  'bex',
  'ul',
  'tor',
]

/** A vocabulary of `n` pseudo-words and a Zipf-distributed sampler over it. */
export function vocabulary(
  n: number,
  random: () => number,
): { words: string[]; sample: () => string } {
  const words: string[] = []
  const seen = new Set<string>()
  while (words.length < n) {
    let w = ''
    const parts = 2 + Math.floor(random() * 3)
    for (let i = 0; i < parts; i++) w += SYLLABLES[Math.floor(random() * SYLLABLES.length)] ?? ''
    if (!seen.has(w)) {
      seen.add(w)
      words.push(w)
    }
  }
  const weights = words.map((_, i) => 1 / (i + 1))
  const total = weights.reduce((a, b) => a + b, 0)
  const cumulative: number[] = []
  let acc = 0
  for (const w of weights) cumulative.push((acc += w / total))
  const sample = (): string => {
    const x = random()
    let lo = 0
    let hi = cumulative.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if ((cumulative[mid] as number) < x) lo = mid + 1
      else hi = mid
    }
    return words[lo] as string
  }
  return { words, sample }
}

export function sentence(
  sample: () => string,
  random: () => number,
  minWords: number,
  maxWords: number,
): string {
  const n = minWords + Math.floor(random() * (maxWords - minWords + 1))
  const out: string[] = []
  for (let i = 0; i < n; i++) out.push(sample())
  return out.join(' ')
}

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
}

/** Peak resident set size of a process, from /proc (VmHWM), in MB. */
export function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m === null ? NaN : Number(m[1]) / 1024
}

/** CPU seconds (user + system, all threads) a process has used, from /proc. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
  return (Number(fields[11]) + Number(fields[12])) / 100 // utime, stime in clock ticks (100/s)
}

/** The 1-minute load average, for printing beside a figure measured on a shared machine. */
export function loadAverage(): string {
  return fmt(loadavg()[0] ?? NaN, 2)
}
