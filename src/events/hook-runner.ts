/**
 * The hook consumer of PROTOCOL.md §7.8: message events go into a bounded queue (oldest dropped,
 * with a rate-limited warning) and one consumer runs the hook subprocess, then the webhook, per event.
 */
import {
  HOOK_OUTPUT_LOG_BYTES,
  HOOK_QUEUE_SIZE,
  HOOK_TIMEOUT_MS,
  WEBHOOK_RETRIES,
  WEBHOOK_RETRY_BASE_MS,
  WEBHOOK_TIMEOUT_MS,
} from '../codec/index.js'
import type { MessageEvent } from '../feed/index.js'
import type { Logger } from '../log.js'
import { createBoundedQueue } from './bounded-queue.js'
import { runHookProcess, type HookRun } from './hook-process.js'
import { deliverWebhook, validateWebhookUrl } from './webhook.js'

export interface HookRunnerDeps {
  readonly log: Logger
  /** Milliseconds since the epoch; paces the lag warning and times runs. */
  readonly clock?: { now(): number }
  /** Uniform in [0, 1); jitters webhook retry delays. */
  readonly random?: () => number
  /** Waits between webhook retries; must resolve (or reject) promptly when `signal` aborts. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
}

export interface HookRunnerOptions {
  /** Executable run once per message, with the wire text on stdin (`--hook-on-message`). */
  readonly hookPath?: string | undefined
  /** URL the wire text is POSTed to (`--hook-webhook-url`). */
  readonly webhookUrl?: string | undefined
  /** HMAC key for `X-Egregore-Signature` (`--hook-webhook-secret`). */
  readonly webhookSecret?: string | undefined
  /** Only events with exactly this content type are handled (`--hook-filter-type`). */
  readonly filterType?: string | undefined
  /** Events held while the consumer is busy (HOOK_QUEUE_SIZE). */
  readonly queueSize?: number
  /** Hook run time before its process group is killed (HOOK_TIMEOUT_MS). */
  readonly hookTimeoutMs?: number
  /** Time allowed for one webhook request (WEBHOOK_TIMEOUT_MS). */
  readonly webhookTimeoutMs?: number
  /** Webhook retries after the first attempt (WEBHOOK_RETRIES). */
  readonly webhookRetries?: number
  /** First webhook retry delay, doubled per retry (WEBHOOK_RETRY_BASE_MS). */
  readonly retryBaseMs?: number
  /** Least time between two lag warnings; skips in between are summed into the next one. */
  readonly lagLogIntervalMs?: number
}

/** Counters since creation. */
export interface HookRunnerStats {
  /** Events whose hook and webhook both ran to an outcome (success or failure). */
  readonly processed: number
  /** Events dropped from a full queue. */
  readonly skipped: number
  /** Processed events for which the hook or the webhook failed. */
  readonly failed: number
  /** Events waiting now. */
  readonly queued: number
}

export interface HookRunner {
  /** Queue an event; never throws, never blocks. Ignored after `stop()`. */
  push(event: MessageEvent): void
  /** Start the consumer; events pushed earlier are then processed. Idempotent. */
  start(): Promise<void>
  /** Stop accepting, abort the work in flight (killing a running hook) and drop the queue. */
  stop(): Promise<void>
  stats(): HookRunnerStats
}

/** Longest `stop()` waits for the consumer to notice the abort. */
const STOP_WAIT_MS = 1000
const LAG_LOG_INTERVAL_MS = 1000

