/**
 * Webhook delivery of one message (PROTOCOL.md §7.8): POST the wire text, optional
 * `X-Egregore-Signature`, timeout per request, retries with jittered exponential backoff.
 */
import { toHex, utf8 } from '../codec/index.js'
import { hmacSha256 } from '../crypto/index.js'
import { EgregoreError } from '../errors.js'
import type { Logger } from '../log.js'

/** How a delivery ended. `rejected`: a 4xx other than 429, never retried. */
export type WebhookOutcome = 'delivered' | 'rejected' | 'gave-up' | 'aborted'

export interface WebhookDelivery {
  readonly url: string
  readonly secret?: string | undefined
  /** Time allowed for one request. */
  readonly timeoutMs: number
  /** Retries after the first attempt. */
  readonly retries: number
  /** Delay before the first retry; doubled for each further one, then jittered. */
  readonly retryBaseMs: number
  /** Aborting cancels the request in flight or the backoff sleep; resolves with `aborted`. */
  readonly signal: AbortSignal
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>
  readonly random: () => number
  readonly log: Logger
}

type Attempt =
  | { readonly kind: 'ok'; readonly status: number }
  | { readonly kind: 'rejected'; readonly status: number }
  | { readonly kind: 'retry'; readonly reason: string; readonly status?: number }
  | { readonly kind: 'aborted' }

/**
 * Check a webhook URL given on the command line or in the config file.
 * @throws EgregoreError `CONFIG_ERROR` unless it starts with `http://` or `https://` and parses.
 */
export function validateWebhookUrl(url: string): string {
  if (!url.startsWith('http://') && !url.startsWith('https://')) {
    throw new EgregoreError('CONFIG_ERROR', 'webhook URL must start with http:// or https://')
  }
  try {
    new URL(url)
  } catch (err) {
    throw new EgregoreError('CONFIG_ERROR', 'webhook URL is not a valid URL', { cause: err })
  }
  return url
}

/** The value of `X-Egregore-Signature` for `body`: `sha256=` + hex HMAC-SHA256(secret, body). */
export function webhookSignature(secret: string, body: Uint8Array): string {
  return `sha256=${toHex(hmacSha256(utf8(secret), body))}`
}

/**
 * Delay before retry number `retry` (0 for the first): `baseMs · 2^retry`, scaled by a factor
 * in [0.75, 1.25) so that many nodes failing together do not retry in lockstep.
 */
export function retryDelayMs(retry: number, baseMs: number, random: () => number): number {
  return Math.round(baseMs * 2 ** retry * (0.75 + 0.5 * random()))
}

/** URL for logs: origin and path only, since credentials or tokens may sit in userinfo or query. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    return `${u.origin}${u.pathname}`
  } catch {
    return '<invalid url>'
  }
}

function describeTransportError(err: unknown): string {
  if (err instanceof Error) {
    // undici reports "fetch failed" and puts the socket error (ECONNREFUSED …) in `cause`.
    const cause: unknown = err.cause
    if (cause instanceof Error) {
      const code = (cause as { code?: unknown }).code
      return typeof code === 'string' ? `${code}: ${cause.message}` : cause.message
    }
    return err.message
  }
  return String(err)
}

function classify(status: number): Attempt {
  if (status >= 200 && status < 400) return { kind: 'ok', status }
  if (status >= 500 || status === 429) return { kind: 'retry', reason: `status ${status}`, status }
  return { kind: 'rejected', status }
}

async function attempt(
  d: WebhookDelivery,
  body: Uint8Array,
  headers: Record<string, string>,
): Promise<Attempt> {
  const controller = new AbortController()
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    controller.abort()
  }, d.timeoutMs)
  const onAbort = (): void => controller.abort()
  d.signal.addEventListener('abort', onAbort, { once: true })
  try {
    // redirect 'manual': a 3xx counts as delivered (§7.8); following it would re-send or drop the body.
    const res = await fetch(d.url, {
      method: 'POST',
      headers,
      body,
      redirect: 'manual',
      signal: controller.signal,
    })
    // The body is not used; cancelling it frees the connection without reading a large reply.
    await res.body?.cancel().catch(() => undefined)
    return classify(res.status)
  } catch (err) {
    if (d.signal.aborted) return { kind: 'aborted' }
    if (timedOut) return { kind: 'retry', reason: `timed out after ${d.timeoutMs} ms` }
    return { kind: 'retry', reason: describeTransportError(err) }
  } finally {
    clearTimeout(timer)
    d.signal.removeEventListener('abort', onAbort)
  }
}

/** POST `wireText` to the webhook, retrying transport errors, timeouts, 5xx and 429. */
export async function deliverWebhook(
  wireText: string,
  d: WebhookDelivery,
  context: Record<string, unknown>,
): Promise<WebhookOutcome> {
  const body = utf8(wireText)
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (d.secret !== undefined) headers['x-egregore-signature'] = webhookSignature(d.secret, body)
  const fields = { ...context, url: redactUrl(d.url) }
  for (let retry = 0; ; retry++) {
    const result = await attempt(d, body, headers)
    switch (result.kind) {
      case 'ok':
        d.log.debug({ ...fields, status: result.status, attempts: retry + 1 }, 'webhook delivered')
        return 'delivered'
      case 'aborted':
        return 'aborted'
      case 'rejected':
        d.log.warn(
          { ...fields, status: result.status },
          `webhook rejected the message with status ${result.status}; not retried`,
        )
        return 'rejected'
      case 'retry':
        break
    }
    if (retry >= d.retries) {
      d.log.error(
        { ...fields, reason: result.reason, attempts: retry + 1 },
        `webhook failed after ${retry + 1} attempts (${result.reason}); giving up on this message`,
      )
      return 'gave-up'
    }
    const delayMs = retryDelayMs(retry, d.retryBaseMs, d.random)
    d.log.warn(
      { ...fields, reason: result.reason, attempt: retry + 1, delayMs },
      `webhook attempt failed (${result.reason}); retrying in ${delayMs} ms`,
    )
    try {
      await d.sleep(delayMs, d.signal)
    } catch {
      // An injected sleep may reject when aborted; the check below handles both styles.
    }
    if (d.signal.aborted) return 'aborted'
  }
}