function positiveInteger(name: string, value: number, min = 1): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${name}: expected an integer ≥ ${min}, got ${String(value)}`)
  }
  return value
}

/** The default `sleep`: a timer that resolves early when `signal` aborts. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) {
      resolve()
      return
    }
    const done = (): void => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
  })
}

/**
 * Create the hook consumer.
 * @throws EgregoreError `CONFIG_ERROR` for a malformed `webhookUrl`; RangeError for bad sizes.
 */
export function createHookRunner(deps: HookRunnerDeps, options: HookRunnerOptions): HookRunner {
  const { log } = deps
  const clock = deps.clock ?? Date
  const random = deps.random ?? Math.random
  const sleep = deps.sleep ?? abortableSleep
  const { hookPath, webhookSecret, filterType } = options
  const webhookUrl =
    options.webhookUrl === undefined ? undefined : validateWebhookUrl(options.webhookUrl)
  if (hookPath === '') throw new RangeError('hookPath: expected a path, got an empty string')
  const queueSize = positiveInteger('queueSize', options.queueSize ?? HOOK_QUEUE_SIZE)
  const hookTimeoutMs = positiveInteger('hookTimeoutMs', options.hookTimeoutMs ?? HOOK_TIMEOUT_MS)
  const webhookTimeoutMs = positiveInteger(
    'webhookTimeoutMs',
    options.webhookTimeoutMs ?? WEBHOOK_TIMEOUT_MS,
  )
  const retries = positiveInteger('webhookRetries', options.webhookRetries ?? WEBHOOK_RETRIES, 0)
  const retryBaseMs = positiveInteger('retryBaseMs', options.retryBaseMs ?? WEBHOOK_RETRY_BASE_MS)
  const lagLogIntervalMs = positiveInteger(
    'lagLogIntervalMs',
    options.lagLogIntervalMs ?? LAG_LOG_INTERVAL_MS,
    0,
  )
  const enabled = hookPath !== undefined || webhookUrl !== undefined

  const queue = createBoundedQueue<MessageEvent>(queueSize)
  const stopController = new AbortController()
  let state: 'idle' | 'running' | 'stopped' = 'idle'
  let wake: (() => void) | null = null
  let consumer: Promise<void> | null = null
  let stopping: Promise<void> | null = null
  let processed = 0
  let skipped = 0
  let failed = 0

  // Lag warning: the first skip schedules a flush on the next tick, so a synchronous burst
  // gives one line; later skips within `lagLogIntervalMs` are summed into the next line.
  let unreportedSkips = 0
  let lastLagLogAt = -Infinity
  let lagTimer: NodeJS.Timeout | null = null

  const flushLagLog = (): void => {
    if (lagTimer !== null) clearTimeout(lagTimer)
    lagTimer = null
    if (unreportedSkips === 0) return
    const n = unreportedSkips
    unreportedSkips = 0
    lastLagLogAt = clock.now()
    try {
      log.warn(
        { skipped: n, totalSkipped: skipped, queueSize },
        `hook consumer lagged; ${n} events skipped`,
      )
    } catch {
      // A throwing logger must not break push(); there is nowhere else to report it.
    }
  }

  const noteSkip = (): void => {
    skipped++
    unreportedSkips++
    if (lagTimer !== null) return
    const wait = Math.max(0, lastLagLogAt + lagLogIntervalMs - clock.now())
    lagTimer = setTimeout(flushLagLog, wait)
    lagTimer.unref()
  }

  const runHook = async (path: string, event: MessageEvent): Promise<boolean> => {
    const startedAt = clock.now()
    const run: HookRun = await runHookProcess(path, event.wireText, {
      timeoutMs: hookTimeoutMs,
      maxOutputBytes: HOOK_OUTPUT_LOG_BYTES,
      signal: stopController.signal,
    })
    const fields = { hash: event.hash, path, elapsedMs: clock.now() - startedAt }
    if (run.stdoutBytes > 0 || run.stderrBytes > 0) {
      const { stdout, stderr, stdoutBytes, stderrBytes } = run
      log.debug({ ...fields, stdout, stderr, stdoutBytes, stderrBytes }, 'hook output')
    }
    const { outcome } = run
    switch (outcome.kind) {
      case 'exited':
        if (outcome.code === 0) {
          log.debug(fields, 'hook ran')
          return true
        }
        log.warn({ ...fields, code: outcome.code }, `hook exited with status ${outcome.code}`)
        return false
      case 'signaled':
        log.warn({ ...fields, signal: outcome.signal }, `hook killed by ${outcome.signal}`)
        return false
      case 'timed-out':
        log.warn(fields, `hook timed out after ${hookTimeoutMs} ms; killed its process group`)
        return false
      case 'aborted':
        log.debug(fields, 'hook killed: consumer stopping')
        return false
      case 'spawn-failed': {
        const code = (outcome.error as { code?: unknown }).code
        log.error({ ...fields, err: outcome.error, code }, 'hook could not be started')
        return false
      }
    }
  }

  const runWebhook = async (url: string, event: MessageEvent): Promise<boolean> => {
    const outcome = await deliverWebhook(
      event.wireText,
      {
        url,
        secret: webhookSecret,
        timeoutMs: webhookTimeoutMs,
        retries,
        retryBaseMs,
        signal: stopController.signal,
        sleep,
        random,
        log,
      },
      { hash: event.hash },
    )
    return outcome === 'delivered'
  }

  /** Hook first, then webhook (never in parallel); a failure of one does not skip the other. */
  const processOne = async (event: MessageEvent): Promise<void> => {
    let ok = true
    try {
      if (hookPath !== undefined) ok = (await runHook(hookPath, event)) && ok
      if (webhookUrl !== undefined && !stopController.signal.aborted) {
        ok = (await runWebhook(webhookUrl, event)) && ok
      }
    } catch (err) {
      ok = false
      log.error({ err, hash: event.hash }, 'hook processing failed; continuing with the next event')
    }
    // Work interrupted by stop() is neither processed nor failed.
    if (stopController.signal.aborted) return
    processed++
    if (!ok) failed++
  }

  const consume = async (): Promise<void> => {
    while (state === 'running') {
      const event = queue.shift()
      if (event === undefined) {
        await new Promise<void>((resolve) => (wake = resolve))
        wake = null
        continue
      }
      await processOne(event)
    }
  }

  return {
    push(event) {
      try {
        if (state === 'stopped' || !enabled) return
        if (filterType !== undefined && event.contentType !== filterType) return
        if (queue.push(event) !== undefined) noteSkip()
        wake?.()
      } catch (err) {
        // push() runs inside the feed engine's commit path: it must never throw.
        try {
          log.error({ err }, 'hook queue push failed')
        } catch {
          // Nothing left to report to.
        }
      }
    },

    start() {
      if (state !== 'idle' || !enabled) return Promise.resolve()
      state = 'running'
      consumer = consume().catch((err: unknown) => {
        log.error({ err }, 'hook consumer failed')
      })
      return Promise.resolve()
    },

    stop() {
      stopping ??= (async () => {
        state = 'stopped'
        stopController.abort()
        wake?.()
        flushLagLog()
        const dropped = queue.clear()
        if (dropped > 0)
          log.info({ dropped }, `hook consumer stopped; ${dropped} queued events not processed`)
        if (consumer === null) return
        let bound: NodeJS.Timeout | undefined
        const finished = await Promise.race([
          consumer.then(() => true),
          new Promise<false>((resolve) => (bound = setTimeout(() => resolve(false), STOP_WAIT_MS))),
        ])
        clearTimeout(bound)
        if (!finished) log.warn({ waitedMs: STOP_WAIT_MS }, 'hook consumer did not stop in time')
      })()
      return stopping
    },

    stats() {
      return { processed, skipped, failed, queued: queue.size }
    },
  }
}
